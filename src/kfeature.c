// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "kfeature.h"
#include "pmu/pmu.h"

static const struct kfeature_info infos[KFEATURE_COUNT] = {
	[KFEATURE_PERF_LINK] = {"perf_link", "perf bpf_link", "5.15",
				"record attaches with PERF_EVENT_IOC_SET_BPF (--attach=ioctl)"},
	[KFEATURE_BPF_COOKIE] =
		{"bpf_cookie", "BPF cookies", "5.15",
		 "the event index is built into one program per event (--attach=ioctl)"},
	[KFEATURE_NO_PREALLOC] = {"no_prealloc", "on-demand hash maps", "6.1",
				  "record preallocates its stack maps (--max-stacks entries each)"},
	[KFEATURE_BPF_LOOP] =
		{"bpf_loop", "bpf_loop", "5.17",
		 "user stacks follow frame pointers (the CFI walk of --call-graph=dwarf, the "
		 "default, needs it)"},
	[KFEATURE_BATCH_OPS] = {"batch_ops", "batch map operations", "5.6",
				"maps are read one key at a time (what record does today)"},
	[KFEATURE_PROBE_READ_USER] = {"probe_read_user", "bpf_probe_read_user", "5.5",
				      "user stacks follow frame pointers (the CFI walk of "
				      "--call-graph=dwarf, the default, needs it)"},
	[KFEATURE_BIG_KEYS] = {"big_keys", "keys over 512 bytes", "5.11",
			       "record's map for the deepest stacks cannot be created: use "
			       "--max-stack 29 or less (keys of at most 512 bytes)"},
};

const struct kfeature_info *kfeature__info(enum kfeature_id id)
{
	return id < KFEATURE_COUNT ? &infos[id] : NULL;
}

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV0 INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0)
#define EXIT INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* A perf_event program that only returns 0: whether BPF is allowed at all. */
static int trivial_prog(void)
{
	const struct bpf_insn insns[] = {MOV0, EXIT};
	int fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "pmuprof_probe", "GPL", insns, 2, NULL);

	return fd < 0 ? -errno : fd;
}

/*
 * A perf_event program that looks up a BPF_F_NO_PREALLOC per-CPU hash map. Before 6.1
 * (bpf_mem_alloc) the verifier refused such maps in programs that run in NMI context:
 * "perf_event programs can only use preallocated hash map".
 */
static int probe_no_prealloc(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_PREALLOC);
	struct bpf_insn insns[] = {
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, 0),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		MOV0,
		EXIT,
	};
	int map, prog, err;

	map = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "pmuprof_probe", 4, 8, 1, &mopts);
	if (map < 0)
		return errno == EINVAL ? 0 : -errno;
	insns[3].imm = map;
	prog = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "pmuprof_probe", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
	err = prog >= 0 ? 1 : errno == EINVAL || errno == EACCES ? 0 : -errno;
	if (prog >= 0)
		close(prog);
	close(map);
	return err;
}

/* A batch lookup on an empty map: ENOENT (nothing to read) where batches exist (5.6). */
static int probe_batch_ops(void)
{
	__u32 count = 1, out_batch, key;
	__u64 value;
	int map, err;

	map = bpf_map_create(BPF_MAP_TYPE_HASH, "pmuprof_probe", 4, 8, 1, NULL);
	if (map < 0)
		return -errno;
	err = bpf_map_lookup_batch(map, NULL, &out_batch, &key, &value, &count, NULL);
	/* 524: the kernel's ENOTSUPP, for a map type without batches. */
	err = !err || errno == ENOENT ? 1 : errno == EINVAL || errno == 524 ? 0 : -errno;
	close(map);
	return err;
}

/* Before 5.11 a hash key had to fit on the BPF stack (512 bytes): E2BIG. Stack keys hold
 * the frames themselves, 8 bytes each. */
static int probe_big_keys(void)
{
	int map = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "pmuprof_probe", 513, 8, 1, NULL);

	if (map < 0)
		return errno == E2BIG ? 0 : -errno;
	close(map);
	return 1;
}

static int probe_helper(enum bpf_func_id helper)
{
	int ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, helper, NULL);

	return ret < 0 ? ret : ret > 0;
}

int kfeature__probe(enum kfeature_id id)
{
	int fd = trivial_prog();

	if (fd < 0)
		return fd;
	close(fd);
	switch (id) {
	case KFEATURE_PERF_LINK:
		return pmu_perf_link__supported();
	case KFEATURE_BPF_COOKIE:
		return probe_helper(BPF_FUNC_get_attach_cookie);
	case KFEATURE_NO_PREALLOC:
		return probe_no_prealloc();
	case KFEATURE_BPF_LOOP:
		return probe_helper(BPF_FUNC_loop);
	case KFEATURE_BATCH_OPS:
		return probe_batch_ops();
	case KFEATURE_PROBE_READ_USER:
		return probe_helper(BPF_FUNC_probe_read_user);
	case KFEATURE_BIG_KEYS:
		return probe_big_keys();
	default:
		return -EINVAL;
	}
}
