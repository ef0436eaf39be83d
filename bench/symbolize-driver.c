// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-symbolize-bench [-i] ELF [ADDRESSES]: names each hexadecimal link-time address
 * (one per line, stdin by default) in ELF with pmuprof's symbolizer, one name per line,
 * like `addr2line -f` prints function names. With -i, like `addr2line -f -i`: for each
 * address, as `addr2line -a -f -i` prints it: the address (0x and 16 digits), then every
 * frame from the innermost inlined function outwards, each as a function line and a
 * FILE:LINE line (?? and ??:0 when unknown).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize/symbolize.h"

static void print_inline(struct symbolizer *s, const char *elf, unsigned long a)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	int n = symbolizer__file_frames(s, elf, a, f, SYM_MAX_FRAMES), i;

	printf("0x%016lx\n", a);
	for (i = n - 1; i >= 0; i--) {
		printf("%s\n", f[i].kind == SYM_FRAME_FUNCTION ? f[i].function : "??");
		if (f[i].file)
			printf("%s:%u\n", f[i].file, f[i].line);
		else
			printf("??:0\n");
	}
}

int main(int argc, char **argv)
{
	struct symbolizer *s;
	char line[128], buf[1024];
	bool inl = argc > 1 && !strcmp(argv[1], "-i");
	FILE *in = stdin;

	argv += inl;
	argc -= inl;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s [-i] ELF [ADDRESSES]\n", argv[0]);
		return 2;
	}
	if (argc == 3 && !(in = fopen(argv[2], "r"))) {
		perror(argv[2]);
		return 2;
	}
	s = symbolizer__new(NULL);
	if (!s)
		return 1;
	while (fgets(line, sizeof(line), in)) {
		unsigned long a = strtoul(line, NULL, 16);

		if (inl) {
			print_inline(s, argv[1], a);
			continue;
		}
		symbolizer__file_symbol(s, argv[1], a, buf, sizeof(buf));
		puts(buf);
	}
	symbolizer__free(s);
	return 0;
}
