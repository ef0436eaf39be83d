// SPDX-License-Identifier: GPL-2.0
/*
 * pprof output: the stack model as profile.proto (flamegraph/profile.proto, encoded by
 * protobuf-c), gzip-compressed with zlib.
 *
 * One Mapping per file (its build id, and where the module lies: record places it at the
 * file's link-time addresses, which pprof disassembles and names), one Location per
 * address (its Lines: the functions there, the innermost inlined one first), one Function
 * per name and source file. The process is a Sample label, not a frame. Both sample types hold what the
 * kernel counted: samples, and the events (or nanoseconds) they stand for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "flamegraph.h"
#include "profile.pb-c.h"
#include "strset.h"
#include "array.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

/* ---- growing arrays of messages; pointers into them are set once all are made ---- */
#define ARRAY(type)                                                                                \
	struct {                                                                                   \
		type *v;                                                                           \
		size_t nr, cap;                                                                    \
	}

static void *array_add(void *arr, size_t *nr, size_t *cap, size_t size, bool *oom)
{
	void **v = arr;

	if (array__reserve(arr, cap, *nr + 1, size, 256)) {
		*oom = true;
		return NULL;
	}
	return (char *)*v + (*nr)++ * size;
}

#define ADD(p, a)                                                                                  \
	((__typeof__((a).v))array_add(&(a).v, &(a).nr, &(a).cap, sizeof(*(a).v), &(p)->oom))

/* A sample as built: offsets into the shared arrays of ids and labels. */
struct sample_at {
	size_t loc, nloc, label, nlabel;
	int64_t value[2];
};

/* A location as built: its lines are lines.v[line ... line + nline). */
struct location_at {
	pb_location loc;
	size_t line, nline;
};

struct pprof {
	const struct stack_table *st;
	const struct pprof_opts *o;
	struct strset *strs;  /* the string table */
	struct strset *fkeys; /* functions: "name\x1ffile", position = id - 1 */
	ARRAY(pb_function) funcs;
	ARRAY(struct location_at) locs;
	ARRAY(pb_line) lines;
	ARRAY(pb_mapping) maps;
	ARRAY(struct sample_at) samples;
	ARRAY(uint64_t) ids;
	ARRAY(pb_label) labels;
	uint64_t *loc_of; /* by the outermost frame id of a location: its id (0: none yet) */
	uint32_t *nlines_of;
	uint64_t *map_of; /* by module id: mapping id */
	bool oom;
};

/* ---- strings: the string table (index: position), the functions' keys ---- */

/* s[0..n)'s index in set, added when new; on failure (set NULL: an allocation before
 * failed) 0, the empty string, and p->oom. */
static long str_add(struct pprof *p, struct strset *set, const char *s, size_t n)
{
	long i = set ? strset__add(set, s, n) : -ENOMEM;

	if (i < 0) {
		p->oom = true;
		return 0;
	}
	return i;
}

/*
 * A string_table entry: proto3 strings must be UTF-8 (parsers that check refuse the whole
 * profile), and a process may name itself with any bytes: invalid ones become '?'.
 */
static int64_t str_n(struct pprof *p, const char *s, size_t len)
{
	size_t i, c;
	char *copy;
	int64_t r;

	for (i = 0; i < len && (c = utf8__char_len(s + i, len - i)); i += c)
		;
	if (i == len)
		return str_add(p, p->strs, s, len);
	copy = strndup(s, len);
	if (!copy)
		return str_add(p, NULL, NULL, 0);
	for (i = 0; i < len; i += c)
		if (!(c = utf8__char_len(copy + i, len - i))) {
			copy[i] = '?';
			c = 1;
		}
	r = str_add(p, p->strs, copy, len);
	free(copy);
	return r;
}

static int64_t str(struct pprof *p, const char *s)
{
	return s ? str_n(p, s, strlen(s)) : 0;
}

/* ---- mappings ---- */

static void add_mapping(struct pprof *p, uint32_t mod)
{
	const struct stack_module *m = stack_table__module(p->st, mod);
	pb_mapping *pm = ADD(p, p->maps);

	if (!pm)
		return;
	perftools__profiles__mapping__init(pm);
	pm->id = p->maps.nr;
	pm->memory_start = m->start;
	pm->memory_limit = m->limit;
	pm->file_offset = m->offset;
	pm->filename = str(p, m->path);
	pm->build_id = m->build_id && *m->build_id ? str(p, m->build_id) : 0;
	p->map_of[mod] = pm->id;
}

/* The command first (pprof shows the first mapping as the profile's file), then the rest. */
static void add_mappings(struct pprof *p)
{
	size_t i, n = stack_table__nr_modules(p->st);
	uint32_t main_mod = 0;

	for (i = 1; i <= n && p->o->main_binary; i++)
		if (!strcmp(stack_table__module(p->st, i)->path, p->o->main_binary))
			main_mod = i;
	if (main_mod)
		add_mapping(p, main_mod);
	else if (p->o->main_binary) {
		pb_mapping *pm = ADD(p, p->maps);

		if (pm) {
			perftools__profiles__mapping__init(pm);
			pm->id = p->maps.nr;
			pm->filename = str(p, p->o->main_binary);
			pm->has_functions = true;
		}
	}
	for (i = 1; i <= n; i++)
		if (i != main_mod)
			add_mapping(p, i);
}

/* ---- functions and locations ---- */

static uint64_t function_id(struct pprof *p, const struct stack_frame *f)
{
	const char *name = f->function ? f->function : f->name, *file = f->file ? f->file : "";
	size_t nl = strlen(name), fl = strlen(file);
	char buf[1024], *key = nl + fl + 2 <= sizeof(buf) ? buf : malloc(nl + fl + 2);
	size_t id;
	pb_function *fn;

	if (!key) {
		p->oom = true;
		return 0;
	}
	memcpy(key, name, nl);
	key[nl] = 0x1f;
	memcpy(key + nl + 1, file, fl);
	id = str_add(p, p->fkeys, key, nl + fl + 1) + 1;
	if (key != buf)
		free(key);
	if (id <= p->funcs.nr || p->oom)
		return p->oom ? 0 : id;
	fn = ADD(p, p->funcs);
	if (!fn)
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = id;
	fn->name = fn->system_name = str(p, name);
	fn->filename = str(p, f->file);
	return id;
}

static void add_line(struct pprof *p, const struct stack_frame *f)
{
	pb_line *l = ADD(p, p->lines);

	if (!l)
		return;
	perftools__profiles__line__init(l);
	l->function_id = function_id(p, f);
	l->line = f->line;
}

/* The address a frame had where its mapping says the file lies. */
static uint64_t frame_address(const struct pprof *p, const struct stack_frame *f)
{
	const struct stack_module *m = stack_table__module(p->st, f->module);

	if (m)
		return m->start + (f->address - m->offset);
	return f->kind == STACK_FRAME_JIT ? f->address : 0;
}

/*
 * The mapping's flags say what its locations carry. Readers name the addresses of a
 * mapping without functions from its file (pprof, at the link-time addresses the module
 * has), and leave any other one as it is.
 */
static void mark_mapping(struct pprof *p, const struct stack_frame *f, bool inlined)
{
	pb_mapping *pm = f->module ? &p->maps.v[p->map_of[f->module] - 1] : NULL;

	if (!pm)
		return;
	pm->has_functions = true;
	pm->has_filenames |= f->file != NULL;
	pm->has_line_numbers |= f->line != 0;
	pm->has_inline_frames |= inlined;
}

/* The location of frames ids[0..n) (an address: its function, then those inlined there). */
static uint64_t location_id(struct pprof *p, const uint32_t *ids, size_t n)
{
	const struct stack_frame *outer = stack_table__frame(p->st, ids[0]);
	struct location_at *l;
	size_t i;

	if (p->loc_of[ids[0]] && p->nlines_of[ids[0]] == n)
		return p->loc_of[ids[0]];
	l = ADD(p, p->locs);
	if (!l)
		return 0;
	perftools__profiles__location__init(&l->loc);
	l->loc.id = p->locs.nr;
	l->loc.mapping_id = outer->module ? p->map_of[outer->module] : 0;
	l->loc.address = frame_address(p, outer);
	l->line = p->lines.nr;
	/* A file's frame without a name: its address alone (pprof can name it later). */
	if (!(outer->module && !outer->function && outer->kind != STACK_FRAME_KERNEL))
		for (i = n; i-- > 0;) {
			add_line(p, stack_table__frame(p->st, ids[i]));
			mark_mapping(p, stack_table__frame(p->st, ids[i]), n > 1);
		}
	l->nline = p->lines.nr - l->line;
	if (!p->loc_of[ids[0]]) {
		p->loc_of[ids[0]] = l->loc.id;
		p->nlines_of[ids[0]] = n;
	}
	return l->loc.id;
}

/* ---- samples ---- */

static void add_label(struct pprof *p, const char *key, size_t klen, const char *s, size_t slen,
		      int64_t num)
{
	pb_label *l = ADD(p, p->labels);

	if (!l)
		return;
	perftools__profiles__label__init(l);
	l->key = str_n(p, key, klen);
	if (s)
		l->str = str_n(p, s, slen);
	else
		l->num = num;
}

/* "{k=v,k=v}": string labels. */
static void root_labels(struct pprof *p, const char *s)
{
	const char *end = s + strlen(s), *q = s + 1;

	if (end > s && end[-1] == '}')
		end--;
	while (q < end) {
		const char *comma = memchr(q, ',', end - q), *stop = comma ? comma : end;
		const char *eq = memchr(q, '=', stop - q);

		if (eq && eq > q)
			add_label(p, q, eq - q, eq + 1, stop - eq - 1, 0);
		q = stop + 1;
	}
}

/* The stack's root: the process (and thread) as labels, and a frame of labels before it
 * (root_labels); how many frames that took. */
static size_t sample_labels(struct pprof *p, const struct stack_visit *v)
{
	size_t i;

	for (i = 0; i < v->nr; i++) {
		const struct stack_frame *f = stack_table__frame(p->st, v->frames[i]);

		if (f->kind == STACK_FRAME_PROCESS) {
			add_label(p, "process", 7, f->name, strlen(f->name), 0);
			if (f->address)
				add_label(p, "thread", 6, NULL, 0, f->address);
		} else if (p->o->root_labels && !i && f->name[0] == '{' && v->nr > 1) {
			root_labels(p, f->name);
		} else {
			break;
		}
	}
	return i;
}

/* A count added as one number: what it stands for in the other sample type. */
static void single_values(const struct pprof_opts *o, uint64_t count, int64_t *value)
{
	uint64_t ns = o->freq ? 1000000000ULL / o->freq : 0;

	if (o->weight_counts) {
		value[0] =
			o->clock && o->freq ? (count * o->freq + 500000000ULL) / 1000000000ULL : 0;
		value[1] = count;
	} else {
		value[0] = count;
		value[1] = o->period ? count * o->period : o->clock && ns ? count * ns : count;
	}
}

static int add_sample(const struct stack_visit *v, void *arg)
{
	struct pprof *p = arg;
	struct sample_at *s = ADD(p, p->samples);
	size_t root, end, start;

	if (!s)
		return -ENOMEM;
	s->label = p->labels.nr;
	root = sample_labels(p, v);
	s->nlabel = p->labels.nr - s->label;
	s->loc = p->ids.nr;
	/* Leaf first: each address's frames are its outermost and those inlined after it. */
	for (end = v->nr; end > root; end = start) {
		uint64_t *id = ADD(p, p->ids);

		for (start = end - 1; start > root; start--)
			if (!stack_table__frame(p->st, v->frames[start])->inlined)
				break;
		if (!id)
			return -ENOMEM;
		*id = location_id(p, v->frames + start, end - start);
	}
	s->nloc = p->ids.nr - s->loc;
	if (v->single)
		single_values(p->o, v->count.samples, s->value);
	else {
		s->value[0] = v->count.samples;
		s->value[1] = v->count.weight;
	}
	return p->oom ? -ENOMEM : 0;
}

/* ---- the profile ---- */

struct gz_buffer {
	ProtobufCBuffer base;
	z_stream zs;
	FILE *f;
	int err;
};

static void gz_deflate(struct gz_buffer *g, const uint8_t *d, size_t n, int flush)
{
	uint8_t out[65536];
	int r;

	g->zs.next_in = (uint8_t *)d;
	g->zs.avail_in = n;
	do {
		g->zs.next_out = out;
		g->zs.avail_out = sizeof(out);
		r = deflate(&g->zs, flush);
		if (r == Z_STREAM_ERROR || fwrite(out, 1, sizeof(out) - g->zs.avail_out, g->f) !=
						   sizeof(out) - g->zs.avail_out) {
			g->err = -EIO;
			return;
		}
	} while (g->zs.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
}

static void gz_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct gz_buffer *g = (struct gz_buffer *)b;

	if (!g->err && len)
		gz_deflate(g, data, len, Z_NO_FLUSH);
}

static int write_gzip(FILE *f, const pb_profile *prof)
{
	struct gz_buffer g = {.base = {.append = gz_append}, .f = f};

	if (deflateInit2(&g.zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -ENOMEM;
	perftools__profiles__profile__pack_to_buffer(prof, &g.base);
	if (!g.err)
		gz_deflate(&g, NULL, 0, Z_FINISH);
	deflateEnd(&g.zs);
	return g.err;
}

/* Sample types samples/count and events/count (cpu/nanoseconds for clocks), the period. */
static void sample_types(struct pprof *p, pb_profile *prof, pb_value_type *vt,
			 pb_value_type *period)
{
	const struct pprof_opts *o = p->o;
	const char *evname = o->clock ? "cpu" : (o->event ? o->event : "events");
	int64_t count = str(p, "count");

	perftools__profiles__value_type__init(&vt[0]);
	perftools__profiles__value_type__init(&vt[1]);
	perftools__profiles__value_type__init(period);
	vt[0].type = str(p, "samples");
	vt[0].unit = count;
	vt[1].type = str(p, evname);
	vt[1].unit = o->clock ? str(p, "nanoseconds") : count;
	*period = vt[1];
	prof->period_type = period;
	if (o->period)
		prof->period = o->period;
	else if (o->freq && o->clock)
		prof->period = 1000000000ULL / o->freq;
	else if (o->freq)
		prof->period = 1;
	prof->default_sample_type = vt[1].type;
}

/* Pointer arrays over the built messages, then write. */
static int pack(struct pprof *p, pb_profile *prof, FILE *f)
{
	size_t i;
	int err = -ENOMEM;
	pb_sample *samples = calloc(p->samples.nr + 1, sizeof(*samples));
	pb_sample **sp = calloc(p->samples.nr + 1, sizeof(*sp));
	pb_location **lp = calloc(p->locs.nr + 1, sizeof(*lp));
	pb_line **linep = calloc(p->lines.nr + 1, sizeof(*linep));
	pb_label **labp = calloc(p->labels.nr + 1, sizeof(*labp));
	pb_mapping **mp = calloc(p->maps.nr + 1, sizeof(*mp));
	pb_function **fp = calloc(p->funcs.nr + 1, sizeof(*fp));
	size_t nstr = strset__count(p->strs);
	char **strs = calloc(nstr + 1, sizeof(*strs));

	if (!samples || !sp || !lp || !linep || !labp || !mp || !fp || !strs)
		goto out;
	/* The set's strings stay where they are: the table only points at them. */
	for (i = 0; i < nstr; i++)
		strs[i] = (char *)strset__str(p->strs, i);
	for (i = 0; i < p->lines.nr; i++)
		linep[i] = &p->lines.v[i];
	for (i = 0; i < p->labels.nr; i++)
		labp[i] = &p->labels.v[i];
	for (i = 0; i < p->locs.nr; i++) {
		lp[i] = &p->locs.v[i].loc;
		lp[i]->line = linep + p->locs.v[i].line;
		lp[i]->n_line = p->locs.v[i].nline;
	}
	for (i = 0; i < p->samples.nr; i++) {
		const struct sample_at *s = &p->samples.v[i];

		perftools__profiles__sample__init(&samples[i]);
		sp[i] = &samples[i];
		samples[i].location_id = p->ids.v + s->loc;
		samples[i].n_location_id = s->nloc;
		samples[i].value = (int64_t *)s->value;
		samples[i].n_value = 2;
		samples[i].label = labp + s->label;
		samples[i].n_label = s->nlabel;
	}
	for (i = 0; i < p->maps.nr; i++)
		mp[i] = &p->maps.v[i];
	for (i = 0; i < p->funcs.nr; i++)
		fp[i] = &p->funcs.v[i];
	prof->sample = sp;
	prof->n_sample = p->samples.nr;
	prof->location = lp;
	prof->n_location = p->locs.nr;
	prof->mapping = mp;
	prof->n_mapping = p->maps.nr;
	prof->function = fp;
	prof->n_function = p->funcs.nr;
	prof->string_table = strs;
	prof->n_string_table = nstr;
	err = write_gzip(f, prof);
out:
	free(samples);
	free(sp);
	free(lp);
	free(linep);
	free(labp);
	free(mp);
	free(fp);
	free(strs);
	return err;
}

static void pprof_free(struct pprof *p)
{
	strset__free(p->strs);
	strset__free(p->fkeys);
	free(p->funcs.v);
	free(p->locs.v);
	free(p->lines.v);
	free(p->maps.v);
	free(p->samples.v);
	free(p->ids.v);
	free(p->labels.v);
	free(p->loc_of);
	free(p->nlines_of);
	free(p->map_of);
}

int pprof__write(FILE *f, struct stack_table *st, const struct pprof_opts *o)
{
	struct pprof p = {.st = st, .o = o};
	pb_profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	pb_value_type vt[2], period, *vtp[2] = {&vt[0], &vt[1]};
	int64_t comment;
	int err;

	p.strs = strset__new();
	p.fkeys = strset__new();
	str(&p, ""); /* index 0 */
	p.loc_of = calloc(stack_table__nr_frames(st) + 1, sizeof(*p.loc_of));
	p.nlines_of = calloc(stack_table__nr_frames(st) + 1, sizeof(*p.nlines_of));
	p.map_of = calloc(stack_table__nr_modules(st) + 1, sizeof(*p.map_of));
	if (!p.strs || !p.fkeys || p.oom || !p.loc_of || !p.nlines_of || !p.map_of) {
		pprof_free(&p);
		return -ENOMEM;
	}
	sample_types(&p, &prof, vt, &period);
	prof.sample_type = vtp;
	prof.n_sample_type = 2;
	add_mappings(&p);
	err = stack_table__each(st, add_sample, &p);
	if (o->comment) {
		comment = str(&p, o->comment);
		prof.comment = &comment;
		prof.n_comment = 1;
	}
	prof.time_nanos = o->time_nanos;
	prof.duration_nanos = o->duration_nanos;
	if (!err && p.oom)
		err = -ENOMEM;
	if (!err)
		err = pack(&p, &prof, f);
	pprof_free(&p);
	return err;
}

/* ---- merging profiles ---- */

/* A gzip-compressed profile, unpacked; NULL + errno (EINVAL: not a profile). */
static pb_profile *unpack_gzip(const void *buf, size_t len)
{
	z_stream zs = {.next_in = (uint8_t *)buf, .avail_in = len};
	size_t cap = len * 4 + 4096, n = 0;
	uint8_t *out = malloc(cap), *tmp;
	pb_profile *prof = NULL;
	int r = Z_OK;

	if (!out || inflateInit2(&zs, 15 + 32) != Z_OK) {
		free(out);
		errno = ENOMEM;
		return NULL;
	}
	while (r == Z_OK) {
		if (n == cap) {
			tmp = realloc(out, cap * 2);
			if (!tmp)
				break;
			out = tmp;
			cap *= 2;
		}
		zs.next_out = out + n;
		zs.avail_out = cap - n;
		r = inflate(&zs, Z_NO_FLUSH);
		n = cap - zs.avail_out;
	}
	inflateEnd(&zs);
	if (r == Z_STREAM_END)
		prof = perftools__profiles__profile__unpack(NULL, n, out);
	free(out);
	if (!prof)
		errno = r == Z_STREAM_END || r == Z_DATA_ERROR ? EINVAL : ENOMEM;
	return prof;
}

/* Ids of one part, moved past the parts before it; its strings, into the merged set. */
struct merge_base {
	uint64_t mapping, location, function;
	int64_t *str; /* the part's string index → the merged one */
	size_t nstr;
};

static int64_t merge_str(const struct merge_base *b, int64_t i)
{
	return i > 0 && (size_t)i < b->nstr ? b->str[i] : 0;
}

static void merge_rebase(pb_profile *pr, const struct merge_base *b)
{
	size_t i, j;

	for (i = 0; i < pr->n_mapping; i++) {
		pr->mapping[i]->id += b->mapping;
		pr->mapping[i]->filename = merge_str(b, pr->mapping[i]->filename);
		pr->mapping[i]->build_id = merge_str(b, pr->mapping[i]->build_id);
	}
	for (i = 0; i < pr->n_location; i++) {
		pb_location *l = pr->location[i];

		l->id += b->location;
		l->mapping_id += l->mapping_id ? b->mapping : 0;
		for (j = 0; j < l->n_line; j++)
			l->line[j]->function_id += l->line[j]->function_id ? b->function : 0;
	}
	for (i = 0; i < pr->n_function; i++) {
		pb_function *fn = pr->function[i];

		fn->id += b->function;
		fn->name = merge_str(b, fn->name);
		fn->system_name = merge_str(b, fn->system_name);
		fn->filename = merge_str(b, fn->filename);
	}
	for (i = 0; i < pr->n_sample; i++) {
		pb_sample *s = pr->sample[i];

		for (j = 0; j < s->n_location_id; j++)
			s->location_id[j] += b->location;
		for (j = 0; j < s->n_label; j++) {
			s->label[j]->key = merge_str(b, s->label[j]->key);
			s->label[j]->str = merge_str(b, s->label[j]->str);
			s->label[j]->num_unit = merge_str(b, s->label[j]->num_unit);
		}
	}
}

/* Each part's messages, after those of the parts before it. */
#define MERGE_CONCAT(out, parts, n, field, nfield)                                                 \
	do {                                                                                       \
		size_t total_ = 0, k_, at_ = 0;                                                    \
		for (k_ = 0; k_ < (n); k_++)                                                       \
			total_ += (parts)[k_]->nfield;                                             \
		(out)->field = calloc(total_ + 1, sizeof(*(out)->field));                          \
		for (k_ = 0; (out)->field && k_ < (n); k_++) {                                     \
			if (!(parts)[k_]->nfield) /* its array may be NULL */                      \
				continue;                                                          \
			memcpy((out)->field + at_, (parts)[k_]->field,                             \
			       (parts)[k_]->nfield * sizeof(*(out)->field));                       \
			at_ += (parts)[k_]->nfield;                                                \
		}                                                                                  \
		(out)->nfield = (out)->field ? total_ : 0;                                         \
	} while (0)

/* The merged profile: the first part's types and comments, every part's samples. */
static int merge_pack(FILE *f, pb_profile **parts, size_t n, struct strset *strs)
{
	pb_profile out = *parts[0];
	size_t i, nstr = strset__count(strs);
	char **table = calloc(nstr + 1, sizeof(*table));
	int64_t end = 0;
	int err = -ENOMEM;

	MERGE_CONCAT(&out, parts, n, sample, n_sample);
	MERGE_CONCAT(&out, parts, n, mapping, n_mapping);
	MERGE_CONCAT(&out, parts, n, location, n_location);
	MERGE_CONCAT(&out, parts, n, function, n_function);
	if (!table || !out.sample || !out.mapping || !out.location || !out.function)
		goto out;
	for (i = 0; i < nstr; i++)
		table[i] = (char *)strset__str(strs, i);
	out.string_table = table;
	out.n_string_table = nstr;
	for (i = 0; i < n; i++) {
		out.time_nanos = parts[i]->time_nanos < out.time_nanos ? parts[i]->time_nanos
								       : out.time_nanos;
		end = parts[i]->time_nanos + parts[i]->duration_nanos > end
			      ? parts[i]->time_nanos + parts[i]->duration_nanos
			      : end;
	}
	out.duration_nanos = end - out.time_nanos;
	err = write_gzip(f, &out);
out:
	free(table);
	free(out.sample);
	free(out.mapping);
	free(out.location);
	free(out.function);
	return err;
}

/* The first part's own string fields (types, comments), into the merged set. */
static void merge_rebase_header(pb_profile *pr, const struct merge_base *b)
{
	size_t i;

	for (i = 0; i < pr->n_sample_type; i++) {
		pr->sample_type[i]->type = merge_str(b, pr->sample_type[i]->type);
		pr->sample_type[i]->unit = merge_str(b, pr->sample_type[i]->unit);
	}
	if (pr->period_type) {
		pr->period_type->type = merge_str(b, pr->period_type->type);
		pr->period_type->unit = merge_str(b, pr->period_type->unit);
	}
	for (i = 0; i < pr->n_comment; i++)
		pr->comment[i] = merge_str(b, pr->comment[i]);
	pr->default_sample_type = merge_str(b, pr->default_sample_type);
	pr->drop_frames = merge_str(b, pr->drop_frames);
	pr->keep_frames = merge_str(b, pr->keep_frames);
}

/* Part i's strings into the merged set, its ids past those before it. */
static int merge_part(pb_profile **parts, size_t i, struct strset *strs, struct merge_base *b)
{
	pb_profile *pr = parts[i];
	size_t j;
	long idx;

	b->str = calloc(pr->n_string_table + 1, sizeof(*b->str));
	if (!b->str)
		return -ENOMEM;
	b->nstr = pr->n_string_table;
	for (j = 0; j < pr->n_string_table; j++) {
		idx = strset__add(strs, pr->string_table[j], strlen(pr->string_table[j]));
		if (idx < 0)
			return -ENOMEM;
		b->str[j] = idx;
	}
	if (i == 0)
		merge_rebase_header(pr, b);
	merge_rebase(pr, b);
	return 0;
}

int pprof__merge(FILE *f, const struct pprof_part *in, size_t n)
{
	pb_profile **parts = calloc(n + 1, sizeof(*parts));
	struct strset *strs = strset__new();
	struct merge_base b = {0};
	size_t i, j;
	int err = 0;

	if (!parts || !strs || strset__add(strs, "", 0) < 0)
		err = -ENOMEM;
	for (i = 0; !err && i < n; i++) {
		parts[i] = unpack_gzip(in[i].buf, in[i].len);
		if (!parts[i])
			err = -errno;
		if (!err)
			err = merge_part(parts, i, strs, &b);
		free(b.str);
		b.str = NULL;
		/* Ids are 1...: the next part's follow the largest of this one. */
		for (j = 0; !err && j < parts[i]->n_mapping; j++)
			b.mapping = parts[i]->mapping[j]->id > b.mapping ? parts[i]->mapping[j]->id
									 : b.mapping;
		for (j = 0; !err && j < parts[i]->n_location; j++)
			b.location = parts[i]->location[j]->id > b.location
					     ? parts[i]->location[j]->id
					     : b.location;
		for (j = 0; !err && j < parts[i]->n_function; j++)
			b.function = parts[i]->function[j]->id > b.function
					     ? parts[i]->function[j]->id
					     : b.function;
	}
	if (!err && !n)
		err = -EINVAL;
	if (!err)
		err = merge_pack(f, parts, n, strs);
	for (i = 0; parts && i < n; i++)
		if (parts[i])
			perftools__profiles__profile__free_unpacked(parts[i], NULL);
	free(parts);
	strset__free(strs);
	return err;
}
