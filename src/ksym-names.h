/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PMUPROF_KSYM_NAMES_H
#define PMUPROF_KSYM_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct bpf_program;

/*
 * The kernel's names of addrs[0, n) through prog (bpf/profile.bpf.c's ksym_names, loaded):
 * an array map holds the addresses, the iterator attached to it writes one line each,
 * "ADDR NAME+0xOFF/0xSIZE [MODULE]" or "ADDR 0xADDR" (no symbol), read into *text
 * (malloc'd, NUL-terminated, *len bytes). 0, or -errno (nothing to free).
 */
int ksym_names__read(struct bpf_program *prog, const uint64_t *addrs, size_t n, char **text,
		     size_t *len);

#endif
