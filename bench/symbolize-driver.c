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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <emmintrin.h>
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

/*
 * The lengths of the strings printed last, by address: the symbolizer hands out each
 * function name and path from one copy, so most strings are printed many times and
 * measured once (the bytes written are the same).
 */
#define LEN_SLOTS 4096

static struct {
	const char *s;
	size_t n;
} lens[LEN_SLOTS];

static inline __attribute__((always_inline)) size_t str_len(const char *s)
{
	size_t h = ((uintptr_t)s >> 3) % LEN_SLOTS;

	if (lens[h].s != s) {
		lens[h].s = s;
		lens[h].n = strlen(s);
	}
	return lens[h].n;
}

/* n bytes of s to dst, read within them: fixed-size copies the compiler inlines, not a
 * call per string (most names and paths are short). */
static inline __attribute__((always_inline)) void copy_bytes(char *dst, const char *s, size_t n)
{
	size_t i;

	if (n >= 16) {
		for (i = 0; i + 16 <= n; i += 16)
			memcpy(dst + i, s + i, 16);
		memcpy(dst + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(dst, s, 8);
		memcpy(dst + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(dst, s, 4);
		memcpy(dst + n - 4, s + n - 4, 4);
	} else if (n) {
		dst[0] = s[0];
		dst[n / 2] = s[n / 2];
		dst[n - 1] = s[n - 1];
	}
}

/* n bytes of s, and 32 bytes of room left after them. */
static inline __attribute__((always_inline)) void out_bytes(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 32 > sizeof(o->buf))
		out_flush(o);
	if (n + 32 > sizeof(o->buf)) {
		fwrite(s, 1, n, stdout);
		return;
	}
	copy_bytes(o->buf + o->len, s, n);
	o->len += n;
}

/* A string of the symbolizer's (valid and unchanged while it is in use). */
static inline __attribute__((always_inline)) void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, str_len(s));
}

static void out_char(struct out *o, char c)
{
	if (o->len + 32 > sizeof(o->buf))
		out_flush(o);
	o->buf[o->len++] = c;
}

/* Addresses named together: symbolizer__file_frames_many asks for their tables ahead. */
#define CHUNK 256

/* Two digits: "00" to "99" for a number below 100. */
static char dec2[100][2];
/* The value of each byte as a hexadecimal digit, -1 for other bytes. */
static signed char hex_value[256];

/* The tables of digits, for output and input. */
static void digits_init(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		dec2[i][0] = (char)('0' + i / 10);
		dec2[i][1] = (char)('0' + i % 10);
	}
	for (i = 0; i < 256; i++)
		hex_value[i] = (signed char)(i >= '0' && i <= '9' ? i - '0'
					     : (i | 0x20) >= 'a' && (i | 0x20) <= 'f'
						     ? (i | 0x20) - 'a' + 10
						     : -1);
}

/* The 16 hexadecimal digits of a, most significant first (SSE2: a nibble a byte). */
static inline __m128i hex16(unsigned long a)
{
	__m128i v = _mm_cvtsi64_si128((long long)__builtin_bswap64(a));
	__m128i low = _mm_set1_epi8(0x0f);
	__m128i nib =
		_mm_unpacklo_epi8(_mm_and_si128(_mm_srli_epi64(v, 4), low), _mm_and_si128(v, low));
	__m128i letters =
		_mm_and_si128(_mm_cmpgt_epi8(nib, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));

	return _mm_add_epi8(_mm_add_epi8(nib, _mm_set1_epi8('0')), letters);
}

/* "0x", the address in 16 digits, a newline. */
static void out_addr(struct out *o, unsigned long a)
{
	char *p;

	if (o->len + 19 > sizeof(o->buf))
		out_flush(o);
	p = o->buf + o->len;
	p[0] = '0';
	p[1] = 'x';
	_mm_storeu_si128((__m128i *)(p + 2), hex16(a));
	p[18] = '\n';
	o->len += 19;
}

/* The digits of v in decimal. */
static inline unsigned int dec_digits(unsigned int v)
{
	unsigned int n = 1;

	for (; v >= 10000; v /= 10000)
		n += 4;
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* ":LINE\n" after a string: out_str leaves 32 bytes of room, no check is needed. The
 * digits are written in place, from the last. */
static inline __attribute__((always_inline)) void out_line_no(struct out *o, unsigned int v)
{
	unsigned int n = dec_digits(v);
	char *p = o->buf + o->len + 1 + n;

	o->buf[o->len] = ':';
	*p = '\n';
	o->len += n + 2;
	while (v >= 100) {
		p -= 2;
		memcpy(p, dec2[v % 100], 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(p - 2, dec2[v], 2);
	else
		p[-1] = (char)('0' + v);
}

static void print_inline(struct out *o, unsigned long a, const struct sym_frame *f, int n)
{
	int i;

	out_addr(o, a);
	for (i = n - 1; i >= 0; i--) {
		if (f[i].kind == SYM_FRAME_FUNCTION)
			out_str(o, f[i].function);
		else
			out_bytes(o, "??", 2);
		o->buf[o->len++] = '\n';
		if (f[i].file) {
			out_str(o, f[i].file);
			out_line_no(o, f[i].line);
		} else {
			out_bytes(o, "??:0\n", 5);
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
		if (f[i * SYM_MAX_FRAMES].kind == SYM_FRAME_FUNCTION) {
			/* As symbolizer__format spells it into buf, without the copy. */
			const char *fn = f[i * SYM_MAX_FRAMES].function;
			size_t len = str_len(fn);

			out_bytes(o, fn, len < sizeof(buf) ? len : sizeof(buf) - 1);
		} else {
			symbolizer__format(s, &f[i * SYM_MAX_FRAMES], buf, sizeof(buf));
			out_bytes(o, buf, strlen(buf));
		}
		out_char(o, '\n');
	}
}

/* The input, read in blocks (the figure is the symbolizer's, not stdio's). */
struct in {
	FILE *f;
	char buf[(1 << 16) + 1]; /* and a NUL after the bytes read: no digit, no newline */
	size_t pos, len;
};

static int in_char(struct in *in)
{
	if (in->pos == in->len) {
		in->len = fread(in->buf, 1, sizeof(in->buf) - 1, in->f);
		in->buf[in->len] = 0;
		in->pos = 0;
		if (!in->len)
			return EOF;
	}
	return (unsigned char)in->buf[in->pos++];
}

/* in_addr for a line whole in the buffer, without a call per character; false if the
 * buffer holds no whole line. */
static bool in_line(struct in *in, unsigned long *v)
{
	const char *p = in->buf + in->pos, *nl;
	unsigned long x = 0;

	/* the digits end at the NUL after the buffer's bytes at the latest */
	if (p[0] == '0' && (p[1] | 0x20) == 'x')
		p += 2;
	for (; hex_value[(unsigned char)*p] >= 0; p++)
		x = x * 16 + (unsigned long)hex_value[(unsigned char)*p];
	nl = *p == '\n' ? p : memchr(p, '\n', in->len - (size_t)(p - in->buf));
	if (!nl)
		return false;
	*v = x;
	in->pos = (size_t)(nl + 1 - in->buf);
	return true;
}

/* The next line's hexadecimal address (an optional 0x, digits up to the first other
 * character; the rest of the line skipped); false at the end of the input. */
static bool in_addr(struct in *in, unsigned long *v)
{
	int c, digits = 0;

	if (in->pos < in->len && in_line(in, v))
		return true;
	c = in_char(in);

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
	digits_init();
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
