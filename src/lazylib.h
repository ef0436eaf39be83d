/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Libraries loaded at their first use instead of linked: what only some commands need
 * (the disassembler, libpfm4's event tables, the agent's HTTP server and push client,
 * libsystemd, libdebuginfod and the TLS stack behind it) costs no memory and no
 * relocation time in the others. Each user keeps a table of the functions it calls: their
 * types come from the library's own header (built against it), their addresses from
 * dlsym at the first lazylib__load().
 */
#ifndef PMUPROF_LAZYLIB_H
#define PMUPROF_LAZYLIB_H

#include <stddef.h>

/* One function to look up: its symbol and the pointer that receives it. */
struct lazylib_sym {
	const char *name;
	void **fn;
};

struct lazylib {
	const char *soname;  /* "libcurl.so.4" */
	const char *package; /* the Debian package that installs it */
	const struct lazylib_sym *syms;
	size_t nr_syms;
	int state;     /* 0 not tried, 1 loaded, negative errno */
	char why[200]; /* what dlopen or dlsym said */
};

/* An entry of a table: the member field of the struct lib receives the function sym. */
#define LAZYLIB_SYM(lib, field, sym)                                                               \
	{                                                                                          \
		.name = #sym, .fn = (void **)&(lib).field                                          \
	}

#define LAZYLIB(soname_, package_, syms_)                                                          \
	{                                                                                          \
		.soname = (soname_), .package = (package_), .syms = (syms_),                       \
		.nr_syms = sizeof(syms_) / sizeof((syms_)[0])                                      \
	}

/*
 * Load the library and resolve every function of its table, once (thread-safe; a failure
 * is not retried). 0, -ELIBACC when the library cannot be loaded, -ELIBBAD when it lacks
 * one of the functions.
 */
int lazylib__load(struct lazylib *lib);

/*
 * One line for the user after a failed lazylib__load(): names the library, the package
 * that installs it and what the loader said. Returns buf.
 */
const char *lazylib__strerror(const struct lazylib *lib, char *buf, size_t sz);

#endif
