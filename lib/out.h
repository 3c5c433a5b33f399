/*
 * out: output that appears whole or not at all.  A named output is written
 * to a temporary file beside it and renamed into place on commit; it is
 * removed on abort and when SIGINT, SIGTERM or SIGHUP arrive.  Standard
 * output is refused when it is a terminal, since bundles are binary, and
 * checked for write errors at commit.  An existing FIFO or character
 * device named as output is written straight into (like standard output,
 * not whole-or-nothing) and never replaced; other non-regular files are
 * refused.
 */
#ifndef FED_OUT_H
#define FED_OUT_H

#include "util.h"

struct out {
	int fd;
	char *path;     /* NULL for standard output */
	char *tmp;      /* NULL for stdout, a FIFO or a device */
};

/* path NULL or "-" is standard output. */
int  out_open(struct out *o, const char *path, fed_err *e);
int  out_commit(struct out *o, fed_err *e);
void out_abort(struct out *o);
/* out_abort on each of n outputs (those never opened are skipped). */
void out_abort_all(struct out *outs, size_t n);
/* write(2) all of it, retrying on EINTR and short writes. */
int  out_write_all(int fd, const void *p, size_t n, fed_err *e);

/* A temporary file in $TMPDIR, already unlinked, for spooling. */
int  out_spool_open(fed_err *e);

#endif
