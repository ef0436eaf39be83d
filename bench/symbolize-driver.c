// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-symbolize-bench ELF [ADDRESSES]: names each hexadecimal link-time address
 * (one per line, stdin by default) in ELF with pmuprof's symbolizer, one name per line,
 * like `addr2line -f` prints function names.
 */
#include <stdio.h>
#include <stdlib.h>
#include "symbolize/symbolize.h"

int main(int argc, char **argv)
{
	struct symbolizer *s;
	char line[128], buf[1024];
	FILE *in = stdin;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s ELF [ADDRESSES]\n", argv[0]);
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

		symbolizer__file_symbol(s, argv[1], a, buf, sizeof(buf));
		puts(buf);
	}
	symbolizer__free(s);
	return 0;
}
