// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <json-c/json.h>
#include "util.h"
#include "flamegraph/flamegraph.h"

char *command__find(const char *cmd)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *full = NULL;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0 ? strdup(cmd) : NULL;
	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!copy)
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		if (asprintf(&full, "%s/%s", *dir ? dir : ".", cmd) < 0) {
			full = NULL;
			break;
		}
		if (!stat(full, &st) && S_ISREG(st.st_mode) && !access(full, X_OK))
			break;
		free(full);
		full = NULL;
	}
	free(copy);
	return full;
}

void signals__install(void (*on_stop)(int), void (*on_child)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
}

double clock__monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* s with every byte that is not part of a UTF-8 character replaced by U+FFFD; malloc'd. */
static char *utf8_valid_dup(const char *s)
{
	size_t len = s ? strlen(s) : 0, i = 0, o = 0, n;
	char *out = malloc(len * 3 + 1);

	if (!out)
		return NULL;
	while (i < len) {
		n = utf8__char_len(s + i, len - i);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return out;
}

struct json_object *json__string(const char *s)
{
	char *valid = utf8_valid_dup(s);
	struct json_object *o = valid ? json_object_new_string(valid) : NULL;

	free(valid);
	return o;
}

int json__add(struct json_object *obj, const char *key, struct json_object *value)
{
	char *valid = utf8_valid_dup(key);
	/* json-c spells null as a NULL object */
	int err = valid ? json_object_object_add(obj, valid, value) : -1;

	free(valid);
	if (err) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *json__number(double v, const char *fmt)
{
	char buf[64];

	if (!isfinite(v))
		return NULL; /* null */
	snprintf(buf, sizeof(buf), fmt, v);
	return json_object_new_double_s(v, buf);
}

static const int json_flags = JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;

int json__write_text(FILE *f, struct json_object *obj)
{
	const char *text = obj ? json_object_to_json_string_ext(obj, json_flags) : NULL;
	int err = text && fputs(text, f) >= 0 ? 0 : -EIO;

	json_object_put(obj);
	return err;
}

int json__write_line(FILE *f, struct json_object *obj)
{
	int err = json__write_text(f, obj);

	return err || fputc('\n', f) == EOF ? -EIO : 0;
}

int json__write_pretty(FILE *f, struct json_object *obj)
{
	const char *text = obj ? json_object_to_json_string_ext(
					 obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE)
			       : NULL;
	int err = text && fprintf(f, "%s\n", text) > 0 ? 0 : -EIO;

	json_object_put(obj);
	return err;
}

/* Descriptors above 2 that pmuprof's caller gave it (a make jobserver, a '3>file'). */
#define INHERITED_MAX 64
static int inherited[INHERITED_MAX];
static int nr_inherited = -1;

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void fds__note_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	nr_inherited = 0;
	if (!d)
		return;
	while ((de = readdir(d)) && nr_inherited < INHERITED_MAX) {
		int fd = atoi(de->d_name);

		if (fd > 2 && fd != dirfd(d))
			inherited[nr_inherited++] = fd;
	}
	closedir(d);
	qsort(inherited, nr_inherited, sizeof(int), cmp_int);
}

/* Mark [lo, hi] close-on-exec (close_range from 5.11, one fcntl each before). */
static void cloexec_range(unsigned int lo, unsigned int hi)
{
	long max = sysconf(_SC_OPEN_MAX);
	unsigned int fd;

	if (lo > hi || !close_range(lo, hi, CLOSE_RANGE_CLOEXEC))
		return;
	if (max < 0 || max > 1 << 20)
		max = 1 << 20;
	for (fd = lo; fd <= hi && fd < (unsigned int)max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * In a forked child before exec: every descriptor pmuprof opened (outputs, perf and BPF
 * fds, pipes) is closed by the exec, whatever flags it was opened with; the caller's own
 * descriptors pass through, as they would without pmuprof.
 */
static void fds__cloexec_own(void)
{
	unsigned int lo = 3;
	int i;

	for (i = 0; i < nr_inherited; i++) {
		if ((unsigned int)inherited[i] > lo)
			cloexec_range(lo, inherited[i] - 1);
		lo = inherited[i] + 1;
	}
	cloexec_range(lo, ~0U);
}

int command__stop(pid_t pid, int sig, double grace, int *status)
{
	double until = clock__monotonic() + grace;
	pid_t r;

	kill(pid, sig);
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0 && sig != SIGKILL && clock__monotonic() >= until) {
			/* It ignored the signal: the record must still end on time. */
			sig = SIGKILL;
			kill(pid, SIGKILL);
		}
		usleep(10000);
	}
}

/*
 * Fork the command stopped before exec: it waits on a pipe until the events are open,
 * so its exec is the first thing sampled (enable_on_exec).
 */
pid_t command__launch_paused(char **cmd, const char *path, int *go_fd, bool stdout_to_stderr)
{
	int go[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(go[0]);
		close(go[1]);
		return err;
	}
	if (pid == 0) {
		char c;

		close(go[1]);
		fds__cloexec_own();
		/* pmuprof's output is on stdout: keep the command's off it (perf does so too). */
		if (stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execv(path, cmd);
		fprintf(stderr, "pmuprof: %s: cannot run: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	*go_fd = go[1];
	return pid;
}

int process__threads(pid_t pid, pid_t **tasks, int *nr)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -ESRCH;
	while ((de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);
		pid_t *tmp;

		if (tid <= 0)
			continue;
		tmp = realloc(*tasks, (*nr + 1) * sizeof(**tasks));
		if (!tmp) {
			closedir(d);
			return -ENOMEM;
		}
		*tasks = tmp;
		(*tasks)[(*nr)++] = tid;
	}
	closedir(d);
	return 0;
}

int pid_list__parse(const char *list, pid_t **out, int *nr, char *bad, size_t sz)
{
	char *copy = strdup(list), *tok, *save = NULL, *end;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, &end, 10);
		pid_t *tmp;

		if (*end || v <= 0 || v > INT_MAX) {
			snprintf(bad, sz, "%s", tok);
			err = -EINVAL;
			break;
		}
		tmp = realloc(*out, (*nr + 1) * sizeof(**out));
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		*out = tmp;
		(*out)[(*nr)++] = v;
	}
	if (!err && !*nr) {
		snprintf(bad, sz, "%s", list);
		err = -EINVAL;
	}
	free(copy);
	return err;
}

bool process__exited(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	/* "pid (comm) S ...": the comm may hold anything, the state follows the last ')'. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}
