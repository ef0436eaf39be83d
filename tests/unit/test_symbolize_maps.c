// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "symbolize/symbolize.h"
#include "symbolize/symbolize-private.h"

struct maps_case {
	int line;
	const char *text;
	int ret;
	unsigned long start, end, pgoff;
	const char *path;
};

static const struct maps_case maps_cases[] = {
	{__LINE__, "55d0c1a00000-55d0c1a02000 r-xp 00001000 fe:01 1234   /usr/bin/prog\n", 1,
	 0x55d0c1a00000, 0x55d0c1a02000, 0x1000, "/usr/bin/prog"},
	{__LINE__, "7f0000000000-7f0000001000 r--p 00000000 fe:01 1234   /usr/lib/libc.so.6\n", 0},
	{__LINE__, "7ffd1000-7ffd3000 r-xp 00000000 00:00 0                  [vdso]\n", 1,
	 0x7ffd1000, 0x7ffd3000, 0, "[vdso]"},
	{__LINE__, "7f0000000000-7f0000001000 rwxp 00000000 00:00 0 \n", 1, 0x7f0000000000,
	 0x7f0000001000, 0, "//anon"},
	{__LINE__, "400000-401000 r-xp 00000000 fe:01 99 /tmp/gone (deleted)\n", 1, 0x400000,
	 0x401000, 0, "/tmp/gone"},
	{__LINE__, "400000-401000 r-xp 00000000 fe:01 99 /tmp/with space/bin\n", 1, 0x400000,
	 0x401000, 0, "/tmp/with space/bin"},
	{__LINE__, "garbage\n", -EINVAL},
	{__LINE__, "", -EINVAL},
};

Test(maps, parse_proc_maps_lines)
{
	size_t i;

	for (i = 0; i < sizeof(maps_cases) / sizeof(maps_cases[0]); i++) {
		const struct maps_case *c = &maps_cases[i];
		unsigned long s, e, o;
		char *path;
		int r = proc_maps__parse_line(c->text, &s, &e, &o, &path);

		cr_expect_eq(r, c->ret, "line %d: ret %d", c->line, r);
		if (r != 1)
			continue;
		cr_expect_eq(s, c->start, "line %d", c->line);
		cr_expect_eq(e, c->end, "line %d", c->line);
		cr_expect_eq(o, c->pgoff, "line %d", c->line);
		cr_expect_str_eq(path, c->path, "line %d", c->line);
		free(path);
	}
}

Test(maps, new_mapping_replaces_overlap)
{
	struct aspaces *as = aspaces__new();
	const struct map_entry *m;

	aspaces__add_map(as, 10, 0x1000, 0x3000, 0, "/a");	  /* 0x1000-0x4000 */
	aspaces__add_map(as, 10, 0x2000, 0x1000, 0x500000, "/b"); /* splits /a */
	m = aspaces__find(as, 10, 0x1800);
	cr_assert_not_null(m);
	cr_expect_str_eq(m->path, "/a");
	m = aspaces__find(as, 10, 0x2800);
	cr_assert_not_null(m);
	cr_expect_str_eq(m->path, "/b");
	cr_expect_eq(m->pgoff, 0x500000);
	m = aspaces__find(as, 10, 0x3800);
	cr_assert_not_null(m);
	cr_expect_str_eq(m->path, "/a");
	/* The tail keeps the right file offset. */
	cr_expect_eq(m->pgoff, 0x2000);
	cr_expect_null(aspaces__find(as, 10, 0x4000));
	cr_expect_null(aspaces__find(as, 11, 0x1800));
	aspaces__free(as);
}

Test(maps, fork_copies_and_exec_clears)
{
	struct aspaces *as = aspaces__new();
	const struct map_entry *m;

	aspaces__add_map(as, 100, 0x400000, 0x1000, 0, "/bin/parent");
	aspaces__fork(as, 100, 101);
	m = aspaces__find(as, 101, 0x400010);
	cr_assert_not_null(m);
	cr_expect_str_eq(m->path, "/bin/parent");
	aspaces__exec(as, 101);
	cr_expect_null(aspaces__find(as, 101, 0x400010));
	aspaces__add_map(as, 101, 0x400000, 0x1000, 0, "/bin/child");
	cr_expect_str_eq(aspaces__find(as, 101, 0x400010)->path, "/bin/child");
	/* The parent is untouched. */
	cr_expect_str_eq(aspaces__find(as, 100, 0x400010)->path, "/bin/parent");
	aspaces__free(as);
}

Test(maps, many_processes)
{
	struct aspaces *as = aspaces__new();
	int pid;

	for (pid = 1; pid <= 5000; pid++)
		cr_assert_eq(aspaces__add_map(as, pid, 0x1000 * pid, 0x1000, 0, "/x"), 0);
	cr_expect_eq(aspaces__nr_pids(as), 5000);
	for (pid = 1; pid <= 5000; pid += 499)
		cr_expect_not_null(aspaces__find(as, pid, 0x1000 * pid + 5));
	aspaces__free(as);
}

Test(maps, memory_is_bounded_and_counted)
{
	struct aspaces *as = aspaces__new();
	int pid;

	aspaces__set_max_pids(as, 100);
	for (pid = 1; pid <= 150; pid++)
		aspaces__add_map(as, pid, 0x1000, 0x1000, 0, "/x");
	cr_expect_eq(aspaces__nr_pids(as), 100);
	cr_expect_eq(aspaces__dropped(as), 50);
	/* Known processes still take new mappings. */
	cr_expect_eq(aspaces__add_map(as, 7, 0x9000, 0x1000, 0, "/y"), 0);
	cr_expect_not_null(aspaces__find(as, 7, 0x9800));
	cr_expect_null(aspaces__find(as, 120, 0x1800));
	aspaces__free(as);
}

/* One pid, two processes: each sample's start time picks its own address space. */
Test(maps, generations_by_start_time)
{
	struct aspaces *as = aspaces__new();
	const uint64_t s = 1000000000ull;

	aspaces__add_map(as, 1, 0x1000, 0x1000, 0, "/bin/init");
	cr_assert_eq(aspaces__fork_at(as, 1, 50, 1 * s), 0);
	aspaces__exec(as, 50);
	aspaces__add_map(as, 50, 0x400000, 0x1000, 0, "/a/worker");
	aspaces__exit(as, 50, 3 * s / 2);
	cr_assert_eq(aspaces__fork_at(as, 1, 50, 2 * s), 0);
	aspaces__exec(as, 50);
	aspaces__add_map(as, 50, 0x400000, 0x1000, 0, "/b/worker");
	cr_expect_eq(aspaces__nr_pids(as), 3);

	/* The kernel's start time comes a little before the FORK record. */
	aspaces__select(as, 50, 1 * s - 20000);
	cr_expect_str_eq(aspaces__find(as, 50, 0x400010)->path, "/a/worker");
	aspaces__select(as, 50, 2 * s - 20000);
	cr_expect_str_eq(aspaces__find(as, 50, 0x400010)->path, "/b/worker");
	/* Other pids and no selection: the live generation. */
	cr_expect_str_eq(aspaces__find(as, 1, 0x1010)->path, "/bin/init");
	aspaces__select(as, 0, 0);
	cr_expect_str_eq(aspaces__find(as, 50, 0x400010)->path, "/b/worker");

	/* Freed only once drained past its exit. */
	cr_expect_eq(aspaces__reap(as, 7 * s / 5), 0);
	cr_expect_eq(aspaces__reap(as, 8 * s / 5), 1);
	cr_expect_eq(aspaces__nr_pids(as), 2);
	cr_expect_eq(aspaces__reaped(as), 1);
	aspaces__free(as);
}

/* What the symbolizer read for a process (perf map, a re-read of its maps) is its
 * generation's: a later process on the pid starts afresh, an exited one is not re-read. */
Test(maps, reads_are_per_generation)
{
	struct aspaces *as = aspaces__new();
	const uint64_t s = 1000000000ull;
	struct jitmap **first, **second;
	bool read;
	int fd;

	cr_expect_eq(aspaces__claim_reload(as, 50), -ENOENT);
	cr_expect_null(aspaces__jit_slot(as, 50, &read));
	aspaces__add_map(as, 1, 0x1000, 0x1000, 0, "/bin/init");
	cr_assert_eq(aspaces__fork_at(as, 1, 50, 1 * s), 0);
	first = aspaces__jit_slot(as, 50, &read);
	cr_assert_not_null(first);
	cr_expect_not(read);
	fd = open("/dev/null", O_RDONLY);
	*first = jitmap__read(fd, NULL);
	close(fd);
	cr_assert_not_null(*first);
	cr_expect_eq(aspaces__jit_slot(as, 50, &read), first);
	cr_expect(read);
	cr_expect_eq(aspaces__claim_reload(as, 50), 1);
	cr_expect_eq(aspaces__claim_reload(as, 50), 0);
	aspaces__exit(as, 50, 3 * s / 2);
	cr_assert_eq(aspaces__fork_at(as, 1, 50, 2 * s), 0);
	/* The new process on pid 50. */
	second = aspaces__jit_slot(as, 50, &read);
	cr_expect_neq(second, first);
	cr_expect_not(read);
	cr_expect_eq(aspaces__claim_reload(as, 50), 1);
	/* The first one, selected by its start time: read already, and gone. */
	aspaces__select(as, 50, 1 * s - 20000);
	cr_expect_eq(aspaces__jit_slot(as, 50, &read), first);
	cr_expect(read);
	aspaces__select(as, 0, 0);
	/* Its perf map goes with it (ASan would see a leak otherwise). */
	cr_expect_eq(aspaces__reap(as, 8 * s / 5), 1);
	aspaces__free(as);
}

/* A forked child maps what its parent maps: the parent's resolved files come along. */
Test(maps, fork_inherits_resolved_files)
{
	struct aspaces *as = aspaces__new();
	static int obj_a, obj_b;
	struct map_entry *m;

	aspaces__add_map(as, 100, 0x400000, 0x1000, 0, "/bin/parent");
	aspaces__add_map(as, 100, 0x7f0000, 0x1000, 0, "/lib/libc.so.6");
	aspaces__find(as, 100, 0x400010)->obj = &obj_a;
	aspaces__find(as, 100, 0x7f0010)->obj = &obj_b;
	cr_assert_eq(aspaces__fork(as, 100, 101), 0);
	m = aspaces__find(as, 101, 0x400010);
	cr_assert_not_null(m);
	cr_expect_eq(m->obj, &obj_a);
	cr_expect_eq(aspaces__find(as, 101, 0x7f0010)->obj, &obj_b);
	/* A new mapping is resolved afresh. */
	aspaces__add_map(as, 101, 0x7f0000, 0x1000, 0, "/lib/other.so");
	cr_expect_null(aspaces__find(as, 101, 0x7f0010)->obj);
	aspaces__free(as);
}

/* Processes come and go far beyond the bound: exited ones are reaped, none dropped. */
Test(maps, reaping_keeps_memory_bounded)
{
	struct aspaces *as = aspaces__new();
	uint64_t t = 1000000000ull;
	int i;

	aspaces__set_max_pids(as, 16);
	aspaces__add_map(as, 1, 0x1000, 0x1000, 0, "/bin/sh");
	for (i = 0; i < 10000; i++) {
		pid_t pid = 2 + i % 300;

		t += 1000000;
		cr_assert_eq(aspaces__fork_at(as, 1, pid, t), 0);
		aspaces__exit(as, pid, t + 500000);
		if (i % 8 == 7)
			aspaces__reap(as, t + 600000);
	}
	cr_expect_eq(aspaces__dropped(as), 0);
	cr_expect_leq(aspaces__nr_pids(as), 16);
	cr_expect_eq(aspaces__reaped(as), 10000);
	aspaces__free(as);
}

/* Samples from before an exec are drained after it: the old image answers for addresses
 * the new one does not map, until a drain passes the exec. */
Test(maps, exec_keeps_the_old_image_until_drained)
{
	struct aspaces *as = aspaces__new();
	const uint64_t s = 1000000000ull;

	cr_assert_eq(aspaces__fork_at(as, 1, 60, s), 0);
	aspaces__add_map(as, 60, 0x550000, 0x1000, 0, "/bin/sh");
	cr_assert_eq(aspaces__exec_at(as, 60, 2 * s), 0);
	aspaces__add_map(as, 60, 0x7f0000, 0x1000, 0, "/bin/true");
	cr_expect_str_eq(aspaces__find(as, 60, 0x7f0010)->path, "/bin/true");
	cr_expect_str_eq(aspaces__find(as, 60, 0x550010)->path, "/bin/sh");
	aspaces__reap(as, 3 * s);
	cr_expect_null(aspaces__find(as, 60, 0x550010));
	cr_expect_str_eq(aspaces__find(as, 60, 0x7f0010)->path, "/bin/true");
	aspaces__free(as);
}

/* Names cached per version stay right: every change of what an address maps to moves it. */
Test(maps, version_follows_mappings_and_generations)
{
	const uint64_t s = 1000000000ull;
	struct aspaces *as = aspaces__new();
	uint64_t v1, v2, v3, v4, other;

	cr_assert_not_null(as);
	cr_expect_eq(aspaces__version(as, 50, 0), 0, "no generation: version 0");
	cr_assert_eq(aspaces__fork_at(as, 1, 50, 1 * s), 0);
	aspaces__add_map(as, 50, 0x400000, 0x1000, 0, "/a/worker");
	v1 = aspaces__version(as, 50, 1 * s - 20000);
	cr_expect_neq(v1, 0);
	cr_expect_eq(aspaces__version(as, 50, 1 * s - 20000), v1, "stable while nothing changes");
	cr_expect_eq(aspaces__version(as, 50, 0), v1, "gen 0: the live generation");
	/* dlopen at the same address. */
	aspaces__add_map(as, 50, 0x400000, 0x1000, 0, "/a/plugin");
	v2 = aspaces__version(as, 50, 1 * s - 20000);
	cr_expect_neq(v2, v1);
	/* exec: the new image, then its old image dropped once drained. */
	cr_assert_eq(aspaces__exec_at(as, 50, 2 * s), 0);
	v3 = aspaces__version(as, 50, 1 * s - 20000);
	cr_expect_neq(v3, v2);
	aspaces__reap(as, 3 * s);
	v4 = aspaces__version(as, 50, 1 * s - 20000);
	cr_expect_neq(v4, v3);
	/* Another generation of the pid never shares a version with this one. */
	aspaces__exit(as, 50, 4 * s);
	cr_assert_eq(aspaces__fork_at(as, 1, 50, 5 * s), 0);
	other = aspaces__version(as, 50, 5 * s - 20000);
	cr_expect(other != v1 && other != v2 && other != v3 && other != v4);
	cr_expect_eq(aspaces__version(as, 50, 1 * s - 20000), v4);
	aspaces__free(as);
}

/* The CFI loader reads a live process's mappings, sorted; none once it exited. */
Test(maps, live_maps_of_a_process)
{
	struct aspaces *as = aspaces__new();
	const struct map_entry *m;
	size_t nr = 99;

	cr_assert_not_null(as);
	cr_expect_null(aspaces__live_maps(as, 7, &nr));
	cr_expect_eq(nr, 0);
	aspaces__add_map(as, 7, 0x7000, 0x1000, 0, "/lib/b");
	aspaces__add_map(as, 7, 0x3000, 0x1000, 0x2000, "/bin/a");
	m = aspaces__live_maps(as, 7, &nr);
	cr_assert_not_null(m);
	cr_assert_eq(nr, 2);
	cr_expect_eq(m[0].start, 0x3000);
	cr_expect_str_eq(m[0].path, "/bin/a");
	cr_expect_eq(m[0].pgoff, 0x2000);
	cr_expect_eq(m[1].start, 0x7000);
	cr_expect_eq(m[1].end, 0x8000);
	aspaces__exit(as, 7, 1000);
	cr_expect_null(aspaces__live_maps(as, 7, &nr));
	cr_expect_eq(nr, 0);
	aspaces__free(as);
}

/*
 * An exec whose exit is already known reads no credentials from /proc (the tracker's
 * batch of a fork-heavy load: most processes are gone); the parent's stay its own. An
 * exec of a live process reads them (here: ours).
 */
Test(maps, exec_of_an_exited_process_keeps_the_parents_credentials)
{
	struct aspaces *as = aspaces__new();
	pid_t self = getpid();
	const struct proc_cred *c;

	cr_assert(as);
	cr_assert_eq(aspaces__exec_exited_at(as, self, 1000), 0);
	cr_expect_null(aspaces__cred(as, self), "credentials read for an exited process");
	cr_assert_eq(aspaces__exec_at(as, self, 2000), 0);
	c = aspaces__cred(as, self);
	cr_assert_not_null(c, "a live process's credentials not read");
	cr_expect_eq(c->euid, geteuid());
	/* A child that exited: its parent's credentials, copied at fork, are kept. */
	cr_assert_eq(aspaces__fork_at(as, self, 999999, 3000), 0);
	cr_assert_eq(aspaces__exec_exited_at(as, 999999, 4000), 0);
	c = aspaces__cred(as, 999999);
	cr_assert_not_null(c);
	cr_expect_eq(c->euid, geteuid());
	aspaces__free(as);
}

/* dir/stat of a process named comm in state st, started at ticks (field 22). */
static void write_stat(const char *dir, const char *comm, char st, unsigned long long ticks)
{
	char file[160];
	FILE *f;

	snprintf(file, sizeof(file), "%s/stat", dir);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fprintf(f, "77 (%s) %c 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0\n", comm, st,
		ticks);
	fclose(f);
}

/* A zombie (a launched command exited, not yet waited for): /proc/PID still has its stat,
 * its maps file is empty. Reading it adds no empty generation: the samples of the process
 * keep the mappings the tracker gave it. A pid reused after the death is read. */
Test(maps, zombie_read_keeps_the_dead_generation)
{
	char root[] = "/tmp/pmuprof-zombie-XXXXXX", dir[128], file[160];
	long hz = sysconf(_SC_CLK_TCK);
	const uint64_t s = 1000000000ull, tick = s / (hz > 0 ? hz : 100);
	struct aspaces *as = aspaces__new();
	FILE *f;

	cr_assert(mkdtemp(root) && as);
	snprintf(dir, sizeof(dir), "%s/77", root);
	cr_assert_eq(mkdir(dir, 0700), 0);
	write_stat(dir, "gzip", 'Z', 5 * s / tick); /* started at 5 s */
	snprintf(file, sizeof(file), "%s/maps", dir);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);

	cr_assert_eq(aspaces__exec_at(as, 77, 5 * s + tick), 0);
	cr_assert_eq(aspaces__add_map(as, 77, 0x400000, 0x1000, 0, "/usr/bin/gzip"), 0);
	aspaces__exit(as, 77, 6 * s);
	cr_expect_neq(aspaces__load_proc(as, root, 77), 0, "the zombie read as a new process");
	aspaces__select(as, 77, 5 * s);
	cr_assert_not_null(aspaces__find(as, 77, 0x400010));
	cr_expect_str_eq(aspaces__find(as, 77, 0x400010)->path, "/usr/bin/gzip");

	/* The pid reused: started after the death, read as its own generation. */
	write_stat(dir, "sh", 'S', 7 * s / tick);
	cr_expect_eq(aspaces__load_proc(as, root, 77), 0);
	aspaces__select(as, 77, 5 * s);
	cr_expect_not_null(aspaces__find(as, 77, 0x400010), "the dead process's mappings");
	aspaces__select(as, 77, 7 * s);
	cr_expect_null(aspaces__find(as, 77, 0x400010), "the new process maps nothing");
	aspaces__free(as);
	snprintf(file, sizeof(file), "%s/stat", dir);
	unlink(file);
	snprintf(file, sizeof(file), "%s/maps", dir);
	unlink(file);
	rmdir(dir);
	rmdir(root);
}
