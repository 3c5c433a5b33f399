/*
 * dio: writes to a regular file that bypass the page cache where they
 * can.  A big output (a 2 GiB model) written through the page cache
 * costs a copy into pages the machine must first find, then the same
 * bytes again on disk when the output is committed (fsync): written
 * with O_DIRECT, the disk takes them from our buffer while the next ones
 * are made.  Only whole blocks at aligned offsets from aligned memory go
 * that way (the file system's own rules, from statx); everything else,
 * and every file that cannot, is an ordinary write.  The bytes written
 * are the same either way; only the path differs.
 */
#ifndef FED_DIO_H
#define FED_DIO_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Writes this large at least go around the page cache. */
#define DIO_MIN ((size_t)256 << 10)

struct dio {
	int fd;
	off_t off;              /* where the next write lands */
	size_t mem, align;      /* alignment of memory and offsets; 0: never */
};

/* Writes to fd from its current offset. */
void dio_init(struct dio *d, int fd);
/* All n bytes at p, as out_write_all. */
int  dio_write(struct dio *d, const void *p, size_t n, fed_err *e);

#endif
