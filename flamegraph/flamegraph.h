/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stack tables and the files made from them. Pure: no perf or BPF calls.
 */
#ifndef PMUPROF_FLAMEGRAPH_H
#define PMUPROF_FLAMEGRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

/*
 * The stack model every output reads. A frame is a record, interned once per table; a
 * stack is a sequence of frames (outermost first) with both of its counts. Folded stacks,
 * SVG and report read the stacks by their folded spelling (the frames' names joined with
 * ';'), so stacks that differ only in what a name does not show (an address, a line) are
 * one line there; pprof reads the frames. The spelling is not stored: it is made from the
 * frames when an output asks for it.
 */
enum stack_frame_kind {
	STACK_FRAME_UNKNOWN, /* a name only: "[unknown]", "[truncated]", "[lost:...]", ... */
	STACK_FRAME_USER,    /* user code in a mapped file */
	STACK_FRAME_KERNEL,
	STACK_FRAME_JIT,     /* named by the process's perf map */
	STACK_FRAME_PROCESS, /* the process (its name), first in a stack */
};

struct stack_frame {
	const char *name;     /* as folded stacks spell it: "main", "schedule_[k]", "[libc.so.6]" */
	const char *function; /* the function alone; NULL when not named */
	const char *file;     /* source file; NULL when unknown */
	uint32_t line;	      /* 0: unknown */
	bool inlined;	      /* inlined into the frame before it, at the same address */
	enum stack_frame_kind kind;
	uint32_t module; /* stack_table__add_module()'s id; 0: none */
	/* In a module: the offset in its file (the same code in every process); kernel:
	 * the address; a process: its thread id when stacks are per thread; else 0. */
	uint64_t address;
};

/*
 * A mapped file, and where its code lies: [start, limit) holds its bytes from file offset
 * offset on (a frame at file offset a is at start + a - offset). record places it at the
 * file's link-time addresses (those its symbols have, the same in every process); a
 * known module grows to hold another mapping's offsets at the same place.
 */
struct stack_module {
	const char *path;
	const char *build_id; /* hex, "" or NULL when unknown */
	uint64_t start, limit, offset;
};

struct stack_count {
	uint64_t samples;
	uint64_t weight; /* the events the samples stand for (sum of periods), ns for clocks */
};

struct stack_entry {
	const char *stack; /* "comm;outer;...;leaf" */
	uint64_t count;	   /* samples or weight: stack_table__set_weighted() */
	uint64_t samples, weight;
};

/* A stack of frames in a table, valid until the table is freed. */
struct stack_ref;

struct stack_table;

struct stack_table *stack_table__new(void);
void stack_table__free(struct stack_table *st);

/* Folded stacks, SVG and report count weights (true) or samples (false, the default). */
void stack_table__set_weighted(struct stack_table *st, bool weighted);

/*
 * Add count (as samples and weight both) to a stack given as names, outermost first. A
 * ';' inside a name would split the frame, so it becomes ':'; control characters become
 * '?'.
 */
int stack_table__add(struct stack_table *st, const char *const *frames, size_t nr, uint64_t count);
/* stack_table__add(), but a new stack beyond max distinct ones is refused (-ENOSPC). */
int stack_table__add_bounded(struct stack_table *st, const char *const *frames, size_t nr,
			     uint64_t count, size_t max);
/* Add count to an already joined stack (used as is: its frames are split at ';'). */
int stack_table__add_joined(struct stack_table *st, const char *stack, uint64_t count);
int stack_table__add_joined_counts(struct stack_table *st, const char *stack,
				   const struct stack_count *c);

/* The id (1...) of a module, added when new; a known one grows to cover this mapping.
 * Negative errno on failure. */
int64_t stack_table__add_module(struct stack_table *st, const struct stack_module *m);
/* A module by id, NULL if none. */
const struct stack_module *stack_table__module(const struct stack_table *st, uint32_t id);
size_t stack_table__nr_modules(const struct stack_table *st);

/*
 * Add counts to a stack of frame records, outermost first; a new stack whose folded
 * spelling is not in the table yet is refused beyond max distinct ones (-ENOSPC). *ref
 * (when not NULL): the stack, for stack_table__add_ref().
 */
int stack_table__add_frames(struct stack_table *st, const struct stack_frame *frames, size_t nr,
			    const struct stack_count *c, size_t max, const struct stack_ref **ref);
int stack_table__add_ref(struct stack_table *st, const struct stack_ref *ref,
			 const struct stack_count *c);
/*
 * A stack's frame ids, outermost first (*nr of them), as stack_table__frame() takes them:
 * in a buffer of the table's, valid until the next call (NULL: out of memory).
 */
const uint32_t *stack_table__ref_frames(const struct stack_table *st, const struct stack_ref *ref,
					size_t *nr);
/*
 * A stack's folded spelling into buf (sz > 0 bytes, NUL-terminated, cut to fit); returns
 * its whole length. Stacks keep frame ids only: they are spelt when asked.
 */
size_t stack_table__spell(const struct stack_table *st, const struct stack_ref *ref, char *buf,
			  size_t sz);

size_t stack_table__len(const struct stack_table *st);
uint64_t stack_table__total(const struct stack_table *st);
/* The count of one joined stack, 0 if absent. */
uint64_t stack_table__get(const struct stack_table *st, const char *stack);

/*
 * fn for every folded stack, sorted byte-wise (stackcollapse-perf's order), with its count;
 * each spelt in turn (stack is valid during the call). Stops at fn's first non-zero return.
 */
int stack_table__each_folded(struct stack_table *st,
			     int (*fn)(const char *stack, uint64_t count, void *arg), void *arg);
/* Entries sorted byte-wise by stack (stackcollapse-perf's order), all spelt at once. The
 * array belongs to the table and is valid until the next add. NULL + errno on failure. */
const struct stack_entry *stack_table__sorted(struct stack_table *st);
/* Entries sorted by count, highest first (ties by stack). Same ownership rules. */
const struct stack_entry *stack_table__by_count(struct stack_table *st);

/* Frames by id (0 ... nr - 1), as stacks list them. */
size_t stack_table__nr_frames(const struct stack_table *st);
const struct stack_frame *stack_table__frame(const struct stack_table *st, uint32_t id);

/* Every stack of frames, in the order added: its frame ids (outermost first) and counts. */
struct stack_visit {
	const uint32_t *frames;
	size_t nr;
	struct stack_count count;
	bool single; /* some count was added as one number (samples and weight alike) */
};

int stack_table__each(const struct stack_table *st,
		      int (*fn)(const struct stack_visit *v, void *arg), void *arg);

/* Write "stack count" lines, sorted. 0 or a negative errno. */
int folded__write(FILE *f, struct stack_table *st);

/* folded__write into path atomically. */
int folded__write_file(const char *path, struct stack_table *st);

/* ---- folded input ---- */
struct folded_line {
	char *stack;
	double before; /* differential input: the first count */
	double after;  /* the count (the second one in differential input) */
};

struct folded_data {
	struct folded_line *lines;
	size_t nr, cap;
	size_t invalid;	   /* lines skipped: not "stack count" */
	bool differential; /* some line had two counts */
};

/* Append the lines of f. 0 or a negative errno. */
int folded__read(FILE *f, struct folded_data *d);
void folded_data__free(struct folded_data *d);

/*
 * difffolded.pl: every stack of either profile with its two counts ("stack before
 * after", 0 where absent), sorted. normalize scales the first profile to the second's
 * total; striphex turns 0x... addresses into "0x...".
 */
int folded__diff(const struct folded_data *before, const struct folded_data *after, bool normalize,
		 bool striphex, struct folded_data *out);
int folded__write_diff(FILE *f, const struct folded_data *d);

/* ---- UTF-8: names written to XML and JSON are made valid ---- */
/* The length (1..4) of the valid UTF-8 character at s (len bytes there), 0 if invalid. */
size_t utf8__char_len(const char *s, size_t len);
/* cut, or less so as not to split a character of s (len bytes). */
size_t utf8__boundary(const char *s, size_t len, size_t cut);

/* ---- report: perf report's Self and Children view of a folded profile ---- */

struct report_entry {
	char *name;
	double self;  /* stacks whose leaf it is */
	double total; /* stacks it is on (once per stack, recursion or not) */
};

struct report {
	struct report_entry *entries;
	size_t nr;
	double total; /* the profile's total count (the "after" counts of a diff) */
};

enum report_sort { REPORT_SORT_SELF, REPORT_SORT_TOTAL };

/* One entry per distinct frame name, unsorted. 0 or a negative errno. */
int report__build(struct report *r, const struct folded_data *d);
/* Highest first (ties: the other column, then the name). */
void report__sort(struct report *r, enum report_sort by);
void report__exit(struct report *r);

/* Callers and callees of one function: its outermost call on each stack. */
#define REPORT_ROOT "[root]" /* the caller of a stack's first frame */
struct report_focus {
	double grand_total, total;
	double self;	       /* stacks it is the leaf of */
	double outer_self;     /* ... where that is its outermost call (callees' remainder) */
	struct report callers; /* entries' total: count through that caller */
	struct report callees; /* callees' totals and outer_self add up to total */
};

int report__focus(const struct folded_data *d, const char *name, struct report_focus *f);
void report_focus__exit(struct report_focus *f);

/* ---- SVG flame graphs (flamegraph.pl's options) ---- */
struct flamegraph_opts {
	const char *title, *subtitle, *countname, *nametype, *fonttype, *colors, *bgcolors;
	const char *notes;
	const char *palette_file; /* --cp: name → color map, read and updated */
	int width, frame_height, fontsize;
	double fontwidth, minwidth; /* minwidth in pixels, or percent when minwidth_pct */
	bool minwidth_pct, reverse, inverted, flamechart, negate;
	double factor;
};

void flamegraph_opts__init(struct flamegraph_opts *o);

/* Render the lines (sorted here unless flamechart) as an interactive SVG. */
int flamegraph__write(FILE *out, struct folded_data *d, const struct flamegraph_opts *o);

/* A table's stacks as folded lines (for rendering what a record collected). */
int folded_data__from_table(struct folded_data *d, struct stack_table *st);

/* ---- pprof (profile.proto, gzip-compressed) ---- */
struct pprof_opts {
	const char *event;  /* sample type name: "cycles", "cpu-clock"... */
	bool clock;	    /* cpu-clock/task-clock: values in nanoseconds */
	bool weight_counts; /* the table holds weights (events or ns), not samples */
	unsigned long long period, freq;
	int64_t time_nanos, duration_nanos;
	const char *comment;
	const char *main_binary; /* first mapping: what pprof shows as "File:" */
	/* A first frame "{k=v,k=v}" holds the sample's labels (string values), not a
	 * location; a process frame may follow it. */
	bool root_labels;
};

/*
 * Write the table as a gzip-compressed profile.proto (flamegraph/profile.proto): a mapping
 * per module (the main binary first), a location per address with its lines (inlined
 * functions first), a function per name and source file; the process frame (and a thread
 * id) as sample labels; values samples/count and events/count (cpu/nanoseconds for
 * clocks) as counted. Stacks added with a single count get the other value from the
 * options (weight_counts, period, freq). "[lost:REASON]" entries are frames of their own.
 */
int pprof__write(FILE *f, struct stack_table *st, const struct pprof_opts *o);

/* A gzip-compressed profile in memory. */
struct pprof_part {
	const void *buf;
	size_t len;
};

/*
 * Write the parts (profiles of one sample type, such as pprof__write's of successive
 * windows) as one gzip-compressed profile: every part's samples, mappings, locations and
 * functions under ids of their own, the first part's sample types, period and comments,
 * the time from the first part's start to the last one's end. -EINVAL: no part, or one
 * is not a gzip-compressed profile.
 */
int pprof__merge(FILE *f, const struct pprof_part *parts, size_t n);

/* ---- perf script → folded (stackcollapse-perf.pl's rules) ---- */
struct collapse_opts {
	bool pid, tid;		  /* append -PID or -PID/TID to the process name */
	bool kernel, jit;	  /* annotate _[k] and _[j] frames */
	bool addrs;		  /* keep the address of [unknown] frames */
	const char *event_filter; /* NULL: the first event type seen */
	bool perl_compat;	  /* drop a last sample without its blank line, as Perl */
};

struct collapse_stats {
	uint64_t lines, samples;
	uint64_t unrecognized; /* lines that are neither header, frame nor blank */
	uint64_t filtered;     /* samples of other event types */
	uint64_t other_events; /* ... when the filter was defaulted */
	uint64_t incomplete;   /* a last sample without its closing blank line */
	char event[128];       /* the event kept, when others were dropped */
};

int perf_script__collapse(FILE *in, const struct collapse_opts *o, struct stack_table *out,
			  struct collapse_stats *st);

#endif
