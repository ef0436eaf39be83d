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

/*
 * Free the rows once they are elsewhere (the kernel's maps): unwind_table__rows() then
 * gives their count and NULL, unwind_table__memory() 0. A table built again for the same
 * file and adopted (unwind_cache__adopt) fills them in again. The vDSO's are kept.
 */
void unwind_table__drop_rows(struct unwind_table *t);

#endif
