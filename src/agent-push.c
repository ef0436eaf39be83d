// SPDX-License-Identifier: GPL-2.0
/*
 * Push: each window as pprof to a Pyroscope-compatible /ingest endpoint (libcurl), from
 * a bounded queue, retried with backoff; what could not be sent is counted as dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "agent.h"
#include "lazylib.h"
#include "util.h"

#define PUSH_TRIES 4

/* libcurl, loaded when the agent is started with --push. */
static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_escape) *easy_escape;
	__typeof__(curl_free) *free;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} curl_lib;

static const struct lazylib_sym curl_syms[] = {
	LAZYLIB_SYM(curl_lib, global_init, curl_global_init),
	LAZYLIB_SYM(curl_lib, global_cleanup, curl_global_cleanup),
	LAZYLIB_SYM(curl_lib, easy_init, curl_easy_init),
	LAZYLIB_SYM(curl_lib, easy_cleanup, curl_easy_cleanup),
	LAZYLIB_SYM(curl_lib, easy_reset, curl_easy_reset),
	LAZYLIB_SYM(curl_lib, easy_setopt, curl_easy_setopt),
	LAZYLIB_SYM(curl_lib, easy_perform, curl_easy_perform),
	LAZYLIB_SYM(curl_lib, easy_getinfo, curl_easy_getinfo),
	LAZYLIB_SYM(curl_lib, easy_escape, curl_easy_escape),
	LAZYLIB_SYM(curl_lib, free, curl_free),
	LAZYLIB_SYM(curl_lib, slist_append, curl_slist_append),
	LAZYLIB_SYM(curl_lib, slist_free_all, curl_slist_free_all),
};

static struct lazylib curl_lazy = LAZYLIB(CURL_SONAME, CURL_PACKAGE, curl_syms);

struct agent_push {
	struct agent *a;
	pthread_t thread;
	CURL *curl;
	char *url; /* .../ingest */
	char *service;
	char *labels; /* "{service_name=...,hostname=...,...}" less the event */
};

void agent__queue_push(struct agent *a, struct agent_push_item *it)
{
	struct agent_push_item *q;

	pthread_mutex_lock(&a->lock);
	if (!a->queue) {
		a->queue = calloc(a->o.windows, sizeof(*a->queue));
		if (!a->queue) {
			a->t.push_dropped++;
			pthread_mutex_unlock(&a->lock);
			free(it->body);
			return;
		}
	}
	q = a->queue;
	if (a->queue_len == a->o.windows) {
		/* The oldest goes: a store wants recent windows more than old ones. */
		free(q[0].body);
		memmove(q, q + 1, (a->queue_len - 1) * sizeof(*q));
		a->queue_len--;
		a->t.push_dropped++;
	}
	q[a->queue_len++] = *it;
	a->t.push_queued = a->queue_len;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static bool stopping(struct agent *a)
{
	return __atomic_load_n(&a->stopping, __ATOMIC_RELAXED);
}

/* libcurl's progress callback: a non-zero return aborts the transfer (at SIGTERM). */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return stopping(arg);
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

/* One POST; 0 when the store answered 2xx. */
static int push_one(struct agent_push *p, const struct agent_push_item *it)
{
	struct agent *a = p->a;
	struct curl_slist *hdr = NULL;
	char *name = NULL, *ename, *url = NULL;
	long code = 0;
	CURLcode rc;

	if (asprintf(&name, "%s%s,event=%s}", p->service, p->labels, a->evs[it->event].name) < 0)
		return -ENOMEM;
	ename = curl_lib.easy_escape(p->curl, name, 0);
	free(name);
	if (!ename || asprintf(&url,
			       "%s?name=%s&from=%lld&until=%lld&format=pprof&spyName=pmuprof"
			       "&sampleRate=%llu",
			       p->url, ename, (long long)it->from, (long long)it->until,
			       (unsigned long long)a->evs[it->event].attr.sample_freq) < 0) {
		curl_lib.free(ename);
		return -ENOMEM;
	}
	curl_lib.free(ename);
	hdr = curl_lib.slist_append(hdr, "Content-Type: application/octet-stream");
	curl_lib.easy_reset(p->curl);
	curl_lib.easy_setopt(p->curl, CURLOPT_URL, url);
	curl_lib.easy_setopt(p->curl, CURLOPT_POST, 1L);
	curl_lib.easy_setopt(p->curl, CURLOPT_POSTFIELDS, it->body);
	curl_lib.easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	curl_lib.easy_setopt(p->curl, CURLOPT_HTTPHEADER, hdr);
	curl_lib.easy_setopt(p->curl, CURLOPT_USERAGENT, "pmuprof/" PMUPROF_VERSION);
	curl_lib.easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_lib.easy_setopt(p->curl, CURLOPT_TIMEOUT, 15L);
	curl_lib.easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_lib.easy_setopt(p->curl, CURLOPT_NOPROGRESS, 0L);
	curl_lib.easy_setopt(p->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_lib.easy_setopt(p->curl, CURLOPT_XFERINFODATA, a);
	curl_lib.easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_lib.easy_perform(p->curl);
	if (rc == CURLE_OK)
		curl_lib.easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_lib.slist_free_all(hdr);
	free(url);
	return rc == CURLE_OK && code >= 200 && code < 300 ? 0 : -EIO;
}

/* Sleep s seconds unless the agent stops first (lock held). */
static void backoff(struct agent *a, double s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)s;
	while (!a->stopping && pthread_cond_timedwait(&a->cond, &a->lock, &ts) != ETIMEDOUT)
		;
}

static void *push_main(void *arg)
{
	struct agent_push *p = arg;
	struct agent *a = p->a;
	struct agent_push_item it;
	int tries, err;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		if (!a->queue_len) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		it = a->queue[0];
		memmove(a->queue, a->queue + 1, (a->queue_len - 1) * sizeof(*a->queue));
		a->t.push_queued = --a->queue_len;
		for (tries = 0, err = -EIO; err && tries < PUSH_TRIES && !a->stopping; tries++) {
			if (tries)
				backoff(a, 1 << (tries - 1));
			pthread_mutex_unlock(&a->lock);
			err = push_one(p, &it);
			pthread_mutex_lock(&a->lock);
			if (err)
				a->t.push_failed++;
		}
		if (err)
			a->t.push_dropped++;
		else
			a->t.push_sent++;
		free(it.body);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* "{service_name=S,hostname=H,k=v" (closed with the event per push). */
static int push_labels(struct agent_push *p, char *errbuf, size_t sz)
{
	struct agent *a = p->a;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int i;

	if (!f)
		return -ENOMEM;
	p->service = strdup("pmuprof");
	for (i = 0; i < a->o.nr_labels; i++)
		if (!strncmp(a->o.labels[i], "service_name=", 13)) {
			free(p->service);
			p->service = strdup(a->o.labels[i] + 13);
		}
	fprintf(f, "{service_name=%s,hostname=%s", p->service ? p->service : "", a->hostname);
	for (i = 0; i < a->o.nr_labels; i++)
		if (strncmp(a->o.labels[i], "service_name=", 13))
			fprintf(f, ",%s", a->o.labels[i]);
	if (fclose(f) || !p->service) {
		free(s);
		snprintf(errbuf, sz, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	p->labels = s;
	return 0;
}

int agent_push__load(char *errbuf, size_t sz)
{
	char why[256];
	int err = lazylib__load(&curl_lazy);

	if (err)
		snprintf(errbuf, sz, "--push: %s", lazylib__strerror(&curl_lazy, why, sizeof(why)));
	return err;
}

struct agent_push *agent_push__start(struct agent *a, char *errbuf, size_t sz)
{
	const char *u = a->o.push_url;
	size_t n = strlen(u);
	struct agent_push *p;

	if (agent_push__load(errbuf, sz))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(errbuf, sz, "%s", strerror(ENOMEM));
		return NULL;
	}
	p->a = a;
	while (n && u[n - 1] == '/')
		n--;
	if (n >= 7 && !strncmp(u + n - 7, "/ingest", 7))
		p->url = strndup(u, n);
	else if (asprintf(&p->url, "%.*s/ingest", (int)n, u) < 0)
		p->url = NULL;
	if (curl_lib.global_init(CURL_GLOBAL_DEFAULT) || !p->url ||
	    !(p->curl = curl_lib.easy_init())) {
		snprintf(errbuf, sz, "--push %s: cannot set up libcurl", u);
		goto fail;
	}
	if (push_labels(p, errbuf, sz))
		goto fail;
	if (pthread_create(&p->thread, NULL, push_main, p)) {
		snprintf(errbuf, sz, "--push: cannot start a thread");
		goto fail;
	}
	return p;
fail:
	curl_lib.easy_cleanup(p->curl);
	free(p->url);
	free(p->service);
	free(p->labels);
	free(p);
	return NULL;
}

/* Call after agent__cancel(): the thread sees a->stopping. */
void agent_push__stop(struct agent_push *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->a->lock);
	pthread_cond_broadcast(&p->a->cond);
	pthread_mutex_unlock(&p->a->lock);
	pthread_join(p->thread, NULL);
	curl_lib.easy_cleanup(p->curl);
	curl_lib.global_cleanup();
	free(p->url);
	free(p->service);
	free(p->labels);
	free(p);
}
