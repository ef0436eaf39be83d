// SPDX-License-Identifier: GPL-2.0
/*
 * The rule of docs/security.md for files of profiled processes: the open helper
 * (regular files only, no blocking, no links out of the process's root, the process's
 * credentials, size limit) and the bounded perf-map reader.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "symbolize/symbolize.h"
#include "symbolize/symbolize-private.h"

static char dir[] = "/tmp/pmuprof-files-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static const char *in_dir(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

/* Open, read what is there (up to 255 bytes), close. Returns the fd or error. */
static int open_read(int rootfd, const char *path, const struct proc_cred *c, unsigned flags,
		     uint64_t max, char *text)
{
	struct stat st;
	int fd = sym_file__open(rootfd, path, c, flags, max, &st);
	ssize_t n;

	text[0] = 0;
	if (fd < 0)
		return fd;
	n = read(fd, text, 255);
	text[n > 0 ? n : 0] = 0;
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: not close-on-exec", path);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK, "%s: not non-blocking", path);
	close(fd);
	return 0;
}

TestSuite(open_helper, .init = setup, .fini = teardown, .timeout = 20);

Test(open_helper, only_regular_files_and_never_blocks)
{
	char text[256];
	struct stat st;

	write_file(in_dir("plain"), "hello\n", 0644);
	cr_assert_eq(mkfifo(in_dir("fifo"), 0666), 0);
	cr_assert_eq(symlink("/dev/zero", in_dir("zero")), 0);
	cr_expect_eq(open_read(-1, in_dir("plain"), NULL, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "hello\n");
	/* A FIFO with no writer would block a plain open forever. */
	cr_expect_eq(sym_file__open(-1, in_dir("fifo"), NULL, 0, UINT64_MAX, &st), -EINVAL);
	cr_expect_eq(sym_file__open(-1, in_dir("zero"), NULL, 0, UINT64_MAX, &st), -EINVAL);
	cr_expect_eq(sym_file__open(-1, "/dev/urandom", NULL, 0, UINT64_MAX, &st), -EINVAL);
	cr_expect_eq(sym_file__open(-1, dir, NULL, 0, UINT64_MAX, &st), -EINVAL);
	cr_expect_eq(sym_file__open(-1, in_dir("absent"), NULL, 0, UINT64_MAX, &st), -ENOENT);
}

Test(open_helper, size_limit)
{
	char text[256];
	struct stat st;

	write_file(in_dir("six"), "123456", 0644);
	cr_expect_eq(open_read(-1, in_dir("six"), NULL, 0, 6, text), 0);
	cr_expect_eq(sym_file__open(-1, in_dir("six"), NULL, 0, 5, &st), -EFBIG);
	/* A sparse terabyte is refused before a byte is read. */
	cr_assert_eq(truncate(in_dir("six"), 1LL << 40), 0);
	cr_expect_eq(sym_file__open(-1, in_dir("six"), NULL, 0, SYM_MAX_ELF_SIZE, &st), -EFBIG);
}

Test(open_helper, symlinks_refused_with_nofollow)
{
	char text[256];

	write_file(in_dir("target"), "target\n", 0644);
	cr_assert_eq(symlink(in_dir("target"), in_dir("link")), 0);
	cr_expect_eq(open_read(-1, in_dir("link"), NULL, SYM_OPEN_NOFOLLOW, UINT64_MAX, text),
		     -ELOOP);
	cr_expect_eq(open_read(-1, in_dir("link"), NULL, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "target\n");
}

Test(open_helper, resolved_inside_the_root)
{
	char text[256];
	int rootfd;

	if (sym_file__no_openat2())
		cr_skip_test("openat2 is missing (Linux < 5.6)");
	cr_assert_eq(mkdir(in_dir("root"), 0755), 0);
	cr_assert_eq(mkdir(in_dir("root/etc"), 0755), 0);
	cr_assert_eq(mkdir(in_dir("root/tmp"), 0755), 0);
	write_file(in_dir("root/etc/hostname"), "inside\n", 0644);
	/* Absolute links and ".." stay inside the root, as for the process itself. */
	cr_assert_eq(symlink("/etc/hostname", in_dir("root/tmp/abs")), 0);
	cr_assert_eq(symlink("../../../../../../etc/hostname", in_dir("root/tmp/dotdot")), 0);
	cr_assert_eq(symlink("/proc/self/root/etc/hostname", in_dir("root/tmp/magic")), 0);
	rootfd = open(in_dir("root"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(rootfd, 0);
	cr_expect_eq(open_read(rootfd, "/tmp/abs", NULL, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "inside\n");
	cr_expect_eq(open_read(rootfd, "/tmp/dotdot", NULL, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "inside\n");
	cr_expect_eq(open_read(rootfd, "/../../etc/hostname", NULL, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "inside\n");
	/* /proc of the root has no proc mounted: not ours either way. */
	cr_expect_lt(open_read(rootfd, "/tmp/magic", NULL, 0, UINT64_MAX, text), 0);
	close(rootfd);
	/* From our own root: magic links only where asked for (map_files). */
	cr_expect_eq(open_read(-1, "/proc/self/root/etc/hostname", NULL, 0, UINT64_MAX, text),
		     -ELOOP);
	cr_expect_eq(open_read(-1, "/proc/self/exe", NULL, SYM_OPEN_MAGICLINK, UINT64_MAX, text),
		     0);
}

Test(open_helper, with_the_process_credentials)
{
	struct proc_cred nobody, member, root = {0};
	char text[256];

	if (geteuid())
		cr_skip_test("needs root to take another user's credentials");
	proc_cred__nobody(&nobody);
	member = nobody;
	member.ngroups = 1;
	member.groups[0] = 4242;
	write_file(in_dir("root-only"), "secret\n", 0600);
	write_file(in_dir("group"), "group\n", 0640);
	cr_assert_eq(chown(in_dir("group"), 0, 4242), 0);
	write_file(in_dir("public"), "public\n", 0644);

	cr_expect_eq(open_read(-1, in_dir("root-only"), &nobody, 0, UINT64_MAX, text), -EACCES);
	cr_expect_str_eq(text, "");
	cr_expect_eq(open_read(-1, in_dir("public"), &nobody, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "public\n");
	/* Supplementary groups are the process's. */
	cr_expect_eq(open_read(-1, in_dir("group"), &nobody, 0, UINT64_MAX, text), -EACCES);
	cr_expect_eq(open_read(-1, in_dir("group"), &member, 0, UINT64_MAX, text), 0);
	cr_expect_eq(open_read(-1, in_dir("root-only"), &root, 0, UINT64_MAX, text), 0);
	/* Ours again afterwards, CAP_DAC_OVERRIDE included: another user's 0600 file opens. */
	cr_expect_eq(setfsuid(-1), 0);
	cr_expect_eq(setfsgid(-1), 0);
	cr_assert_eq(chown(in_dir("root-only"), 4242, 4242), 0);
	cr_expect_eq(open_read(-1, in_dir("root-only"), NULL, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "secret\n");
}

/* Linux < 5.6: openat relative to the root; the other checks hold all the same. */
Test(open_helper, without_openat2)
{
	struct proc_cred nobody;
	char text[256];
	struct stat st;
	int rootfd;

	sym_file__set_no_openat2(true);
	proc_cred__nobody(&nobody);
	cr_assert_eq(mkdir(in_dir("root"), 0755), 0);
	write_file(in_dir("root/plain"), "plain\n", 0644);
	write_file(in_dir("root/secret"), "secret\n", 0600);
	cr_assert_eq(mkfifo(in_dir("root/fifo"), 0666), 0);
	cr_assert_eq(symlink("plain", in_dir("root/link")), 0);
	rootfd = open(in_dir("root"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(rootfd, 0);
	cr_expect_eq(open_read(rootfd, "/plain", &nobody, 0, UINT64_MAX, text), 0);
	cr_expect_str_eq(text, "plain\n");
	cr_expect_eq(sym_file__open(rootfd, "/fifo", NULL, 0, UINT64_MAX, &st), -EINVAL);
	cr_expect_eq(sym_file__open(rootfd, "/link", NULL, SYM_OPEN_NOFOLLOW, UINT64_MAX, &st),
		     -ELOOP);
	if (!geteuid())
		cr_expect_eq(open_read(rootfd, "/secret", &nobody, 0, UINT64_MAX, text), -EACCES);
	close(rootfd);
	cr_expect(sym_file__no_openat2());
}

Test(open_helper, credentials_of_a_process)
{
	struct proc_cred c;
	pid_t nspid = 0;

	cr_assert_eq(proc_cred__read(&c, "/proc", getpid(), &nspid), 0);
	cr_expect_eq(c.ruid, getuid());
	cr_expect_eq(c.euid, geteuid());
	cr_expect_eq(c.fsgid, getegid());
	cr_expect_eq(nspid, getpid());
	cr_expect(proc_cred__owns(&c, getuid()));
	cr_expect(proc_cred__owns(&c, 0));
	cr_expect_not(proc_cred__owns(&c, 4242));
	/* Read up to the groups only, without NSpid: the same credentials, every group. */
	{
		gid_t groups[PROC_CRED_MAX_GROUPS];
		int n = getgroups(PROC_CRED_MAX_GROUPS, groups), i;
		struct proc_cred d;

		cr_assert_eq(proc_cred__read(&d, "/proc", getpid(), NULL), 0);
		cr_expect_eq(d.fsuid, c.fsuid);
		cr_expect_eq(d.fsgid, c.fsgid);
		cr_assert_geq(n, 0);
		cr_expect_eq(d.ngroups, n);
		cr_expect_eq(c.ngroups, n);
		for (i = 0; i < n && i < d.ngroups; i++)
			cr_expect_eq(d.groups[i], groups[i], "group %d", i);
	}
	cr_expect_eq(proc_cred__read(&c, "/proc", INT_MAX, NULL), -ENOENT);
}

/* ---- the perf-map reader ---- */

static int memfd_with(const char *text, size_t len)
{
	int fd = memfd_create("perf-map", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static struct jitmap *read_text(const char *text, size_t len, struct jitmap_stats *st)
{
	int fd = memfd_with(text, len);
	struct jitmap *jm = jitmap__read(fd, st);

	close(fd);
	cr_assert_not_null(jm);
	return jm;
}

struct perfmap_case {
	int line;
	const char *text;
	size_t entries;
	uint64_t long_lines;
};

static const struct perfmap_case perfmap_cases[] = {
	{__LINE__, "", 0, 0},
	{__LINE__, "1000 10 a\n2000 10 b\n", 2, 0},
	{__LINE__, "1000 10 no newline at the end", 1, 0},
	{__LINE__, "1000 10 a\n\n\n\n", 1, 0},
	{__LINE__, "1000 0 zero size\n1000 10\n1000 10 \nxyz 10 a\n1000 zz a\n", 0, 0},
	{__LINE__, "ffffffffffffffff 10 wraps\n", 0, 0},
	{__LINE__, "1000 10 a\r\n", 1, 0},
};

Test(perf_map, lines)
{
	size_t i;

	for (i = 0; i < sizeof(perfmap_cases) / sizeof(perfmap_cases[0]); i++) {
		const struct perfmap_case *c = &perfmap_cases[i];
		struct jitmap_stats st;
		struct jitmap *jm = read_text(c->text, strlen(c->text), &st);

		cr_expect_eq(jitmap__count(jm), c->entries, "line %d", c->line);
		cr_expect_eq(st.long_lines, c->long_lines, "line %d", c->line);
		cr_expect_not(st.truncated, "line %d", c->line);
		jitmap__free(jm);
	}
}

/* "1000 10 " + name padded with 'x' so the line (without '\n') is len bytes. */
static char *line_of(size_t len, const char *tail)
{
	char *s = malloc(len + strlen(tail) + 2);

	memcpy(s, "1000 10 ", 8);
	memset(s + 8, 'x', len - 8);
	s[len] = '\n';
	strcpy(s + len + 1, tail);
	return s;
}

Test(perf_map, line_length_limit)
{
	char *at = line_of(JITMAP_MAX_LINE, "2000 10 next\n");
	char *over = line_of(JITMAP_MAX_LINE + 1, "2000 10 next\n");
	struct jitmap_stats st;
	struct jitmap *jm;

	jm = read_text(at, strlen(at), &st);
	cr_expect_eq(jitmap__count(jm), 2);
	cr_expect_eq(strlen(jitmap__lookup(jm, 0x1000)), JITMAP_MAX_LINE - 8);
	cr_expect_eq(st.long_lines, 0);
	jitmap__free(jm);
	jm = read_text(over, strlen(over), &st);
	cr_expect_eq(jitmap__count(jm), 1);
	cr_expect_null(jitmap__lookup(jm, 0x1000));
	cr_expect_str_eq(jitmap__lookup(jm, 0x2000), "next");
	cr_expect_eq(st.long_lines, 1);
	jitmap__free(jm);
	free(at);
	free(over);
}

Test(perf_map, lines_across_reads)
{
	/* Lines of 100 bytes: some straddle each 64 KiB read. */
	size_t n = 3000, i;
	char *text = malloc(n * 100 + 1), *p = text;
	struct jitmap_stats st;
	struct jitmap *jm;

	for (i = 0; i < n; i++) {
		int w = snprintf(p, 101, "%zx 1 f%zu", (i + 1) * 16, i);

		memset(p + w, 'y', 99 - w);
		p[99] = '\n';
		p += 100;
	}
	jm = read_text(text, n * 100, &st);
	cr_expect_eq(jitmap__count(jm), n);
	for (i = 0; i < n; i += 97) {
		char want[16];
		const char *got = jitmap__lookup(jm, (i + 1) * 16);

		snprintf(want, sizeof(want), "f%zu", i);
		cr_assert_not_null(got, "entry %zu", i);
		cr_expect(!strncmp(got, want, strlen(want)) && got[strlen(want)] == 'y', "%zu: %s",
			  i, got);
	}
	jitmap__free(jm);
	free(text);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(perf_map, huge_line_read_up_to_the_limit, .timeout = 60)
{
	/* 200 MB in one line (a sparse file of zeros), then a good entry. */
	char tail[] = "\n1000 10 after\n";
	int fd = memfd_create("perf-map", MFD_CLOEXEC);
	struct jitmap_stats st;
	struct jitmap *jm;
	double t0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, tail, strlen(tail), 200 << 20), (ssize_t)strlen(tail));
	t0 = now();
	jm = jitmap__read(fd, &st);
	cr_assert_not_null(jm);
	cr_expect_eq(jitmap__count(jm), 0);
	cr_expect_eq(st.long_lines, 1);
	cr_expect(st.truncated);
	/* The other 136 MB are never read; the limit is what bounds the time. */
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), (off_t)JITMAP_MAX_BYTES + 1);
	printf("64 MiB of one line: %.3f s\n", now() - t0);
	jitmap__free(jm);
	close(fd);
}

Test(perf_map, entries_limit, .timeout = 120)
{
	size_t n = JITMAP_MAX_ENTRIES + 5, i, len = 0;
	char *text = malloc(n * 24), *p = text;
	struct jitmap_stats st;
	struct jitmap *jm;

	for (i = 0; i < n; i++)
		p += sprintf(p, "%zx 1 e\n", i + 1);
	len = p - text;
	jm = read_text(text, len, &st);
	cr_expect_eq(jitmap__count(jm), JITMAP_MAX_ENTRIES);
	cr_expect_eq(st.dropped_entries, 5);
	cr_expect_not(st.truncated);
	jitmap__free(jm);
	free(text);
}

Test(perf_map, load_refuses_fifos)
{
	char path[64];

	snprintf(path, sizeof(path), "/tmp/pmuprof-fifo-%d", getpid());
	cr_assert_eq(mkfifo(path, 0666), 0);
	errno = 0;
	cr_expect_null(jitmap__load(path));
	cr_expect_eq(errno, EINVAL);
	unlink(path);
}

Test(process_credentials, seen_alive_kept_after)
{
	struct aspaces *as = aspaces__new();
	const struct proc_cred *c;
	pid_t gone = INT_MAX - 1;

	cr_assert_not_null(as);
	cr_expect_null(aspaces__cred(as, getpid()));
	cr_assert_eq(aspaces__load_proc(as, "/proc", getpid()), 0);
	c = aspaces__cred(as, getpid());
	cr_assert_not_null(c);
	cr_expect_eq(c->euid, geteuid());
	/* fork() copies them; an exec of a process already gone keeps them. */
	cr_assert_eq(aspaces__fork(as, getpid(), gone), 0);
	cr_assert_eq(aspaces__exec(as, gone), 0);
	c = aspaces__cred(as, gone);
	cr_assert_not_null(c);
	cr_expect_eq(c->euid, geteuid());
	cr_expect_null(aspaces__cred(as, gone - 1));
	aspaces__free(as);
}
