// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's ring of recent windows: each window's stacks kept as gzip-compressed pprof
 * (what a window costs to keep is then its size on the wire, a few kilobytes to a few
 * megabytes), the oldest dropped beyond --keep-windows or --keep-bytes. Requests for
 * recent windows merge them into one profile (pprof__merge) under the ring's lock, which
 * the engine takes only to add a window: a merge delays at most that, never a drain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "flamegraph/flamegraph.h"

int agent_ring__init(struct agent_ring *r, int cap)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->cap = cap;
	if (cap && !(r->w = calloc(cap, sizeof(*r->w))))
		return -ENOMEM;
	return 0;
}

static uint64_t window__bytes(const struct agent_window *w)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < PROFILE_MAX_EVENTS; i++)
		n += w->len[i];
	return n;
}

static void window__free(struct agent_window *w)
{
	int i;

	for (i = 0; i < PROFILE_MAX_EVENTS; i++)
		free(w->body[i]);
	memset(w, 0, sizeof(*w));
}

void agent_ring__exit(struct agent_ring *r)
{
	int i;

	for (i = 0; i < r->nr; i++)
		window__free(&r->w[(r->first + i) % r->cap]);
	free(r->w);
	r->w = NULL;
	r->nr = 0;
}

/* The oldest window out (under the ring's lock). */
static void ring__drop_oldest(struct agent_ring *r)
{
	struct agent_window *w = &r->w[r->first];

	r->bytes -= window__bytes(w);
	window__free(w);
	r->first = (r->first + 1) % r->cap;
	r->nr--;
	r->dropped++;
}

/* Add w (taken over), dropping the oldest beyond the bounds; a window larger than
 * max_bytes on its own is not kept. */
static void ring__add(struct agent_ring *r, struct agent_window *w, uint64_t max_bytes)
{
	uint64_t n = window__bytes(w);

	pthread_mutex_lock(&r->lock);
	if (n > max_bytes) {
		window__free(w);
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	while (r->nr && (r->nr == r->cap || r->bytes + n > max_bytes))
		ring__drop_oldest(r);
	r->w[(r->first + r->nr) % r->cap] = *w;
	r->nr++;
	r->bytes += n;
	pthread_mutex_unlock(&r->lock);
}

void agent__keep_window(struct agent *a, struct stack_table **tables, time_t until, double secs)
{
	struct agent_window w = {.from = a->window_wall, .until = until};
	struct agent_ring *r = &a->ring;
	int i;

	if (!r->cap)
		return;
	/* A window that could not be encoded is left out of the ring, not kept half. */
	for (i = 0; i < a->nr_evs; i++)
		if (agent__pprof(a, i, tables[i], w.from, secs, false, &w.body[i], &w.len[i])) {
			window__free(&w);
			return;
		}
	ring__add(r, &w, a->o.keep_bytes);
	pthread_mutex_lock(&r->lock);
	pthread_mutex_lock(&a->lock);
	a->t.recent_windows = r->nr;
	a->t.recent_bytes = r->bytes;
	a->t.recent_dropped = r->dropped;
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&r->lock);
}

/* The windows' profiles of one event, merged (under the ring's lock). */
static int ring__merge(struct agent_ring *r, int event, int n, char **buf, size_t *len)
{
	struct pprof_part parts[n];
	FILE *f;
	int i, err;

	for (i = 0; i < n; i++) {
		const struct agent_window *w = &r->w[(r->first + r->nr - n + i) % r->cap];

		parts[i].buf = w->body[event];
		parts[i].len = w->len[event];
	}
	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	err = pprof__merge(f, parts, n);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

int agent__recent(struct agent *a, int event, int windows, char **buf, size_t *len, int *nr)
{
	struct agent_ring *r = &a->ring;
	int n, err;

	*buf = NULL;
	*len = 0;
	pthread_mutex_lock(&r->lock);
	n = windows > 0 && windows < r->nr ? windows : r->nr;
	*nr = n;
	err = n ? ring__merge(r, event, n, buf, len) : -ENOENT;
	pthread_mutex_unlock(&r->lock);
	return err;
}
