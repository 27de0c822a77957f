/*
 * admin_later.c - the invariant check on a thread of its own and a
 * merchant's reset in slices: control calls answered later
 * (admin_later.h).
 */
#include "admin_later.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "background.h"
#include "clock.h"
#include "fixtures.h"
#include "invariants.h"
#include "log.h"
#include "store.h"

/* ---- the answers ------------------------------------------------------- */

static void on_violation(void *arg, const char *invariant, const char *detail)
{
	json_array_append_new(arg,
			      json_pack("{s:s,s:s}", "invariant", invariant, "detail", detail));
}

/* The check's answer: n violations (in violations, stolen) of checked
 * invariants, or n < 0 when the store could not be read. */
static void check_answer(struct admin_request *req, int n, int checked, json_t *violations)
{
	if (n < 0) {
		json_decref(violations);
		admin_reply_error(req, 500, "the database could not be read");
		return;
	}
	admin_reply_json(req, n ? 409 : 200,
			 json_pack("{s:b,s:i,s:o}", "ok", n == 0, "checked", checked, "violations",
				   violations));
}

static void check_now(struct admin_ctx *ctx, struct admin_request *req)
{
	json_t *violations = json_array();
	int checked = 0;
	int n = invariants_run(ctx->redpack->store, on_violation, violations, &checked);

	check_answer(req, n, checked, violations);
}

/* After a successful reset: the journal and the clock if asked (also),
 * into the answer j. */
static void reset_also(struct admin_ctx *ctx, unsigned also, json_t *j)
{
	struct store *st = ctx->redpack->store;

	if ((also & ADMIN_RESET_JOURNAL) && ctx->journal) {
		json_object_set_new(j, "journal_cleared",
				    json_integer((json_int_t)journal_count(ctx->journal)));
		journal_clear(ctx->journal);
	}
	if (also & ADMIN_RESET_CLOCK) {
		store_error_clear(st);
		if (store_begin(st) == 0 && store_set_clock_offset(st, 0) == 0 &&
		    store_commit(st) == 0) {
			clock_set_offset(0);
			json_object_set_new(j, "clock_offset_seconds", json_integer(0));
		} else {
			store_rollback(st);
			json_object_set_new(j, "clock_error", json_string(store_first_error(st)));
		}
	}
}

/* The answer of a reset begun at t0: rc as fixtures_reset's. */
static void reset_answer(struct admin_ctx *ctx, struct admin_request *req, int rc, const char *err,
			 const char *mch_id, unsigned also, const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 1) {
		admin_reply_error(req, 404, "the fixtures do not list this mch_id");
	} else if (rc != 0) {
		admin_reply_error(req, 500, err);
	} else {
		double ms = (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
			    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
		json_t *j = json_pack("{s:b,s:f}", "reset", 1, "milliseconds", ms);
		json_object_set_new(j, "mch_id", mch_id ? json_string(mch_id) : json_null());
		reset_also(ctx, also, j);
		admin_reply_json(req, 200, j);
	}
}

/* ---- answers given later ----------------------------------------------- */

/* The invariant check runs on a thread of its own over a second
 * connection whose read transaction starts when the check does, so the
 * answer is the one the check would have given on the loop at that
 * moment, while the loop goes on serving. One thread at a time: checks
 * asked for while one runs wait for it to end, then share the next run
 * (each of them came before that run's snapshot). A merchant's reset
 * deletes its packets ADMIN_RESET_SLICE at a time, each slice a
 * transaction of its own in a turn of its own (every commit keeps every
 * invariant), then writes the merchant again from the fixtures in one
 * last transaction, and answers. Meanwhile the merchant API answers that
 * merchant SYSTEMERROR (redpack_resetting). Resets run one after the
 * other, in the order asked; a full reset, which swaps the database
 * file, waits until no check's connection is open on the old one. */

/* A request waiting for its answer. */
struct later {
	struct later *next;
	void *transport;
};

struct check_run {
	struct admin_work *work;
	struct store *reader;  /* the snapshot, opened on the loop */
	struct buf found;      /* "invariant\0detail\0" per violation */
	int n, checked;	       /* invariants_run_reader's */
	struct later *waiters; /* answered with this run */
};

struct reset_job {
	struct reset_job *next;
	char *mch_id;  /* NULL: everything */
	unsigned also; /* ADMIN_RESET_* */
	void *transport;
	struct timespec t0;
};

struct admin_work {
	struct admin_ctx *ctx;
	struct background *bg;
	struct check_run *check;  /* on the thread; NULL: none */
	struct later *next_check; /* asked for since: the next run's */
	struct reset_job *resets; /* the first runs, the others wait */
	int stopping;
	/* for /metrics */
	uint64_t checks_threaded, reset_slices;
	int64_t slice_packets_max, slice_rows_max;
};

static int can_defer(struct admin_ctx *ctx, const struct admin_request *req)
{
	return ctx->work && !ctx->work->stopping && ctx->send_later && req->transport;
}

static struct later *later_new(void *transport, struct later *next)
{
	struct later *l = xmalloc(sizeof(*l));
	l->transport = transport;
	l->next = next;
	return l;
}

/* Sends answer to every waiter (or, while stopping, drops them), and
 * frees the list. */
static void answer_all(struct admin_ctx *ctx, struct later *l, const struct admin_request *answer)
{
	while (l) {
		struct later *next = l->next;
		if (answer)
			ctx->send_later(ctx->later_arg, l->transport, answer);
		else
			ctx->drop_later(ctx->later_arg, l->transport);
		free(l);
		l = next;
	}
}

static int full_reset_queued(const struct admin_work *w)
{
	for (const struct reset_job *j = w->resets; j; j = j->next)
		if (!j->mch_id)
			return 1;
	return 0;
}

/* ---- the check on its thread ---- */

static void on_found(void *arg, const char *invariant, const char *detail)
{
	buf_append(arg, invariant, strlen(invariant) + 1);
	buf_append(arg, detail, strlen(detail) + 1);
}

static void check_work(void *arg)
{
	struct check_run *run = arg;
	run->n = invariants_run_reader(run->reader, on_found, &run->found, &run->checked);
}

static void check_stop(void *arg)
{
	struct check_run *run = arg;
	store_interrupt(run->reader);
}

static int check_start(struct admin_work *w, struct later *waiters);

/* The same on the loop, for waiters whose thread could not start. */
static void check_now_for(struct admin_work *w, struct later *waiters)
{
	struct admin_request answer = {0};

	buf_init(&answer.reply);
	check_now(w->ctx, &answer);
	answer_all(w->ctx, waiters, &answer);
	buf_release(&answer.reply);
}

/* The checks asked for while one ran (or while a full reset waited),
 * when nothing holds them any more. */
static void check_next(struct admin_work *w)
{
	struct later *waiters = w->next_check;

	if (w->stopping || w->check || !waiters || full_reset_queued(w))
		return;
	w->next_check = NULL;
	if (check_start(w, waiters) != 0)
		check_now_for(w, waiters);
}

/* On the loop, once the thread's work has returned. */
static void check_done(void *arg)
{
	struct check_run *run = arg;
	struct admin_work *w = run->work;
	struct store *st = w->ctx->redpack->store;

	if (run->n < 0 && !w->stopping)
		log_error("check: %s", store_first_error(run->reader));
	store_reader_close(st, run->reader);
	w->check = NULL;
	if (w->stopping) {
		answer_all(w->ctx, run->waiters, NULL);
	} else {
		struct admin_request answer = {0};
		json_t *violations = json_array();
		for (size_t at = 0; at < run->found.len;) {
			const char *name = run->found.data + at;
			const char *detail = name + strlen(name) + 1;
			on_violation(violations, name, detail);
			at = (size_t)(detail + strlen(detail) + 1 - run->found.data);
		}
		buf_init(&answer.reply);
		check_answer(&answer, run->n, run->checked, violations);
		answer_all(w->ctx, run->waiters, &answer);
		buf_release(&answer.reply);
	}
	buf_release(&run->found);
	free(run);
	check_next(w);
	background_kick(w->bg); /* a full reset may have waited for this */
}

/* Opens the snapshot now and starts the thread on it for waiters.
 * Returns 0, or -1 with nothing started. */
static int check_start(struct admin_work *w, struct later *waiters)
{
	struct store *st = w->ctx->redpack->store;
	struct check_run *run;
	char err[256];

	run = xcalloc(1, sizeof(*run));
	run->work = w;
	run->waiters = waiters;
	buf_init(&run->found);
	run->reader = store_reader_open(st, err, sizeof(err));
	if (!run->reader)
		log_warn("check: %s: checking on the event loop", err);
	if (!run->reader ||
	    background_thread(w->bg, check_work, check_done, check_stop, run) != 0) {
		store_reader_close(st, run->reader);
		free(run);
		return -1;
	}
	w->check = run;
	w->checks_threaded++;
	return 0;
}

/* Returns 0 when the check answers later, -1 when it must run now. */
static int check_later(struct admin_ctx *ctx, struct admin_request *req)
{
	struct admin_work *w = ctx->work;
	struct later *l;

	if (!can_defer(ctx, req) || !store_can_share(ctx->redpack->store))
		return -1;
	l = later_new(req->transport, NULL);
	if (w->check || full_reset_queued(w)) {
		l->next = w->next_check;
		w->next_check = l;
	} else if (check_start(w, l) != 0) {
		free(l);
		return -1;
	}
	req->later = 1;
	return 0;
}

/* ---- resets in slices ---- */

/* The merchant's rows are all deleted: the rest in one transaction. */
static void reset_finish(struct admin_ctx *ctx, const struct reset_job *job,
			 struct admin_request *answer)
{
	char err[512];
	int rc = fixtures_reset(ctx->redpack->store, ctx->fixtures, job->mch_id, clock_now(), err,
				sizeof(err));
	reset_answer(ctx, answer, rc, err, job->mch_id, job->also, &job->t0);
}

/* One step of the job: a full reset at once, or a slice of a merchant's
 * (and the end when none of its packets is left). Returns 1 when more is
 * to do, 2 when a full reset waits for a check's connection to close, 0
 * when done (answer filled in). */
static int reset_step(struct admin_work *w, const struct reset_job *job,
		      struct admin_request *answer)
{
	struct redpack *rp = w->ctx->redpack;
	int64_t rows = 0;
	int n;

	if (!job->mch_id) {
		if (w->check)
			return 2;
		reset_finish(w->ctx, job, answer);
		return 0;
	}
	snprintf(rp->resetting, sizeof(rp->resetting), "%s", job->mch_id);
	if (store_begin(rp->store) != 0 ||
	    (n = store_reset_slice(rp->store, job->mch_id, ADMIN_RESET_SLICE, &rows)) < 0 ||
	    store_commit(rp->store) != 0) {
		store_rollback(rp->store);
		rp->resetting[0] = '\0';
		admin_reply_error(answer, 500, "the database could not be reset (see the log)");
		return 0;
	}
	if (n > 0) {
		w->reset_slices++;
		if (n > w->slice_packets_max)
			w->slice_packets_max = n;
		if (rows > w->slice_rows_max)
			w->slice_rows_max = rows;
	}
	if (n == ADMIN_RESET_SLICE)
		return 1; /* perhaps more: the next slice in a later turn */
	rp->resetting[0] = '\0';
	reset_finish(w->ctx, job, answer);
	return 0;
}

static void reset_job_free(struct reset_job *job)
{
	free(job->mch_id);
	free(job);
}

/* The stepper: the first job's next step, once per turn. */
static int on_reset_step(void *arg)
{
	struct admin_work *w = arg;
	struct reset_job *job = w->resets;
	struct admin_request answer = {0};
	int r;

	if (!job)
		return -1;
	buf_init(&answer.reply);
	r = reset_step(w, job, &answer);
	if (r != 0) {
		buf_release(&answer.reply);
		return r == 1 ? 0 : 1000; /* waiting for a check: it kicks us when done */
	}
	w->ctx->send_later(w->ctx->later_arg, job->transport, &answer);
	buf_release(&answer.reply);
	w->resets = job->next;
	reset_job_free(job);
	check_next(w); /* the checks a full reset held back */
	return w->resets ? 0 : -1;
}

/* Returns 0 when the reset was answered (now or later), -1 when it must
 * run now as before. */
static int reset_later(struct admin_ctx *ctx, struct admin_request *req, const char *mch_id,
		       unsigned also)
{
	struct admin_work *w = ctx->work;
	struct reset_job *job, **tail;
	char err[512];

	if (!can_defer(ctx, req))
		return -1;
	if (mch_id) {
		switch (fixtures_lists(ctx->fixtures, mch_id, err, sizeof(err))) {
		case -1:
			admin_reply_error(req, 500, err);
			return 0;
		case 0:
			admin_reply_error(req, 404, "the fixtures do not list this mch_id");
			return 0;
		}
	}
	job = xcalloc(1, sizeof(*job));
	job->mch_id = mch_id ? xstrdup(mch_id) : NULL;
	job->also = also;
	job->transport = req->transport;
	clock_gettime(CLOCK_MONOTONIC, &job->t0);
	/* Nothing queued: a reset done in one step answers at once. */
	if (!w->resets && reset_step(w, job, req) == 0) {
		reset_job_free(job);
		return 0;
	}
	for (tail = &w->resets; *tail; tail = &(*tail)->next)
		;
	*tail = job;
	if (w->resets == job)
		background_steps(w->bg, on_reset_step, w);
	req->later = 1;
	return 0;
}

/* ---- start and stop ---- */

int admin_background_start(struct admin_ctx *ctx, struct event_base *base)
{
	struct admin_work *w = xcalloc(1, sizeof(*w));

	w->ctx = ctx;
	w->bg = background_new(base, ctx->redpack->store);
	if (!w->bg) {
		free(w);
		return -1;
	}
	ctx->work = w;
	return 0;
}

void admin_background_stop(struct admin_ctx *ctx)
{
	struct admin_work *w = ctx->work;

	if (!w)
		return;
	w->stopping = 1;
	background_free(w->bg); /* joins a running check: check_done drops its waiters */
	answer_all(ctx, w->next_check, NULL);
	while (w->resets) {
		struct reset_job *job = w->resets;
		w->resets = job->next;
		ctx->drop_later(ctx->later_arg, job->transport);
		reset_job_free(job);
	}
	ctx->redpack->resetting[0] = '\0';
	free(w);
	ctx->work = NULL;
}

static int resets_count(const struct admin_work *w)
{
	int n = 0;
	for (const struct reset_job *j = w->resets; j; j = j->next)
		n++;
	return n;
}

/* What the background work did, for /metrics. */
static void work_metrics(const struct admin_work *w, struct buf *out)
{
	buf_printf(out,
		   "# HELP redpack_check_threads_total Invariant checks run on their own thread,"
		   " beside the event loop.\n"
		   "# TYPE redpack_check_threads_total counter\nredpack_check_threads_total %llu\n"
		   "# HELP redpack_check_running 1 while a check runs on its thread.\n"
		   "# TYPE redpack_check_running gauge\nredpack_check_running %d\n"
		   "# HELP redpack_reset_slices_total Slices of merchants' resets (each its own"
		   " transaction and turn of the event loop).\n"
		   "# TYPE redpack_reset_slices_total counter\nredpack_reset_slices_total %llu\n"
		   "# HELP redpack_reset_slice_packets_max The most packets one slice deleted"
		   " (at most %d).\n"
		   "# TYPE redpack_reset_slice_packets_max gauge\nredpack_reset_slice_packets_max "
		   "%lld\n"
		   "# HELP redpack_reset_slice_rows_max The most rows (packets, shares, ledger) one"
		   " slice deleted.\n"
		   "# TYPE redpack_reset_slice_rows_max gauge\nredpack_reset_slice_rows_max %lld\n"
		   "# HELP redpack_resets_waiting Resets running or waiting their turn.\n"
		   "# TYPE redpack_resets_waiting gauge\nredpack_resets_waiting %d\n",
		   (unsigned long long)w->checks_threaded, w->check != NULL,
		   (unsigned long long)w->reset_slices, ADMIN_RESET_SLICE,
		   (long long)w->slice_packets_max, (long long)w->slice_rows_max, resets_count(w));
}

/* ---- the calls --------------------------------------------------------- */

void admin_later_check(struct admin_ctx *ctx, struct admin_request *req)
{
	if (check_later(ctx, req) != 0)
		check_now(ctx, req);
}

void admin_later_reset(struct admin_ctx *ctx, struct admin_request *req, const char *mch_id,
		       unsigned also)
{
	char err[512];
	struct timespec t0;
	int rc;

	if (reset_later(ctx, req, mch_id, also) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fixtures_reset(ctx->redpack->store, ctx->fixtures, mch_id, clock_now(), err,
			    sizeof(err));
	reset_answer(ctx, req, rc, err, mch_id, also, &t0);
}

void admin_later_metrics(const struct admin_ctx *ctx, struct buf *out)
{
	if (ctx->work)
		work_metrics(ctx->work, out);
}
