/*
 * sqlite_wal_vfs.c - WAL writes gathered into one pwrite() per commit
 * (sqlite_wal_vfs.h).
 *
 * A WAL file's writes are kept in a buffer while each starts where the
 * last ended. The buffer goes to the file (one write through the default
 * VFS) when SQLite writes a commit frame's header (a non-zero "database
 * size after commit", WAL format) and again after the write that follows
 * it (the commit's page), so a commit takes two writes, and
 * before anything that must see the file as written: a read, a sync, a
 * truncate, the size, a file control, the close; and when a write does
 * not follow on, or would not fit. The commit's write reports its error
 * as SQLite's own write would, so a commit either has its frames in the
 * kernel or fails. Frames of a transaction that is rolled back may wait
 * in the buffer until the next of those: nothing reads them (the
 * wal-index does not list them), as in SQLite's own WAL.
 */
#include "sqlite_wal_vfs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define FRAME_HEADER 24
/* The unix VFS writes at most 128 KiB - 1 bytes a call (seekAndWriteFd
 * masks the length with 0x1ffff): a buffer stays below. */
#define BUFFER_MAX (120 * 1024)

struct walfile {
	sqlite3_file base;  /* pMethods: wal_methods */
	sqlite3_file *real; /* the default VFS's file, right after this */
	unsigned char *buf; /* the gathered writes, from offset off */
	size_t len, cap;
	sqlite3_int64 off;
	int commit_next; /* the next write is a commit frame's page */
};

static sqlite3_vfs *parent;
static sqlite3_vfs wal_vfs;
static atomic_uint_fast64_t pwrites, writes;

static int flush(struct walfile *f)
{
	int rc = SQLITE_OK;

	if (f->len) {
		rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
		atomic_fetch_add_explicit(&pwrites, 1, memory_order_relaxed);
		f->len = 0;
	}
	return rc;
}

static int wal_close(sqlite3_file *file)
{
	struct walfile *f = (struct walfile *)file;
	int rc = flush(f), rc2 = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
	struct walfile *f = (struct walfile *)file;
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

/* Whether data[amt] starts with a WAL frame header that ends a
 * transaction: the header alone (how SQLite writes it), or the header and
 * its page in one write. */
static int commit_header(const unsigned char *data, int amt)
{
	int page = amt - FRAME_HEADER;
	return (amt == FRAME_HEADER || (page >= 512 && (page & (page - 1)) == 0)) &&
	       (data[4] | data[5] | data[6] | data[7]) != 0;
}

static int wal_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
	struct walfile *f = (struct walfile *)file;
	int rc = SQLITE_OK, header = commit_header(data, amt);
	/* A commit frame's header and the write after it (its page) both go
	 * out at once: SQLite may also rewrite a committed frame's header
	 * alone, with nothing after it (walRewriteChecksums, when a page
	 * written to the WAL before the commit changed again), and publishes
	 * the commit then; waiting for a page would leave that header here. */
	int commit = f->commit_next || header;

	atomic_fetch_add_explicit(&writes, 1, memory_order_relaxed);
	f->commit_next = header && amt == FRAME_HEADER;
	if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > BUFFER_MAX))
		rc = flush(f);
	if (rc != SQLITE_OK)
		return rc;
	if ((size_t)amt > BUFFER_MAX) {
		atomic_fetch_add_explicit(&pwrites, 1, memory_order_relaxed);
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	}
	if (f->len + (size_t)amt > f->cap) {
		size_t cap = BUFFER_MAX;
		unsigned char *grown = realloc(f->buf, cap);
		if (!grown) { /* write it as SQLite would have */
			rc = flush(f);
			atomic_fetch_add_explicit(&pwrites, 1, memory_order_relaxed);
			return rc != SQLITE_OK ? rc
					       : f->real->pMethods->xWrite(f->real, data, amt, off);
		}
		f->buf = grown;
		f->cap = cap;
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, data, (size_t)amt);
	f->len += (size_t)amt;
	return commit ? flush(f) : SQLITE_OK;
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walfile *f = (struct walfile *)file;
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wal_sync(sqlite3_file *file, int flags)
{
	struct walfile *f = (struct walfile *)file;
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wal_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walfile *f = (struct walfile *)file;
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wal_lock(sqlite3_file *file, int level)
{
	struct walfile *f = (struct walfile *)file;
	return f->real->pMethods->xLock(f->real, level);
}

static int wal_unlock(sqlite3_file *file, int level)
{
	struct walfile *f = (struct walfile *)file;
	return f->real->pMethods->xUnlock(f->real, level);
}

static int wal_check_reserved(sqlite3_file *file, int *out)
{
	struct walfile *f = (struct walfile *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wal_file_control(sqlite3_file *file, int op, void *arg)
{
	struct walfile *f = (struct walfile *)file;
	int rc = flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wal_sector_size(sqlite3_file *file)
{
	struct walfile *f = (struct walfile *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int wal_device(sqlite3_file *file)
{
	struct walfile *f = (struct walfile *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: a WAL file has no shared memory and is not mapped. */
static const sqlite3_io_methods wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_file_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_check_reserved,
	.xFileControl = wal_file_control,
	.xSectorSize = wal_sector_size,
	.xDeviceCharacteristics = wal_device,
};

/* A WAL file wrapped; any other file is the default VFS's own, in the
 * same memory (szOsFile covers both). */
static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		    int *out_flags)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return parent->xOpen(parent, name, file, flags, out_flags);
	struct walfile *f = (struct walfile *)file;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	int rc = parent->xOpen(parent, name, f->real, flags, out_flags);
	f->base.pMethods = rc == SQLITE_OK ? &wal_methods : NULL;
	return rc;
}

#define FORWARD(name, args, call)                                                                  \
	static int vfs_##name args                                                                 \
	{                                                                                          \
		(void)vfs;                                                                         \
		return parent->x##call;                                                            \
	}
FORWARD(delete, (sqlite3_vfs * vfs, const char *name, int sync), Delete(parent, name, sync))
FORWARD(access, (sqlite3_vfs * vfs, const char *name, int flags, int *out),
	Access(parent, name, flags, out))
FORWARD(full_pathname, (sqlite3_vfs * vfs, const char *name, int n, char *out),
	FullPathname(parent, name, n, out))
FORWARD(randomness, (sqlite3_vfs * vfs, int n, char *out), Randomness(parent, n, out))
FORWARD(sleep, (sqlite3_vfs * vfs, int us), Sleep(parent, us))
FORWARD(current_time, (sqlite3_vfs * vfs, double *out), CurrentTime(parent, out))
FORWARD(last_error, (sqlite3_vfs * vfs, int n, char *out), GetLastError(parent, n, out))
FORWARD(current_time64, (sqlite3_vfs * vfs, sqlite3_int64 *out), CurrentTimeInt64(parent, out))

static int installed = -1;

static void install(void)
{
	parent = sqlite3_vfs_find(NULL);
	if (!parent || parent->iVersion < 2)
		return;
	wal_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct walfile) + parent->szOsFile,
		.mxPathname = parent->mxPathname,
		.zName = "redpack-wal",
		.xOpen = vfs_open,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_full_pathname,
		.xDlOpen = parent->xDlOpen,
		.xDlError = parent->xDlError,
		.xDlSym = parent->xDlSym,
		.xDlClose = parent->xDlClose,
		.xRandomness = vfs_randomness,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_current_time,
		.xGetLastError = vfs_last_error,
		.xCurrentTimeInt64 = vfs_current_time64,
	};
	installed = sqlite3_vfs_register(&wal_vfs, 1) == SQLITE_OK ? 0 : -1;
}

int sqlite_wal_vfs_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
	return installed;
}

void sqlite_wal_vfs_counts(uint64_t *pw, uint64_t *w)
{
	*pw = atomic_load_explicit(&pwrites, memory_order_relaxed);
	*w = atomic_load_explicit(&writes, memory_order_relaxed);
}
