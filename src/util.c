// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
#include "util.h"

char *find_in_path(const char *cmd)
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

double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void json_write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * Fork the command stopped before exec: it waits on a pipe until the events are open,
 * so its exec is the first thing sampled (enable_on_exec).
 */
pid_t launch_paused(char **cmd, const char *path, int *go_fd)
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

int threads_of(pid_t pid, pid_t **tasks, int *nr)
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

bool process_exited(pid_t pid)
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
