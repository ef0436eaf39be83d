/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few facts bpf/profile.bpf.c needs of the running kernel's types, read from its BTF
 * without parsing all of it: libbpf's parse of /sys/kernel/btf/vmlinux (5-6 MB, 100k+
 * types) cost a record more CPU and page faults than anything else it did at start
 * (docs/kernels.md). The file is streamed through a small fixed buffer, in a few passes.
 */
#ifndef PMUPROF_KERNEL_BTF_H
#define PMUPROF_KERNEL_BTF_H

#include <stdint.h>

#define KERNEL_BTF_PATH "/sys/kernel/btf/vmlinux"

struct kernel_btf_facts {
	/* Byte offsets of struct task_struct's members. */
	uint32_t group_leader;	 /* a pointer */
	uint32_t real_parent;	 /* a pointer */
	uint32_t mm;		 /* a pointer */
	uint32_t tgid;		 /* a 4-byte integer */
	uint32_t self_exec_id;	 /* an 8-byte integer (5.7+) */
	uint32_t start_boottime; /* an 8-byte integer (5.3+) */
	/* The BTF id of FUNC bpf_iter_bpf_map_elem, the attach point of map element
	 * iterators (5.9+); 0 when the kernel has none. */
	uint32_t iter_map_elem;
};

/*
 * Reads the facts from the BTF in fd (a regular file, read with pread: its position is
 * left alone). 0, or -errno: -EINVAL for malformed BTF or a member of another kind, size
 * or a bitfield, -ESRCH when struct task_struct or one of its members is missing, or
 * what reading failed with.
 */
int kernel_btf__read_fd(int fd, struct kernel_btf_facts *facts);

/* The same from the file at path (KERNEL_BTF_PATH for the running kernel). */
int kernel_btf__read(const char *path, struct kernel_btf_facts *facts);

#endif
