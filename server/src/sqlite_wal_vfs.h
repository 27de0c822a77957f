/*
 * sqlite_wal_vfs.h - SQLite's default VFS with the writes to a WAL file
 * gathered: SQLite writes each frame of a commit as two pwrite()s, a
 * 24-byte header and the page; this VFS keeps them in memory and writes
 * them when the commit frame's header is written (it says it is the
 * commit), and its page right after: two pwrite()s a commit, before
 * SQLite publishes the frames, so
 * a commit that returns has its frames in the kernel as before. Every
 * other file, and every other call, goes to the default VFS unchanged.
 */
#ifndef REDPACK_SQLITE_WAL_VFS_H
#define REDPACK_SQLITE_WAL_VFS_H

#include <stdint.h>

/* Registers it as the default VFS (once; later calls do nothing).
 * Returns 0, or -1 when SQLite refused (the default stays). */
int sqlite_wal_vfs_install(void);

/* pwrite()s the WAL files have seen since install, and writes they were
 * asked for (for tests). */
void sqlite_wal_vfs_counts(uint64_t *pwrites, uint64_t *writes);

#endif
