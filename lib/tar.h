/*
 * tar: the ustar layer under bundle.  It reads an archive as a stream
 * through libarchive from its own read callback, so it sees every raw
 * byte: it can tee the input to a spool file, check each member's own
 * header, and check what lies after the end-of-archive marker, which
 * libarchive itself ignores.  Nothing is ever extracted.
 *
 * It accepts only plain regular-file members with relative names and a
 * size under the cap it is given, and nothing but zero blocks after the
 * end.  Which names, in which order, with which contents, is bundle's
 * business.  A failure to read the input is a system failure
 * (FED_ESYSTEM); bytes that are not such an archive are rejected.
 */
#ifndef FED_TAR_H
#define FED_TAR_H

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct tar_reader;

/* Read fd (not closed by tar_close); when spool_fd >= 0, every byte read
 * is also written there.  Members larger than maxsize are refused.
 * spool_fd TAR_SKIM: data a caller leaves unread is skipped by seeking,
 * when fd is a regular file, and so neither read nor checked. */
#define TAR_SKIM (-2)
struct tar_reader *tar_open(int fd, int spool_fd, uint64_t maxsize,
    fed_err *e);
void tar_close(struct tar_reader *t);
/* The next member's header, checked: 1 with *name and *size set (name
 * valid until the next call), 0 at the end-of-archive marker, -1. */
int  tar_next(struct tar_reader *t, const char **name, uint64_t *size,
    fed_err *e);
/* A small member read whole: exactly n bytes, then its end. */
int  tar_read_all(struct tar_reader *t, void *dst, size_t n, fed_err *e);
/* The current member's next block: 1 with *p, *n and its offset *off,
 * 0 at the member's end, -1 on error. */
int  tar_read_block(struct tar_reader *t, const void **p, size_t *n,
    uint64_t *off, fed_err *e);
/* After the marker: the marker whole, then only zero blocks to the end
 * of the input, at most 64 KiB of them. */
int  tar_end(struct tar_reader *t, fed_err *e);
/* Opened with spool_fd TAR_SKIM: nothing is spooled. */
int  tar_skims(const struct tar_reader *t);
/* Bytes of input consumed so far. */
uint64_t tar_bytes(const struct tar_reader *t);

#endif
