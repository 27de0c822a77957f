/*
 * invariants.h - the invariant checker: the whole database against the rules
 * money and packets must obey. Used by GET /admin/v1/check (and through
 * it by redpack-ctl check) after every end-to-end test.
 */
#ifndef REDPACK_INVARIANTS_H
#define REDPACK_INVARIANTS_H

#include "store.h"

/* Called once per violation: the invariant's name and what breaks it. */
typedef void (*invariants_violation_fn)(void *arg, const char *invariant, const char *detail);

/* Runs every invariant inside one read transaction. Returns the number
 * of violations (0: all hold), or -1 when the store could not be read.
 * *checked receives the number of invariants run. */
int invariants_run(struct store *s, invariants_violation_fn on_violation, void *arg, int *checked);

/* The same on a reader (store_reader_open), inside the read transaction
 * it already holds: the same answer as invariants_run at the moment the
 * reader was opened. Runs on any one thread; -1 also when interrupted
 * (store_interrupt). */
int invariants_run_reader(struct store *reader, invariants_violation_fn on_violation, void *arg,
			  int *checked);

#endif
