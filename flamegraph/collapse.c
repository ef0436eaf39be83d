// SPDX-License-Identifier: GPL-2.0
/*
 * `perf script` output → folded stacks, with the rules of FlameGraph's
 * stackcollapse-perf.pl so that its test corpus matches byte for byte:
 *
 *   header  COMM PID[/TID] [CPU] TIME: [PERIOD] EVENT:
 *   frame   PC FUNC (MODULE)
 *   blank   end of a sample
 *
 * Weight: the sample's period when perf printed one, else 1. Only the first event type
 * seen is kept unless an event filter is given. Frame names: "+0x.." offsets removed;
 * "a->b" inline chains split (inner frames get "_[i]"); "[unknown]" becomes the module's
 * base name in brackets (with the address under --addrs); ';' → ':'; text from the first
 * '(' removed unless it opens "(anonymous namespace)" or the name looks like a Go method
 * (".(" ... ")."); quotes removed; Java "Lpkg/Class;" loses its "L" for processes whose
 * name starts with "java"; "_[k]" for kernel modules, "_[j]" for perf-PID.map frames.
 * Beyond the Perl script (docs/flamegraph.md): a stack printed on one line ("comm;f1;f2 N",
 * folded input) passes through; a last sample without its blank line counts (unless
 * perl_compat); samples on one line (no callchain) and frames without "(MODULE)"
 * (perf script -F) are read; vmlinux-VERSION images are kernel and jitted-PID-N.so images
 * JIT code; Go's generic brackets, like C++ templates, keep the '(' inside them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"
#include "array.h"

/* Character classes by table: these run on every byte of the input. */
enum { C_WS = 1, C_WORD = 2, C_HEX = 4 };
static const unsigned char cclass[256] = {
	[' '] = C_WS,	['\t'] = C_WS, ['\n'] = C_WS, ['\r'] = C_WS, ['\f'] = C_WS, ['\v'] = C_WS,
	['_'] = C_WORD,
#define D(c) [c] = C_WORD | C_HEX
	D('0'),		D('1'),	       D('2'),	      D('3'),	     D('4'),	    D('5'),
	D('6'),		D('7'),	       D('8'),	      D('9'),	     D('a'),	    D('b'),
	D('c'),		D('d'),	       D('e'),	      D('f'),
#undef D
#define W(c) [c] = C_WORD
	W('g'),		W('h'),	       W('i'),	      W('j'),	     W('k'),	    W('l'),
	W('m'),		W('n'),	       W('o'),	      W('p'),	     W('q'),	    W('r'),
	W('s'),		W('t'),	       W('u'),	      W('v'),	     W('w'),	    W('x'),
	W('y'),		W('z'),	       W('A'),	      W('B'),	     W('C'),	    W('D'),
	W('E'),		W('F'),	       W('G'),	      W('H'),	     W('I'),	    W('J'),
	W('K'),		W('L'),	       W('M'),	      W('N'),	     W('O'),	    W('P'),
	W('Q'),		W('R'),	       W('S'),	      W('T'),	     W('U'),	    W('V'),
	W('W'),		W('X'),	       W('Y'),	      W('Z'),
#undef W
};

/* Perl's \s */
static inline bool is_ws(char c)
{
	return cclass[(unsigned char)c] & C_WS;
}

/* Perl's \w (ASCII) */
static inline bool is_word(char c)
{
	return cclass[(unsigned char)c] & C_WORD;
}

static inline bool is_hex(char c)
{
	return cclass[(unsigned char)c] & C_HEX;
}

struct buf {
	char *s;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *s;

		while (b->len + extra + 1 > cap)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = cap;
	}
	return 0;
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOMEM;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

/*
 * The current sample's frames, leaf first as perf prints them: NUL-terminated texts in
 * one arena, found by their offsets (no allocation per frame).
 */
struct frames {
	struct buf text;
	size_t *off;
	size_t nr, cap;
};

static int frames_push(struct frames *fr, size_t off)
{
	if (ARRAY_RESERVE(fr->off, fr->cap, fr->nr + 1, 64))
		return -ENOMEM;
	fr->off[fr->nr++] = off;
	return 0;
}

static void frames_clear(struct frames *fr)
{
	fr->nr = 0;
	fr->text.len = 0;
}

struct collapser {
	const struct collapse_opts *o;
	struct stack_table *out;
	struct collapse_stats *st;
	char *event_filter;
	bool filter_defaulted;
	bool have_pname;
	bool java; /* the process name starts with "java" */
	bool nul;  /* the block being read holds a NUL byte */
	struct buf pname;
	unsigned long long period;
	struct frames frames;
	struct buf stack;
};

/*
 * "COMM PID[/TID] ..." (Perl: ^(\S.+?)\s+(\d+)/-run(\d+)*\s+): comm, pid, optional tid.
 * *rest: where the fields after PID[/TID] start.
 */
static bool match_header(const char *l, size_t n, size_t *comm_len, const char **pid,
			 size_t *pid_len, const char **tid, size_t *tid_len, const char **rest)
{
	size_t i, j, k;

	if (!l[0] || is_ws(l[0]) || n < 2)
		return false;
	for (i = 2; i < n; i++) {
		if (!is_ws(l[i]))
			continue;
		j = i;
		while (j < n && is_ws(l[j]))
			j++;
		if (j >= n || !isdigit((unsigned char)l[j]))
			continue;
		k = j;
		while (k < n && isdigit((unsigned char)l[k]))
			k++;
		*pid = l + j;
		*pid_len = k - j;
		while (k < n && l[k] == '/')
			k++;
		*tid = l + k;
		while (k < n && isdigit((unsigned char)l[k]))
			k++;
		*tid_len = (size_t)(l + k - *tid);
		if (k < n && is_ws(l[k])) {
			*comm_len = i;
			*rest = l + k;
			return true;
		}
	}
	return false;
}

/* :\s*(\d+)*\s+(\S+):\s*$  — optional period and the event name. */
static bool match_event(const char *l, size_t n, const char **period, size_t *period_len,
			const char **ev, size_t *ev_len)
{
	size_t e, s, p, d;

	while (n > 0 && is_ws(l[n - 1]))
		n--;
	if (n < 2 || l[n - 1] != ':')
		return false;
	e = n - 1;
	s = e;
	while (s > 0 && !is_ws(l[s - 1]))
		s--;
	if (s == e || s == 0)
		return false;
	p = s;
	while (p > 0 && is_ws(l[p - 1]))
		p--;
	if (p == 0)
		return false;
	*ev = l + s;
	*ev_len = e - s;
	*period = NULL;
	*period_len = 0;
	if (l[p - 1] == ':')
		return true;
	if (!isdigit((unsigned char)l[p - 1]))
		return false;
	d = p;
	while (d > 0 && isdigit((unsigned char)l[d - 1]))
		d--;
	*period = l + d;
	*period_len = p - d;
	while (d > 0 && is_ws(l[d - 1]))
		d--;
	return d > 0 && l[d - 1] == ':';
}

/*
 * ^\s*(\w+)\s*(.+) \((\S*)\)  — pc, function, module. As Perl backtracks: the function
 * extends to the rightmost " (MOD)", and when nothing but whitespace separates the pc
 * from " (MOD)", the whitespace gives a character back ("PC  (MOD)" names " ").
 */
static bool match_frame(const char *l, size_t n, const char **pc, size_t *pc_len, const char **fn,
			size_t *fn_len, const char **mod, size_t *mod_len)
{
	size_t i = 0, pc_end, ws_end, fstart, j, k;

	while (i < n && is_ws(l[i]))
		i++;
	if (i >= n || !is_word(l[i]))
		return false;
	*pc = l + i;
	while (i < n && is_word(l[i]))
		i++;
	pc_end = i;
	while (i < n && is_ws(l[i]))
		i++;
	ws_end = i;
	/*
	 * The usual line ends with " (MODULE)": one backward pass finds it, as the loop
	 * below would (the rightmost " (" whose token reaches the ')' at the end).
	 */
	if (n > ws_end + 3 && l[n - 1] == ')') {
		for (j = n - 1; j-- > ws_end + 2 && !is_ws(l[j]);) {
			if (l[j] != '(' || l[j - 1] != ' ')
				continue;
			*pc_len = pc_end - (size_t)(*pc - l);
			*fn = l + ws_end;
			*fn_len = j - 1 - ws_end;
			*mod = l + j + 1;
			*mod_len = n - 1 - (j + 1);
			return true;
		}
	}
	for (fstart = ws_end + 1; fstart-- > pc_end;) {
		/* The greedy (.+): the rightmost " (" first. */
		for (j = n; j > fstart + 2;) {
			const char *open = memrchr(l + fstart + 2, '(', j - fstart - 2);
			const char *close;
			size_t last_close;

			if (!open)
				break;
			j = (size_t)(open - l);
			k = j - 1; /* the space before '(' */
			if (l[k] != ' ')
				continue;
			/* the module: up to the last ')' before whitespace (l[n] is a NUL) */
			close = memrchr(l + j + 1, ')', strcspn(l + j + 1, " \t\n\r\f\v"));
			if (!close)
				continue;
			last_close = (size_t)(close - l);
			*pc_len = pc_end - (size_t)(*pc - l);
			*fn = l + fstart;
			*fn_len = k - fstart;
			*mod = l + k + 2;
			*mod_len = last_close - (k + 2);
			return true;
		}
	}
	return false;
}

/*
 * Beyond the Perl script: a frame without its module, as `perf script -F ip,sym` prints
 * it ("  4005d0 main+0x1f"): a hex address, whitespace, a symbol.
 */
static bool match_bare_frame(const char *l, size_t n, const char **pc, size_t *pc_len,
			     const char **fn, size_t *fn_len)
{
	size_t i = 0, p;

	while (i < n && is_ws(l[i]))
		i++;
	p = i;
	while (i < n && is_hex(l[i]))
		i++;
	if (i == p || i >= n || !is_ws(l[i]))
		return false;
	*pc = l + p;
	*pc_len = i - p;
	while (i < n && is_ws(l[i]))
		i++;
	while (n > i && is_ws(l[n - 1]))
		n--;
	if (i >= n)
		return false;
	*fn = l + i;
	*fn_len = n - i;
	return true;
}

static bool starts_with_java(const struct collapser *c)
{
	return c->have_pname && c->java;
}

static const char *base_name(const char *mod, size_t *len)
{
	const char *slash = memrchr(mod, '/', *len);

	if (!slash)
		return mod;
	*len -= (size_t)(slash + 1 - mod);
	return slash + 1;
}

/*
 * Kernel frames: a module in brackets or ending in "vmlinux" (Perl's rule), and, beyond
 * it, a versioned image ("/boot/vmlinux-5.4.14-cloudflare", "[vmlinux-5.4.14-...]")
 * whatever brackets or path surround it. Never a module named "...unknown...".
 */
static bool is_kernel_mod(const char *mod, size_t len)
{
	size_t blen = len;
	const char *base = base_name(mod, &blen);

	if (!len || memmem(mod, len, "unknown", 7))
		return false;
	if (mod[0] == '[' || (len >= 7 && !memcmp(mod + len - 7, "vmlinux", 7)))
		return true;
	if (blen && base[0] == '[') {
		base++;
		blen--;
	}
	return blen > 8 && !memcmp(base, "vmlinux-", 8);
}

/* "jitted-PID-N.so": perf inject --jit's per-function images. */
static bool is_jitted_so(const char *base, size_t len)
{
	size_t i = 7, d;

	if (len < 13 || memcmp(base, "jitted-", 7) || memcmp(base + len - 3, ".so", 3))
		return false;
	for (d = 0; d < 2; d++) {
		size_t start = i;

		while (i < len && isdigit((unsigned char)base[i]))
			i++;
		if (i == start || i >= len || base[i] != (d ? '.' : '-'))
			return false;
		i++;
	}
	return i == len - 2;
}

/* JIT frames: /tmp/perf-PID.map (Perl's rule) and, beyond it, jitted-PID-N.so images. */
static bool is_jit_mod(const char *mod, size_t len)
{
	const char *m = mod, *end = mod + len;
	size_t blen = len;
	const char *base = base_name(mod, &blen);

	while ((m = memmem(m, (size_t)(end - m), "/tmp/perf-", 10))) {
		const char *q = m + 10;

		m = q;
		if (q >= end || !isdigit((unsigned char)*q))
			continue;
		while (q < end && isdigit((unsigned char)*q))
			q++;
		if (end - q >= 4 && q[0] == '.' && !memcmp(q + 1, "map", 3))
			return true;
	}
	return is_jitted_so(base, blen);
}

/* The first "ab" in s[0..len) (memmem's setup costs more than these short names). */
static const char *find_pair(const char *s, size_t len, char a, char b)
{
	const char *end = s + len, *p = s;

	while (p + 1 < end && (p = memchr(p, a, (size_t)(end - p - 1)))) {
		if (p[1] == b)
			return p;
		p++;
	}
	return NULL;
}

/*
 * Perl's tidy_generic in one pass: ';' → ':'; quotes dropped; text from the first '('
 * cut, unless it opens "(anonymous namespace)" or the name looks like a Go method
 * (".(" ... ")."). Beyond the Perl script, a '(' inside template brackets is part of the
 * name: std::function<void (int)>::operator() keeps "<void (int)>"; Go's generic
 * brackets likewise ("main.Map[go.shape.func(int) int]").
 */
static const char *tidy_into(struct buf *b, const char *s, const char *end)
{
	/* The bytes that need a look; runs of the others are copied as they are. */
	static const bool special[256] = {['"'] = 1, ['\''] = 1, [';'] = 1, ['<'] = 1, ['>'] = 1,
					  ['['] = 1, [']'] = 1,	 ['('] = 1, ['-'] = 1};
	const char *r = s, *part_end, *go;
	int depth = 0, square = 0;
	char *w = b->s + b->len;

	while (r < end) {
		const char *q = r;
		char ch;

		while (q < end && !special[(unsigned char)*q])
			q++;
		memcpy(w, r, (size_t)(q - r));
		w += q - r;
		if (q == end)
			break;
		r = q + 1;
		ch = *q;
		if (ch == '-' && r < end && *r == '>') { /* "->": the next inlined part */
			end = q;
			break;
		}
		if (ch == '"' || ch == '\'')
			continue;
		if (ch == ';')
			ch = ':';
		else if (ch == '<') {
			/* "operator<" and "operator<<" are names, not template brackets */
			if (!(q - s >= 8 && !memcmp(q - 8, "operator", 8)) &&
			    !(q > s && q[-1] == '<'))
				depth++;
		} else if (ch == '>') {
			if (depth > 0 && q[-1] != '-')
				depth--;
		} else if (ch == '[' && q > s && !is_ws(q[-1])) {
			square++;
		} else if (ch == ']') {
			if (square > 0)
				square--;
		} else if (ch == '(' && !depth && !square &&
			   ((size_t)(end - q) < 21 || memcmp(q, "(anonymous namespace)", 21))) {
			/* the cut, unless the whole part looks like a Go method */
			part_end = find_pair(q, (size_t)(end - q), '-', '>');
			end = part_end ? part_end : end;
			go = find_pair(s, (size_t)(end - s), '.', '(');
			if (!go || !find_pair(go + 2, (size_t)(end - go - 2), ')', '.'))
				break;
		}
		*w++ = ch;
	}
	*w = 0;
	b->len = (size_t)(w - b->s);
	return end;
}

struct frame_ctx {
	const char *pc, *mod;
	size_t pc_len, mod_len;
	bool kernel, jit;
};

/*
 * The "->"-separated part of a frame at part (up to stop), tidied and annotated, onto the
 * frame arena; *next: where the next part starts, or NULL after the last.
 */
static int frame_part(struct collapser *c, const struct frame_ctx *f, const char *part,
		      const char *stop, bool inlined, const char **next)
{
	struct buf *b = &c->frames.text;
	size_t start = b->len, len = (size_t)(stop - part);
	const char *end;
	char tmp[512];
	char *s;

	if (len >= 9 && !memcmp(part, "[unknown]", 9) &&
	    (len == 9 || (part[9] == '-' && part[10] == '>'))) {
		size_t blen = f->mod_len;
		const char *base = base_name(f->mod, &blen);
		int n;

		if (!f->mod_len || (f->mod_len == 9 && !memcmp(f->mod, "[unknown]", 9))) {
			base = "unknown";
			blen = 7;
		}
		if (c->o->addrs)
			n = snprintf(tmp, sizeof(tmp), "[%.*s <%.*s>]", (int)blen, base,
				     (int)f->pc_len, f->pc);
		else
			n = snprintf(tmp, sizeof(tmp), "[%.*s]", (int)blen, base);
		*next = len == 9 ? NULL : part + 11;
		part = tmp;
		len = n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
		if (buf_reserve(b, len + 5))
			return -ENOMEM;
		tidy_into(b, part, part + len);
	} else {
		if (buf_reserve(b, len + 5))
			return -ENOMEM;
		end = tidy_into(b, part, stop);
		*next = end < stop ? end + 2 : NULL;
	}
	s = b->s + start;
	/* Java: Lorg/pkg/Class: → org/pkg/Class: */
	if (starts_with_java(c) && s[0] == 'L' && memchr(s, '/', b->len - start)) {
		memmove(s, s + 1, b->len - start);
		b->len--;
	}
	if (inlined) {
		if (!strstr(s, "_[i]"))
			buf_add(b, "_[i]", 4);
	} else if (f->kernel) {
		buf_add(b, "_[k]", 4);
	} else if (f->jit && !strstr(s, "_[j]")) {
		buf_add(b, "_[j]", 4);
	}
	b->len++; /* keep the NUL: frames are C strings in the arena */
	return frames_push(&c->frames, start);
}

/* Linux 4.8+ prints "func+0x1f": the offset goes. */
static size_t strip_offset(const char *fn, size_t len)
{
	size_t i = len;

	while (i > 0 && is_hex(fn[i - 1]))
		i--;
	if (i < len && i >= 3 && !memcmp(fn + i - 3, "+0x", 3))
		return i - 3;
	return len;
}

static int frame_line(struct collapser *c, const char *pc, size_t pc_len, const char *fn,
		      size_t fn_len, const char *mod, size_t mod_len)
{
	struct frame_ctx f = {.pc = pc, .pc_len = pc_len, .mod = mod, .mod_len = mod_len};
	const char *part = fn, *stop;
	size_t base = c->frames.nr, nparts, i;
	int err = 0;

	fn_len = strip_offset(fn, fn_len);
	if (fn_len && fn[0] == '(') /* a process name, not a frame */
		return 0;
	f.kernel = c->o->kernel && is_kernel_mod(mod, mod_len);
	f.jit = c->o->jit && is_jit_mod(mod, mod_len);
	/* perf prints inlined chains as "outer->inner"; Perl's split drops trailing empties. */
	stop = fn + fn_len;
	while (stop - fn >= 2 && stop[-1] == '>' && stop[-2] == '-')
		stop -= 2;
	if (stop == fn)
		return 0;
	for (i = 0; part && !err; i++)
		err = frame_part(c, &f, part, stop, i > 0, &part);
	if (err)
		return err;
	/* Frames arrive leaf first; a chain goes in front of them as a block. */
	nparts = c->frames.nr - base;
	for (i = 0; i < nparts / 2; i++) {
		size_t t = c->frames.off[base + i];

		c->frames.off[base + i] = c->frames.off[base + nparts - 1 - i];
		c->frames.off[base + nparts - 1 - i] = t;
	}
	return 0;
}

static int end_sample(struct collapser *c)
{
	size_t i;
	int err = 0;

	if (!c->have_pname) {
		frames_clear(&c->frames);
		return 0;
	}
	c->stack.len = 0;
	buf_add(&c->stack, c->pname.s ? c->pname.s : "", c->pname.len);
	for (i = c->frames.nr; i-- > 0;) {
		const char *f = c->frames.text.s + c->frames.off[i];

		buf_add(&c->stack, ";", 1);
		buf_add(&c->stack, f, strlen(f));
	}
	if (!c->stack.s)
		err = -ENOMEM;
	else
		err = stack_table__add_joined(c->out, c->stack.s, c->period);
	if (!err)
		c->st->samples++;
	frames_clear(&c->frames);
	c->have_pname = false;
	return err;
}

/* The event column: only the first event type is kept (cycles and instructions don't add). */
static int header_event(struct collapser *c, const char *l, size_t n, bool *skip)
{
	const char *period, *ev;
	size_t period_len, ev_len;

	*skip = false;
	if (!match_event(l, n, &period, &period_len, &ev, &ev_len))
		return 0;
	if (!c->event_filter) {
		c->event_filter = strndup(ev, ev_len);
		c->filter_defaulted = true;
		if (!c->event_filter)
			return -ENOMEM;
	} else if (strlen(c->event_filter) != ev_len || memcmp(c->event_filter, ev, ev_len)) {
		if (c->filter_defaulted)
			c->st->other_events++;
		c->st->filtered++;
		*skip = true;
		return 0;
	}
	if (period_len) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "%.*s", (int)(period_len < 31 ? period_len : 31),
			 period);
		c->period = strtoull(tmp, NULL, 10);
		if (!c->period) /* Perl: a period of "0" is false, so 1 */
			c->period = 1;
	}
	return 0;
}

static int header_line(struct collapser *c, const char *l, size_t n, size_t comm_len,
		       const char *pid, size_t pid_len, const char *tid, size_t tid_len)
{
	char pidbuf[64], tidbuf[64];
	bool skip;
	size_t i;
	int err;

	c->have_pname = false;
	frames_clear(&c->frames);
	c->period = 1;
	err = header_event(c, l, n, &skip);
	if (err || skip)
		return err;
	/* Perl truthiness: a missing TID or "0" means the number was the TID. */
	if (!tid_len || (tid_len == 1 && tid[0] == '0')) {
		snprintf(tidbuf, sizeof(tidbuf), "%.*s", (int)(pid_len < 63 ? pid_len : 63), pid);
		snprintf(pidbuf, sizeof(pidbuf), "?");
	} else {
		snprintf(pidbuf, sizeof(pidbuf), "%.*s", (int)(pid_len < 63 ? pid_len : 63), pid);
		snprintf(tidbuf, sizeof(tidbuf), "%.*s", (int)(tid_len < 63 ? tid_len : 63), tid);
	}
	c->pname.len = 0;
	buf_add(&c->pname, l, comm_len);
	if (c->o->tid) {
		buf_add(&c->pname, "-", 1);
		buf_add(&c->pname, pidbuf, strlen(pidbuf));
		buf_add(&c->pname, "/", 1);
		buf_add(&c->pname, tidbuf, strlen(tidbuf));
	} else if (c->o->pid) {
		buf_add(&c->pname, "-", 1);
		buf_add(&c->pname, pidbuf, strlen(pidbuf));
	}
	if (!c->pname.s)
		return -ENOMEM;
	for (i = 0; i < c->pname.len; i++)
		if (c->pname.s[i] == ' ')
			c->pname.s[i] = '_';
	/* Perl: a process name of "0" is false and its samples are dropped. */
	c->have_pname = !(c->pname.len == 1 && c->pname.s[0] == '0');
	c->java = !strncmp(c->pname.s, "java", 4);
	return 0;
}

/*
 * The fields between PID[/TID] and a frame on the same line: "[CPU]", "TIME:", a period,
 * "EVENT:" (any token ending in ':'). Returns where the frame starts, or NULL when the
 * line holds nothing else (the header of a sample whose frames follow).
 */
static const char *frame_after_fields(const char *rest, const char *end)
{
	const char *t = rest;

	while (t < end) {
		const char *e;

		while (t < end && is_ws(*t))
			t++;
		e = t;
		while (e < end && !is_ws(*e))
			e++;
		if (e == t)
			return NULL;
		if (e[-1] == ':' || (*t == '[' && e[-1] == ']')) {
			t = e;
			continue;
		}
		/* digits then an event token: the period; hex then a name: the frame */
		if (e < end) {
			const char *n = e, *ne;

			while (n < end && is_ws(*n))
				n++;
			ne = n;
			while (ne < end && !is_ws(*ne))
				ne++;
			if (ne > n && ne[-1] == ':' && strspn(t, "0123456789") == (size_t)(e - t)) {
				t = ne;
				continue;
			}
		}
		return t;
	}
	return NULL;
}

/*
 * Beyond the Perl script: a sample on one line, as perf script prints it without
 * callchains ("  COMM PID [CPU] TIME: PERIOD EVENT:  IP SYM+OFF (DSO)", or with -F
 * comm,pid,ip,sym "  COMM PID  IP SYM"); the comm is right-aligned, so leading blanks are
 * allowed. Returns 1 when the line was one, 0 when not, or a negative errno.
 */
static int single_line_sample(struct collapser *c, const char *l, size_t n)
{
	const char *pid, *tid, *rest, *fr, *pc, *fn, *mod = "";
	size_t comm_len, pid_len, tid_len, pc_len, fn_len, mod_len = 0, lead = 0;
	int err;

	while (lead < n && is_ws(l[lead]))
		lead++;
	if (!match_header(l + lead, n - lead, &comm_len, &pid, &pid_len, &tid, &tid_len, &rest))
		return 0;
	fr = frame_after_fields(rest, l + n);
	if (!fr || !is_hex(*fr))
		return 0;
	/* an address, not the arguments a tracepoint header may carry ("prev_comm=... (x)") */
	for (pc = fr; pc < l + n && is_hex(*pc);)
		pc++;
	if (pc < l + n && !is_ws(*pc))
		return 0;
	if (!match_frame(fr, (size_t)(l + n - fr), &pc, &pc_len, &fn, &fn_len, &mod, &mod_len) &&
	    !match_bare_frame(fr, (size_t)(l + n - fr), &pc, &pc_len, &fn, &fn_len))
		return 0;
	/* the header fields end where the frame starts: the event is the last of them */
	err = header_line(c, l + lead, (size_t)(fr - l - lead), comm_len, pid, pid_len, tid,
			  tid_len);
	if (!err && c->have_pname)
		err = frame_line(c, pc, pc_len, fn, fn_len, mod, mod_len);
	if (!err)
		err = end_sample(c);
	return err ? err : 1;
}

/* A stack printed on one line: "frame;frame;... COUNT". */
static bool one_line_stack(struct collapser *c, const char *l)
{
	const char *sp = strrchr(l, ' ');
	unsigned long long v;
	char *end, *stack;

	if (!sp || sp == l || !strchr(l, ';') || is_ws(l[0]))
		return false;
	errno = 0;
	v = strtoull(sp + 1, &end, 10);
	if (errno || end == sp + 1 || *end)
		return false;
	stack = strndup(l, sp - l);
	if (!stack)
		return false;
	stack_table__add_joined(c->out, stack, v);
	free(stack);
	c->st->samples++;
	return true;
}

static int collapse_line(struct collapser *c, char *line, size_t n)
{
	const char *pid, *tid, *pc, *fn, *mod, *rest;
	size_t comm_len, pid_len, tid_len, pc_len, fn_len, mod_len;
	int r;

	if (n == 0)
		return end_sample(c);
	if (!is_ws(line[0]) &&
	    match_header(line, n, &comm_len, &pid, &pid_len, &tid, &tid_len, &rest)) {
		if (frame_after_fields(rest, line + n)) {
			r = single_line_sample(c, line, n);
			if (r)
				return r < 0 ? r : 0;
		}
		return header_line(c, line, n, comm_len, pid, pid_len, tid, tid_len);
	}
	if (match_frame(line, n, &pc, &pc_len, &fn, &fn_len, &mod, &mod_len)) {
		if (c->have_pname)
			return frame_line(c, pc, pc_len, fn, fn_len, mod, mod_len);
		r = single_line_sample(c, line, n);
		return r < 0 ? r : 0;
	}
	if (c->have_pname && match_bare_frame(line, n, &pc, &pc_len, &fn, &fn_len))
		return frame_line(c, pc, pc_len, fn, fn_len, "", 0);
	r = single_line_sample(c, line, n);
	if (r)
		return r < 0 ? r : 0;
	if (!one_line_stack(c, line))
		c->st->unrecognized++;
	return 0;
}

static int one_line(struct collapser *c, char *line, size_t n)
{
	c->st->lines++;
	if (line[0] == '#')
		return 0;
	if (c->nul && memchr(line, 0, n)) {
		c->st->unrecognized++;
		return 0;
	}
	line[n] = 0;
	return collapse_line(c, line, n);
}

/* Lines from big reads (getline's per-line copy was a tenth of the time). */
static int read_lines(struct collapser *c, FILE *in)
{
	size_t cap = 1 << 20, len = 0, got;
	char *buf = malloc(cap + 1);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err && (got = fread(buf + len, 1, cap - len, in)) > 0) {
		char *p = buf, *end = buf + len + got, *nl;

		c->nul = memchr(buf, 0, len + got) != NULL;
		while (!err && (nl = memchr(p, '\n', (size_t)(end - p)))) {
			err = one_line(c, p, (size_t)(nl - p));
			p = nl + 1;
		}
		len = (size_t)(end - p);
		memmove(buf, p, len);
		if (len == cap) { /* a line longer than the buffer */
			char *b = realloc(buf, cap * 2 + 1);

			if (!b) {
				err = -ENOMEM;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (!err && ferror(in))
		err = -EIO;
	if (!err && len) {
		c->nul = memchr(buf, 0, len) != NULL;
		err = one_line(c, buf, len);
	}
	free(buf);
	return err;
}

int perf_script__collapse(FILE *in, const struct collapse_opts *o, struct stack_table *out,
			  struct collapse_stats *st)
{
	struct collapser c = {.o = o, .out = out, .st = st};
	int err = 0;

	memset(st, 0, sizeof(*st));
	if (o->event_filter && *o->event_filter) {
		c.event_filter = strdup(o->event_filter);
		if (!c.event_filter)
			return -ENOMEM;
	}
	err = read_lines(&c, in);
	/*
	 * perf ends every sample with a blank line; a file cut after the last frame (hand
	 * edits, head -n) still holds that sample. The Perl script drops it.
	 */
	if (!err && c.have_pname && c.frames.nr) {
		if (o->perl_compat)
			st->incomplete++;
		else
			err = end_sample(&c);
	}
	if (c.event_filter && st->other_events)
		snprintf(st->event, sizeof(st->event), "%s", c.event_filter);
	free(c.frames.text.s);
	free(c.frames.off);
	free(c.pname.s);
	free(c.stack.s);
	free(c.event_filter);
	return err;
}
