/*
 * pq_dl.h - libpq, loaded when a postgresql:// store is first opened.
 *
 * Linked in, libpq brought 14 libraries more into every start (Kerberos,
 * LDAP, SASL, GnuTLS and theirs): about 8 ms of a 40 ms cold start on
 * the benchmark machine, paid by every SQLite run too. Here the server
 * declares libpq's functions from its header as usual, but each name
 * below calls through pq_fns, filled by pq_load from libpq.so.5 (Debian's
 * libpq5) on the first pg_open. Code that includes this header (pg.h
 * does) calls PQexec(...) as ever; before pq_load has succeeded, no such
 * call may be made.
 */
#ifndef REDPACK_PQ_DL_H
#define REDPACK_PQ_DL_H

#include <stddef.h>

#include <libpq-fe.h>

/* The shared object loaded: libpq's soname, its ABI since PostgreSQL 8.3. */
#define PQ_DL_SONAME "libpq.so.5"

/* Every libpq function the server and its tests call. */
#define PQ_DL_FUNCTIONS(X)                                                                         \
	X(PQcancel)                                                                                \
	X(PQclear)                                                                                 \
	X(PQcmdStatus)                                                                             \
	X(PQcmdTuples)                                                                             \
	X(PQconnectdbParams)                                                                       \
	X(PQconninfo)                                                                              \
	X(PQconninfoFree)                                                                          \
	X(PQenterPipelineMode)                                                                     \
	X(PQerrorMessage)                                                                          \
	X(PQexec)                                                                                  \
	X(PQexecPrepared)                                                                          \
	X(PQexitPipelineMode)                                                                      \
	X(PQfinish)                                                                                \
	X(PQfreeCancel)                                                                            \
	X(PQgetCancel)                                                                             \
	X(PQgetResult)                                                                             \
	X(PQgetisnull)                                                                             \
	X(PQgetvalue)                                                                              \
	X(PQntuples)                                                                               \
	X(PQparameterStatus)                                                                       \
	X(PQpipelineSync)                                                                          \
	X(PQprepare)                                                                               \
	X(PQreset)                                                                                 \
	X(PQresultErrorField)                                                                      \
	X(PQresultErrorMessage)                                                                    \
	X(PQresultStatus)                                                                          \
	X(PQsendQueryParams)                                                                       \
	X(PQsendQueryPrepared)                                                                     \
	X(PQserverVersion)                                                                         \
	X(PQsetNoticeProcessor)                                                                    \
	X(PQstatus)                                                                                \
	X(PQtransactionStatus)

struct pq_fns {
#define PQ_DL_MEMBER(name) __typeof__(name) *name;
	PQ_DL_FUNCTIONS(PQ_DL_MEMBER)
#undef PQ_DL_MEMBER
};

extern struct pq_fns pq_fns;

/* Loads libpq once per process (thread-safe); 0, or -1 with a message in
 * err naming the library and the package that has it. */
int pq_load(char *err, size_t errlen);

#ifndef PQ_DL_INTERNAL
#define PQcancel (pq_fns.PQcancel)
#define PQclear (pq_fns.PQclear)
#define PQcmdStatus (pq_fns.PQcmdStatus)
#define PQcmdTuples (pq_fns.PQcmdTuples)
#define PQconnectdbParams (pq_fns.PQconnectdbParams)
#define PQconninfo (pq_fns.PQconninfo)
#define PQconninfoFree (pq_fns.PQconninfoFree)
#define PQenterPipelineMode (pq_fns.PQenterPipelineMode)
#define PQerrorMessage (pq_fns.PQerrorMessage)
#define PQexec (pq_fns.PQexec)
#define PQexecPrepared (pq_fns.PQexecPrepared)
#define PQexitPipelineMode (pq_fns.PQexitPipelineMode)
#define PQfinish (pq_fns.PQfinish)
#define PQfreeCancel (pq_fns.PQfreeCancel)
#define PQgetCancel (pq_fns.PQgetCancel)
#define PQgetResult (pq_fns.PQgetResult)
#define PQgetisnull (pq_fns.PQgetisnull)
#define PQgetvalue (pq_fns.PQgetvalue)
#define PQntuples (pq_fns.PQntuples)
#define PQparameterStatus (pq_fns.PQparameterStatus)
#define PQpipelineSync (pq_fns.PQpipelineSync)
#define PQprepare (pq_fns.PQprepare)
#define PQreset (pq_fns.PQreset)
#define PQresultErrorField (pq_fns.PQresultErrorField)
#define PQresultErrorMessage (pq_fns.PQresultErrorMessage)
#define PQresultStatus (pq_fns.PQresultStatus)
#define PQsendQueryParams (pq_fns.PQsendQueryParams)
#define PQsendQueryPrepared (pq_fns.PQsendQueryPrepared)
#define PQserverVersion (pq_fns.PQserverVersion)
#define PQsetNoticeProcessor (pq_fns.PQsetNoticeProcessor)
#define PQstatus (pq_fns.PQstatus)
#define PQtransactionStatus (pq_fns.PQtransactionStatus)
#endif

#endif
