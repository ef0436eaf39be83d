// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "oracle.h"

void oracle_loop(uint64_t iterations)
{
	if (!iterations)
		return;
#if defined(__x86_64__)
	__asm__ volatile("1:\n\t"
			 "dec %0\n\t"
			 "jnz 1b\n"
			 : "+r"(iterations)
			 :
			 : "cc");
#elif defined(__aarch64__)
	__asm__ volatile("1:\n\t"
			 "subs %0, %0, #1\n\t"
			 "b.ne 1b\n"
			 : "+r"(iterations)
			 :
			 : "cc");
#else
	while (iterations--)
		__asm__ volatile("");
#endif
}

bool oracle_loop_exact(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	return true;
#else
	return false;
#endif
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

uint64_t __attribute__((noinline)) oracle_branches(uint64_t n, uint64_t seed, bool predictable)
{
	uint64_t s = seed | 1, sum = 0, i;

	for (i = 0; i < n; i++) {
		uint64_t r = xorshift(&s);

		/* The branch under test: random bit, or always the same way. */
		if (predictable ? (i & 0) == 0 : (r >> 33) & 1)
			sum += r;
		else
			sum ^= r;
		__asm__ volatile("" : "+r"(sum));
	}
	return sum;
}

int chase__init(struct chase *c, size_t bytes, size_t stride, uint64_t seed)
{
	size_t i, n = bytes / stride, *order;
	uint64_t s = seed | 1;
	char *mem;

	memset(c, 0, sizeof(*c));
	if (n < 2)
		return -EINVAL;
	mem = mmap(NULL, n * stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	order = malloc(n * sizeof(*order));
	if (mem == MAP_FAILED || !order) {
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	/* Sattolo: one random cycle through every slot, so prefetchers can't guess. */
	for (i = n - 1; i > 0; i--) {
		size_t j = xorshift(&s) % i, t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		*(void **)(mem + order[i] * stride) = mem + order[(i + 1) % n] * stride;
	free(order);
	c->slots = (void **)mem;
	c->n = n;
	return 0;
}

void *__attribute__((noinline)) chase__run(const struct chase *c, size_t loads)
{
	void **p = c->slots;

	while (loads--)
		p = (void **)*p;
	return p;
}

void chase_run__fn(void *arg)
{
	struct chase_run *r = arg;

	chase__run(&r->c, r->loads);
}

void chase__free(struct chase *c)
{
	(void)c; /* the test process exits */
}

int oracle_touch_pages(size_t pages)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return -ENOMEM;
	madvise((void *)p, pages * page, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		p[i * page] = 1;
	munmap((void *)p, pages * page);
	return 0;
}

void __attribute__((noinline)) oracle_busy(double seconds)
{
	struct timespec ts;
	double end;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	end = ts.tv_sec + ts.tv_nsec / 1e9 + seconds;
	do {
		oracle_loop(100000);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	} while (ts.tv_sec + ts.tv_nsec / 1e9 < end);
}

void oracle_count(const char *event, bool user_only, void (*fn)(void *), void *arg,
		  struct oracle_count *out)
{
	struct pmu_event ev;
	uint64_t buf[3];
	int fd;

	memset(out, 0, sizeof(*out));
	if (pmu_event__parse(event, &ev)) {
		out->err = -ENOENT;
		return;
	}
	ev.attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	ev.attr.exclude_kernel = user_only;
	ev.attr.exclude_hv = user_only;
	fd = pmu_event__open(&ev, 0, -1, -1);
	if (fd < 0) {
		out->err = fd;
		return;
	}
	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	fn(arg);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, buf, sizeof(buf)) == sizeof(buf)) {
		out->value = buf[0];
		out->enabled = buf[1];
		out->running = buf[2];
	} else {
		out->err = -EIO;
	}
	close(fd);
}

size_t oracle_cache_size(int level, const char *type)
{
	const char *root = getenv("PMUPROF_SYSFS");
	char path[512], buf[64];
	int i;

	for (i = 0; i < 16; i++) {
		FILE *f;
		int lvl = -1;
		char t[32] = "";
		size_t size = 0;

		snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu0/cache/index%d/level",
			 root ? root : "/sys", i);
		f = fopen(path, "r");
		if (!f)
			break;
		if (fgets(buf, sizeof(buf), f))
			lvl = atoi(buf);
		fclose(f);
		snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu0/cache/index%d/type",
			 root ? root : "/sys", i);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%31s", t) != 1)
				t[0] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu0/cache/index%d/size",
			 root ? root : "/sys", i);
		f = fopen(path, "r");
		if (f) {
			char unit = 0;

			if (fscanf(f, "%zu%c", &size, &unit) >= 1) {
				if (unit == 'K')
					size <<= 10;
				else if (unit == 'M')
					size <<= 20;
			}
			fclose(f);
		}
		if (lvl == level && (!strcmp(t, type) || !strcmp(t, "Unified")))
			return size;
	}
	return 0;
}

bool oracle_have_pmu(void)
{
	struct pmu_event ev;

	return !pmu_event__parse("cycles", &ev) && !pmu_event__probe(&ev);
}

void oracle_report(const char *name, double measured, const char *expected)
{
	printf("%s: measured %.6g, expected %s\n", name, measured, expected);
	fflush(stdout);
}

#if defined(__x86_64__)
/* The pointer chase in assembly, its load at a known address for precise sampling. */
void *__attribute__((noinline)) oracle_chase_asm(void **p, size_t loads)
{
	if (!loads)
		return p;
	__asm__ volatile("1:\n\t"
			 ".globl oracle_chase_load\n"
			 "oracle_chase_load:\n\t"
			 "mov (%0), %0\n\t"
			 "dec %1\n\t"
			 "jnz 1b\n"
			 : "+r"(p), "+r"(loads)
			 :
			 : "cc", "memory");
	return p;
}
#endif

int oracle_pmuprof(char *buf, size_t sz, const char *const *args)
{
	const char *bin = getenv("PMUPROF_BIN");
	char cmd[8192];
	size_t len, n = 0;
	FILE *p;
	int i, status;

	len = snprintf(cmd, sizeof(cmd), "'%s'", bin ? bin : "pmuprof");
	for (i = 0; args[i] && len < sizeof(cmd); i++)
		len += snprintf(cmd + len, sizeof(cmd) - len, " '%s'", args[i]);
	snprintf(cmd + len, sizeof(cmd) - len, " 2>&1 >/dev/null");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n + 1 < sz && fgets(buf + n, sz - n, p))
		n += strlen(buf + n);
	buf[n] = 0;
	status = pclose(p);
	fputs(buf, stdout);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double oracle_find_number(const char *text, const char *label)
{
	const char *p = strstr(text, label);

	if (!p)
		return -1;
	p += strlen(label);
	while (*p == ' ' || *p == '\t')
		p++;
	return strtod(p, NULL);
}

long oracle_folded_samples(const char *path, const char *frame, bool leaf)
{
	char line[8192];
	long total = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' '), *semi;

		if (!sp)
			continue;
		*sp = 0;
		semi = strrchr(line, ';');
		if (leaf ? semi && !strcmp(semi + 1, frame) : strstr(line, frame) != NULL)
			total += atol(sp + 1);
	}
	fclose(f);
	return total;
}
