// SPDX-License-Identifier: GPL-2.0
/* pmuprof collect: run several collectors together into one directory. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "cmd.h"
#include "util.h"
#include "collector.h"
#include "target.h"
#include "flamegraph/flamegraph.h"
#include "atomic-file.h"

static const char collect_usage[] =
	"Usage: pmuprof collect [--collectors LIST] [-d SECONDS] [-I MS]\n"
	"                       [-a | -p PIDS | -- COMMAND [ARGS]] -o DIR\n"
	"\n"
	"Run collectors together: the profile (folded stacks and a flame graph), counters,\n"
	"uncore memory bandwidth, cpu, memory and sched time series (JSON lines, one object\n"
	"per interval, the last one partial), and DIR/index.json saying what ran, what did\n"
	"not, and why. Exits 2 when none of the collectors asked for can run here.\n"
	"\n"
	"  --collectors LIST  comma-separated (default: all): profile, counters, uncore,\n"
	"                     cpu, memory, sched\n"
	"  -d, --duration S   seconds (default 10, or until COMMAND exits; Ctrl-C stops early)\n"
	"  -I, --interval MS  time-series interval (default 1000)\n"
	"  -a, --all-cpus     system-wide (the default)\n"
	"  -p, --pid PIDS     the profile, counters and sched follow these processes (cpu,\n"
	"                     memory and uncore stay system-wide)\n"
	"  -- COMMAND [ARGS]  launch COMMAND and follow it as -p does; stop when it exits\n"
	"  -o, --output DIR   output directory (created)\n"
	"  -h, --help         this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof collect -d 30 -o /tmp/run1\n"
	"  pmuprof collect --collectors profile,sched -I 500 -o run2\n"
	"  pmuprof collect -o run3 -- make -j8\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void on_child(int sig)
{
	(void)sig;
}

struct slot {
	const struct collector *c;
	void *state;
	bool ran;
	char reason[256];
	char outputs[256];
};

struct collect_args {
	const char *list, *pid_list;
	char dir[4096];
	double duration, interval_ms;
	bool all, has_duration;
	char **cmd;
	struct target_spec ts;
};

/* Options → a; 0 or an exit code. */
static int parse_args(int argc, char **argv, struct collect_args *a)
{
	static const struct option options[] = {
		{"collectors", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"interval", required_argument, NULL, 'I'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"pid", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	char *end, why[256];
	size_t len;
	int c;

	a->duration = 10;
	a->interval_ms = 1000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:I:ap:o:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->list = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		case 'a':
			a->all = true;
			break;
		case 'p':
			a->pid_list = optarg;
			break;
		case 'd':
			a->duration = strtod(optarg, &end);
			a->has_duration = true;
			if (*end || !(a->duration > 0) || a->duration > 1e7) {
				fprintf(stderr,
					"pmuprof: collect: -d %s: give a positive number of "
					"seconds\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case 'I':
			a->interval_ms = strtod(optarg, &end);
			if (*end || !(a->interval_ms >= 10) || a->interval_ms > 3600000) {
				fprintf(stderr,
					"pmuprof: collect: -I %s: give milliseconds, at least 10\n",
					optarg);
				return EXIT_BAD_INPUT;
			}
			break;
		case 'h':
			fputs(collect_usage, stdout);
			exit(0);
		default:
			return cmd_option_error("collect", c, argv, options);
		}
	}
	if (optind < argc)
		a->cmd = &argv[optind];
	a->ts.all_cpus = a->all;
	a->ts.pid_list = a->pid_list;
	a->ts.cmd = a->cmd;
	if (target_spec__validate(&a->ts, TARGET_CPUS | TARGET_PIDS | TARGET_CMD, why,
				  sizeof(why))) {
		fprintf(stderr, "pmuprof: collect: %s\n", why);
		return EXIT_BAD_INPUT;
	}
	if (!dir || !*dir) {
		fprintf(stderr, "pmuprof: collect: give an output directory with -o DIR\n");
		return EXIT_BAD_INPUT;
	}
	/* run1/ and run1 are the same directory: no "run1//index.json" in messages. */
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	for (len = strlen(a->dir); len > 1 && a->dir[len - 1] == '/'; len--)
		a->dir[len - 1] = 0;
	return 0;
}

/* The collectors asked for, in slots; 0 or an exit code. */
static int choose(const char *list, struct slot *slots, int max, int *nr)
{
	const struct collector *const *all = collectors__all();
	char *copy, *tok, *save = NULL;
	int i;

	memset(slots, 0, max * sizeof(*slots));
	*nr = 0;
	if (!list) {
		for (i = 0; all[i] && *nr < max; i++)
			slots[(*nr)++].c = all[i];
		return 0;
	}
	copy = strdup(list);
	if (!copy)
		return 1;
	for (tok = strtok_r(copy, ",", &save); tok && *nr < max; tok = strtok_r(NULL, ",", &save)) {
		const struct collector *col = collectors__find(tok);

		if (!col) {
			fprintf(stderr,
				"pmuprof: collect: --collectors %s: no collector named '%s' "
				"(profile, counters, uncore, cpu, memory, sched)\n",
				list, tok);
			free(copy);
			return EXIT_BAD_INPUT;
		}
		slots[(*nr)++].c = col;
	}
	free(copy);
	return 0;
}

struct target {
	pid_t *tasks, *pids;
	int nr_tasks, nr_pids;
	pid_t child;
	int go_fd;
	char desc[512];
};

/* -p: every thread of each process; -- COMMAND: the command, paused before its exec. */
static int target__init(struct target *t, const struct collect_args *a)
{
	char bad[64];
	int i, err;

	memset(t, 0, sizeof(*t));
	t->child = -1;
	t->go_fd = -1;
	target_spec__describe(&a->ts, t->desc, sizeof(t->desc));
	if (a->pid_list) {
		err = pid_list__parse(a->pid_list, &t->pids, &t->nr_pids, bad, sizeof(bad));
		if (err == -EINVAL)
			fprintf(stderr, "pmuprof: collect: -p %s: '%s' is not a process ID\n",
				a->pid_list, bad);
		for (i = 0; !err && i < t->nr_pids; i++) {
			err = process__threads(t->pids[i], &t->tasks, &t->nr_tasks);
			if (err == -ESRCH)
				fprintf(stderr,
					"pmuprof: collect: -p %d: no such process; check it "
					"with 'ps'\n",
					t->pids[i]);
		}
		return err == -ENOMEM ? 1 : err ? EXIT_BAD_INPUT : 0;
	}
	if (!a->cmd)
		return 0;
	{
		char *path = command__find(a->cmd[0]);

		if (!path) {
			fprintf(stderr, "pmuprof: collect: %s: command not found\n", a->cmd[0]);
			return EXIT_BAD_INPUT;
		}
		t->child = command__launch_paused(a->cmd, path, &t->go_fd, false);
		free(path);
	}
	if (t->child < 0) {
		fprintf(stderr, "pmuprof: collect: %s: cannot start: %s\n", a->cmd[0],
			strerror(-t->child));
		return 1;
	}
	t->tasks = malloc(sizeof(*t->tasks));
	if (!t->tasks)
		return 1;
	t->tasks[t->nr_tasks++] = t->child;
	return 0;
}

/* True while the target lives: the command has not exited, some -p process exists. */
static bool target__alive(struct target *t, int *status)
{
	int i;

	if (t->child > 0) {
		if (waitpid(t->child, status, WNOHANG) == t->child) {
			t->child = -1;
			return false;
		}
		return true;
	}
	for (i = 0; i < t->nr_pids; i++)
		if (!process__exited(t->pids[i]))
			return true;
	return t->nr_pids == 0;
}

static void target__exit(struct target *t)
{
	int status;

	if (t->go_fd >= 0)
		close(t->go_fd);
	if (t->child > 0) {
		kill(t->child, SIGTERM);
		waitpid(t->child, &status, 0);
	}
	free(t->tasks);
	free(t->pids);
}

static void start_all(struct slot *slots, int nr, const struct machine_caps *caps,
		      const struct collector_ctx *ctx)
{
	int i, err;

	for (i = 0; i < nr; i++) {
		if (collector__unmet(slots[i].c, caps, slots[i].reason, sizeof(slots[i].reason)))
			continue;
		err = slots[i].c->start(&slots[i].state, ctx, slots[i].reason,
					sizeof(slots[i].reason));
		if (err) {
			if (!slots[i].reason[0])
				snprintf(slots[i].reason, sizeof(slots[i].reason), "%s",
					 strerror(-err));
			continue;
		}
		slots[i].ran = true;
		slots[i].reason[0] = 0;
	}
	for (i = 0; i < nr; i++)
		fprintf(stderr, "pmuprof: collect: %-9s %s%s\n", slots[i].c->name,
			slots[i].ran ? "running" : "not running: ",
			slots[i].ran ? "" : slots[i].reason);
}

static bool is_profile(const struct slot *s)
{
	return !strcmp(s->c->name, "profile");
}

/* Until the duration, a signal or the target's end; then the last, partial interval. */
static double run_loop(struct slot *slots, int nr, const struct collect_args *a, struct target *t,
		       int *status, bool *target_done)
{
	double start = clock__monotonic(), interval = a->interval_ms / 1000,
	       next = start + interval;
	double last = start, now;
	bool limit = a->has_duration || !a->cmd;
	int i;

	while (!stop && !(limit && clock__monotonic() - start >= a->duration)) {
		now = clock__monotonic();
		if (now >= next) {
			for (i = 0; i < nr; i++)
				if (slots[i].ran && !is_profile(&slots[i]))
					slots[i].c->collect(slots[i].state, now - start);
			last = now;
			next += interval;
		}
		/* The profiler's mmap records want reading often; the series only at intervals. */
		for (i = 0; i < nr; i++)
			if (slots[i].ran && is_profile(&slots[i]))
				slots[i].c->collect(slots[i].state, now - start);
		if (!target__alive(t, status)) {
			*target_done = true;
			break;
		}
		usleep(20000);
	}
	now = clock__monotonic();
	/* The time since the last full interval is a row of its own (rates over what it spans). */
	if (now - last >= 0.001)
		for (i = 0; i < nr; i++)
			if (slots[i].ran && !is_profile(&slots[i]))
				slots[i].c->collect(slots[i].state, now - start);
	return now - start;
}

static struct json_object *collector_json(const struct slot *slot)
{
	struct json_object *o = json_object_new_object(), *outs = json_object_new_array();
	char *out, *save = NULL, buf[256];

	if (!o)
		return NULL;
	json__add(o, "name", json__string(slot->c->name));
	json__add(o, "description", json__string(slot->c->description));
	json__add(o, "mode", json__string(slot->c->mode));
	json__add(o, "ran", json_object_new_boolean(slot->ran));
	json__add(o, "reason", json__string(slot->reason));
	snprintf(buf, sizeof(buf), "%s", slot->outputs);
	for (out = strtok_r(buf, ",", &save); outs && out; out = strtok_r(NULL, ",", &save))
		json_object_array_add(outs, json__string(out));
	json__add(o, "outputs", outs);
	return o;
}

static int write_index(const char *path, struct slot *slots, int nr, const char *started,
		       double elapsed, double interval_ms, const struct machine_caps *caps,
		       const char *target)
{
	struct json_object *o = json_object_new_object(), *m = json_object_new_object(), *cols;
	struct atomic_file af;
	int i, err;

	if (!o || !m) {
		json_object_put(o);
		json_object_put(m);
		return -ENOMEM;
	}
	json__add(o, "pmuprof", json__string(PMUPROF_VERSION));
	json__add(o, "started", json__string(started));
	json__add(o, "duration_s", json__number(elapsed, "%.3f"));
	json__add(o, "interval_ms", json__number(interval_ms, "%.0f"));
	json__add(o, "target", json__string(target));
	json__add(m, "kernel", json__string(caps->kernel));
	json__add(m, "core_pmu", json__string(caps->core_pmu ? caps->core_pmu_name : ""));
	json__add(m, "uncore_pmus", json__string(caps->uncore_pmus));
	json__add(o, "machine", m);
	cols = json_object_new_array();
	for (i = 0; cols && i < nr; i++)
		json_object_array_add(cols, collector_json(&slots[i]));
	json__add(o, "collectors", cols);
	err = atomic_file__open(&af, path);
	if (err) {
		json_object_put(o);
		return err;
	}
	err = json__write_pretty(af.f, o);
	if (err) {
		atomic_file__abort(&af);
		return err;
	}
	return atomic_file__commit(&af);
}

int cmd_collect(int argc, char **argv)
{
	struct collect_args a = {0};
	struct slot slots[16];
	struct machine_caps caps;
	struct collector_ctx ctx = {0};
	struct target t = {.child = -1, .go_fd = -1};
	double elapsed = 0;
	int nr = 0, i, ran = 0, err, status = 0, ret;
	bool target_done = false;
	char path[4200], started[64];
	time_t wall;

	ret = parse_args(argc, argv, &a);
	if (!ret)
		ret = choose(a.list, slots, 16, &nr);
	if (ret)
		return ret;
	if (mkdir(a.dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "pmuprof: collect: -o %s: cannot create it: %s\n", a.dir,
			strerror(errno));
		return EXIT_BAD_INPUT;
	}
	snprintf(path, sizeof(path), "%s/index.json", a.dir);
	if (access(a.dir, W_OK)) {
		fprintf(stderr, "pmuprof: collect: -o %s: cannot write there: %s\n", a.dir,
			strerror(errno));
		return EXIT_BAD_INPUT;
	}
	signals__install(on_signal, on_child);
	ret = target__init(&t, &a);
	if (ret)
		goto out;

	machine_caps__probe(&caps);
	ctx.dir = a.dir;
	ctx.interval_s = a.interval_ms / 1000;
	ctx.caps = &caps;
	ctx.tasks = t.tasks;
	ctx.nr_tasks = t.nr_tasks;
	wall = time(NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&wall));
	start_all(slots, nr, &caps, &ctx);
	for (i = 0; i < nr; i++)
		ran += slots[i].ran;
	if (ran && t.go_fd >= 0) {
		ret = write(t.go_fd, "x", 1) == 1 ? 0 : 1;
		close(t.go_fd);
		t.go_fd = -1;
	}
	if (ran && !ret)
		elapsed = run_loop(slots, nr, &a, &t, &status, &target_done);
	for (i = 0; i < nr; i++) {
		if (!slots[i].ran)
			continue;
		err = slots[i].c->stop(slots[i].state, &ctx, slots[i].outputs,
				       sizeof(slots[i].outputs));
		if (err)
			snprintf(slots[i].reason, sizeof(slots[i].reason), "stopping failed: %s",
				 strerror(-err));
	}
	err = write_index(path, slots, nr, started, elapsed, a.interval_ms, &caps, t.desc);
	if (err) {
		fprintf(stderr, "pmuprof: collect: writing %s failed: %s\n", path, strerror(-err));
		ret = 1;
		goto out;
	}
	if (!ran) {
		fprintf(stderr,
			"pmuprof: collect: none of the collectors asked for can run here "
			"(%s has why); see 'pmuprof doctor'\n",
			path);
		ret = EXIT_BAD_INPUT;
		goto out;
	}
	fprintf(stderr, "pmuprof: collect: %.1f s; wrote %s\n", elapsed, path);
	if (target_done && a.cmd)
		ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	target__exit(&t);
	return ret;
}
