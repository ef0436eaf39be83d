/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CFI unwind tables beyond symbolize.h's interface: what the loader and the tests use
 * (docs/unwind.md).
 */
#ifndef PMUPROF_SYMBOLIZE_UNWIND_TABLE_H
#define PMUPROF_SYMBOLIZE_UNWIND_TABLE_H

#include "symbolize.h"

/* As unwind_table__build(), with every row read through dwarf_cfi_addrframe (one CFI
 * program run per row): the reference the one-pass build is compared with. */
struct unwind_table *unwind_table__build_rowwise(struct unwind_rules *rules, Elf *elf, Elf *debug);

#endif
