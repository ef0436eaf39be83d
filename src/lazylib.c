// SPDX-License-Identifier: GPL-2.0
/* Libraries loaded at their first use (lazylib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include "lazylib.h"

/* Loads are rare: one lock for all of them. */
static pthread_mutex_t lazylib_lock = PTHREAD_MUTEX_INITIALIZER;

static int lazylib__open(struct lazylib *lib)
{
	/* RTLD_LOCAL: its symbols stay out of the way of other libraries. */
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	const char *e;
	size_t i;

	if (!h) {
		e = dlerror();
		snprintf(lib->why, sizeof(lib->why), "%s", e ? e : "cannot be loaded");
		return -ELIBACC;
	}
	for (i = 0; i < lib->nr_syms; i++) {
		*lib->syms[i].fn = dlsym(h, lib->syms[i].name);
		if (!*lib->syms[i].fn) {
			snprintf(lib->why, sizeof(lib->why), "%s has no %s (too old?)", lib->soname,
				 lib->syms[i].name);
			dlclose(h);
			return -ELIBBAD;
		}
	}
	return 1;
}

int lazylib__load(struct lazylib *lib)
{
	int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

	if (!state) {
		pthread_mutex_lock(&lazylib_lock);
		state = lib->state;
		if (!state) {
			state = lazylib__open(lib);
			__atomic_store_n(&lib->state, state, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&lazylib_lock);
	}
	return state < 0 ? state : 0;
}

const char *lazylib__strerror(const struct lazylib *lib, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s is needed: install the Debian package %s (%s)", lib->soname,
		 lib->package, lib->why[0] ? lib->why : "not loaded");
	return buf;
}
