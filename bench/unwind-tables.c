// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-unwind-tables FILE...: compile each file's CFI into unwind tables through one
 * shared cache (as the profiler would) and print, per file, rows, build time (rows/s) and
 * table memory, then the share of CFI rows per rule kind over all files. Files that are
 * not ELF are skipped. For docs/unwind.md and bench/unwind.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbolize/symbolize.h"

static const char *const cfa_names[UNWIND_CFA_TYPES] = {
	"fp (no CFI)", "reg+off", "deref", "plt", "signal", "end", "unsupported",
};
static const char *const saved_names[UNWIND_SAVED_TYPES] = {
	"same", "at cfa+k", "at *(reg+k)", "in reg", "undefined", "unsupported",
};

static void add_stats(struct unwind_stats *sum, const struct unwind_stats *st)
{
	int i;

	sum->fdes += st->fdes;
	sum->cfi_rows += st->cfi_rows;
	for (i = 0; i < UNWIND_CFA_TYPES; i++)
		sum->by_cfa[i] += st->by_cfa[i];
	for (i = 0; i < UNWIND_SAVED_TYPES; i++)
		sum->by_rbp[i] += st->by_rbp[i];
	sum->cfa_rsp += st->cfa_rsp;
	sum->cfa_rbp += st->cfa_rbp;
	sum->ra_not_cfa8 += st->ra_not_cfa8;
	sum->text_bytes += st->text_bytes;
	sum->covered_bytes += st->covered_bytes;
	sum->build_ns += st->build_ns;
}

static void print_summary(const struct unwind_stats *s, int files, int no_cfi,
			  struct unwind_cache *c)
{
	double rows = s->cfi_rows ? (double)s->cfi_rows : 1;
	int i;

	printf("total: %d files (%d without CFI), %llu FDEs, %llu CFI rows, %zu unique rules, "
	       "%.1f MiB of tables, built in %.2f s (%.0f rows/s), text covered %.2f%%\n",
	       files, no_cfi, (unsigned long long)s->fdes, (unsigned long long)s->cfi_rows,
	       unwind_rules__count(unwind_cache__rules(c)), unwind_cache__memory(c) / 1048576.0,
	       s->build_ns / 1e9, s->cfi_rows / (s->build_ns / 1e9 + 1e-9),
	       s->text_bytes ? 100.0 * s->covered_bytes / s->text_bytes : 0.0);
	for (i = 1; i < UNWIND_CFA_TYPES; i++)
		printf("  cfa %-12s %10llu rows %8.4f%%\n", cfa_names[i],
		       (unsigned long long)s->by_cfa[i], 100.0 * s->by_cfa[i] / rows);
	printf("  cfa rsp+off    %10llu rows %8.4f%%\n", (unsigned long long)s->cfa_rsp,
	       100.0 * s->cfa_rsp / rows);
	printf("  cfa rbp+off    %10llu rows %8.4f%%\n", (unsigned long long)s->cfa_rbp,
	       100.0 * s->cfa_rbp / rows);
	for (i = 0; i < UNWIND_SAVED_TYPES; i++)
		printf("  rbp %-12s %10llu rows %8.4f%%\n", saved_names[i],
		       (unsigned long long)s->by_rbp[i], 100.0 * s->by_rbp[i] / rows);
	printf("  ra not at cfa-8 %8llu rows %8.4f%%\n", (unsigned long long)s->ra_not_cfa8,
	       100.0 * s->ra_not_cfa8 / rows);
}

int main(int argc, char **argv)
{
	struct unwind_cache *c = unwind_cache__new();
	struct unwind_stats sum = {0};
	bool quiet = argc > 1 && !strcmp(argv[1], "-q");
	int i, files = 0, no_cfi = 0;

	if (argc < 2 || !c) {
		fprintf(stderr, "usage: %s [-q] FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1 + quiet; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		struct unwind_table *t;
		const struct unwind_stats *st;
		const struct unwind_row *rows;
		size_t n;

		if (fd < 0)
			continue;
		t = unwind_cache__get(c, fd, -1);
		close(fd);
		if (!t)
			continue;
		st = unwind_table__stats(t);
		n = unwind_table__rows(t, &rows);
		files++;
		no_cfi += !st->source;
		add_stats(&sum, st);
		if (!quiet)
			printf("%s: %s, %llu FDEs, %llu CFI rows -> %zu rows, %.2f ms (%.0f "
			       "rows/s), "
			       "%zu KiB, text covered %.1f%%, unsupported %llu\n",
			       argv[i], st->source ? st->source : "no CFI",
			       (unsigned long long)st->fdes, (unsigned long long)st->cfi_rows, n,
			       st->build_ns / 1e6, st->cfi_rows / (st->build_ns / 1e9 + 1e-12),
			       unwind_table__memory(t) / 1024,
			       st->text_bytes ? 100.0 * st->covered_bytes / st->text_bytes : 0.0,
			       (unsigned long long)st->by_cfa[UNWIND_CFA_UNSUPPORTED]);
	}
	print_summary(&sum, files, no_cfi, c);
	unwind_cache__free(c);
	return 0;
}
