/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pmuprof agent: the record engine run until stopped, drained into windows, with profile
 * requests ("the next N seconds of this event") served from the drains as they happen,
 * self-metrics and the collectors' values for /metrics, and windows pushed to a
 * Pyroscope-compatible store. The engine runs on the caller's thread (agent__run); HTTP
 * and push threads only queue requests and read snapshots under the agent's lock.
 */
#ifndef PMUPROF_AGENT_H
#define PMUPROF_AGENT_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "record.h"
#include "collector.h"
#include "keycache.h"

#define AGENT_MAX_LISTEN 8

struct agent;
#define AGENT_MAX_LABELS 16

struct agent_opts {
	const char *listen[AGENT_MAX_LISTEN];
	int nr_listen;
	const char *events;		      /* -e, default "cycles" */
	unsigned long freq;		      /* -F, default AGENT_FREQ */
	const char *collectors;		      /* NULL: all */
	double window_s;		      /* --window */
	int windows;			      /* --windows: the push queue's bound */
	int keep_windows;		      /* --keep-windows: the ring of recent windows */
	uint64_t keep_bytes;		      /* --keep-bytes: the ring's bound in bytes */
	int max_seconds;		      /* --max-seconds: largest ?seconds= */
	int max_requests;		      /* --max-requests: concurrent profile requests */
	const char *token_file;		      /* --token-file */
	const char *push_url;		      /* --push */
	const char *labels[AGENT_MAX_LABELS]; /* --label K=V */
	int nr_labels;
	size_t max_table;
	unsigned int drain_ms;
	/* User stacks walked with CFI tables (record's default where the kernel can), or
	 * frame pointers (--call-graph=fp). */
	bool unwind;
	uint64_t unwind_memory; /* --unwind-memory: bytes of CFI tables; 0: the default */
	uint64_t dwarf_memory;	/* --dwarf-memory: the symbolizer's DWARF budget; 0: its default */
	bool no_debuginfod;	/* --no-debuginfod */
	double debuginfod_budget; /* --debuginfod-budget S over the agent's life; 0: 10 */
	/* Called by the engine once sampling and ready, then at every turn of its loop (at
	 * least every 100 ms): the service manager's readiness and watchdog. NULL: none. */
	void (*on_loop)(void *arg, struct agent *a, double now);
	void *on_loop_arg;
};

#define AGENT_FREQ	   19
#define AGENT_WINDOW_S	   10
#define AGENT_WINDOWS	   6
#define AGENT_KEEP_WINDOWS 30
#define AGENT_KEEP_BYTES   (32ULL << 20)
#define AGENT_MAX_SECONDS  300
#define AGENT_MAX_REQUESTS 4

/* A profile request: the next `seconds` of one event. */
struct agent_request {
	int event;
	int seconds;
	struct stack_table *table;
	uint64_t base[PROFILE_CNT_MAX];	       /* the ledger when it started: samples */
	uint64_t base_weight[PROFILE_CNT_MAX]; /* and their weight */
	struct stack_count table_full;	       /* new stacks beyond --max-table */
	double end;			       /* monotonic */
	time_t wall_start;
	int err; /* when done: 0 or negative errno (-ESHUTDOWN: the agent stops) */
	bool done;
	struct agent_request *next;
};

/* A window kept in the ring: each event's stacks as gzip-compressed pprof. */
struct agent_window {
	time_t from, until;
	char *body[PROFILE_MAX_EVENTS];
	size_t len[PROFILE_MAX_EVENTS];
};

/* The last --keep-windows windows (at most --keep-bytes of pprof), oldest first. */
struct agent_ring {
	pthread_mutex_t lock; /* taken by the engine to add, by requests to read */
	struct agent_window *w;
	int first, nr, cap;
	uint64_t bytes, dropped;
};

/* A window as pushed: gzip-compressed pprof of one event. */
struct agent_push_item {
	char *body;
	size_t len;
	int event;
	time_t from, until;
};

struct agent_slot {
	const struct collector *c;
	void *state;
	bool running;
	char reason[256];
	double duration; /* of the last values() */
	bool success;
	/* counters: the ratios (-1: none) and the values they were taken from, when. */
	double ratio[3], ratio_prev[3][2], ratio_t;
};

/* What /metrics shows of the engine (totals since the start). */
struct agent_totals {
	uint64_t counters[PROFILE_MAX_EVENTS][PROFILE_CNT_MAX]; /* kernel ledger, live */
	uint64_t in_stacks[PROFILE_MAX_EVENTS];			/* at window ends */
	uint64_t table_full[PROFILE_MAX_EVENTS];
	uint64_t stacks[PROFILE_MAX_EVENTS]; /* distinct stacks of the last window */
	uint64_t drains, symbolized, cache_hits, reaped, windows;
	uint64_t unresolved_user, track_lost, untracked_pids;
	/* The CFI walk (st.unwind_tables, unwind_ends), the symbolizer's debuginfod client. */
	bool unwind, debuginfod;
	struct unwind_loader_stats unwind_tables;
	uint64_t unwind_ends[8];
	struct sym_debuginfod_stats dbg;
	struct symbolizer_dwarf_stats dwarf; /* the symbolizer's DWARF within its budget */
	uint64_t requests, requests_rejected, requests_failed;
	uint64_t push_sent, push_failed, push_dropped, push_table_full;
	int push_queued;
	uint64_t recent_windows, recent_bytes, recent_dropped; /* the ring */
};

struct agent {
	struct agent_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;	   /* requests done, push items queued, stopping */
	pthread_mutex_t coll_lock; /* the collectors' values, one scrape at a time */
	/* Engine: owned by the thread in agent__run. */
	struct symbolizer *sym;
	struct record *rec;
	struct pmu_event *evs;
	int nr_evs;
	bool count_weight[PROFILE_MAX_EVENTS];
	char fallback[256];   /* "" or the fallback line */
	char call_graph[160]; /* "dwarf", or "fp" and why */
	bool debuginfod_said; /* that libdebuginfod is missing, once */
	struct agent_request *active;
	/* --push: this window's stacks (under a first frame of labels, as requests'). */
	struct stack_table *push_tables[PROFILE_MAX_EVENTS];
	/* --push: the container of each process, read from its cgroup while it runs and kept
	 * after it exits until its address space is freed. Keys (pid, generation) for
	 * processes seen in stacks, (pid, 0) for the latest process of a pid the tracker
	 * reported; val[0]: the window it was last read in (+ 1; PROC_REPORTED: to read after
	 * this poll); val[1] of (pid, 0): when its process started (boot clock, ns, as the
	 * tracker knows it; 0: unknown); container[]: its id by slot. */
	struct keycache procs;
	char (*container)[65];
	pid_t *reported; /* pids the tracker reported in this poll */
	size_t nr_reported, cap_reported;
	struct stack_frame *copy; /* a stack being copied into a request's or push table */
	size_t copy_cap;
	double window_start;
	time_t window_wall;
	/* Shared, under lock. */
	struct agent_request *pending;
	int nr_requests; /* pending + active + being answered */
	struct agent_totals t;
	bool ready, stopping;
	double heartbeat; /* monotonic time of the engine's last loop */
	time_t started;
	struct agent_slot slots[16];
	int nr_slots;
	bool profile_running;
	struct agent_push_item *queue;
	int queue_len;
	struct agent_ring ring;
	char hostname[256];
	const volatile sig_atomic_t *stop;
};

/* The events, the sampler and the collectors; errors explained on stderr. 0 or exit code. */
int agent__init(struct agent *a, const struct agent_opts *o, const volatile sig_atomic_t *stop);
/* The engine until *stop: drains, windows, requests. 0 or negative errno. */
int agent__run(struct agent *a);
/* Stopping: new requests are refused, waiting ones fail with -ESHUTDOWN. */
void agent__cancel(struct agent *a);
/* agent__cancel, detach the sampler (every BPF program), stop the collectors, free. */
void agent__exit(struct agent *a);

/* -1 for a name that is no event of the agent, else its index. */
int agent__event_index(const struct agent *a, const char *name);
/*
 * Queue a profile request and wait for it: 0 with *out (the caller frees it with
 * agent_request__free), -EBUSY at the concurrency cap, -ESHUTDOWN when stopping.
 */
int agent__profile(struct agent *a, int event, int seconds, struct agent_request **out);
void agent_request__free(struct agent_request *r);
/* A request's or a window's table as gzip-compressed pprof in a malloc'd buffer; labels:
 * the stacks may start with a frame of labels (pprof_opts.root_labels: "{pid=P,...}"). */
int agent__pprof(struct agent *a, int event, struct stack_table *t, time_t start, double secs,
		 bool labels, char **buf, size_t *len);

/* The ring (agent-ring.c): cap windows at most (0: none kept). */
int agent_ring__init(struct agent_ring *r, int cap);
void agent_ring__exit(struct agent_ring *r);
/* A window ends (engine thread): its tables, one per event, kept as pprof. */
void agent__keep_window(struct agent *a, struct stack_table **tables, time_t until, double secs);
/*
 * The last `windows` windows of the ring (all it keeps when 0 or more) of one event, as
 * one gzip-compressed pprof in a malloc'd buffer; *nr: the windows in it. -ENOENT: no
 * window has ended yet (or the ring is off).
 */
int agent__recent(struct agent *a, int event, int windows, char **buf, size_t *len, int *nr);

/* /metrics in Prometheus text 0.0.4 or OpenMetrics 1.0 (a malloc'd buffer). */
int agent__metrics(struct agent *a, bool openmetrics, char **buf, size_t *len);
/* /api/collectors as JSON. */
int agent__collectors_json(struct agent *a, char **buf, size_t *len);

/* HTTP (agent-http.c). */
struct agent_http;
/* libmicrohttpd loaded (before any BPF setup): 0, or -errno with the line for the user. */
int agent_http__load(char *errbuf, size_t sz);
struct agent_http *agent_http__start(struct agent *a, char *errbuf, size_t sz);
/* Stop accepting new connections. */
void agent_http__quiesce(struct agent_http *h);
/* Quiesce and join (call after agent__cancel: waiting profile requests get 503). */
void agent_http__stop(struct agent_http *h);

/* Push (agent-push.c). */
struct agent_push;
/* libcurl loaded (before any BPF setup): 0, or -errno with the line for the user. */
int agent_push__load(char *errbuf, size_t sz);
struct agent_push *agent_push__start(struct agent *a, char *errbuf, size_t sz);
void agent_push__stop(struct agent_push *p);
/* Queue one window (engine thread); the oldest is dropped beyond --windows. */
void agent__queue_push(struct agent *a, struct agent_push_item *it);

#endif
