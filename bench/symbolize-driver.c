// SPDX-License-Identifier: GPL-2.0
/*
 * pmuprof-symbolize-bench [-i] ELF [ADDRESSES]: names each hexadecimal link-time address
 * (one per line, stdin by default) in ELF with pmuprof's symbolizer, one name per line,
 * like `addr2line -f` prints function names. With -i, like `addr2line -f -i`: for each
 * address, as `addr2line -a -f -i` prints it: the address (0x and 16 digits), then every
 * frame from the innermost inlined function outwards, each as a function line and a
 * FILE:LINE line (?? and ??:0 when unknown). Both look up inline frames and source lines
 * (as record names frames); the output is written without stdio's formatting, so the
 * figure is the symbolizer's. Addresses are named 256 at a time through
 * symbolizer__file_frames_many (their tables asked for ahead), and printed in their order:
 * every address still gets all its frames, names, files and lines.
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

static inline __attribute__((always_inline)) void out_str(struct out *o, const char *s)
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

/* Addresses named together: symbolizer__file_frames_many asks for their tables ahead. */
#define CHUNK 256

static void print_inline(struct out *o, unsigned long a, const struct sym_frame *f, int n)
{
	int i;

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

/* A chunk of addresses of elf, named and printed in their order. */
static void print_chunk(struct out *o, struct symbolizer *s, const char *elf, bool inl,
			const unsigned long *a, size_t n)
{
	static struct sym_frame f[CHUNK * SYM_MAX_FRAMES];
	static int nf[CHUNK];
	char buf[1024];
	size_t i;

	symbolizer__file_frames_many(s, elf, a, n, f, nf);
	for (i = 0; i < n; i++) {
		if (inl) {
			print_inline(o, a[i], f + i * SYM_MAX_FRAMES, nf[i]);
			continue;
		}
		symbolizer__format(s, &f[i * SYM_MAX_FRAMES], buf, sizeof(buf));
		out_str(o, buf);
		out_char(o, '\n');
	}
}

/* The input, read in blocks (the figure is the symbolizer's, not stdio's). */
struct in {
	FILE *f;
	char buf[1 << 16];
	size_t pos, len;
};

static int in_char(struct in *in)
{
	if (in->pos == in->len) {
		in->len = fread(in->buf, 1, sizeof(in->buf), in->f);
		in->pos = 0;
		if (!in->len)
			return EOF;
	}
	return (unsigned char)in->buf[in->pos++];
}

/* The next line's hexadecimal address (an optional 0x, digits up to the first other
 * character; the rest of the line skipped); false at the end of the input. */
static bool in_addr(struct in *in, unsigned long *v)
{
	int c = in_char(in), digits = 0;

	*v = 0;
	if (c == EOF)
		return false;
	if (c == '0') {
		c = in_char(in);
		if (c == 'x' || c == 'X')
			c = in_char(in);
		else
			digits = 1;
	}
	for (;; c = in_char(in), digits++) {
		unsigned d = (unsigned)c;

		if (d - '0' < 10)
			*v = *v * 16 + (d - '0');
		else if ((d | 0x20) - 'a' < 6)
			*v = *v * 16 + ((d | 0x20) - 'a' + 10);
		else
			break;
	}
	while (c != '\n' && c != EOF)
		c = in_char(in);
	return c != EOF || digits;
}

int main(int argc, char **argv)
{
	static struct out o;
	static struct in in;
	struct symbolizer *s;
	unsigned long a[CHUNK];
	size_t n = 0;
	bool inl = argc > 1 && !strcmp(argv[1], "-i");

	argv += inl;
	argc -= inl;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s [-i] ELF [ADDRESSES]\n", argv[0]);
		return 2;
	}
	in.f = stdin;
	if (argc == 3 && !(in.f = fopen(argv[2], "r"))) {
		perror(argv[2]);
		return 2;
	}
	s = symbolizer__new(NULL);
	if (!s)
		return 1;
	while (in_addr(&in, &a[n])) {
		if (++n == CHUNK) {
			print_chunk(&o, s, argv[1], inl, a, n);
			n = 0;
		}
	}
	print_chunk(&o, s, argv[1], inl, a, n);
	out_flush(&o);
	symbolizer__free(s);
	return 0;
}
