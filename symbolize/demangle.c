// SPDX-License-Identifier: GPL-2.0
/* Demangling through libiberty (binutils' demangler: C++ Itanium, Rust legacy and v0). */
#include <string.h>
#include <libiberty/demangle.h>
#include "symbolize.h"

char *symbol__demangle(const char *name)
{
	if (name[0] != '_')
		return NULL;
	/* Rust v0 */
	if (name[1] == 'R')
		return rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	/* Itanium C++, and Rust legacy (which wraps it: DMGL_AUTO strips its hash) */
	if (name[1] == 'Z')
		return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	return NULL;
}
