// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof record: parse options, pick targets and events, drive the record loop,
 * write the outputs and the summary.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "cmd.h"
#include "kfeature.h"
#include "log.h"
#include "record.h"
#include "kernel-btf.h"
#include "target.h"
#include "util.h"
#include "atomic-file.h"

static const char record_usage[] =
	"Usage: pmuprof record [OPTIONS] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Sample call stacks on hardware events with a BPF program, aggregate them in the\n"
	"kernel, symbolize them and write folded stacks (flamegraph.pl format).\n"
	"\n"
	"Targets (default: all CPUs):\n"
	"  -a, --all-cpus          all online CPUs\n"
	"  -C, --cpu LIST          these CPUs (e.g. 0-3,8)\n"
	"  -p, --pid PID[,PID..]   these processes (all their threads, and children);\n"
	"                          stop when all of them have exited\n"
	"  -t, --tid TID[,TID..]   these threads only\n"
	"  -- COMMAND [ARGS]       launch COMMAND, follow its children, stop when it exits\n"
	"                          (then exit with its status, as perf does)\n"
	"\n"
	"Events and sampling:\n"
	"  -e, --event LIST        events to sample (default: cycles); generic perf names:\n"
	"                          cycles, instructions, cache-references, cache-misses,\n"
	"                          branches, branch-misses, cpu-clock, task-clock, ...\n"
	"  -F, --freq HZ           samples per second per CPU or task (default: 99)\n"
	"  -c, --period PERIOD     one sample every PERIOD events (instead of -F)\n"
	"      --count WHAT        folded counts: samples, or events (sum of sample\n"
	"                          periods); default: events for hardware events in\n"
	"                          frequency mode, samples otherwise\n"
	"      --no-fallback       fail when there is no hardware PMU instead of\n"
	"                          falling back to cpu-clock\n"
	"  -d, --duration SECONDS  stop after SECONDS (default: until Ctrl-C or COMMAND exits)\n"
	"\n"
	"Stacks:\n"
	"      --max-stack N       frames per stack, user and kernel each (default: 127)\n"
	"  -U, --user-only         user frames only\n"
	"  -K, --kernel-only       kernel frames only\n"
	"      --max-stacks N      distinct stacks the kernel keeps per key-size tier\n"
	"                          (up to 16, 32, or more frames) between two drains\n"
	"                          (default: 16384); samples beyond: [lost:map_full]\n"
	"      --max-table N       distinct stacks kept per event (default: 200000);\n"
	"                          samples of new stacks beyond: [lost:table_full]\n"
	"      --max-processes N   processes whose address spaces are kept at once\n"
	"                          (default: 65536); beyond, their frames are unnamed\n"
	"      --drain-interval MS take the stacks out of the kernel every MS ms\n"
	"                          (default: 1000; earlier when a map is half full)\n"
	"      --attach MODE       auto (default), link (bpf_link with BPF cookies) or\n"
	"                          ioctl (legacy PERF_EVENT_IOC_SET_BPF)\n"
	"      --stack-walk HOW    perf (default): the perf callchain, walked once per\n"
	"                          sample for both halves; bpf: bpf_get_stack() walks\n"
	"                          each half inside the program\n"
	"      --call-graph MODE   user stacks: dwarf (default where the kernel can)\n"
	"                          walks them in the kernel with tables compiled from\n"
	"                          the binaries' CFI (.eh_frame, .debug_frame), so\n"
	"                          programs built without frame pointers get whole\n"
	"                          stacks (perf's dwarf,SIZE is accepted; no stack is\n"
	"                          copied); fp follows frame pointers only\n"
	"  -g                      accepted (stacks are always recorded)\n"
	"      --unwind-memory SIZE kernel memory for the CFI tables, in bytes or with\n"
	"                          K, M, G (default: 256M); beyond it the tables of files\n"
	"                          no longer sampled are evicted, least recently used\n"
	"                          first; what still does not fit follows frame pointers,\n"
	"                          counted in the summary\n"
	"\n"
	"Symbols:\n"
	"      --no-demangle       keep C++ and Rust names mangled\n"
	"      --debug-dir DIR     look for debug files under DIR too (repeatable;\n"
	"                          /usr/lib/debug is always searched)\n"
	"      --module-offsets    name frames without a symbol [file+0xoffset], not\n"
	"                          one [file] per module\n"
	"      --no-inline         no frames for inlined functions (from DWARF)\n"
	"      --no-debuginfod     do not ask the DEBUGINFOD_URLS servers for debug files\n"
	"      --debuginfod-budget S seconds for all debuginfod queries (default: 10);\n"
	"                          past it frames stay as they are\n"
	"\n"
	"Output:\n"
	"  -o, --output FILE       output file (default: profile.folded; .svg for a flame\n"
	"                          graph, .pb.gz for pprof; - for stdout); with several\n"
	"                          events, one file per event: FILE.EVENT.folded\n"
	"      --format FORMAT     folded (default), svg or pprof; also chosen by the\n"
	"                          extension: .folded, .svg, .pb.gz\n"
	"      --finish-budget S   seconds for draining, symbolizing and writing (default:\n"
	"                          60, 0: none); past it the remaining user frames are\n"
	"                          left unnamed\n"
	"      --report            then print the top functions on stdout (pmuprof report)\n"
	"      --per-pid           one root frame per process, COMM-PID (as\n"
	"                          stackcollapse-perf.pl --pid names them)\n"
	"  -q, --quiet             no summary\n"
	"  -v, --verbose           what is opened and why; -vv adds libbpf's messages\n"
	"  -h, --help              this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof record -d 10                      # all CPUs for 10 s, cycles at 99 Hz\n"
	"  pmuprof record -F 999 -p 1234 -d 5         # one process at 999 Hz\n"
	"  pmuprof record -e instructions -c 1000000 -- ./bench\n"
	"  pmuprof record -o out.folded -- make -j8   # a command and its children\n";

enum {
	OPT_NO_FALLBACK = 256,
	OPT_ATTACH,
	OPT_MAX_STACK,
	OPT_MAX_STACKS,
	OPT_FORMAT,
	OPT_STACK_WALK,
	OPT_COUNT_MODE,
	OPT_NO_DEMANGLE,
	OPT_DEBUG_DIR,
	OPT_MODULE_OFFSETS,
	OPT_NO_INLINE,
	OPT_NO_DEBUGINFOD,
	OPT_DEBUGINFOD_BUDGET,
	OPT_MAX_TABLE,
	OPT_MAX_PROCESSES,
	OPT_DRAIN_INTERVAL,
	OPT_FINISH_BUDGET,
	OPT_REPORT,
	OPT_CALL_GRAPH,
	OPT_UNWIND_MEMORY,
	OPT_PER_PID,
};

static const struct option record_options[] = {
	{"all-cpus", no_argument, NULL, 'a'},
	{"cpu", required_argument, NULL, 'C'},
	{"pid", required_argument, NULL, 'p'},
	{"tid", required_argument, NULL, 't'},
	{"event", required_argument, NULL, 'e'},
	{"freq", required_argument, NULL, 'F'},
	{"period", required_argument, NULL, 'c'},
	{"count", required_argument, NULL, OPT_COUNT_MODE},
	{"duration", required_argument, NULL, 'd'},
	{"no-fallback", no_argument, NULL, OPT_NO_FALLBACK},
	{"attach", required_argument, NULL, OPT_ATTACH},
	{"max-stack", required_argument, NULL, OPT_MAX_STACK},
	{"max-stacks", required_argument, NULL, OPT_MAX_STACKS},
	{"max-table", required_argument, NULL, OPT_MAX_TABLE},
	{"max-processes", required_argument, NULL, OPT_MAX_PROCESSES},
	{"drain-interval", required_argument, NULL, OPT_DRAIN_INTERVAL},
	{"user-only", no_argument, NULL, 'U'},
	{"kernel-only", no_argument, NULL, 'K'},
	{"output", required_argument, NULL, 'o'},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"stack-walk", required_argument, NULL, OPT_STACK_WALK},
	{"call-graph", required_argument, NULL, OPT_CALL_GRAPH},
	{"unwind-memory", required_argument, NULL, OPT_UNWIND_MEMORY},
	{"no-demangle", no_argument, NULL, OPT_NO_DEMANGLE},
	{"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
	{"module-offsets", no_argument, NULL, OPT_MODULE_OFFSETS},
	{"no-inline", no_argument, NULL, OPT_NO_INLINE},
	{"no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD},
	{"debuginfod-budget", required_argument, NULL, OPT_DEBUGINFOD_BUDGET},
	{"finish-budget", required_argument, NULL, OPT_FINISH_BUDGET},
	{"report", no_argument, NULL, OPT_REPORT},
	{"per-pid", no_argument, NULL, OPT_PER_PID},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct record_args {
	bool all_cpus;
	const char *cpu_list, *pid_list, *tid_list, *events, *output, *format;
	const char *freq_arg, *period_arg, *duration_arg, *attach_arg;
	unsigned long freq, period;
	double duration;
	bool no_fallback, user_only, kernel_only, quiet, bpf_walk, report, unwind;
	int call_graph; /* 0: not given (CFI tables where the kernel can), 1: fp, 2: dwarf */
	unsigned long long unwind_memory;
	int count_mode; /* 0 by the rule, 1 samples, 2 events */
	enum { OUT_FOLDED, OUT_SVG, OUT_PPROF } out_format;
	const char *cmd_path; /* the command found in PATH */
	bool no_demangle, module_offsets, no_debuginfod, no_inline, per_pid;
	unsigned int debuginfod_budget; /* seconds; 0: the default */
	char debug_dirs[4096];		/* ':'-separated */
	unsigned int max_stack, max_stacks;
	size_t max_table, max_processes;
	unsigned int drain_ms;
	unsigned int finish_budget; /* seconds for drain, symbolize, write; 0: none */
	enum pmu_attach_mode attach;
	char **cmd;
};

/* A launched command gets this long to exit after SIGTERM before SIGKILL. */
#define COMMAND_GRACE_S 2.0
/* The finish phase's default budget, and the grace after it before giving up. */
#define FINISH_BUDGET_S 60
#define FINISH_GRACE_S	10
/* A finish cut short by a signal must end this soon (a blocking open, say). */
#define FINISH_SIGNAL_GRACE_S 2

static volatile sig_atomic_t stop_signal;
/* The finish phase: one signal (or the budget) cuts it short, the next one aborts. */
static volatile sig_atomic_t finishing, cut_short;
static bool debuginfod_shown; /* a progress line is on the terminal */
static volatile sig_atomic_t command_pid;

/*
 * A second signal while finishing, or a finish still running after it was cut short:
 * leave at once, no output (the temporaries are unnamed, named ones unlinked here).
 */
static void finish_abort(int sig)
{
	static const char budget_msg[] = "pmuprof: the finish phase overran its budget; aborted, "
					 "no output written\n";
	static const char slow_msg[] = "pmuprof: still finishing 2 s after the signal; aborted, "
				       "no output written\n";
	static const char sig_msg[] = "pmuprof: interrupted again while finishing; aborted, no "
				      "output written\n";
	bool timer = sig == SIGALRM;
	ssize_t n;

	atomic_file__unlink_pending();
	if (command_pid > 0)
		kill(command_pid, SIGKILL);
	if (timer && cut_short == SIGALRM)
		n = write(STDERR_FILENO, budget_msg, sizeof(budget_msg) - 1);
	else if (timer)
		n = write(STDERR_FILENO, slow_msg, sizeof(slow_msg) - 1);
	else
		n = write(STDERR_FILENO, sig_msg, sizeof(sig_msg) - 1);
	(void)n;
	_exit(!timer ? 128 + sig : cut_short == SIGALRM ? 1 : 128 + cut_short);
}

/* Recording: stop. Finishing: cut short, and abort if that is not done soon. */
static void on_signal(int sig)
{
	if (!finishing) {
		stop_signal = sig;
	} else if (!cut_short) {
		cut_short = sig;
		alarm(FINISH_SIGNAL_GRACE_S);
	} else {
		finish_abort(sig);
	}
}

static void on_alarm(int sig)
{
	if (cut_short) {
		finish_abort(sig);
	} else {
		cut_short = sig;
		alarm(FINISH_GRACE_S);
	}
}

/* From here a signal, or budget seconds passing, cuts the finish short. */
static void finish_begin(unsigned int budget)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	finishing = 1;
	if (budget)
		alarm(budget);
}

/*
 * Test knob (tests/integration/test_output.py): a finish this many milliseconds slower,
 * so that signals and the budget can be shown to cut it short. Ends when it is cut short.
 */
static void finish_test_delay(void)
{
	const char *ms = getenv("PMUPROF_TEST_SLOW_FINISH_MS");
	double until;

	if (!ms)
		return;
	until = clock__monotonic() + atoi(ms) / 1000.0;
	while (!cut_short && clock__monotonic() < until)
		usleep(10000);
}

static void finish_end(unsigned int budget)
{
	alarm(0);
	if (cut_short == SIGALRM)
		fprintf(stderr,
			"pmuprof: the finish phase took over %u s (--finish-budget): user "
			"frames of the stacks left were not named\n",
			budget);
	else if (cut_short)
		fprintf(stderr,
			"pmuprof: %s while finishing: user frames of the stacks left were not "
			"named "
			"(another signal aborts)\n",
			strsignal(cut_short));
}

/* The output goes to pmuprof's own stdout ("-", /dev/stdout, the same pipe or tty). */
static bool output_is_stdout(const struct atomic_file *af)
{
	struct stat out, std;

	return af->fd >= 0 && !fstat(af->fd, &out) && !fstat(STDOUT_FILENO, &std) &&
	       out.st_dev == std.st_dev && out.st_ino == std.st_ino;
}

static void on_child(int sig)
{
	(void)sig;
}

#define fail_input(...)                                                                            \
	do {                                                                                       \
		fprintf(stderr, "pmuprof: " __VA_ARGS__);                                          \
		fputc('\n', stderr);                                                               \
		return -EINVAL;                                                                    \
	} while (0)

/* A positive integer that fits in max, or -1. */
static long long parse_positive(const char *s, long long max)
{
	long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0 || v > max)
		return -1;
	return v;
}

/* Bytes, or with a K, M or G suffix (powers of 1024); 0 when invalid or below 64 KiB. */
static unsigned long long parse_size(const char *s)
{
	return cmd_size__parse(s);
}

/* perf's spelling: fp, dwarf, dwarf,SIZE (no stack is copied here: SIZE is ignored). */
static int parse_call_graph(struct record_args *a, const char *arg)
{
	a->call_graph = cmd_call_graph__parse(arg);
	if (a->call_graph < 0)
		fail_input("--call-graph=%s: use fp (frame pointers) or dwarf (CFI tables)", arg);
	return 0;
}

/*
 * Whole user stacks by default: the CFI walk needs bpf_loop and bpf_probe_read_user. A
 * kernel without them records with frame pointers, said once (asked for or by default).
 */
static void call_graph_check(struct record_args *a)
{
	if (a->unwind)
		a->unwind = cmd_call_graph__kernel_can("pmuprof", a->call_graph == 2 || !a->quiet);
}

static int read_int_file(const char *path, long *v)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%ld", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* ".folded", ".svg", ".pb.gz" (two dots), or "" when the name has none. */
static const char *output_ext(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t len = strlen(base);

	if (len > 6 && !strcmp(base + len - 6, ".pb.gz"))
		return base + len - 6;
	return dot && dot != base ? dot : "";
}

static void record_args__init(struct record_args *a)
{
	memset(a, 0, sizeof(*a));
	a->events = "cycles";
	a->output = "profile.folded";
	a->max_stack = PROFILE_MAX_DEPTH;
	a->max_stacks = 16384;
	a->finish_budget = FINISH_BUDGET_S;
}

/* The options that take a bounded number (or size); 0 or -EINVAL (said why). */
static int record_args__number_option(struct record_args *a, int c, char **argv)
{
	long long v;

	switch (c) {
	case OPT_DEBUGINFOD_BUDGET:
		v = parse_positive(optarg, 3600);
		if (v < 0)
			fail_input("--debuginfod-budget %s: give whole seconds from 1 to 3600",
				   optarg);
		a->debuginfod_budget = v;
		break;
	case OPT_UNWIND_MEMORY:
		a->unwind_memory = parse_size(optarg);
		if (!a->unwind_memory)
			fail_input("--unwind-memory %s: give a size such as 64M or 1G (at "
				   "least 64K)",
				   optarg);
		break;
	case OPT_MAX_STACK:
		v = parse_positive(optarg, PROFILE_MAX_DEPTH);
		if (v < 0)
			fail_input("--max-stack %s: give a number of frames from 1 to %d", optarg,
				   PROFILE_MAX_DEPTH);
		a->max_stack = v;
		break;
	case OPT_FINISH_BUDGET:
		v = !strcmp(optarg, "0") ? 0 : parse_positive(optarg, 86400);
		if (v < 0)
			fail_input("--finish-budget %s: give whole seconds from 0 (none) "
				   "to 86400",
				   optarg);
		a->finish_budget = v;
		break;
	case OPT_MAX_STACKS:
		v = parse_positive(optarg, 1 << 24);
		if (v < 0)
			fail_input("--max-stacks %s: give a number of stacks from 1 to %d", optarg,
				   1 << 24);
		a->max_stacks = v;
		break;
	case OPT_MAX_TABLE:
	case OPT_MAX_PROCESSES:
		v = parse_positive(optarg, 1 << 30);
		if (v < 0)
			fail_input("--%s %s: give a number from 1 to %d",
				   c == OPT_MAX_TABLE ? "max-table" : "max-processes", optarg,
				   1 << 30);
		*(c == OPT_MAX_TABLE ? &a->max_table : &a->max_processes) = v;
		break;
	case OPT_DRAIN_INTERVAL:
		v = parse_positive(optarg, 3600 * 1000);
		if (v < 0)
			fail_input("--drain-interval %s: give milliseconds from 1 to %d", optarg,
				   3600 * 1000);
		a->drain_ms = v;
		break;
	default:
		exit(cmd_option_error("record", c, argv, record_options));
	}
	return 0;
}

/* One option from getopt_long; 0 or -EINVAL (said why). */
static int record_args__option(struct record_args *a, int c, char **argv)
{
	switch (c) {
	case 'a':
		a->all_cpus = true;
		break;
	case 'C':
		a->cpu_list = optarg;
		break;
	case 'p':
		a->pid_list = optarg;
		break;
	case 't':
		a->tid_list = optarg;
		break;
	case 'e':
		a->events = optarg;
		break;
	case 'F':
		a->freq_arg = optarg;
		break;
	case 'c':
		a->period_arg = optarg;
		break;
	case 'd':
		a->duration_arg = optarg;
		break;
	case 'U':
		a->user_only = true;
		break;
	case 'K':
		a->kernel_only = true;
		break;
	case 'g':
		break; /* perf's "record call graphs": always done */
	case 'o':
		a->output = optarg;
		break;
	case 'q':
		a->quiet = true;
		break;
	case 'v':
		log__set_level(log__get_level() + 1);
		break;
	case OPT_NO_FALLBACK:
		a->no_fallback = true;
		break;
	case OPT_ATTACH:
		a->attach_arg = optarg;
		break;
	case OPT_FORMAT:
		a->format = optarg;
		break;
	case OPT_NO_DEMANGLE:
		a->no_demangle = true;
		break;
	case OPT_MODULE_OFFSETS:
		a->module_offsets = true;
		break;
	case OPT_NO_INLINE:
		a->no_inline = true;
		break;
	case OPT_NO_DEBUGINFOD:
		a->no_debuginfod = true;
		break;
	case OPT_REPORT:
		a->report = true;
		break;
	case OPT_PER_PID:
		a->per_pid = true;
		break;
	case OPT_DEBUG_DIR:
		if (strchr(optarg, ':') ||
		    strlen(a->debug_dirs) + strlen(optarg) + 2 > sizeof(a->debug_dirs))
			fail_input("--debug-dir %s: one directory per option, without ':'", optarg);
		snprintf(a->debug_dirs + strlen(a->debug_dirs),
			 sizeof(a->debug_dirs) - strlen(a->debug_dirs), "%s:", optarg);
		break;
	case OPT_COUNT_MODE:
		if (!strcmp(optarg, "samples"))
			a->count_mode = 1;
		else if (!strcmp(optarg, "events"))
			a->count_mode = 2;
		else if (parse_positive(optarg, LLONG_MAX) > 0)
			a->period_arg = optarg; /* perf's --count PERIOD */
		else
			fail_input("--count=%s: use samples or events", optarg);
		break;
	case OPT_STACK_WALK:
		if (!strcmp(optarg, "bpf"))
			a->bpf_walk = true;
		else if (strcmp(optarg, "perf"))
			fail_input("--stack-walk=%s: unknown walker; use perf or bpf", optarg);
		break;
	case OPT_CALL_GRAPH:
		if (parse_call_graph(a, optarg))
			return -EINVAL;
		break;
	case 'h':
		fputs(record_usage, stdout);
		exit(0);
	default:
		return record_args__number_option(a, c, argv);
	}
	return 0;
}

/* -F, -c and -d, checked against each other and the kernel's limit. */
static int record_args__sampling(struct record_args *a)
{
	long long v;
	char *end;

	if (a->freq_arg && a->period_arg)
		fail_input("-F %s and -c %s: give a frequency or a period, not both", a->freq_arg,
			   a->period_arg);
	if (a->freq_arg) {
		long max_rate = 0;

		v = parse_positive(a->freq_arg, INT_MAX);
		if (v < 0)
			fail_input("-F %s: the frequency must be a positive whole number of Hz",
				   a->freq_arg);
		if (!read_int_file("/proc/sys/kernel/perf_event_max_sample_rate", &max_rate) &&
		    max_rate > 0 && v > max_rate)
			fail_input("-F %s: above the kernel's limit of %ld Hz "
				   "(kernel.perf_event_max_sample_rate); use a lower -F",
				   a->freq_arg, max_rate);
		a->freq = v;
	} else if (a->period_arg) {
		v = parse_positive(a->period_arg, LLONG_MAX);
		if (v < 0)
			fail_input("-c %s: the period must be a positive whole number of events",
				   a->period_arg);
		a->period = v;
	} else {
		a->freq = 99;
	}
	if (a->duration_arg) {
		errno = 0;
		a->duration = strtod(a->duration_arg, &end);
		if (errno || end == a->duration_arg || *end || !(a->duration > 0) ||
		    a->duration > 1e7)
			fail_input("-d %s: the duration must be a positive number of seconds",
				   a->duration_arg);
	}
	return 0;
}

/* --attach, -U/-K and the target options. */
static int record_args__target(struct record_args *a)
{
	struct target_spec ts = {0};
	char why[256];

	if (a->attach_arg && pmu_attach_mode__parse(a->attach_arg, &a->attach))
		fail_input("--attach=%s: unknown mode; use auto, link or ioctl", a->attach_arg);
	if (a->user_only && a->kernel_only)
		fail_input("-U and -K: choose user-only or kernel-only frames, not both");
	a->unwind = a->call_graph == 2 || (!a->call_graph && !a->kernel_only);
	ts.all_cpus = a->all_cpus;
	ts.cpu_list = a->cpu_list;
	ts.pid_list = a->pid_list;
	ts.tid_list = a->tid_list;
	ts.cmd = a->cmd;
	if (target_spec__validate(
		    &ts, TARGET_CPUS | TARGET_CPU_LIST | TARGET_PIDS | TARGET_TIDS | TARGET_CMD,
		    why, sizeof(why)))
		fail_input("%s", why);
	return 0;
}

/* --format, or the output name's extension. */
static int record_args__format(struct record_args *a)
{
	if (a->format) {
		if (!strcmp(a->format, "folded"))
			a->out_format = OUT_FOLDED;
		else if (!strcmp(a->format, "svg"))
			a->out_format = OUT_SVG;
		else if (!strcmp(a->format, "pprof"))
			a->out_format = OUT_PPROF;
		else
			fail_input("--format %s: unknown format; use folded, svg or pprof",
				   a->format);
	} else {
		const char *ext = output_ext(a->output);

		if (!*ext || !strcmp(ext, ".folded") || !strcmp(ext, ".txt") ||
		    !strcmp(ext, ".collapsed"))
			a->out_format = OUT_FOLDED;
		else if (!strcmp(ext, ".svg"))
			a->out_format = OUT_SVG;
		else if (!strcmp(ext, ".pb.gz") || !strcmp(ext, ".pb"))
			a->out_format = OUT_PPROF;
		else
			fail_input("-o %s: unknown format '%s'; write .folded, .svg or .pb.gz, or "
				   "give "
				   "--format",
				   a->output, ext + 1);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct record_args *a)
{
	int c;

	record_args__init(a);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:aC:p:t:e:F:c:d:UKgo:qvh", record_options, NULL)) !=
	       -1)
		if (record_args__option(a, c, argv))
			return -EINVAL;
	if (optind < argc)
		a->cmd = &argv[optind];
	if (record_args__sampling(a) || record_args__target(a))
		return -EINVAL;
	return record_args__format(a);
}

static int add_int(int **arr, int *n, int v)
{
	int *tmp = realloc(*arr, (*n + 1) * sizeof(int));

	if (!tmp)
		return -ENOMEM;
	tmp[(*n)++] = v;
	*arr = tmp;
	return 0;
}

/* Every thread of a process, from /proc/PID/task. */
static int add_threads(pid_t pid, int **tasks, int *nr)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && !err) {
		long tid = strtol(de->d_name, NULL, 10);

		if (tid > 0)
			err = add_int(tasks, nr, tid);
	}
	closedir(d);
	return err;
}

static bool is_process(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	return stat(path, &st) == 0;
}

/* -p/-t LIST: the threads to open events on (every thread of a process) in tasks, the IDs
 * as given in ids. */
static int parse_id_list(const char *opt, const char *list, bool threads, int **tasks, int *nr,
			 int **ids, int *nr_ids)
{
	const char *p = list;
	long long v;
	char buf[32];
	int err;

	if (!*list)
		fail_input("%s '': give a list of IDs, e.g. %s 1234,5678", opt, opt);
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= sizeof(buf))
			fail_input("%s %s: not a list of IDs (e.g. %s 1234,5678)", opt, list, opt);
		memcpy(buf, p, len);
		buf[len] = 0;
		v = parse_positive(buf, INT_MAX);
		if (v < 0)
			fail_input("%s %s: '%s' is not a process or thread ID", opt, list, buf);
		if (!is_process(v))
			fail_input("%s %s: no %s with ID %lld; check it with 'ps'", opt, list,
				   threads ? "thread" : "process", v);
		if (threads)
			err = add_int(tasks, nr, v);
		else
			err = add_threads(v, tasks, nr);
		if (err == -ENOENT || err == -ESRCH)
			fail_input("%s %s: process %lld exited", opt, list, v);
		if (!err)
			err = add_int(ids, nr_ids, v);
		if (err)
			return err;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* How often the record loop looks whether the -p/-t targets have exited (seconds). */
#define TARGETS_CHECK_S 0.05

/* -p/-t: true once every process (thread) given has exited; a zombie counts, as for perf. */
static bool targets_exited(const int *ids, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		if (!process__exited(ids[i]))
			return false;
	return nr > 0;
}

static void explain_event_error(const char *list, const char *bad, int err, const char *why)
{
	char sugg[3][PMU_EVENT_NAME_MAX];
	int n, i;

	if (err != -ENOENT || !bad || !*bad) {
		fprintf(stderr, "pmuprof: -e %s: '%s': %s; see 'pmuprof list'\n", list,
			bad ? bad : "", why && *why ? why : "malformed event");
		return;
	}
	n = pmu_event__suggest(bad, sugg, 3);
	fprintf(stderr, "pmuprof: -e %s: unknown event '%s'", list, bad);
	if (why && *why && strcmp(why, "unknown event"))
		fprintf(stderr, " (%s)", why);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? ", " : "; did you mean ", sugg[i]);
	fprintf(stderr, "%s ('pmuprof list' shows every event)\n", n ? "?" : "");
}

/* out.folded + cycles → out.cycles.folded; odd characters in the event become '_'. */
static char *output_name(const char *output, const char *event, int nr_events)
{
	const char *ext = output_ext(output), *dot = *ext ? ext : NULL, *slash = NULL;
	char *s = NULL, clean[PMU_EVENT_NAME_MAX], *c;

	if (nr_events == 1)
		return strdup(output);
	snprintf(clean, sizeof(clean), "%s", event);
	for (c = clean; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_.=", *c))
			*c = '_';
	while (c > clean && c[-1] == '_')
		*--c = 0;
	event = clean;
	if (!dot || (slash && dot < slash))
		return asprintf(&s, "%s.%s", output, event) < 0 ? NULL : s;
	return asprintf(&s, "%.*s.%s%s", (int)(dot - output), output, event, dot) < 0 ? NULL : s;
}

static bool is_clock(const struct pmu_event *ev);

/* The event, as the SVG subtitle and the pprof sample type say it. */
static void describe_event(char *buf, size_t sz, const struct pmu_event *ev,
			   const struct pmu_fallback *fb, const struct record_event_stats *es,
			   double secs)
{
	int n = snprintf(buf, sz, "%s", ev->name);

	if (fb->added_cpu_clock && n >= 0 && (size_t)n < sz)
		n += snprintf(buf + n, sz - n, " (fallback: no hardware PMU for %s)",
			      fb->dropped[0]);
	if (n >= 0 && (size_t)n < sz) {
		if (ev->attr.freq)
			n += snprintf(buf + n, sz - n, " at %llu Hz",
				      (unsigned long long)ev->attr.sample_freq);
		else
			n += snprintf(buf + n, sz - n, " every %llu %s",
				      (unsigned long long)ev->attr.sample_period,
				      is_clock(ev) ? "ns" : "events");
	}
	if (n >= 0 && (size_t)n < sz)
		snprintf(buf + n, sz - n, ", %llu samples, %.1f s",
			 (unsigned long long)es->counters[PROFILE_CNT_TAKEN], secs);
}

static bool is_clock(const struct pmu_event *ev)
{
	return ev->attr.type == PERF_TYPE_SOFTWARE && (ev->attr.config == PERF_COUNT_SW_CPU_CLOCK ||
						       ev->attr.config == PERF_COUNT_SW_TASK_CLOCK);
}

static const char empty_svg[] =
	"<?xml version=\"1.0\" standalone=\"no\"?>\n"
	"<svg version=\"1.1\" width=\"1200\" height=\"60\" viewBox=\"0 0 1200 60\" "
	"xmlns=\"http://www.w3.org/2000/svg\">\n"
	"<text x=\"600\" y=\"36\" text-anchor=\"middle\" font-family=\"Verdana\" "
	"font-size=\"17\">No samples</text>\n"
	"</svg>\n";

static int write_output(const struct record_args *a, FILE *f, struct stack_table *table,
			const struct pmu_event *ev, const struct pmu_fallback *fb,
			const struct record_event_stats *es, bool weight, double secs,
			time_t wall_start)
{
	struct flamegraph_opts fo;
	struct folded_data d = {0};
	struct pprof_opts po = {0};
	char subtitle[512], title[256], main_binary[PATH_MAX];
	int err;

	/* pprof names its first mapping: the launched command, as the kernel mapped it. */
	if (!a->cmd || !a->cmd_path || !realpath(a->cmd_path, main_binary))
		snprintf(main_binary, sizeof(main_binary), "%s", a->cmd ? a->cmd[0] : "");
	if (a->out_format == OUT_FOLDED)
		return folded__write(f, table);
	describe_event(subtitle, sizeof(subtitle), ev, fb, es, secs);
	if (a->out_format == OUT_PPROF) {
		po.event = ev->name;
		po.clock = is_clock(ev);
		po.period = ev->attr.freq ? 0 : ev->attr.sample_period;
		po.freq = ev->attr.freq ? ev->attr.sample_freq : 0;
		po.weight_counts = weight;
		po.time_nanos = (int64_t)wall_start * 1000000000LL;
		po.duration_nanos = (int64_t)(secs * 1e9);
		po.comment = subtitle;
		po.main_binary = main_binary[0] ? main_binary : NULL;
		return pprof__write(f, table, &po);
	}
	err = folded_data__from_table(&d, table);
	if (err)
		return err;
	flamegraph_opts__init(&fo);
	snprintf(title, sizeof(title), "pmuprof: %s", ev->name);
	fo.title = title;
	fo.subtitle = subtitle;
	fo.countname = weight ? (is_clock(ev) ? "ns" : "events") : "samples";
	/* No sample: still a valid picture, saying so (flamegraph.pl draws its error). */
	if (!d.nr && fputs(empty_svg, f) < 0)
		err = -EIO;
	else if (d.nr)
		err = flamegraph__write(f, &d, &fo);
	folded_data__free(&d);
	return err;
}

/*
 * A record without a single sample of an event writes an empty profile: say so, and
 * what may have caused it, so that an empty file is not mistaken for a broken tool.
 */
static void explain_no_samples(const struct record_args *a, const struct pmu_event *ev,
			       const char *out, double secs)
{
	const char *idle = a->pid_list	 ? "the process was idle (a sleeping process takes no "
					   "samples)"
			   : a->tid_list ? "the thread was idle (a sleeping thread takes no "
					   "samples)"
			   : a->cmd	 ? "the command ran too briefly"
					 : "the CPUs were idle";
	const char *mode = ev->attr.exclude_user && !ev->attr.exclude_kernel   ? "kernel"
			   : ev->attr.exclude_kernel && !ev->attr.exclude_user ? "user"
									       : NULL;

	fprintf(stderr, "pmuprof: no samples of %s in %.2f s: %s", ev->name, secs, idle);
	if (mode)
		fprintf(stderr, ", or it ran outside %s mode (the event's filter)", mode);
	/* A few expected samples or fewer: the length alone may explain it. */
	if (ev->attr.freq && secs * ev->attr.sample_freq < 20)
		fprintf(stderr, ", or %.2f s is too short at %llu Hz (raise -d or -F)", secs,
			(unsigned long long)ev->attr.sample_freq);
	else if (!ev->attr.freq)
		fprintf(stderr, ", or fewer than %llu %s passed (lower -c)",
			(unsigned long long)ev->attr.sample_period, is_clock(ev) ? "ns" : "events");
	fprintf(stderr, "; %s is empty\n", strcmp(out, "-") ? out : "standard output");
}

static const char *stage_text(enum record_stage s)
{
	switch (s) {
	case RECORD_STAGE_KERNEL_BTF:
		return "cannot read the kernel's types (" KERNEL_BTF_PATH ")";
	case RECORD_STAGE_BPF_OPEN:
		return "cannot open the BPF object";
	case RECORD_STAGE_BPF_LOAD:
		return "cannot load the BPF program";
	case RECORD_STAGE_OPEN:
		return "cannot open perf event";
	case RECORD_STAGE_ATTACH:
		return "cannot attach the BPF program to perf event";
	case RECORD_STAGE_TRACK:
		return "cannot open the mmap-tracking events";
	case RECORD_STAGE_ENABLE:
		return "cannot enable perf event";
	default:
		return "failed";
	}
}

/* CAP_BPF (39) or CAP_SYS_ADMIN (21) in the effective set. */
static bool has_bpf_caps(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & ((1ULL << 39) | (1ULL << 21));
}

static void explain_record_error(const struct record_error *e, const struct pmu_event *evs,
				 enum pmu_attach_mode attach)
{
	char buf[512], where[64] = "";
	int err = -e->err;

	if (e->cpu >= 0)
		snprintf(where, sizeof(where), " on CPU %d", e->cpu);
	else if (e->pid >= 0)
		snprintf(where, sizeof(where), " for thread %d", e->pid);

	if ((err == EPERM || err == EACCES) && e->stage == RECORD_STAGE_BPF_LOAD &&
	    has_bpf_caps()) {
		fprintf(stderr,
			"pmuprof: %s: the kernel's verifier rejected it (%s); run with -vv for the "
			"verifier log\n",
			stage_text(e->stage), pmu_errno__name(err));
		return;
	}
	if (err == EPERM || err == EACCES) {
		long paranoid = 2;

		read_int_file("/proc/sys/kernel/perf_event_paranoid", &paranoid);
		fprintf(stderr,
			"pmuprof: %s%s: not permitted (%s): run as root or grant CAP_BPF and "
			"CAP_PERFMON (kernel.perf_event_paranoid is %ld)\n",
			stage_text(e->stage), where, pmu_errno__name(err), paranoid);
		return;
	}
	switch (e->stage) {
	case RECORD_STAGE_KERNEL_BTF:
		if (err == ENOENT)
			fprintf(stderr,
				"pmuprof: %s: the kernel was built without BTF "
				"(CONFIG_DEBUG_INFO_BTF)\n",
				stage_text(e->stage));
		else if (err == ESRCH || err == EINVAL)
			fprintf(stderr,
				"pmuprof: %s: %s (%s); pmuprof reads struct task_struct as "
				"kernels 5.7 and later have it\n",
				stage_text(e->stage),
				err == ESRCH ? "struct task_struct or one of its members is missing"
					     : "malformed, or a member is not what pmuprof reads",
				pmu_errno__name(err));
		else
			fprintf(stderr, "pmuprof: %s: %s\n", stage_text(e->stage), strerror(err));
		break;
	case RECORD_STAGE_OPEN:
		fprintf(stderr, "pmuprof: %s%s\n",
			pmu_event__open_strerror(e->err, &evs[e->event], buf, sizeof(buf)), where);
		break;
	case RECORD_STAGE_ATTACH:
		if (err == EPROTO && evs[e->event].attr.precise_ip)
			fprintf(stderr,
				"pmuprof: %s '%s'%s: this kernel allows stack walks on precise "
				"samples only from the full perf callchain (EPROTO); drop the "
				"precise modifier (:p) from the event\n",
				stage_text(e->stage), evs[e->event].name, where);
		else if (attach == PMU_ATTACH_LINK && (err == EINVAL || err == EOPNOTSUPP))
			fprintf(stderr,
				"pmuprof: %s%s: this kernel has no perf bpf_link (%s); "
				"use --attach=ioctl\n",
				stage_text(e->stage), where, pmu_errno__name(err));
		else
			fprintf(stderr, "pmuprof: %s '%s'%s: %s\n", stage_text(e->stage),
				evs[e->event].name, where, strerror(err));
		break;
	case RECORD_STAGE_TRACK:
		if (err == EMFILE)
			fprintf(stderr, "pmuprof: %s: too many open files; raise 'ulimit -n'\n",
				stage_text(e->stage));
		else
			fprintf(stderr, "pmuprof: %s: %s\n", stage_text(e->stage), strerror(err));
		break;
	default:
		fprintf(stderr, "pmuprof: %s: %s (run with -vv for the verifier log)\n",
			stage_text(e->stage), strerror(err));
	}
}

static void status_line(double elapsed, uint64_t taken, uint64_t lost)
{
	fprintf(stderr, "\r\033[Kpmuprof: %.1f s, %" PRIu64 " samples, %" PRIu64 " lost", elapsed,
		taken, lost);
}

/* --call-graph=dwarf: how user stacks ended, and the tables in the kernel. */
static void print_unwind(const struct record_stats *st)
{
	const struct unwind_loader_stats *t = &st->unwind_tables;
	uint64_t total = 0;
	int c;

	if (!st->unwind)
		return;
	for (c = 0; c < UNWIND_ENDS; c++)
		total += st->unwind_ends[c];
	fprintf(stderr, "  unwind:     %" PRIu64 " user stacks walked with CFI tables", total);
	for (c = 0; c < UNWIND_ENDS; c++)
		if (st->unwind_ends[c])
			fprintf(stderr, "%s %s %" PRIu64, c ? "," : ":",
				c == UNWIND_STOP_END ? "complete" : unwind_stop__name(c),
				st->unwind_ends[c]);
	fprintf(stderr, "\n");
	fprintf(stderr,
		"  tables:     %" PRIu64 " files, %.1f MiB in the kernel (peak %.1f MiB), %" PRIu64
		" processes; loaded %" PRIu64 " files, %.1f MiB",
		t->tables, t->bytes / 1048576.0, t->peak_bytes / 1048576.0, t->procs,
		t->loaded_files, t->loaded_bytes / 1048576.0);
	if (t->evicted_files)
		fprintf(stderr, "; evicted %" PRIu64 " unused, %.1f MiB", t->evicted_files,
			t->evicted_bytes / 1048576.0);
	if (t->failed)
		fprintf(stderr, "; %" PRIu64 " files unreadable", t->failed);
	if (t->wanted)
		fprintf(stderr,
			"; %" PRIu64 " processes asked for by the walk, %" PRIu64
			" of them read from /proc",
			t->wanted, t->recovered);
	if (t->stale)
		fprintf(stderr,
			"; a pc outside its process's mappings %" PRIu64 " times: %" PRIu64
			" processes read again from /proc, %" PRIu64 " put off by the rate bound",
			t->stale, t->reread, t->reread_held);
	fprintf(stderr, "\n");
	if (t->no_fit_files || t->no_fit_procs)
		fprintf(stderr,
			"  not fit:    %" PRIu64 " files (%.1f MiB), %" PRIu64
			" processes beyond --unwind-memory: frame pointers\n",
			t->no_fit_files, t->no_fit_bytes / 1048576.0, t->no_fit_procs);
}

static void print_summary(const struct record_args *a, const struct pmu_event *evs, int nr,
			  const struct pmu_fallback *fb, const struct record_stats *st,
			  struct stack_table **tables, char **outs, double secs,
			  const bool *count_weight, double finish)
{
	static const char *const kept_notes[PROFILE_CNT_MAX] = {
		[PROFILE_CNT_KSTACK_ERR] = "kernel stack not captured",
		[PROFILE_CNT_USTACK_ERR] = "user stack not captured",
		[PROFILE_CNT_TRUNCATED] = "stack truncated at --max-stack",
	};
	int i, c;

	fprintf(stderr, "pmuprof record summary\n");
	for (i = 0; i < nr; i++) {
		const struct record_event_stats *es = &st->ev[i];

		fprintf(stderr, "  event:      %s", evs[i].name);
		if (evs[i].attr.freq)
			fprintf(stderr, " at %" PRIu64 " Hz", (uint64_t)evs[i].attr.sample_freq);
		else
			fprintf(stderr, " every %" PRIu64 " %s",
				(uint64_t)evs[i].attr.sample_period,
				is_clock(&evs[i]) ? "ns" : "events");
		if (fb->added_cpu_clock)
			fprintf(stderr, " (fallback: no hardware PMU for %s)", fb->dropped[0]);
		fputc('\n', stderr);
		fprintf(stderr, "  encoding:   %s\n", evs[i].encoding);
		if (evs[i].precise_wanted)
			fprintf(stderr,
				"  precise:    precise_ip=%d not supported, sampled with %u\n",
				evs[i].precise_wanted, evs[i].attr.precise_ip);
		fprintf(stderr,
			"  samples:    %" PRIu64 " taken, %" PRIu64 " in stacks, %" PRIu64
			" lost (map_full %" PRIu64 ", stack %" PRIu64 ", table_full %" PRIu64 ")\n",
			es->counters[PROFILE_CNT_TAKEN], es->samples_in_stacks,
			es->counters[PROFILE_CNT_LOST_MAP_FULL] +
				es->counters[PROFILE_CNT_LOST_STACK] + es->table_full,
			es->counters[PROFILE_CNT_LOST_MAP_FULL],
			es->counters[PROFILE_CNT_LOST_STACK], es->table_full);
		fprintf(stderr, "  weight:     %" PRIu64 " %s\n", es->weight,
			evs[i].attr.type == PERF_TYPE_SOFTWARE &&
					(evs[i].attr.config == PERF_COUNT_SW_CPU_CLOCK ||
					 evs[i].attr.config == PERF_COUNT_SW_TASK_CLOCK)
				? "ns"
				: "events");
		if (count_weight[i])
			fprintf(stderr, "  counts:     %s (sum of sample periods: %s)\n",
				is_clock(&evs[i]) ? "ns" : "events",
				a->count_mode == 2 ? "--count=events"
						   : "frequency-mode hardware event");
		else
			fprintf(stderr, "  counts:     samples\n");
		fprintf(stderr,
			"  stacks:     %zu distinct (%" PRIu64 " drained from the kernel)\n",
			stack_table__len(tables[i]), es->stacks);
		for (c = PROFILE_CNT_KSTACK_ERR; c < PROFILE_CNT_MAX; c++)
			if (es->counters[c])
				fprintf(stderr, "  note:       %" PRIu64 " sample%s: %s (kept)\n",
					es->counters[c], es->counters[c] == 1 ? "" : "s",
					kept_notes[c] ? kept_notes[c] : record_counter__name(c));
		fprintf(stderr, "  output:     %s\n", outs[i]);
	}
	if (fb->nr_dropped && !fb->added_cpu_clock)
		for (i = 0; i < fb->nr_dropped && i < 8; i++)
			fprintf(stderr, "  dropped:    %s (no hardware PMU)\n", fb->dropped[i]);
	fprintf(stderr, "  attach:     %s\n",
		st->attach_used == PMU_ATTACH_LINK ? "bpf_link (cookie = event index)"
						   : "ioctl (PERF_EVENT_IOC_SET_BPF)");
	fprintf(stderr, "  duration:   %.2f s\n", secs);
	fprintf(stderr,
		"  drains:     %" PRIu64 " (fullest map %.1f%% of --max-stacks%s); %" PRIu64
		" exited processes freed\n",
		st->drains, st->max_fill, st->sync_fallback ? "; waited without membarrier" : "",
		st->reaped);
	pr_info("  named:      %" PRIu64 " drained stacks symbolized, %" PRIu64
		" counted under an earlier name\n",
		st->symbolized, st->cache_hits);
	fprintf(stderr, "  finish:     %.3f s (drain, symbolize, write)\n", finish);
	if (st->unresolved_user)
		fprintf(stderr, "  unresolved: %" PRIu64 " samples have unnamed user frames\n",
			st->unresolved_user);
	if (st->untracked_pids)
		fprintf(stderr,
			"  tracking:   %" PRIu64 " processes beyond the tracking bound: their "
			"user frames are unresolved\n",
			st->untracked_pids);
	if (st->track_lost)
		fprintf(stderr, "  tracking:   %" PRIu64 " mmap records lost by the kernel\n",
			st->track_lost);
	print_unwind(st);
	if (st->kernel_syms_hidden)
		fprintf(stderr,
			"  kernel:     kernel symbols hidden (kptr_restrict or no "
			"/proc/kallsyms): kernel frames shown as [unknown]_[k]; run as root "
			"or set kernel.kptr_restrict=0\n");
}

/* Files of profiled processes not read, or read in part (docs/security.md); -v names them. */
static void print_file_notes(const struct symbolizer *sym)
{
	static const struct {
		size_t off;
		const char *one, *many; /* "N <noun>" + what */
		const char *what;
	} notes[] = {
#define NOTE(field, one, many, what)                                                               \
	{offsetof(struct symbolizer_file_stats, field), one, many, what}
		NOTE(perf_map_long_lines, "perf-map line", "perf-map lines", " over 4 KiB skipped"),
		NOTE(perf_maps_truncated, "perf map", "perf maps", " read up to 64 MiB only"),
		NOTE(perf_map_dropped_entries, "perf-map entry", "perf-map entries",
		     " beyond 1M dropped"),
		NOTE(perf_maps_symlinked, "perf map", "perf maps", " ignored: a symbolic link"),
		NOTE(perf_maps_not_owned, "perf map", "perf maps",
		     " ignored: not owned by the process's user or root"),
		NOTE(not_regular, "file", "files", " not read: not a regular file"),
		NOTE(too_large, "file", "files", " not read: over the size limit"),
		NOTE(denied, "file", "files", " not read: the process's user may not read it"),
		NOTE(links_refused, "file", "files", " not read: a magic link or a link loop"),
		NOTE(bad_debuglinks, "debuglink", "debuglinks", " ignored: not a file name"),
#undef NOTE
	};
	struct symbolizer_file_stats fs;
	size_t i;

	symbolizer__file_stats(sym, &fs);
	for (i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		uint64_t n = *(const uint64_t *)((const char *)&fs + notes[i].off);

		if (n)
			fprintf(stderr, "  skipped:    %" PRIu64 " %s%s%s\n", n,
				n == 1 ? notes[i].one : notes[i].many, notes[i].what,
				log__get_level() >= 0 ? "" : " (-v names them)");
	}
}

/* A signal or the budget during the finish also ends a debuginfod transfer. */
static int debuginfod_stop(void *arg, const char *build_id, long done, long total)
{
	return cut_short != 0;
}

/* On a terminal, a transfer that takes over a second shows its progress. */
static int debuginfod_progress(void *arg, const char *build_id, long done, long total)
{
	static char shown[129];
	static double since;
	double now = clock__monotonic();

	if (strcmp(shown, build_id)) {
		snprintf(shown, sizeof(shown), "%s", build_id);
		since = now;
	} else if (now - since > 1) {
		fprintf(stderr, "\rpmuprof: debuginfod: %.12s…: %ld KiB%s", build_id, done >> 10,
			"\033[K");
		debuginfod_shown = true;
	}
	return debuginfod_stop(arg, build_id, done, total);
}

/* The summary line: debug files asked of the servers, once per build id. */
static void print_debuginfod(const struct symbolizer *sym, bool tty)
{
	struct sym_debuginfod_stats ds;

	if (tty && debuginfod_shown)
		fprintf(stderr, "\r\033[K");
	if (!symbolizer__debuginfod_stats(sym, &ds) ||
	    !(ds.fetched + ds.cached + ds.missing + ds.over_budget))
		return;
	if (ds.no_library) {
		char why[256];

		fprintf(stderr, "  debuginfod: %" PRIu64 " debug files not asked: %s\n",
			ds.missing + ds.over_budget,
			sym_debuginfod__lib_strerror(why, sizeof(why)));
		return;
	}
	fprintf(stderr,
		"  debuginfod: %" PRIu64 " fetched, %" PRIu64 " from the cache, %" PRIu64
		" missing (%.1f s)",
		ds.fetched, ds.cached, ds.missing, ds.spent_ns / 1e9);
	if (ds.over_budget)
		fprintf(stderr, "; %" PRIu64 " not asked or cut short: the time budget was spent",
			ds.over_budget);
	fputc('\n', stderr);
}

/* Everything one record holds, from the options to the files written. */
struct record_run {
	struct record_args a;
	struct record_opts opts;
	struct pmu_event *evs;
	int nr_evs;
	struct stack_table *tables[PROFILE_MAX_EVENTS];
	struct atomic_file outs_f[PROFILE_MAX_EVENTS];
	char *outs[PROFILE_MAX_EVENTS];
	int nr_outs; /* outs_f still open: aborted at the end */
	struct record_stats st;
	struct pmu_fallback fb;
	struct symbolizer *sym;
	struct record *rec;
	int *cpus, *online, *tasks, *ids;
	int nr_cpus, nr_online, nr_tasks, nr_ids;
	int pidfds[RECORD_WATCH_MAX]; /* of ids, watched by the loop: their exit wakes it */
	int nr_pidfds;
	int child_status, go_fd, direct_output;
	char *bad, *cmd_path;
	pid_t child;
	double start, stop_time, term_at;
	time_t wall_start;
	bool tty, child_done;
};

/* -e: parsed, sampling events only, at most PROFILE_MAX_EVENTS; 0 or an exit code. */
static int record_run__events(struct record_run *r)
{
	const struct record_args *a = &r->a;
	char why[256];
	int err, i;

	err = pmu_events__parse_list(a->events, &r->evs, &r->nr_evs, &r->bad, why, sizeof(why));
	if (err) {
		explain_event_error(a->events, r->bad, err, why);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < r->nr_evs; i++) {
		if (r->evs[i].uncore) {
			fprintf(stderr,
				"pmuprof: -e %s: %s is an uncore event: uncore PMUs count but "
				"cannot "
				"sample; count it with 'pmuprof stat'\n",
				a->events, r->evs[i].name);
			return EXIT_BAD_INPUT;
		}
	}
	if (r->nr_evs > PROFILE_MAX_EVENTS) {
		fprintf(stderr, "pmuprof: -e %s: at most %d events per record\n", a->events,
			PROFILE_MAX_EVENTS);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < r->nr_evs; i++)
		pmu_event__set_sampling(&r->evs[i], a->freq, a->period);
	return 0;
}

/* -C: every CPU given must be online; 0 or an exit code. */
static int record_run__cpu_list(struct record_run *r)
{
	int err, i, j;

	err = pmu_cpus__parse(r->a.cpu_list, &r->cpus, &r->nr_cpus);
	if (err) {
		fprintf(stderr, "pmuprof: -C %s: not a CPU list (e.g. -C 0-3,8)\n", r->a.cpu_list);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < r->nr_cpus; i++) {
		for (j = 0; j < r->nr_online && r->online[j] != r->cpus[i]; j++)
			;
		if (j == r->nr_online) {
			char list[256] = "";

			for (j = 0; j < r->nr_online; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d",
					 j ? "," : "", r->online[j]);
			fprintf(stderr, "pmuprof: -C %s: CPU %d is not online (online CPUs: %s)\n",
				r->a.cpu_list, r->cpus[i], list);
			return EXIT_BAD_INPUT;
		}
	}
	return 0;
}

/* CPUs, processes, threads or the command to launch; 0 or an exit code. */
static int record_run__targets(struct record_run *r)
{
	struct record_args *a = &r->a;
	int err;

	err = pmu_cpus__online(&r->online, &r->nr_online);
	if (err) {
		fprintf(stderr, "pmuprof: cannot read the online CPUs: %s\n", strerror(-err));
		return 1;
	}
	if (a->cpu_list)
		return record_run__cpu_list(r);
	if (a->pid_list || a->tid_list) {
		if (parse_id_list(a->pid_list ? "-p" : "-t",
				  a->pid_list ? a->pid_list : a->tid_list, !a->pid_list, &r->tasks,
				  &r->nr_tasks, &r->ids, &r->nr_ids))
			return EXIT_BAD_INPUT;
		return 0;
	}
	if (a->cmd) {
		r->cmd_path = command__find(a->cmd[0]);
		if (!r->cmd_path) {
			fprintf(stderr, "pmuprof: %s: command not found\n", a->cmd[0]);
			return EXIT_BAD_INPUT;
		}
		a->cmd_path = r->cmd_path;
		return 0;
	}
	r->cpus = malloc(r->nr_online * sizeof(int));
	if (!r->cpus)
		return 1;
	memcpy(r->cpus, r->online, r->nr_online * sizeof(int));
	r->nr_cpus = r->nr_online;
	return 0;
}

/* Hardware events without a PMU: dropped, or cpu-clock instead; 0 or an exit code. */
static int record_run__fallback(struct record_run *r)
{
	const struct record_args *a = &r->a;
	struct pmu_fallback *fb = &r->fb;
	struct pmu_event *tmp_evs;
	char list[512] = "";
	int err, i;

	/* Room for the cpu-clock event that may replace them all. */
	tmp_evs = realloc(r->evs, (r->nr_evs + 1) * sizeof(*r->evs));
	if (!tmp_evs)
		return 1;
	r->evs = tmp_evs;
	err = pmu_events__fallback(r->evs, &r->nr_evs, a->freq ? a->freq : 99, !a->no_fallback, fb);
	if (err) {
		char buf[512];

		if (fb->nr_dropped && pmu_errno__is_no_pmu(err))
			fprintf(stderr,
				"pmuprof: %s: no hardware PMU on this machine (%s; a virtual "
				"machine?) "
				"and --no-fallback was given; drop --no-fallback to sample "
				"cpu-clock\n",
				r->evs[fb->failed].name, pmu_errno__name(err));
		else
			fprintf(stderr, "pmuprof: %s\n",
				pmu_event__open_strerror(err, &r->evs[fb->failed], buf,
							 sizeof(buf)));
		return EXIT_BAD_INPUT;
	}
	if (!fb->nr_dropped)
		return 0;
	for (i = 0; i < fb->nr_dropped && i < 8; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "," : "",
			 fb->dropped[i]);
	if (fb->added_cpu_clock)
		fprintf(stderr,
			"pmuprof: %s: no hardware PMU (%s, a virtual machine?); sampling "
			"cpu-clock at %lu Hz instead%s\n",
			list, pmu_errno__name(fb->err), a->freq ? a->freq : 99UL,
			a->period_arg ? " (-c counts hardware events, not cpu-clock's ns: "
					"give -F HZ to choose the rate)"
				      : "");
	else
		fprintf(stderr, "pmuprof: %s: no hardware PMU (%s); dropped, sampling %s only\n",
			list, pmu_errno__name(fb->err), r->evs[0].name);
	return 0;
}

/* Outputs: opened before recording, renamed into place at the end; 0 or an exit code. */
static int record_run__outputs(struct record_run *r)
{
	int err, i;

	if (r->direct_output && r->nr_evs > 1) {
		fprintf(stderr,
			"pmuprof: -o %s: %d events need a file each (FILE.EVENT.folded); "
			"give a file name\n",
			r->a.output, r->nr_evs);
		return EXIT_BAD_INPUT;
	}
	for (i = 0; i < r->nr_evs; i++) {
		r->outs[i] = output_name(r->a.output, r->evs[i].name, r->nr_evs);
		if (!r->outs[i])
			return 1;
		err = atomic_file__open(&r->outs_f[i], r->outs[i]);
		if (err) {
			fprintf(stderr,
				"pmuprof: -o %s: cannot write there: %s; choose another path\n",
				r->outs[i], strerror(-err));
			return EXIT_BAD_INPUT;
		}
		r->nr_outs++;
		r->tables[i] = stack_table__new();
		if (!r->tables[i])
			return 1;
	}
	return 0;
}

/* -- COMMAND: started paused (it execs once the events are enabled); 0 or an exit code. */
static int record_run__launch(struct record_run *r)
{
	r->child = command__launch_paused(r->a.cmd, r->cmd_path, &r->go_fd,
					  output_is_stdout(&r->outs_f[0]));
	if (r->child < 0) {
		fprintf(stderr, "pmuprof: %s: cannot start: %s\n", r->a.cmd[0],
			strerror(-r->child));
		return 1;
	}
	command_pid = r->child;
	return add_int(&r->tasks, &r->nr_tasks, r->child) ? 1 : 0;
}

/* The symbolizer the options ask for; 0 or an exit code. */
static int record_run__symbolizer(struct record_run *r)
{
	struct symbolizer_opts sym_opts = {.sz = sizeof(sym_opts)};
	struct record_args *a = &r->a;

	strncat(a->debug_dirs, "/usr/lib/debug", sizeof(a->debug_dirs) - strlen(a->debug_dirs) - 1);
	sym_opts.debug_dirs = a->debug_dirs;
	sym_opts.no_demangle = a->no_demangle;
	sym_opts.module_offsets = a->module_offsets;
	sym_opts.no_inline = a->no_inline;
	/* Without inline frames DWARF would only give lines, which no output spells yet. */
	sym_opts.no_dwarf = a->no_inline;
	/*
	 * A record is short-lived: a file's libdw idle for 5 drains was shed, then read again
	 * for the units the processes' exits name (libc's: ~15 ms and 2,300 page faults in a
	 * third of 10 s records of python). The budget still bounds it; the agent sheds
	 * after 5.
	 */
	sym_opts.lib_idle_sweeps = 30;
	sym_opts.debuginfod = !a->no_debuginfod;
	sym_opts.debuginfod_budget = a->debuginfod_budget;
	sym_opts.debuginfod_progress = r->tty ? debuginfod_progress : debuginfod_stop;
	r->sym = symbolizer__new(&sym_opts);
	return r->sym ? 0 : 1;
}

static void record_run__fill_opts(struct record_run *r)
{
	struct record_opts *opts = &r->opts;
	struct record_args *a = &r->a;
	int i;

	opts->events = r->evs;
	opts->nr_events = r->nr_evs;
	opts->cpus = r->cpus;
	opts->nr_cpus = r->nr_cpus;
	opts->tasks = r->tasks;
	opts->nr_tasks = r->nr_tasks;
	opts->inherit = !a->tid_list;
	opts->enable_on_exec = r->child > 0;
	opts->attach = a->attach;
	opts->kern_depth = a->user_only ? 0 : a->max_stack;
	opts->user_depth = a->kernel_only ? 0 : a->max_stack;
	opts->max_stacks = a->max_stacks;
	opts->max_table = a->max_table;
	opts->max_processes = a->max_processes;
	opts->drain_ms = a->drain_ms;
	/*
	 * In frequency mode the kernel changes the period as the rate changes, so each
	 * sample of a hardware event stands for a different number of events: count the
	 * events. Fixed periods and software clocks weigh samples alike.
	 */
	for (i = 0; i < r->nr_evs; i++)
		opts->count_weight[i] =
			a->count_mode == 2 ||
			(a->count_mode == 0 && r->evs[i].hardware && r->evs[i].attr.freq);
	opts->bpf_walk = a->bpf_walk;
	call_graph_check(a);
	opts->unwind = a->unwind;
	opts->per_pid = a->per_pid;
	opts->unwind_memory = a->unwind_memory;
	opts->command_path = r->cmd_path;
	opts->cut_short = &cut_short;
	opts->stop = &stop_signal;
	opts->track_cpus = r->online;
	opts->nr_track_cpus = r->nr_online;
}

/* The record: programs loaded, events opened and enabled; 0 or an exit code. */
static int record_run__open(struct record_run *r)
{
	struct record_error rerr;
	int i;

	record_run__fill_opts(r);
	r->rec = record__new(&r->opts, r->sym, &rerr);
	if (!r->rec) {
		explain_record_error(&rerr, r->evs, r->a.attach);
		return EXIT_BAD_INPUT;
	}
	if (record__unwind_refused(r->rec) && (r->a.call_graph == 2 || !r->a.quiet))
		fprintf(stderr,
			"pmuprof: this kernel refused the CFI stack walk (%s; -vv shows the "
			"verifier's log): user stacks follow frame pointers (--call-graph=fp)\n",
			strerror(-record__unwind_refused(r->rec)));
	for (i = 0; r->a.bpf_walk && i < r->nr_evs; i++)
		if (record__events(r->rec)[i].attr.precise_ip)
			fprintf(stderr,
				"pmuprof: --stack-walk=bpf: %s is precise: its stacks come from "
				"the "
				"perf callchain (the kernel refuses other stack walks on precise "
				"samples)\n",
				record__events(r->rec)[i].name);
	if (record__enable(r->rec, &rerr)) {
		explain_record_error(&rerr, r->evs, r->a.attach);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* PIDFD_THREAD (6.9+): a pidfd of a thread, readable once that thread exits. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/*
 * -p/-t: a pidfd for each process (thread) given, so that the loop sleeps until one exits
 * instead of reading /proc a few times a second. false: some could not be had (an old
 * kernel, too many ids): /proc is read at TARGETS_CHECK_S.
 */
static bool record_run__watch_targets(struct record_run *r)
{
	int i, fd;

	if (!r->nr_ids || r->nr_ids > RECORD_WATCH_MAX)
		return false;
	for (i = 0; i < r->nr_ids; i++) {
		fd = syscall(SYS_pidfd_open, r->ids[i], 0);
		if (fd < 0)
			fd = syscall(SYS_pidfd_open, r->ids[i], PIDFD_THREAD);
		if (fd < 0)
			return false;
		r->pidfds[r->nr_pidfds++] = fd;
		if (record__watch(r->rec, fd))
			return false;
	}
	return true;
}

/* How long the loop may wait in record__poll: a second at most, less when /proc is
 * polled for the targets, the status line is due or -d ends sooner. */
static int record_run__wait_ms(const struct record_run *r, bool watched, double end_at, double t)
{
	int ms = watched || !r->nr_ids ? 1000 : (int)(TARGETS_CHECK_S * 1000);

	if (r->tty && !r->a.quiet && ms > 500)
		ms = 500;
	if (end_at && (end_at - t) * 1000 < ms)
		ms = end_at > t ? (int)((end_at - t) * 1000) + 1 : 0;
	return ms;
}

/* Until a signal, -d, the command's exit or the targets' end. */
static void record_run__loop(struct record_run *r, double end_at)
{
	double last_status = 0, last_check = 0, t = clock__monotonic();
	bool watched = record_run__watch_targets(r);
	int err;

	while (!stop_signal) {
		err = record__poll(r->rec, record_run__wait_ms(r, watched, end_at, t));
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "pmuprof: reading mmap records failed: %s\n",
				strerror(-err));
			break;
		}
		if (r->child > 0 && !r->child_done &&
		    waitpid(r->child, &r->child_status, WNOHANG) == r->child)
			r->child_done = true;
		if (r->child_done)
			break;
		t = clock__monotonic();
		/* The loop wakes for every batch of mmap records on a busy machine: /proc is
		 * read for the targets a few times a second, not at each wake-up. */
		if (err > 0 || t - last_check >= TARGETS_CHECK_S) {
			last_check = t;
			if (targets_exited(r->ids, r->nr_ids))
				break;
		}
		if (end_at && t >= end_at)
			break;
		if (r->tty && !r->a.quiet && t - last_status >= 0.5) {
			uint64_t taken, lost;

			if (!record__peek(r->rec, &taken, &lost))
				status_line(t - r->start, taken, lost);
			last_status = t;
		}
	}
	if (r->tty && !r->a.quiet)
		fprintf(stderr, "\r\033[K");
}

/* Release the command, record until the end, stop; 0 or an exit code. */
static int record_run__record(struct record_run *r)
{
	double end_at = 0;

	r->start = clock__monotonic();
	r->wall_start = time(NULL);
	if (r->a.duration_arg)
		end_at = r->start + r->a.duration;
	if (r->child > 0) {
		if (write(r->go_fd, "x", 1) != 1) {
			fprintf(stderr, "pmuprof: %s: cannot start: %s\n", r->a.cmd[0],
				strerror(errno));
			return 1;
		}
		close(r->go_fd);
		r->go_fd = -1;
	}
	record_run__loop(r, end_at);
	record__stop(r->rec);
	r->stop_time = clock__monotonic();
	finish_begin(r->a.finish_budget);
	finish_test_delay();
	/* Its grace runs while the profile is finished (an exited command is still named). */
	if (r->child > 0 && !r->child_done && !kill(r->child, SIGTERM))
		r->term_at = clock__monotonic();
	return 0;
}

/* Drain, write every output, then the summary and notes; 0 or an exit code. */
static int record_run__finish(struct record_run *r)
{
	const struct record_args *a = &r->a;
	double elapsed = r->stop_time - r->start;
	int err, i;

	err = record__drain(r->rec, r->tables, &r->st);
	if (err) {
		fprintf(stderr, "pmuprof: reading the stacks failed: %s\n", strerror(-err));
		return 1;
	}
	for (i = 0; i < r->nr_evs; i++) {
		err = write_output(a, r->outs_f[i].f, r->tables[i], &record__events(r->rec)[i],
				   &r->fb, &r->st.ev[i], r->opts.count_weight[i], elapsed,
				   r->wall_start);
		if (!err)
			err = atomic_file__commit(&r->outs_f[i]);
		if (err) {
			fprintf(stderr, "pmuprof: -o %s: write failed: %s\n", r->outs[i],
				strerror(-err));
			return 1;
		}
	}
	r->nr_outs = 0;
	finish_end(a->finish_budget);
	for (i = 0; i < r->nr_evs; i++)
		if (!r->st.ev[i].counters[PROFILE_CNT_TAKEN])
			explain_no_samples(a, &record__events(r->rec)[i], r->outs[i], elapsed);
	if (!a->quiet) {
		print_summary(a, record__events(r->rec), r->nr_evs, &r->fb, &r->st, r->tables,
			      r->outs, elapsed, r->opts.count_weight,
			      clock__monotonic() - r->stop_time);
		print_file_notes(r->sym);
		print_debuginfod(r->sym, r->tty);
	}
	for (i = 0; a->report && i < r->nr_evs; i++)
		report__print_table(stdout, r->tables[i], record__events(r->rec)[i].name);
	return 0;
}

/* Outputs not committed are removed; a command still running is stopped (ret: how). */
static void record_run__exit(struct record_run *r, int ret)
{
	int i;

	for (i = 0; i < r->nr_outs; i++)
		atomic_file__abort(&r->outs_f[i]);
	if (r->go_fd >= 0)
		close(r->go_fd); /* an unreleased child reads EOF and exits */
	if (r->child > 0 && !r->child_done) {
		double grace = COMMAND_GRACE_S - (r->term_at ? clock__monotonic() - r->term_at : 0);
		int status;

		command__stop(r->child, ret != 0 ? SIGKILL : SIGTERM, grace > 0 ? grace : 0,
			      &status);
	}
	alarm(0);
	record__free(r->rec);
	for (i = 0; i < r->nr_pidfds; i++)
		close(r->pidfds[i]);
	symbolizer__free(r->sym);
	for (i = 0; i < PROFILE_MAX_EVENTS; i++) {
		stack_table__free(r->tables[i]);
		free(r->outs[i]);
	}
	free(r->cmd_path);
	free(r->bad);
	free(r->ids);
	free(r->tasks);
	free(r->online);
	free(r->cpus);
	free(r->evs);
}

int cmd_record(int argc, char **argv)
{
	struct record_run r = {.opts = {.sz = sizeof(r.opts)}, .go_fd = -1, .child = -1};
	int ret;

	if (parse_args(argc, argv, &r.a))
		return EXIT_BAD_INPUT;
	r.tty = isatty(STDERR_FILENO);
	libbpf_set_print(log__libbpf_print);

	/* A path that cannot be written fails now, before anything runs. */
	r.direct_output = atomic_file__check(r.a.output);
	if (r.direct_output < 0) {
		fprintf(stderr, "pmuprof: -o %s: cannot write there: %s; choose another path\n",
			r.a.output, strerror(-r.direct_output));
		ret = EXIT_BAD_INPUT;
		goto out;
	}
	ret = record_run__events(&r);
	if (!ret)
		ret = record_run__targets(&r);
	if (!ret)
		ret = record_run__fallback(&r);
	if (!ret)
		ret = record_run__outputs(&r);
	if (ret)
		goto out;
	/* Signals: stop, detach, drain, write. */
	signals__install(on_signal, on_child);
	if (r.cmd_path)
		ret = record_run__launch(&r);
	if (!ret)
		ret = record_run__symbolizer(&r);
	if (!ret)
		ret = record_run__open(&r);
	if (!ret)
		ret = record_run__record(&r);
	if (!ret)
		ret = record_run__finish(&r);
	if (ret)
		goto out;
	/* The command's own status, as perf passes it through: scripts see the workload fail. */
	ret = !r.child_done		  ? 0
	      : WIFEXITED(r.child_status) ? WEXITSTATUS(r.child_status)
					  : 128 + WTERMSIG(r.child_status);
out:
	record_run__exit(&r, ret);
	return ret;
}
