/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PMUPROF_KSYM_NAMES_H
#define PMUPROF_KSYM_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct bpf_program;

/*
 * Loads prog (bpf/profile.bpf.c's ksym_names, from an object opened and not loaded: the
 * ELF's instructions, which need no relocation) as an iterator of map elements, whose
 * attach point is btf_id in the kernel's BTF (kernel_btf_facts.iter_map_elem). libbpf
 * would find that id by parsing all of the kernel's BTF. The verifier's log goes to log
 * (log_sz bytes) when the kernel refuses it and log is not NULL. The program's fd, or
 * -errno.
 */
int ksym_names__load(const struct bpf_program *prog, uint32_t btf_id, char *log, size_t log_sz);

/*
 * The kernel's names of addrs[0, n) through prog_fd (from ksym_names__load()): an array
 * map holds the addresses, the iterator attached to it writes one line each,
 * "ADDR NAME+0xOFF/0xSIZE [MODULE]" or "ADDR 0xADDR" (no symbol), read into *text
 * (malloc'd, NUL-terminated, *len bytes). 0, or -errno (nothing to free).
 */
int ksym_names__read(int prog_fd, const uint64_t *addrs, size_t n, char **text, size_t *len);

#endif
