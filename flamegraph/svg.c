// SPDX-License-Identifier: GPL-2.0
/*
 * Folded stacks → an interactive SVG flame graph (or icicle graph, or flame chart),
 * with flamegraph.pl's options. Colors come from a hash of the frame name, so the
 * same input gives the same picture.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph.h"
#include "svg-script.h"
#include "hashmap.h"
#include "atomic-file.h"
#include "array.h"

#define XPAD 10

struct node {
	const char *name;
	uint32_t name_len;
	uint32_t depth;
	uint32_t parent, first_child, next_sibling, last_child; /* 0: none (0 is the root) */
	double value, before, x;
};

struct tree {
	struct node *n;
	size_t nr, cap;
};

void flamegraph_opts__init(struct flamegraph_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->width = 1200;
	o->frame_height = 16;
	o->fontsize = 12;
	o->fontwidth = 0.59;
	o->minwidth = 0.1;
	o->fonttype = "Verdana";
	o->countname = "samples";
	o->nametype = "Function:";
	o->colors = "hot";
	o->factor = 1;
}

static int tree_add(struct tree *t, uint32_t parent, const char *name, size_t len)
{
	struct node *n;

	if (ARRAY_RESERVE(t->n, t->cap, t->nr + 1, 4096))
		return -ENOMEM;
	n = &t->n[t->nr];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->name_len = len;
	n->parent = parent;
	n->depth = t->nr ? t->n[parent].depth + 1 : 0;
	if (t->nr) {
		struct node *p = &t->n[parent];

		if (p->last_child)
			t->n[p->last_child].next_sibling = t->nr;
		else
			p->first_child = t->nr;
		p->last_child = t->nr;
	}
	t->nr++;
	return (int)(t->nr - 1);
}

/*
 * Insert one stack. Merging happens with the last child only: sorted input groups
 * equal prefixes together (a flame graph), unsorted input keeps time order (a chart).
 */
static int tree_insert(struct tree *t, const char *stack, double after, double before)
{
	const char *p = stack;
	uint32_t cur = 0;

	t->n[0].value += after;
	t->n[0].before += before;
	while (*p) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		uint32_t last = t->n[cur].last_child;

		if (last && t->n[last].name_len == len && !memcmp(t->n[last].name, p, len)) {
			cur = last;
		} else {
			int r = tree_add(t, cur, p, len);

			if (r < 0)
				return r;
			cur = r;
		}
		t->n[cur].value += after;
		t->n[cur].before += before;
		if (!semi)
			break;
		p = semi + 1;
	}
	return 0;
}

/* Push a node's children so that the first child is popped first (left to right). */
static size_t push_children(const struct tree *t, const struct node *n, uint32_t *stack, size_t sp)
{
	size_t first = sp, a, b;
	uint32_t c;

	for (c = n->first_child; c; c = t->n[c].next_sibling)
		stack[sp++] = c;
	for (a = first, b = sp ? sp - 1 : 0; a < b && sp > first; a++, b--) {
		uint32_t tmp = stack[a];

		stack[a] = stack[b];
		stack[b] = tmp;
	}
	return sp;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->stack,
		      ((const struct folded_line *)b)->stack);
}

/* "a;b;c" → "c;b;a" in place. */
static void reverse_frames(char *s)
{
	size_t len = strlen(s), i, start = 0;
	char tmp;

	for (i = 0; i < len / 2; i++) {
		tmp = s[i];
		s[i] = s[len - 1 - i];
		s[len - 1 - i] = tmp;
	}
	for (i = 0; i <= len; i++) {
		if (s[i] == ';' || !s[i]) {
			size_t a = start, b = i ? i - 1 : 0;

			while (a < b) {
				tmp = s[a];
				s[a++] = s[b];
				s[b--] = tmp;
			}
			start = i + 1;
		}
	}
}

/*
 * Text and attribute values: markup escaped, control characters as '?', and bytes that
 * are not UTF-8 as U+FFFD, so the document stays well-formed whatever the names hold.
 */
static void xml_escape(FILE *f, const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		unsigned char c = s[i];

		n = utf8__char_len(s + i, len - i);
		/* XML 1.0 has no U+FFFE and U+FFFF (EF BF BE, EF BF BF) either */
		if (n == 3 && c == 0xef && (unsigned char)s[i + 1] == 0xbf &&
		    (unsigned char)s[i + 2] >= 0xbe)
			n = 0;
		if (n == 0) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD REPLACEMENT CHARACTER */
			i++;
			continue;
		}
		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			/* XML 1.0 has no place for other control characters. */
			if (c < 0x20 && c != '\t')
				fputc('?', f);
			else
				fwrite(s + i, 1, n, f);
		}
		i += n;
	}
}

static void print_count(FILE *f, double v)
{
	char buf[64], out[96];
	int len, i, j = 0, lead;

	if (v >= 1e18 || v != floor(v)) {
		fprintf(f, v >= 1e18 ? "%.4g" : "%.2f", v);
		return;
	}
	len = snprintf(buf, sizeof(buf), "%.0f", v);
	lead = len % 3;
	for (i = 0; i < len; i++) {
		if (i && (i - lead) % 3 == 0)
			out[j++] = ',';
		out[j++] = buf[i];
	}
	out[j] = 0;
	fputs(out, f);
}

/* flamegraph.pl-like v1..v3 from the name: FNV-1a, then its bits mixed. */
static uint32_t name_hash(const char *s, size_t len, uint32_t seed)
{
	uint32_t h = hash__fnv1a32(s, len, seed);

	h ^= h >> 15;
	h *= 0x2c1b3c6d;
	h ^= h >> 12;
	return h;
}

struct palette_entry {
	struct hashmap_entry node;
	int r, g, b;
	size_t len;
	char name[];
};

/* --palette FILE: names → colors, in file order (then new ones), and found by name. */
struct palette {
	struct palette_entry **e;
	size_t nr, cap;
	struct hashmap by_name;
	bool dirty;
};

struct palette_key {
	const char *name;
	size_t len;
};

static bool palette_match(const struct hashmap_entry *he, const void *key, void *ctx)
{
	const struct palette_entry *e = hashmap_entry__of(he, struct palette_entry, node);
	const struct palette_key *k = key;

	return e->len == k->len && !memcmp(e->name, k->name, k->len);
}

static bool has_suffix(const char *s, size_t len, const char *suf)
{
	size_t l = strlen(suf);

	return len >= l && !memcmp(s + len - l, suf, l);
}

static bool contains(const char *s, size_t len, const char *what)
{
	size_t l = strlen(what), i;

	for (i = 0; i + l <= len; i++)
		if (!memcmp(s + i, what, l))
			return true;
	return false;
}

/* flamegraph.pl's palettes; v1..v3 from the name, so colors are stable. */
static void color_of(const char *scheme, const char *name, size_t len, int *r, int *g, int *b)
{
	double v1 = (name_hash(name, len, 1) % 1000) / 1000.0;
	double v2 = (name_hash(name, len, 2) % 1000) / 1000.0;
	double v3 = (name_hash(name, len, 3) % 1000) / 1000.0;
	const char *type = scheme;

	if (!strcmp(scheme, "java") || !strcmp(scheme, "js") || !strcmp(scheme, "perl")) {
		/* Language schemes color by kind of frame. */
		if (has_suffix(name, len, "_[j]"))
			type = "green";
		else if (has_suffix(name, len, "_[i]"))
			type = "aqua";
		else if (has_suffix(name, len, "_[k]"))
			type = "orange";
		else if (!strcmp(scheme, "java") &&
			 (contains(name, len, "java/") || contains(name, len, "org/") ||
			  contains(name, len, "com/") || contains(name, len, "io/") ||
			  contains(name, len, "sun/")))
			type = "green";
		else if (!strcmp(scheme, "js") &&
			 (contains(name, len, "/") || contains(name, len, ".js")))
			type = "green";
		else if (!strcmp(scheme, "perl") &&
			 (contains(name, len, "::") || contains(name, len, ".pl")))
			type = "green";
		else if (contains(name, len, "::"))
			type = "yellow";
		else
			type = "red";
	} else if (!strcmp(scheme, "hot") && has_suffix(name, len, "_[k]")) {
		type = "hot";
	}
	if (!strcmp(type, "mem")) {
		*r = 0;
		*g = 190 + 50 * v2;
		*b = 210 * v1;
	} else if (!strcmp(type, "io")) {
		*r = 80 + 60 * v1;
		*g = *r;
		*b = 190 + 55 * v2;
	} else if (!strcmp(type, "wakeup") || !strcmp(type, "aqua")) {
		*r = 50 + 60 * v1;
		*g = 165 + 55 * v1;
		*b = 165 + 55 * v1;
	} else if (!strcmp(type, "red")) {
		*r = 200 + 55 * v1;
		*g = 50 + 80 * v1;
		*b = *g;
	} else if (!strcmp(type, "green")) {
		*r = 50 + 60 * v1;
		*g = 200 + 55 * v1;
		*b = *r;
	} else if (!strcmp(type, "blue")) {
		*r = 80 + 60 * v1;
		*g = *r;
		*b = 205 + 50 * v1;
	} else if (!strcmp(type, "yellow")) {
		*r = 175 + 55 * v1;
		*g = *r;
		*b = 50 + 20 * v1;
	} else if (!strcmp(type, "purple")) {
		*r = 190 + 65 * v1;
		*g = 80 + 60 * v1;
		*b = *r;
	} else if (!strcmp(type, "orange")) {
		*r = 190 + 65 * v1;
		*g = 90 + 65 * v1;
		*b = 0;
	} else { /* hot */
		*r = 205 + 50 * v3;
		*g = 230 * v1;
		*b = 55 * v2;
	}
}

static void palette__init(struct palette *p)
{
	memset(p, 0, sizeof(*p));
	hashmap__init(&p->by_name, palette_match, NULL);
}

static struct palette_entry *palette__find(struct palette *p, const char *name, size_t len)
{
	struct palette_key key = {name, len};
	struct hashmap_entry *e = hashmap__find(&p->by_name, hash__str(name, len), &key);

	return e ? hashmap_entry__of(e, struct palette_entry, node) : NULL;
}

/* Append name → rgb; a name already there keeps its first color (as the file says). */
static int palette__add(struct palette *p, const char *name, size_t len, int r, int g, int b)
{
	struct palette_entry *e;
	bool dup = palette__find(p, name, len);

	if (ARRAY_RESERVE(p->e, p->cap, p->nr + 1, 256))
		return -ENOMEM;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	e->len = len;
	e->r = r;
	e->g = g;
	e->b = b;
	if (!dup && hashmap__add(&p->by_name, &e->node, hash__str(name, len))) {
		free(e);
		return -ENOMEM;
	}
	p->e[p->nr++] = e;
	return 0;
}

static void palette_load(struct palette *p, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char *arrow = strstr(line, "->rgb(");
		int r, g, b;

		if (!arrow || sscanf(arrow, "->rgb(%d,%d,%d)", &r, &g, &b) != 3)
			continue;
		if (palette__add(p, line, strnlen(line, arrow - line), r, g, b))
			break;
	}
	free(line);
	fclose(f);
}

static void palette_color(struct palette *p, const char *scheme, const char *name, size_t len,
			  int *r, int *g, int *b)
{
	struct palette_entry *e = p ? palette__find(p, name, len) : NULL;

	if (e) {
		*r = e->r;
		*g = e->g;
		*b = e->b;
		return;
	}
	color_of(scheme, name, len, r, g, b);
	if (p && p->nr < (1u << 20) && !palette__add(p, name, strnlen(name, len), *r, *g, *b))
		p->dirty = true;
}

static int cmp_palette(const void *a, const void *b)
{
	return strcmp((*(struct palette_entry *const *)a)->name,
		      (*(struct palette_entry *const *)b)->name);
}

static void palette_save(struct palette *p, const char *path)
{
	struct atomic_file af;
	size_t i;

	if (!p->dirty || atomic_file__open(&af, path))
		return;
	qsort(p->e, p->nr, sizeof(*p->e), cmp_palette);
	for (i = 0; i < p->nr; i++)
		fprintf(af.f, "%s->rgb(%d,%d,%d)\n", p->e[i]->name, p->e[i]->r, p->e[i]->g,
			p->e[i]->b);
	atomic_file__commit(&af);
}

static void palette_free(struct palette *p)
{
	size_t i;

	hashmap__exit(&p->by_name);
	for (i = 0; i < p->nr; i++)
		free(p->e[i]);
	free(p->e);
}

static void background(const char *bg, const char **c1, const char **c2)
{
	static char flat[32];

	*c1 = "#eeeeee";
	*c2 = "#eeeeb0";
	if (!bg || !strcmp(bg, "yellow"))
		return;
	if (!strcmp(bg, "blue")) {
		*c2 = "#e0e0ff";
	} else if (!strcmp(bg, "green")) {
		*c1 = "#eef2ee";
		*c2 = "#e0ffe0";
	} else if (!strcmp(bg, "grey") || !strcmp(bg, "gray")) {
		*c1 = "#f8f8f8";
		*c2 = "#e8e8e8";
	} else if (bg[0] == '#') {
		snprintf(flat, sizeof(flat), "%.16s", bg);
		*c1 = *c2 = flat;
	}
}

/* What the drawing steps share. */
struct svg {
	FILE *out;
	const struct flamegraph_opts *o;
	struct tree t;
	struct palette *pal;
	uint32_t *stack; /* the depth-first walks' stack, one slot per node */
	double total, widthper, minwidth_units, maxdelta, fullwidth;
	uint32_t maxdepth;
	int height, ypad1, ypad2, ypad3;
	bool diff;
};

/* The lines into the tree (sorted first unless a flame chart); 0 or a negative errno. */
static int svg__build(struct svg *g, struct folded_data *d)
{
	const struct flamegraph_opts *o = g->o;
	size_t i;
	int err = 0;

	if (o->reverse)
		for (i = 0; i < d->nr; i++)
			reverse_frames(d->lines[i].stack);
	if (!o->flamechart)
		qsort(d->lines, d->nr, sizeof(*d->lines), cmp_lines);
	if (tree_add(&g->t, 0, "all", 3) < 0)
		return -ENOMEM;
	for (i = 0; i < d->nr && !err; i++) {
		const struct folded_line *l = &d->lines[i];
		double after = (o->negate ? l->before : l->after) * o->factor;
		double before = (o->negate ? l->after : l->before) * o->factor;

		if (!g->diff)
			before = 0;
		err = tree_insert(&g->t, l->stack, after, before);
	}
	return err;
}

/* x positions (preorder), depth of what is drawn, the largest difference. */
static void svg__layout(struct svg *g)
{
	struct tree *t = &g->t;
	size_t sp = 0;

	g->stack[sp++] = 0;
	t->n[0].x = 0;
	while (sp) {
		struct node *n = &t->n[g->stack[--sp]];
		double x = n->x;
		uint32_t c;

		if (n->value < g->minwidth_units && n != t->n)
			continue;
		if (n->depth > g->maxdepth)
			g->maxdepth = n->depth;
		if (g->diff && fabs(n->value - n->before) > g->maxdelta)
			g->maxdelta = fabs(n->value - n->before);
		/* Children left to right: push in reverse so the first is drawn first. */
		for (c = n->first_child; c; c = t->n[c].next_sibling) {
			t->n[c].x = x;
			x += t->n[c].value;
		}
		sp = push_children(t, n, g->stack, sp);
	}
}

/* The details line, zoom reset, search and its case switch, the match count. */
static void svg__controls(const struct svg *g)
{
	const struct flamegraph_opts *o = g->o;
	FILE *out = g->out;

	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD,
		g->height - g->ypad2 / 2);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n",
		XPAD, o->fontsize * 2);
	fprintf(out, "<text id=\"search\" x=\"%d\" y=\"%d\">Search</text>\n", o->width - XPAD - 100,
		o->fontsize * 2);
	fprintf(out, "<text id=\"ignorecase\" x=\"%d\" y=\"%d\">ic</text>\n", o->width - XPAD - 16,
		o->fontsize * 2);
	fprintf(out, "<text id=\"matched\" class=\"hide\" x=\"%d\" y=\"%d\"> </text>\n",
		o->width - XPAD - 100, g->height - g->ypad2 / 2);
}

/* The document up to the frames: styles, the script, title and controls. */
static void svg__header(const struct svg *g, const char *title)
{
	const struct flamegraph_opts *o = g->o;
	const char *bg1, *bg2;
	FILE *out = g->out;

	background(o->bgcolors, &bg1, &bg2);
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		     "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
		     "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n");
	fprintf(out,
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" onload=\"init(evt)\" "
		"viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\" "
		"xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n",
		o->width, g->height, o->width, g->height);
	fprintf(out, "<!-- Flame graph by pmuprof %s. -->\n", PMUPROF_VERSION);
	if (o->notes) {
		fputs("<desc>", out);
		xml_escape(out, o->notes, strlen(o->notes));
		fputs("</desc>\n", out);
	}
	fprintf(out,
		"<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"%s\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
		"</linearGradient></defs>\n",
		bg1, bg2);
	fprintf(out,
		"<style type=\"text/css\">\n"
		"text { font-family: %s; font-size: %dpx; fill: rgb(0,0,0); }\n"
		"#title { text-anchor: middle; font-size: %dpx; }\n"
		"#subtitle { text-anchor: middle; fill: rgb(160,160,160); }\n"
		"#search, #ignorecase { opacity: 0.1; cursor: pointer; }\n"
		"#search:hover, #search.show, #ignorecase:hover, #ignorecase.show { opacity: 1; }\n"
		"#unzoom { cursor: pointer; }\n"
		"#frames > g:hover { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n",
		o->fonttype, o->fontsize, o->fontsize + 5);
	fprintf(out,
		"<script type=\"text/ecmascript\"><![CDATA[\nvar fg_config = { fontsize: %d, "
		"fontwidth: %g, xpad: %d, fullwidth: %g, nametype: \"",
		o->fontsize, o->fontwidth, XPAD, g->fullwidth);
	for (const char *c = o->nametype; *c; c++)
		if (*c != '"' && *c != '\\' && *c != ']')
			fputc(*c, out);
	fprintf(out, "\" };\n%s]]></script>\n", svg_script);
	fprintf(out,
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#background)\"/>\n",
		o->width, g->height);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"%d\">", o->width / 2, o->fontsize * 2);
	xml_escape(out, title, strlen(title));
	fputs("</text>\n", out);
	if (g->ypad3) {
		fprintf(out, "<text id=\"subtitle\" x=\"%d\" y=\"%d\">", o->width / 2,
			o->fontsize * 4);
		xml_escape(out, o->subtitle, strlen(o->subtitle));
		fputs("</text>\n", out);
	}
	svg__controls(g);
}

/* A frame's fill: light grey for the root, red/blue by change in a differential. */
static void svg__color(const struct svg *g, uint32_t id, int *r, int *gr, int *b)
{
	const struct node *n = &g->t.n[id];

	if (!id) {
		*r = 250;
		*gr = 250;
		*b = 250;
	} else if (g->diff) {
		double delta = n->value - n->before,
		       k = g->maxdelta > 0 ? fabs(delta) / g->maxdelta : 0;

		if (g->o->negate)
			delta = -delta;
		/* red: grew, blue: shrank, white: same */
		*r = delta > 0 ? 255 : (int)(255 - 210 * k);
		*b = delta < 0 ? 255 : (int)(255 - 210 * k);
		*gr = (int)(255 - 210 * k);
	} else {
		palette_color(g->pal, g->o->colors, n->name, n->name_len, r, gr, b);
	}
}

/* One frame: its group, tooltip, rectangle and the name as far as it fits. */
static void svg__frame(const struct svg *g, uint32_t id)
{
	const struct flamegraph_opts *o = g->o;
	const struct node *n = &g->t.n[id];
	double x1 = XPAD + n->x * g->widthper, w = n->value * g->widthper, y1;
	const char *name = n->name;
	size_t len = n->name_len;
	FILE *out = g->out;
	int r, gr, b, chars;

	if (o->inverted)
		y1 = g->ypad1 + g->ypad3 + n->depth * o->frame_height;
	else
		y1 = g->height - g->ypad2 - (n->depth + 1) * o->frame_height;
	svg__color(g, id, &r, &gr, &b);
	fprintf(out, "<g data-d=\"%u\" data-n=\"", n->depth);
	xml_escape(out, name, len);
	fputs("\"><title>", out);
	xml_escape(out, name, len);
	fputs(" (", out);
	print_count(out, n->value);
	fprintf(out, " %s, %.2f%%", o->countname, 100.0 * n->value / g->total);
	if (g->diff) {
		double delta = n->value - n->before;

		fprintf(out, "; %+.2f%%", g->total ? 100.0 * delta / g->total : 0.0);
	}
	fprintf(out,
		")</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
		"fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
		x1, y1, w, o->frame_height - 1, r, gr, b, x1 + 3, y1 + o->frame_height / 2.0 + 4);
	chars = w > 0 && w < 1e9 ? (int)(w / (o->fontsize * o->fontwidth)) : 0;
	if (chars >= 3) {
		if ((size_t)chars >= len) {
			xml_escape(out, name, len);
		} else {
			xml_escape(out, name, utf8__boundary(name, len, chars - 2));
			fputs("..", out);
		}
	}
	fputs("</text></g>\n", out);
}

/* Every frame wide enough, depth first, left to right. */
static void svg__frames(struct svg *g)
{
	size_t sp = 0;

	fputs("<g id=\"frames\">\n", g->out);
	g->stack[sp++] = 0;
	while (sp) {
		uint32_t id = g->stack[--sp];
		const struct node *n = &g->t.n[id];

		if (n->value < g->minwidth_units && id)
			continue;
		svg__frame(g, id);
		sp = push_children(&g->t, n, g->stack, sp);
	}
	fputs("</g>\n</svg>\n", g->out);
}

int flamegraph__write(FILE *out, struct folded_data *d, const struct flamegraph_opts *o)
{
	struct svg g = {.out = out, .o = o, .diff = d->differential};
	struct palette pal = {0};
	const char *title = o->title;
	int err;

	if (!d->nr)
		return -ENODATA;
	g.ypad1 = o->fontsize * 3;
	g.ypad2 = o->fontsize * 2 + 10;
	if (o->subtitle && *o->subtitle)
		g.ypad3 = o->fontsize * 2;
	if (!title)
		title = o->inverted	? "Icicle Graph"
			: o->flamechart ? "Flame Chart"
					: "Flame Graph";
	err = svg__build(&g, d);
	if (err)
		goto out;
	g.total = g.t.n[0].value;
	if (!(g.total > 0) || !isfinite(g.total)) {
		err = -ENODATA;
		goto out;
	}
	g.fullwidth = o->width - 2 * XPAD;
	g.widthper = g.fullwidth / g.total;
	g.minwidth_units = o->minwidth_pct ? g.total * o->minwidth / 100 : o->minwidth / g.widthper;
	g.stack = malloc(g.t.nr * sizeof(*g.stack));
	if (!g.stack) {
		err = -ENOMEM;
		goto out;
	}
	svg__layout(&g);
	g.height = (g.maxdepth + 1) * o->frame_height + g.ypad1 + g.ypad2 + g.ypad3;
	if (o->palette_file) {
		palette__init(&pal);
		palette_load(&pal, o->palette_file);
		g.pal = &pal;
	}
	svg__header(&g, title);
	svg__frames(&g);
	if (g.pal)
		palette_save(g.pal, o->palette_file);
	if (ferror(out))
		err = -EIO;
out:
	palette_free(&pal);
	free(g.stack);
	free(g.t.n);
	return err;
}
