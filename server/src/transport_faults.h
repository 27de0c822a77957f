/*
 * transport_faults.h - carrying out a fault rule's transport fault on an
 * API request whose answer is ready: a delayed answer, a hang, a reset,
 * an empty close or a truncated answer, each on a timer (nothing blocks
 * the event loop). The pages (503, 502) are the front end's own.
 */
#ifndef REDPACK_TRANSPORT_FAULTS_H
#define REDPACK_TRANSPORT_FAULTS_H

#include <stddef.h>

#include <event2/event.h>

#include "faults.h"
#include "util.h"

/* What the front end (http.c) does for a held-back answer; conn is its
 * own. answer, truncate and drop release the answer themselves (released
 * has already run). */
struct transport_fault_front {
	/* Sends reply whole, as a 200 with the front end's headers. */
	void (*answer)(void *conn, const struct buf *reply);
	/* Headers promising reply whole, half of it, then the end. */
	void (*truncate)(void *conn, const struct buf *reply);
	/* Ends the connection without an answer: a FIN, or a reset. */
	void (*drop)(void *conn, int reset);
	/* The answer is no longer held on conn (it was sent or dropped). */
	void (*released)(void *conn);
};

struct transport_fault;

/* Holds a copy of reply back for delay_ms (FAULT_DELAY) or up to 10
 * minutes (FAULT_HANG, then dropped), or at once for the others, then
 * carries out kind. The result is freed when it is carried out, or by
 * transport_fault_closed; the caller keeps it until front->released. */
struct transport_fault *transport_fault_start(struct event_base *base,
					      const struct transport_fault_front *front, void *conn,
					      enum fault_transport kind, int delay_ms,
					      const struct buf *reply);

/* The connection closed first: frees t. */
void transport_fault_closed(struct transport_fault *t);

#endif
