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
 * Beyond the Perl script: a stack printed on one line ("comm;f1;f2 N", folded input)
 * passes through instead of being dropped as unrecognized.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"

/* Perl's \s */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
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

/* Frames of the current sample, leaf first as perf prints them. */
struct frames {
	char **f;
	size_t nr, cap;
};

static int frames_push(struct frames *fr, char *s)
{
	if (fr->nr == fr->cap) {
		size_t cap = fr->cap ? fr->cap * 2 : 64;
		char **f = realloc(fr->f, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		fr->f = f;
		fr->cap = cap;
	}
	fr->f[fr->nr++] = s;
	return 0;
}

static void frames_clear(struct frames *fr)
{
	size_t i;

	for (i = 0; i < fr->nr; i++)
		free(fr->f[i]);
	fr->nr = 0;
}

struct collapser {
	const struct collapse_opts *o;
	struct stack_table *out;
	struct collapse_stats *st;
	char *event_filter;
	bool filter_defaulted;
	bool have_pname;
	struct buf pname;
	unsigned long long period;
	struct frames frames;
	struct buf stack;
};

/*
 * "COMM PID[/TID] ..." (Perl: ^(\S.+?)\s+(\d+)/-run(\d+)*\s+): comm, pid, optional tid.
 */
static bool match_header(const char *l, size_t *comm_len, const char **pid, size_t *pid_len,
			 const char **tid, size_t *tid_len)
{
	size_t i, j, k, n = strlen(l);

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
			return true;
		}
	}
	return false;
}

/* :\s*(\d+)*\s+(\S+):\s*$  — optional period and the event name. */
static bool match_event(const char *l, const char **period, size_t *period_len, const char **ev,
			size_t *ev_len)
{
	size_t n = strlen(l), e, s, p, d;

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
static bool match_frame(const char *l, const char **pc, size_t *pc_len, const char **fn,
			size_t *fn_len, const char **mod, size_t *mod_len)
{
	size_t n = strlen(l), i = 0, pc_end, ws_end, fstart, k;

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
	for (fstart = ws_end + 1; fstart-- > pc_end;) {
		/* The greedy (.+): the rightmost " (" first. */
		for (k = n; k-- > fstart + 1;) {
			size_t m, last_close = 0;
			bool found = false;

			if (l[k] != ' ' || l[k + 1] != '(')
				continue;
			for (m = k + 2; m < n && !is_ws(l[m]); m++)
				if (l[m] == ')') {
					last_close = m;
					found = true;
				}
			if (!found)
				continue;
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

static bool starts_with_java(const struct collapser *c)
{
	return c->have_pname && !strncmp(c->pname.s, "java", 4);
}

/* One "->"-separated part of a frame, tidied and annotated. */
static char *tidy_part(struct collapser *c, const char *part, size_t len, const char *pc,
		       size_t pc_len, const char *mod, size_t mod_len, bool inlined)
{
	const struct collapse_opts *o = c->o;
	struct buf b = {0};
	char *s, *w, *r;
	bool kernel, jit;

	if (len == 9 && !memcmp(part, "[unknown]", 9)) {
		const char *base = mod;
		size_t blen = mod_len, i;

		if (!(mod_len == 9 && !memcmp(mod, "[unknown]", 9))) {
			for (i = 0; i < mod_len; i++)
				if (mod[i] == '/') {
					base = mod + i + 1;
					blen = mod_len - i - 1;
				}
		} else {
			base = "unknown";
			blen = 7;
		}
		buf_add(&b, "[", 1);
		buf_add(&b, base, blen);
		if (o->addrs) {
			buf_add(&b, " <", 2);
			buf_add(&b, pc, pc_len);
			buf_add(&b, ">", 1);
		}
		buf_add(&b, "]", 1);
	} else {
		buf_add(&b, part, len);
	}
	if (!b.s)
		return NULL;
	s = b.s;

	/* ';' separates frames */
	for (w = s; *w; w++)
		if (*w == ';')
			*w = ':';
	/*
	 * Arguments are noise, except Go's pkg.(*T).Method and "(anonymous namespace)".
	 * Beyond the Perl script, a '(' inside template brackets is part of the name:
	 * std::function<void (int)>::operator() keeps "<void (int)>".
	 */
	r = strstr(s, ".(");
	if (!(r && strstr(r + 2, ")."))) {
		int depth = 0;

		for (w = s; *w; w++) {
			bool op = w - s >= 8 && !strncmp(w - 8, "operator", 8);

			/* "operator<" and "operator<<" are names, not template brackets */
			if (*w == '<' && !op && !(w > s && w[-1] == '<'))
				depth++;
			else if (*w == '>' && depth > 0 && w[-1] != '-')
				depth--;
			else if (*w == '(' && !depth && strncmp(w, "(anonymous namespace)", 21)) {
				*w = 0;
				break;
			}
		}
	}
	/* quotes */
	for (r = w = s; *r; r++)
		if (*r != '"' && *r != '\'')
			*w++ = *r;
	*w = 0;
	/* Java: Lorg/pkg/Class: → org/pkg/Class: */
	if (starts_with_java(c) && s[0] == 'L' && strchr(s, '/'))
		memmove(s, s + 1, strlen(s));

	kernel = o->kernel && mod_len &&
		 (mod[0] == '[' || (mod_len >= 7 && !memcmp(mod + mod_len - 7, "vmlinux", 7)));
	if (kernel) {
		size_t i;

		for (i = 0; i + 7 <= mod_len; i++)
			if (!memcmp(mod + i, "unknown", 7))
				kernel = false;
	}
	jit = false;
	if (o->jit) {
		const char *m = mod, *end = mod + mod_len;

		for (; m + 10 <= end; m++) {
			const char *q;

			if (memcmp(m, "/tmp/perf-", 10))
				continue;
			q = m + 10;
			if (q >= end || !isdigit((unsigned char)*q))
				continue;
			while (q < end && isdigit((unsigned char)*q))
				q++;
			if (end - q >= 4 && q[0] == '.' && !memcmp(q + 1, "map", 3)) {
				jit = true;
				break;
			}
		}
	}
	b.len = strlen(s);
	if (inlined) {
		if (!strstr(s, "_[i]"))
			buf_add(&b, "_[i]", 4);
	} else if (kernel) {
		buf_add(&b, "_[k]", 4);
	} else if (jit) {
		if (!strstr(b.s, "_[j]"))
			buf_add(&b, "_[j]", 4);
	}
	return b.s;
}

static int frame_line(struct collapser *c, const char *pc, size_t pc_len, const char *fn,
		      size_t fn_len, const char *mod, size_t mod_len)
{
	char *raw = strndup(fn, fn_len), *p, *end, *part, **parts = NULL;
	size_t len, nparts = 0, i;
	int err = 0;

	if (!raw)
		return -ENOMEM;
	/* Linux 4.8+: "func+0x1f" */
	len = strlen(raw);
	p = strstr(raw, "+0x");
	while (p) {
		char *q = p + 3;

		while (*q && (isdigit((unsigned char)*q) || (*q >= 'a' && *q <= 'f')))
			q++;
		if (!*q && q > p + 3) {
			*p = 0;
			break;
		}
		p = strstr(p + 1, "+0x");
	}
	(void)len;
	if (raw[0] == '(') { /* a process name, not a frame */
		free(raw);
		return 0;
	}
	/* perf prints inlined chains as "outer->inner"; Perl's split drops trailing empties. */
	part = raw;
	while (1) {
		char **tmp;

		end = strstr(part, "->");
		tmp = realloc(parts, (nparts + 1) * sizeof(*parts));
		if (!tmp) {
			err = -ENOMEM;
			goto out;
		}
		parts = tmp;
		parts[nparts++] = part;
		if (!end)
			break;
		*end = 0;
		part = end + 2;
	}
	while (nparts > 0 && !*parts[nparts - 1])
		nparts--;
	/* Frames arrive leaf first; a chain goes in front of them as a block. */
	{
		size_t base = c->frames.nr;

		for (i = 0; i < nparts; i++) {
			char *t = tidy_part(c, parts[i], strlen(parts[i]), pc, pc_len, mod, mod_len,
					    i > 0);

			if (!t || frames_push(&c->frames, t)) {
				free(t);
				err = -ENOMEM;
				goto out;
			}
		}
		/* Stored reversed later: keep the chain's own order inside the block. */
		for (i = 0; i < nparts / 2; i++) {
			char *t = c->frames.f[base + i];

			c->frames.f[base + i] = c->frames.f[base + nparts - 1 - i];
			c->frames.f[base + nparts - 1 - i] = t;
		}
	}
out:
	free(parts);
	free(raw);
	return err;
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
		buf_add(&c->stack, ";", 1);
		buf_add(&c->stack, c->frames.f[i], strlen(c->frames.f[i]));
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

static int header_line(struct collapser *c, const char *l, size_t comm_len, const char *pid,
		       size_t pid_len, const char *tid, size_t tid_len)
{
	const char *period, *ev;
	size_t period_len, ev_len, i;
	char pidbuf[64], tidbuf[64];

	c->have_pname = false;
	frames_clear(&c->frames);
	c->period = 1;
	if (match_event(l, &period, &period_len, &ev, &ev_len)) {
		if (!c->event_filter) {
			/* Only the first event type: cycles and instructions don't add up. */
			c->event_filter = strndup(ev, ev_len);
			c->filter_defaulted = true;
			if (!c->event_filter)
				return -ENOMEM;
		} else if (strlen(c->event_filter) != ev_len ||
			   memcmp(c->event_filter, ev, ev_len)) {
			if (c->filter_defaulted)
				c->st->other_events++;
			c->st->filtered++;
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
	}
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
	return 0;
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

int collapse_perf(FILE *in, const struct collapse_opts *o, struct stack_table *out,
		  struct collapse_stats *st)
{
	struct collapser c = {.o = o, .out = out, .st = st};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	memset(st, 0, sizeof(*st));
	if (o->event_filter && *o->event_filter) {
		c.event_filter = strdup(o->event_filter);
		if (!c.event_filter)
			return -ENOMEM;
	}
	while ((n = getline(&line, &cap, in)) > 0 && !err) {
		const char *pid, *tid, *pc, *fn, *mod;
		size_t comm_len, pid_len, tid_len, pc_len, fn_len, mod_len;

		st->lines++;
		if (line[0] == '#')
			continue;
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (memchr(line, 0, n)) {
			st->unrecognized++;
			continue;
		}
		if (n == 0) {
			err = end_sample(&c);
			continue;
		}
		if (match_header(line, &comm_len, &pid, &pid_len, &tid, &tid_len)) {
			err = header_line(&c, line, comm_len, pid, pid_len, tid, tid_len);
		} else if (match_frame(line, &pc, &pc_len, &fn, &fn_len, &mod, &mod_len)) {
			if (c.have_pname)
				err = frame_line(&c, pc, pc_len, fn, fn_len, mod, mod_len);
		} else if (one_line_stack(&c, line)) {
			continue;
		} else {
			st->unrecognized++;
		}
	}
	/* Like the Perl script, a last sample without its blank line is not counted. */
	if (c.have_pname && c.frames.nr)
		st->incomplete++;
	if (c.event_filter && st->other_events)
		snprintf(st->event, sizeof(st->event), "%s", c.event_filter);
	frames_clear(&c.frames);
	free(c.frames.f);
	free(c.pname.s);
	free(c.stack.s);
	free(c.event_filter);
	free(line);
	if (!err && ferror(in))
		err = -EIO;
	return err;
}
