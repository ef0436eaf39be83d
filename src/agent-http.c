// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's HTTP server (libmicrohttpd, a thread per connection: a profile request
 * waits its N seconds in its own thread while the engine keeps draining). Paths follow
 * Go's net/http/pprof, Prometheus and its health endpoints.
 */
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include "agent.h"
#include "lazylib.h"
#include "util.h"

struct agent_http {
	struct agent *a;
	struct MHD_Daemon *d[AGENT_MAX_LISTEN];
	MHD_socket quiesced[AGENT_MAX_LISTEN];
	int nr;
	char token[512]; /* "" when no token is needed */
	int answering;	 /* profile requests not yet answered (atomic) */
};

/* libmicrohttpd, loaded when the agent starts serving. */
static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_quiesce_daemon) *quiesce_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd_lib;

static const struct lazylib_sym mhd_syms[] = {
	LAZYLIB_SYM(mhd_lib, start_daemon, MHD_start_daemon),
	LAZYLIB_SYM(mhd_lib, stop_daemon, MHD_stop_daemon),
	LAZYLIB_SYM(mhd_lib, quiesce_daemon, MHD_quiesce_daemon),
	LAZYLIB_SYM(mhd_lib, get_daemon_info, MHD_get_daemon_info),
	LAZYLIB_SYM(mhd_lib, lookup_connection_value, MHD_lookup_connection_value),
	LAZYLIB_SYM(mhd_lib, create_response_from_buffer, MHD_create_response_from_buffer),
	LAZYLIB_SYM(mhd_lib, add_response_header, MHD_add_response_header),
	LAZYLIB_SYM(mhd_lib, queue_response, MHD_queue_response),
	LAZYLIB_SYM(mhd_lib, destroy_response, MHD_destroy_response),
};

static struct lazylib mhd_lazy = LAZYLIB(MHD_SONAME, MHD_PACKAGE, mhd_syms);

/* A profile request's connection (con_cls) until its answer is sent. */
static char profile_conn;

/* How long stopping waits for the answers to requests in flight. */
#define HTTP_GRACE_S 2.0

static const char index_page[] =
	"<!DOCTYPE html><html><head><title>pmuprof agent</title></head><body>\n"
	"<h1>pmuprof agent</h1><ul>\n"
	"<li><a href=\"/debug/pprof/\">/debug/pprof/</a>: profiles (pprof, ?seconds=N)</li>\n"
	"<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>\n"
	"<li><a href=\"/api/collectors\">/api/collectors</a>: what runs here, and why not</li>\n"
	"<li><a href=\"/-/healthy\">/-/healthy</a>, <a href=\"/-/ready\">/-/ready</a></li>\n"
	"</ul></body></html>\n";

/* Queue body (malloc'd, taken over) with a status and a content type. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     char *body, size_t len, bool go_pprof_error)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd_lib.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	mhd_lib.add_response_header(r, "Content-Type", type);
	if (go_pprof_error) {
		/* As Go's net/http/pprof answers its errors. */
		mhd_lib.add_response_header(r, "X-Go-Pprof", "1");
		mhd_lib.add_response_header(r, "X-Content-Type-Options", "nosniff");
	}
	if (status == MHD_HTTP_TOO_MANY_REQUESTS || status == MHD_HTTP_SERVICE_UNAVAILABLE)
		mhd_lib.add_response_header(r, "Retry-After", "1");
	if (status == MHD_HTTP_UNAUTHORIZED)
		mhd_lib.add_response_header(r, "WWW-Authenticate", "Bearer realm=\"pmuprof\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd_lib.add_response_header(r, "Allow", "GET, HEAD");
	if (status == MHD_HTTP_OK && !strcmp(type, "application/octet-stream"))
		mhd_lib.add_response_header(r, "Content-Disposition",
					    "attachment; filename=\"profile\"");
	ret = mhd_lib.queue_response(c, status, r);
	mhd_lib.destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, bool go_pprof,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result text(struct MHD_Connection *c, unsigned int status, bool go_pprof,
			    const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return reply(c, status, "text/plain; charset=utf-8", s, n, go_pprof);
}

/* ?seconds=: Go's rules (absent or not positive: 30), but a non-integer is refused. */
static int parse_seconds(const char *arg, int max, long *out)
{
	char *end;
	long v;

	*out = 30;
	if (!arg || !*arg)
		return 0;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (*end || errno)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	if (v > 0)
		*out = v;
	return 0;
}

static enum MHD_Result serve_profile(struct agent_http *h, struct MHD_Connection *c, int event)
{
	const char *arg = mhd_lib.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "seconds");
	struct agent_request *r;
	char *body;
	size_t len;
	long secs;
	int err = parse_seconds(arg, h->a->o.max_seconds, &secs);

	if (err == -EINVAL)
		return text(c, MHD_HTTP_BAD_REQUEST, true,
			    "seconds=%s: give a whole number of seconds (default 30)\n", arg);
	if (err == -ERANGE)
		return text(c, MHD_HTTP_BAD_REQUEST, true,
			    "seconds=%s: profile duration exceeds the agent's maximum of %d s "
			    "(--max-seconds)\n",
			    arg, h->a->o.max_seconds);
	err = agent__profile(h->a, event, (int)secs, &r);
	if (err == -EBUSY)
		return text(c, MHD_HTTP_TOO_MANY_REQUESTS, true,
			    "too many concurrent profile requests (at most %d, --max-requests); "
			    "retry later\n",
			    h->a->o.max_requests);
	if (err == -ESHUTDOWN)
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, true, "the agent is stopping\n");
	if (err)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, true, "profile failed: %s\n",
			    strerror(-err));
	err = agent__pprof(h->a, event, r->table, r->wall_start, r->seconds, true, &body, &len);
	agent_request__free(r);
	/* The request's table and the encoder's pieces are freed: their pages go back to the
	 * system rather than stay the agent's until the next request (soak: RSS highs near
	 * the profile requests). */
	malloc_trim(0);
	if (err)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, true, "profile failed: %s\n",
			    strerror(-err));
	return reply(c, MHD_HTTP_OK, "application/octet-stream", body, len, false);
}

/* ?windows=K: the last K windows of the ring (absent: all it keeps). */
static enum MHD_Result serve_recent(struct agent_http *h, struct MHD_Connection *c, int event)
{
	const char *arg = mhd_lib.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "windows");
	char *body, *end;
	size_t len;
	long k = 0;
	int err, nr;

	if (!h->a->o.keep_windows)
		return text(c, MHD_HTTP_NOT_FOUND, true,
			    "no windows are kept here (--keep-windows 0)\n");
	if (arg && *arg) {
		errno = 0;
		k = strtol(arg, &end, 10);
		if (*end || errno || k < 1)
			return text(c, MHD_HTTP_BAD_REQUEST, true,
				    "windows=%s: give a whole number of windows, at least 1 "
				    "(default: all kept, at most %d)\n",
				    arg, h->a->o.keep_windows);
	}
	err = agent__recent(h->a, event, k > INT32_MAX ? INT32_MAX : (int)k, &body, &len, &nr);
	if (err == -ENOENT)
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, true,
			    "no window has ended yet (one ends every %g s, --window)\n",
			    h->a->o.window_s);
	if (err)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, true, "profile failed: %s\n",
			    strerror(-err));
	return reply(c, MHD_HTTP_OK, "application/octet-stream", body, len, false);
}

static enum MHD_Result serve_pprof_index(struct agent_http *h, struct MHD_Connection *c)
{
	struct agent *a = h->a;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int i;

	if (!f)
		return MHD_NO;
	fprintf(f, "/debug/pprof/profile?seconds=N: %s (the default event)\n",
		a->nr_evs ? a->evs[0].name : "no sampler running");
	for (i = 0; a->profile_running && i < a->nr_evs; i++)
		fprintf(f, "/debug/pprof/%s?seconds=N\n", a->evs[i].name);
	fprintf(f,
		"/debug/pprof/recent?windows=K: the last K windows already taken (%d kept, %g s "
		"each), the default event\n",
		a->o.keep_windows, a->o.window_s);
	for (i = 0; a->profile_running && a->o.keep_windows && i < a->nr_evs; i++)
		fprintf(f, "/debug/pprof/recent/%s?windows=K\n", a->evs[i].name);
	if (fclose(f))
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", s, len, false);
}

/*
 * Go's /debug/pprof/symbol, which go tool pprof asks (POST, the addresses in the body) for
 * the addresses of a profile's mappings that have no function names: the agent names
 * what it can before answering, so it has no symbols to add and says so.
 */
static bool is_symbol_path(const char *url)
{
	size_t n = strlen(url);

	return !strncmp(url, "/debug/pprof/", 13) && n >= 19 && !strcmp(url + n - 7, "/symbol");
}

static bool wants_openmetrics(struct MHD_Connection *c)
{
	const char *acc = mhd_lib.lookup_connection_value(c, MHD_HEADER_KIND, "Accept");

	return acc && strstr(acc, "application/openmetrics-text");
}

static enum MHD_Result serve_metrics(struct agent_http *h, struct MHD_Connection *c)
{
	bool om = wants_openmetrics(c);
	char *body;
	size_t len;

	if (agent__metrics(h->a, om, &body, &len))
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, false, "metrics failed\n");
	return reply(c, MHD_HTTP_OK,
		     om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
			: "text/plain; version=0.0.4; charset=utf-8",
		     body, len, false);
}

static enum MHD_Result serve_health(struct agent_http *h, struct MHD_Connection *c, bool ready)
{
	struct agent *a = h->a;
	double age;
	bool ok;

	pthread_mutex_lock(&a->lock);
	age = clock__monotonic() - a->heartbeat;
	ok = ready ? a->ready && !a->stopping : !a->stopping && (age < 10 || !a->ready);
	pthread_mutex_unlock(&a->lock);
	if (ready)
		return text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, false, "%s\n",
			    ok ? "pmuprof agent is Ready." : "pmuprof agent is not ready.");
	return text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, false, "%s\n",
		    ok ? "pmuprof agent is Healthy." : "pmuprof agent is not healthy.");
}

/* Constant time: the token's length may leak, not its bytes. */
static bool authorized(struct agent_http *h, struct MHD_Connection *c)
{
	const char *auth = mhd_lib.lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	size_t n = strlen(h->token), i;
	unsigned char diff = 0;

	if (!n)
		return true;
	if (!auth || strncmp(auth, "Bearer ", 7) || strlen(auth + 7) != n)
		return false;
	for (i = 0; i < n; i++)
		diff |= auth[7 + i] ^ h->token[i];
	return diff == 0;
}

static enum MHD_Result route(struct agent_http *h, struct MHD_Connection *c, const char *url)
{
	char *body;
	size_t len;
	int ev;

	if (!strcmp(url, "/-/healthy") || !strcmp(url, "/-/ready"))
		return serve_health(h, c, !strcmp(url, "/-/ready"));
	if (!authorized(h, c))
		return text(c, MHD_HTTP_UNAUTHORIZED, false,
			    "give the agent's token: Authorization: Bearer TOKEN\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(h, c);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", strdup(index_page),
			     strlen(index_page), false);
	if (!strcmp(url, "/api/collectors")) {
		if (agent__collectors_json(h->a, &body, &len))
			return MHD_NO;
		return reply(c, MHD_HTTP_OK, "application/json", body, len, false);
	}
	if (!strcmp(url, "/debug/pprof/") || !strcmp(url, "/debug/pprof"))
		return serve_pprof_index(h, c);
	if (is_symbol_path(url))
		return text(c, MHD_HTTP_OK, false, "num_symbols: 0\n");
	if (!strncmp(url, "/debug/pprof/", 13)) {
		const char *name = url + 13;

		if (!h->a->profile_running)
			return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, true,
				    "the profile collector is not running here (see "
				    "/api/collectors)\n");
		if (!strcmp(name, "recent") || !strncmp(name, "recent/", 7)) {
			ev = name[6] ? agent__event_index(h->a, name + 7) : 0;
			if (ev >= 0)
				return serve_recent(h, c, ev);
		}
		ev = !strcmp(name, "profile") ? 0 : agent__event_index(h->a, name);
		if (ev >= 0)
			return serve_profile(h, c, ev);
		return text(c, MHD_HTTP_NOT_FOUND, true,
			    "unknown profile: %s (see /debug/pprof/)\n", name);
	}
	return text(c, MHD_HTTP_NOT_FOUND, false, "404 page not found: %s\n", url);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	if (!*con_cls) {
		*con_cls = c; /* headers in: answer on the next call */
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* a body is not read */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD") &&
	    !(!strcmp(method, "POST") && is_symbol_path(url)))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, false, "%s: only GET and HEAD\n",
			    method);
	if (!strncmp(url, "/debug/pprof/", 13) && !is_symbol_path(url) &&
	    *con_cls != &profile_conn) {
		*con_cls = &profile_conn;
		__atomic_add_fetch(&((struct agent_http *)cls)->answering, 1, __ATOMIC_SEQ_CST);
	}
	return route(cls, c, url);
}

/* The answer is sent (or the connection broke): stopping need not wait for it. */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode code)
{
	(void)c;
	(void)code;
	if (*con_cls == &profile_conn)
		__atomic_sub_fetch(&((struct agent_http *)cls)->answering, 1, __ATOMIC_SEQ_CST);
	*con_cls = NULL;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* "127.0.0.1:7071", "[::1]:7071", ":7071" (every address). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, char *errbuf, size_t sz)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon = strrchr(spec, ':'), *port;
	size_t hl;
	int err;

	if (!colon || !colon[1]) {
		snprintf(errbuf, sz, "--listen %s: give ADDRESS:PORT (e.g. 127.0.0.1:7071)", spec);
		return -EINVAL;
	}
	port = colon + 1;
	hl = colon - spec;
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
	err = getaddrinfo(hl ? host : NULL, port, &hints, &res);
	if (err || !res) {
		snprintf(errbuf, sz, "--listen %.200s: %s", spec, gai_strerror(err));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int read_token(struct agent_http *h, const char *path, char *errbuf, size_t sz)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(errbuf, sz, "--token-file %s: %s", path, strerror(errno));
		return -errno;
	}
	n = fread(h->token, 1, sizeof(h->token) - 1, f);
	fclose(f);
	h->token[n] = 0;
	while (n && (h->token[n - 1] == '\n' || h->token[n - 1] == '\r' || h->token[n - 1] == ' '))
		h->token[--n] = 0;
	if (!n) {
		snprintf(errbuf, sz, "--token-file %s: the file is empty", path);
		return -EINVAL;
	}
	return 0;
}

int agent_http__load(char *errbuf, size_t sz)
{
	char why[256];
	int err = lazylib__load(&mhd_lazy);

	if (err)
		snprintf(errbuf, sz, "%s", lazylib__strerror(&mhd_lazy, why, sizeof(why)));
	return err;
}

struct agent_http *agent_http__start(struct agent *a, char *errbuf, size_t sz)
{
	struct agent_http *h;
	int i;

	if (agent_http__load(errbuf, sz))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(errbuf, sz, "%s", strerror(ENOMEM));
		return NULL;
	}
	h->a = a;
	if (a->o.token_file && read_token(h, a->o.token_file, errbuf, sz))
		goto fail;
	for (i = 0; i < a->o.nr_listen; i++) {
		struct sockaddr_storage ss;
		const union MHD_DaemonInfo *info;
		unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;

		if (parse_listen(a->o.listen[i], &ss, errbuf, sz))
			goto fail;
		if (ss.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		h->d[i] = mhd_lib.start_daemon(
			flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
			MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
		if (!h->d[i]) {
			snprintf(errbuf, sz, "--listen %s: cannot listen there: %s", a->o.listen[i],
				 strerror(errno ? errno : EADDRINUSE));
			goto fail;
		}
		h->quiesced[i] = MHD_INVALID_SOCKET;
		h->nr++;
		info = mhd_lib.get_daemon_info(h->d[i], MHD_DAEMON_INFO_BIND_PORT);
		fprintf(stderr, "pmuprof: agent: listening on %s (port %u)%s\n", a->o.listen[i],
			info ? info->port : 0,
			is_loopback((struct sockaddr *)&ss)
				? ""
				: "; not a loopback address: anyone who reaches it can profile "
				  "this machine (--token-file, a firewall)");
	}
	return h;
fail:
	agent_http__stop(h);
	return NULL;
}

void agent_http__quiesce(struct agent_http *h)
{
	int i;

	for (i = 0; h && i < h->nr; i++)
		if (h->quiesced[i] == MHD_INVALID_SOCKET)
			h->quiesced[i] = mhd_lib.quiesce_daemon(h->d[i]);
}

void agent_http__stop(struct agent_http *h)
{
	double t0;
	int i;

	if (!h)
		return;
	agent_http__quiesce(h);
	/* Requests in flight were failed (agent__cancel): their 503s go out before the
	 * connections are closed, within a short grace. */
	for (t0 = clock__monotonic(); __atomic_load_n(&h->answering, __ATOMIC_SEQ_CST) > 0 &&
				      clock__monotonic() - t0 < HTTP_GRACE_S;)
		usleep(10000);
	for (i = 0; i < h->nr; i++) {
		mhd_lib.stop_daemon(h->d[i]);
		if (h->quiesced[i] != MHD_INVALID_SOCKET)
			close(h->quiesced[i]);
	}
	free(h);
}
