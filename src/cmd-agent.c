// SPDX-License-Identifier: GPL-2.0
/* pmuprof agent: continuous profiling served over HTTP, pushed to profile stores. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include "cmd.h"
#include "agent.h"
#include "lazylib.h"
#include "log.h"
#include "util.h"

static const char agent_usage[] =
	"Usage: pmuprof agent [--listen ADDR:PORT]... [-e EVENTS] [-F HZ] [--collectors LIST]\n"
	"                     [--window S] [--push URL] [--label K=V]...\n"
	"\n"
	"Profile this machine continuously until SIGTERM or SIGINT, and serve it over HTTP:\n"
	"  /debug/pprof/profile?seconds=N  the next N seconds of the first event, as pprof\n"
	"                                  (go tool pprof, Parca, Alloy scrape it)\n"
	"  /debug/pprof/EVENT?seconds=N    the same for each event of -e\n"
	"  /debug/pprof/recent?windows=K   the last K windows already taken, at once\n"
	"                                  (/debug/pprof/recent/EVENT for each event)\n"
	"  /metrics                        Prometheus metrics (OpenMetrics on request)\n"
	"  /-/healthy, /-/ready            health checks\n"
	"  /api/collectors                 JSON: what runs here, and why not\n"
	"\n"
	"      --listen ADDR:PORT  listen there (default 127.0.0.1:7071; repeatable);\n"
	"                          a non-loopback address prints a warning\n"
	"  -e, --event EVENTS      events to sample (default cycles; cpu-clock without a PMU)\n"
	"  -F, --freq HZ           sampling frequency (default 19)\n"
	"      --collectors LIST   comma-separated (default: all): profile, counters, uncore,\n"
	"                          cpu, memory, sched\n"
	"      --window S          seconds per window: drained stacks are taken (and pushed)\n"
	"                          every S seconds (default 10)\n"
	"      --windows N         windows waiting to be pushed at most (default 6)\n"
	"      --keep-windows N    recent windows kept for /debug/pprof/recent (default 30;\n"
	"                          0: none)\n"
	"      --keep-bytes SIZE   their bound in pprof bytes (default 32M)\n"
	"      --max-seconds N     largest ?seconds= a profile request may ask (default 300)\n"
	"      --max-requests N    concurrent profile requests (default 4; more get 429)\n"
	"      --token-file PATH   require 'Authorization: Bearer TOKEN' (the file's content)\n"
	"                          everywhere but /-/healthy and /-/ready\n"
	"      --push URL          push each window as pprof to a Pyroscope-compatible\n"
	"                          URL/ingest\n"
	"      --label K=V         a label of pushed profiles (repeatable; service_name\n"
	"                          defaults to pmuprof, hostname is added)\n"
	"      --call-graph MODE   user stacks: dwarf (default where the kernel can) walks\n"
	"                          them with CFI tables, fp follows frame pointers; -g: accepted\n"
	"      --unwind-memory SIZE kernel memory for the CFI tables (default 256M)\n"
	"      --dwarf-memory SIZE  DWARF kept for names, lines and inline frames (32M)\n"
	"      --no-debuginfod     do not ask the DEBUGINFOD_URLS servers for debug files\n"
	"      --debuginfod-budget S seconds for all debuginfod queries (default 10)\n"
	"      --max-table N       distinct stacks per event and window (default 200000)\n"
	"      --drain-interval MS take the stacks out of the kernel every MS ms (1000)\n"
	"  -v, --verbose           debug output\n"
	"  -h, --help              this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof agent\n"
	"  go tool pprof -top -seconds 10 http://127.0.0.1:7071/debug/pprof/profile\n"
	"  pmuprof agent -F 99 --push http://pyroscope:4040 --label env=prod\n"
	"  go tool pprof -top 'http://127.0.0.1:7071/debug/pprof/recent?windows=6'\n";

enum {
	OPT_LISTEN = 256,
	OPT_COLLECTORS,
	OPT_WINDOW,
	OPT_WINDOWS,
	OPT_MAX_SECONDS,
	OPT_MAX_REQUESTS,
	OPT_TOKEN_FILE,
	OPT_PUSH,
	OPT_LABEL,
	OPT_MAX_TABLE,
	OPT_DRAIN,
	OPT_CALL_GRAPH,
	OPT_UNWIND_MEMORY,
	OPT_DWARF_MEMORY,
	OPT_NO_DEBUGINFOD,
	OPT_DEBUGINFOD_BUDGET,
	OPT_KEEP_WINDOWS,
	OPT_KEEP_BYTES,
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void on_child(int sig)
{
	(void)sig;
}

static int bad(const char *opt, const char *arg, const char *what)
{
	fprintf(stderr, "pmuprof: agent: %s %s: %s\n", opt, arg, what);
	return EXIT_BAD_INPUT;
}

/* An integer option in [lo, hi]. */
static int int_arg(const char *opt, const char *arg, long lo, long hi, long *out)
{
	char *end, what[96];

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (!*arg || *end || errno || *out < lo || *out > hi) {
		snprintf(what, sizeof(what), "give a whole number from %ld to %ld", lo, hi);
		return bad(opt, arg, what);
	}
	return 0;
}

/* The options that take a whole number: their bounds and the field they set. */
enum int_field { F_INT, F_UINT, F_ULONG, F_SIZE, F_DOUBLE };

static const struct int_opt {
	int c;
	const char *name;
	long lo, hi;
	size_t off;
	enum int_field type;
} int_opts[] = {
	{'F', "-F", 1, 100000, offsetof(struct agent_opts, freq), F_ULONG},
	{OPT_WINDOW, "--window", 1, 3600, offsetof(struct agent_opts, window_s), F_DOUBLE},
	{OPT_WINDOWS, "--windows", 1, 1000, offsetof(struct agent_opts, windows), F_INT},
	{OPT_KEEP_WINDOWS, "--keep-windows", 0, 10000, offsetof(struct agent_opts, keep_windows),
	 F_INT},
	{OPT_MAX_SECONDS, "--max-seconds", 1, 86400, offsetof(struct agent_opts, max_seconds),
	 F_INT},
	{OPT_MAX_REQUESTS, "--max-requests", 1, 64, offsetof(struct agent_opts, max_requests),
	 F_INT},
	{OPT_MAX_TABLE, "--max-table", 1, 100000000, offsetof(struct agent_opts, max_table),
	 F_SIZE},
	{OPT_DRAIN, "--drain-interval", 10, 60000, offsetof(struct agent_opts, drain_ms), F_UINT},
	{OPT_DEBUGINFOD_BUDGET, "--debuginfod-budget", 1, 3600,
	 offsetof(struct agent_opts, debuginfod_budget), F_DOUBLE},
};

/* A whole-number option: 0, EXIT_BAD_INPUT, or -1 when c is not one of them. */
static int int_opt(int c, const char *arg, struct agent_opts *o)
{
	const struct int_opt *io = NULL;
	char *field;
	size_t i;
	long v;
	int err;

	for (i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]) && !io; i++)
		if (int_opts[i].c == c)
			io = &int_opts[i];
	if (!io)
		return -1;
	err = int_arg(io->name, arg, io->lo, io->hi, &v);
	if (err)
		return err;
	field = (char *)o + io->off;
	switch (io->type) {
	case F_INT:
		*(int *)field = v;
		break;
	case F_UINT:
		*(unsigned int *)field = v;
		break;
	case F_ULONG:
		*(unsigned long *)field = v;
		break;
	case F_SIZE:
		*(size_t *)field = v;
		break;
	case F_DOUBLE:
		*(double *)field = v;
		break;
	}
	return 0;
}

/* A size option (64M, 1G): 0 or EXIT_BAD_INPUT. */
static int size_arg(const char *opt, const char *arg, uint64_t *out)
{
	*out = cmd_size__parse(arg);
	return *out ? 0 : bad(opt, arg, "give a size such as 64M or 1G (at least 64K)");
}

/* K=V: a Prometheus-style label name, a value without the characters of the name syntax. */
static int label_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *p;

	if (!eq || eq == arg || !eq[1] || strpbrk(eq + 1, ",{}=\"\n"))
		return bad("--label", arg, "give KEY=VALUE (the value without , { } = or quotes)");
	for (p = arg; p < eq; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_') || (p == arg && isdigit(*p)))
			return bad("--label", arg, "a label name is letters, digits and _");
	return 0;
}

/* The options that are no number: 0, EXIT_BAD_INPUT, or -1 when c is not one of them. */
static int other_opt(int c, const char *arg, struct agent_opts *o, int *call_graph)
{
	switch (c) {
	case OPT_CALL_GRAPH:
		*call_graph = cmd_call_graph__parse(arg);
		if (*call_graph < 0)
			return bad("--call-graph", arg,
				   "use fp (frame pointers) or dwarf (CFI tables)");
		return 0;
	case OPT_UNWIND_MEMORY:
		return size_arg("--unwind-memory", arg, &o->unwind_memory);
	case OPT_DWARF_MEMORY:
		return size_arg("--dwarf-memory", arg, &o->dwarf_memory);
	case OPT_KEEP_BYTES:
		return size_arg("--keep-bytes", arg, &o->keep_bytes);
	case 'g':
		return 0; /* perf's "record call graphs": always done */
	case OPT_NO_DEBUGINFOD:
		o->no_debuginfod = true;
		return 0;
	case 'e':
		o->events = arg;
		return 0;
	case OPT_COLLECTORS:
		o->collectors = arg;
		return 0;
	case OPT_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case OPT_PUSH:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
			return bad("--push", arg, "give an http:// or https:// URL");
		o->push_url = arg;
		return 0;
	case 'v':
		log__set_level(log__get_level() + 1);
		return 0;
	}
	return -1;
}

/* The repeatable options: --listen and --label. */
static int list_opt(int c, const char *arg, struct agent_opts *o)
{
	const char *port;
	int err;

	if (c == OPT_LISTEN) {
		port = strrchr(arg, ':');
		if (o->nr_listen == AGENT_MAX_LISTEN)
			return bad("--listen", arg, "at most 8 addresses");
		if (!port || !port[1] || strspn(port + 1, "0123456789") != strlen(port + 1))
			return bad("--listen", arg,
				   "give ADDRESS:PORT (127.0.0.1:7071, [::1]:7071, :7071)");
		o->listen[o->nr_listen++] = arg;
		return 0;
	}
	if (c != OPT_LABEL)
		return -1;
	if (o->nr_labels == AGENT_MAX_LABELS)
		return bad("--label", arg, "at most 16 labels");
	err = label_arg(arg);
	o->labels[o->nr_labels++] = arg;
	return err;
}

static void agent_opts__defaults(struct agent_opts *o)
{
	o->events = "cycles";
	o->freq = AGENT_FREQ;
	o->window_s = AGENT_WINDOW_S;
	o->windows = AGENT_WINDOWS;
	o->keep_windows = AGENT_KEEP_WINDOWS;
	o->keep_bytes = AGENT_KEEP_BYTES;
	o->max_seconds = AGENT_MAX_SECONDS;
	o->max_requests = AGENT_MAX_REQUESTS;
	o->max_table = RECORD_MAX_TABLE;
	o->drain_ms = 1000;
}

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	static const struct option options[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"event", required_argument, NULL, 'e'},
		{"freq", required_argument, NULL, 'F'},
		{"collectors", required_argument, NULL, OPT_COLLECTORS},
		{"window", required_argument, NULL, OPT_WINDOW},
		{"windows", required_argument, NULL, OPT_WINDOWS},
		{"keep-windows", required_argument, NULL, OPT_KEEP_WINDOWS},
		{"keep-bytes", required_argument, NULL, OPT_KEEP_BYTES},
		{"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
		{"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"push", required_argument, NULL, OPT_PUSH},
		{"label", required_argument, NULL, OPT_LABEL},
		{"max-table", required_argument, NULL, OPT_MAX_TABLE},
		{"drain-interval", required_argument, NULL, OPT_DRAIN},
		{"call-graph", required_argument, NULL, OPT_CALL_GRAPH},
		{"unwind-memory", required_argument, NULL, OPT_UNWIND_MEMORY},
		{"dwarf-memory", required_argument, NULL, OPT_DWARF_MEMORY},
		{"no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD},
		{"debuginfod-budget", required_argument, NULL, OPT_DEBUGINFOD_BUDGET},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, err = 0, call_graph = CALL_GRAPH_DEFAULT;

	agent_opts__defaults(o);
	optind = 1;
	opterr = 0;
	while (!err && (c = getopt_long(argc, argv, "+:e:F:gvh", options, NULL)) != -1) {
		if (c == 'h') {
			fputs(agent_usage, stdout);
			exit(0);
		}
		err = int_opt(c, optarg, o);
		if (err < 0)
			err = list_opt(c, optarg, o);
		if (err < 0)
			err = other_opt(c, optarg, o, &call_graph);
		if (err < 0)
			return cmd_option_error("agent", c, argv, options);
	}
	if (!err && optind < argc) {
		fprintf(stderr,
			"pmuprof: agent: unexpected argument '%s': the agent profiles the whole "
			"machine; see 'pmuprof agent --help'\n",
			argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (!o->nr_listen)
		o->listen[o->nr_listen++] = "127.0.0.1:7071";
	/* record's rule: CFI tables unless fp is asked for or the kernel cannot. */
	o->unwind = !err && call_graph != CALL_GRAPH_FP &&
		    cmd_call_graph__kernel_can("pmuprof: agent", true);
	return err;
}

#ifdef HAVE_SYSTEMD
/* libsystemd, loaded when a service manager listens (NOTIFY_SOCKET). */
static struct {
	__typeof__(sd_notify) *notify;
	__typeof__(sd_notifyf) *notifyf;
	__typeof__(sd_watchdog_enabled) *watchdog_enabled;
} sd_lib;

static const struct lazylib_sym sd_syms[] = {
	LAZYLIB_SYM(sd_lib, notify, sd_notify),
	LAZYLIB_SYM(sd_lib, notifyf, sd_notifyf),
	LAZYLIB_SYM(sd_lib, watchdog_enabled, sd_watchdog_enabled),
};

static struct lazylib sd_lazy = LAZYLIB(SYSTEMD_SONAME, SYSTEMD_PACKAGE, sd_syms);

/* The service manager's protocol (Type=notify, WatchdogSec=): READY=1 once the engine
 * samples and serves, WATCHDOG=1 from the engine's loop, so a stuck engine is restarted. */
struct notify_state {
	bool ready;
	uint64_t watchdog_usec; /* 0: no watchdog asked for */
	double last_ping;
};

static struct notify_state notify_state;

static void on_loop(void *arg, struct agent *a, double now)
{
	struct notify_state *n = arg;

	if (!n->ready) {
		n->ready = true;
		sd_lib.notifyf(0, "READY=1\nSTATUS=sampling %s at %lu Hz, serving %s",
			       a->nr_evs ? a->evs[0].name : "nothing", a->o.freq, a->o.listen[0]);
		if (sd_lib.watchdog_enabled(0, &n->watchdog_usec) <= 0)
			n->watchdog_usec = 0;
	}
	if (n->watchdog_usec && (now - n->last_ping) * 1e6 >= n->watchdog_usec / 2.0) {
		sd_lib.notify(0, "WATCHDOG=1");
		n->last_ping = now;
	}
}

static void notify_stopping(int sig)
{
	if (sd_lazy.state <= 0)
		return;
	sd_lib.notifyf(0, "STOPPING=1\nSTATUS=stopping%s%s", sig ? ": " : "",
		       sig ? strsignal(sig) : "");
}
#else
static void notify_stopping(int sig)
{
	(void)sig;
}
#endif

/*
 * Without a service manager listening, sd_notify() does nothing: libsystemd is loaded
 * only when one does. 0, or EXIT_BAD_INPUT after saying which library is missing.
 */
static int notify__setup(struct agent_opts *o)
{
#ifdef HAVE_SYSTEMD
	const char *sock = getenv("NOTIFY_SOCKET");
	char why[256];

	if (!sock || !*sock)
		return 0;
	if (lazylib__load(&sd_lazy)) {
		fprintf(stderr, "pmuprof: agent: NOTIFY_SOCKET is set: %s\n",
			lazylib__strerror(&sd_lazy, why, sizeof(why)));
		return EXIT_BAD_INPUT;
	}
	o->on_loop = on_loop;
	o->on_loop_arg = &notify_state;
#else
	(void)o;
#endif
	return 0;
}

/* Threads started from here on leave the stop signals to the main thread. */
static void block_stop_signals(bool block)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int cmd_agent(int argc, char **argv)
{
	struct agent_opts o = {0};
	struct agent_http *http = NULL;
	struct agent_push *push = NULL;
	static struct agent a;
	char errbuf[512];
	int ret, err;

	ret = parse_args(argc, argv, &o);
	if (!ret)
		ret = notify__setup(&o);
	/* A missing library stops the agent before it sets anything up. */
	if (!ret && (agent_http__load(errbuf, sizeof(errbuf)) ||
		     (o.push_url && agent_push__load(errbuf, sizeof(errbuf))))) {
		fprintf(stderr, "pmuprof: agent: %s\n", errbuf);
		ret = EXIT_BAD_INPUT;
	}
	if (ret)
		return ret;
	libbpf_set_print(log__libbpf_print);
	signals__install(on_signal, on_child);
	/* Logs go to stderr (the journal under systemd): there is nothing to reopen. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	ret = agent__init(&a, &o, &stop);
	if (ret)
		goto out;
	block_stop_signals(true);
	http = agent_http__start(&a, errbuf, sizeof(errbuf));
	if (http && o.push_url)
		push = agent_push__start(&a, errbuf, sizeof(errbuf));
	block_stop_signals(false);
	if (!http || (o.push_url && !push)) {
		fprintf(stderr, "pmuprof: agent: %s\n", errbuf);
		ret = EXIT_BAD_INPUT;
		goto out;
	}
	err = agent__run(&a);
	ret = err ? 1 : 0;
	notify_stopping(stop);
	if (stop)
		fprintf(stderr, "pmuprof: agent: %s: stopping\n", strsignal(stop));
out:
	agent_http__quiesce(http);
	agent__cancel(&a);
	agent_push__stop(push);
	agent_http__stop(http);
	agent__exit(&a);
	return ret;
}
