// SPDX-License-Identifier: GPL-2.0
/*
 * Precise sampling: with :pp on a load-miss event, ≥ 90% of the sample IPs are the
 * chase's load instruction itself (no skid).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "hw.h"

#define EVENT "MEM_LOAD_RETIRED.L3_MISS:pp"

const char *hw_prereq(void)
{
	const char *why = hw_need_pmu();

#if !defined(__x86_64__)
	if (!why)
		why = "the precise-sampling oracle is x86-64 code";
#endif
	if (!why && !oracle_cache_size(3, "Unified"))
		why = "no L3 size in sysfs cache topology";
	return why ? why : hw_need_event(EVENT);
}

#if defined(__x86_64__)
Test(hw, precise_ip_on_the_load)
{
	size_t llc = oracle_cache_size(3, "Unified"), pages = 64, on = 0, total = 0;
	long page = sysconf(_SC_PAGESIZE);
	struct perf_event_mmap_page *meta;
	struct pmu_event ev;
	struct chase c;
	uint64_t head, tail;
	char *data;
	int fd;

	cr_assert_eq(pmu_event__parse(EVENT, &ev), 0);
	ev.attr.sample_period = 1000;
	ev.attr.freq = 0;
	ev.attr.sample_type = PERF_SAMPLE_IP;
	ev.attr.exclude_kernel = 1;
	fd = pmu_event__open_adjust(&ev, 0, -1, -1);
	cr_assert_geq(fd, 0);
	meta = mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(meta, MAP_FAILED);
	cr_assert_eq(chase__init(&c, 8 * llc, 64, 3), 0);
	chase__run(&c, c.n);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	oracle_chase_asm(c.slots, 200000);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	data = (char *)meta + meta->data_offset;
	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	for (tail = meta->data_tail; tail + sizeof(struct perf_event_header) <= head;) {
		struct perf_event_header *h = (void *)(data + tail % meta->data_size);

		if (!h->size)
			break;
		if (h->type == PERF_RECORD_SAMPLE &&
		    tail % meta->data_size + 16 <= meta->data_size) {
			uint64_t ip = *(uint64_t *)(h + 1);

			total++;
			on += ip == (uint64_t)(uintptr_t)oracle_chase_load;
		}
		tail += h->size;
	}
	oracle_report("share of " EVENT " sample IPs on the load", total ? (double)on / total : 0,
		      ">= 0.90");
	if (ev.precise_wanted)
		printf("precise_ip lowered from %d to %u\n", ev.precise_wanted, ev.attr.precise_ip);
	cr_expect_gt(total, 50, "only %zu samples", total);
	cr_expect(total && on * 10 >= total * 9, "%zu of %zu on the load", on, total);
	close(fd);
}
#endif
