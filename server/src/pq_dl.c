/*
 * pq_dl.c - libpq loaded on first use (pq_dl.h).
 */
#define PQ_DL_INTERNAL
#include "pq_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

struct pq_fns pq_fns;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[256];

static void load(void)
{
	/* Never closed: its functions are called until the process ends. */
	void *lib = dlopen(PQ_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!lib) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error),
			 "cannot load %s (PostgreSQL's client library, Debian's libpq5): %s",
			 PQ_DL_SONAME, why ? why : "not found");
		return;
	}
#define PQ_DL_RESOLVE(name)                                                                        \
	if (!missing && !(*(void **)&pq_fns.name = dlsym(lib, #name)))                             \
		missing = #name;
	PQ_DL_FUNCTIONS(PQ_DL_RESOLVE)
#undef PQ_DL_RESOLVE
	if (missing) {
		snprintf(load_error, sizeof(load_error),
			 "%s has no %s: libpq 14 or later is needed (pipeline mode)", PQ_DL_SONAME,
			 missing);
		return;
	}
	loaded = 1;
}

int pq_load(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (loaded)
		return 0;
	if (errlen)
		snprintf(err, errlen, "%s", load_error);
	return -1;
}
