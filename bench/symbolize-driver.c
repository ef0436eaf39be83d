// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-symbolize-bench [-i] ELF [ADDRESSES]: names each hexadecimal link-time address
 * (one per line, stdin by default) in ELF with pmuprof's symbolizer, one name per line,
 * like `addr2line -f` prints function names. With -i, like `addr2line -f -i`: for each
 * address, as `addr2line -a -f -i` prints it: the address (0x and 16 digits), then every
 * frame from the innermost inlined function outwards, each as a function line and a
 * FILE:LINE line (?? and ??:0 when unknown). Both look up inline frames and source lines
 * (as record names frames); the output is written without stdio's formatting, so the
 * figure is the symbolizer's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize/symbolize.h"

struct out {
	char buf[1 << 16];
	size_t len;
};

static void out_flush(struct out *o)
{
	fwrite(o->buf, 1, o->len, stdout);
	o->len = 0;
}

static void out_str(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n + 32 > sizeof(o->buf))
		out_flush(o);
	if (n + 32 > sizeof(o->buf)) {
		fputs(s, stdout);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_char(struct out *o, char c)
{
	if (o->len + 32 > sizeof(o->buf))
		out_flush(o);
	o->buf[o->len++] = c;
}

/* Digits of v in base (10 or 16), at least width of them; the bases are constants once
 * inlined, so no division instruction is left (the figure is the symbolizer's). */
static inline __attribute__((always_inline)) void out_num(struct out *o, unsigned long v,
							  unsigned base, int width)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[base == 16 ? v & 15 : v % 10];
		v = base == 16 ? v >> 4 : v / 10;
	} while (v || n < width);
	if (o->len + n + 32 > sizeof(o->buf))
		out_flush(o);
	while (n)
		o->buf[o->len++] = tmp[--n];
}

static void print_inline(struct out *o, struct symbolizer *s, const char *elf, unsigned long a)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	int n = symbolizer__file_frames(s, elf, a, f, SYM_MAX_FRAMES), i;

	out_str(o, "0x");
	out_num(o, a, 16, 16);
	out_char(o, '\n');
	for (i = n - 1; i >= 0; i--) {
		out_str(o, f[i].kind == SYM_FRAME_FUNCTION ? f[i].function : "??");
		out_char(o, '\n');
		if (f[i].file) {
			out_str(o, f[i].file);
			out_char(o, ':');
			out_num(o, f[i].line, 10, 1);
			out_char(o, '\n');
		} else {
			out_str(o, "??:0\n");
		}
	}
}

static unsigned long parse_hex(const char *p)
{
	unsigned long v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (;; p++) {
		unsigned c = (unsigned char)*p;

		if (c - '0' < 10)
			v = v * 16 + (c - '0');
		else if ((c | 0x20) - 'a' < 6)
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return v;
	}
}

int main(int argc, char **argv)
{
	static struct out o;
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
		unsigned long a = parse_hex(line);

		if (inl) {
			print_inline(&o, s, argv[1], a);
			continue;
		}
		symbolizer__file_symbol(s, argv[1], a, buf, sizeof(buf));
		out_str(&o, buf);
		out_char(&o, '\n');
	}
	out_flush(&o);
	symbolizer__free(s);
	return 0;
}
