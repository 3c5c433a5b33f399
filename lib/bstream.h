/*
 * bstream: a bundle with one payload made as it is written (fed-delta's
 * delta, fed-init's imported weights), held nowhere whole.  Into a file
 * of its own (-o), the payload goes straight into the output: the
 * manifest first, with a placeholder where the payload's SHA-256 will be
 * (the same length, so the same bytes around it), then the payload,
 * hashed as it passes, then the manifest again, in place.  Standard
 * output, which must get nothing from a run that fails, gets the bundle
 * from a spool once it is complete, as bundle_write writes it.  Either
 * way the bytes are bundle_write's, and they are hashed and written by
 * a thread of their own (ring.h) while the caller makes the next ones.
 */
#ifndef FED_BSTREAM_H
#define FED_BSTREAM_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "bundle.h"
#include "out.h"
#include "ring.h"
#include "sha256.h"

struct bstream {
	struct out o;
	int opened;
	struct bundle_writer *w;    /* straight into o, or NULL */
	int spool;                  /* or into this spool; -1 */
	off_t start;                /* where the bundle begins in o */
	json_t *m;                  /* borrowed */
	const char *name;
	uint64_t size, done;
	size_t ml;                  /* bytes of the manifest */
	struct sha256 *h;
	struct ring *ring;          /* hashes and writes the payload */
};

/* Begin the bundle of manifest m (its members set here) with the payload
 * name of size bytes, to out (NULL or "-": standard output). */
int  bstream_open(struct bstream *b, const char *out, json_t *m,
    const char *name, uint64_t size, fed_err *e);
/* The next n bytes of the payload. */
int  bstream_data(struct bstream *b, const void *p, size_t n, fed_err *e);
/* Or made in place (ring_room, ring_made): room for the next *n bytes,
 * then how many were made there. */
void *bstream_room(struct bstream *b, size_t *n, fed_err *e);
void  bstream_made(struct bstream *b, size_t n);
/* After exactly size bytes: the bundle finished and out committed. */
int  bstream_close(struct bstream *b, fed_err *e);
/* Give up: out left as it was.  Harmless after bstream_close. */
void bstream_abort(struct bstream *b);

/* The parts, for a writer with an output of its own (fed-merge's): into
 * fd from its offset (*start), the manifest m (*ml bytes) with one
 * payload name of size bytes, its hash a placeholder, then the payload's
 * tar header: the writer to give the payload to, or NULL. */
struct bundle_writer *bstream_direct(int fd, json_t *m, const char *name,
    uint64_t size, off_t *start, size_t *ml, fed_err *e);
/* Would the manifest m take the tar blocks of one ml bytes long? */
int  bstream_direct_fits(json_t *m, const char *name, uint64_t size,
    size_t ml);
/* After the payload: w closed, the manifest with the payload's hash hex
 * written over its placeholder (which it must fit, and may be shorter or
 * longer than: the member's header is rewritten to match), its digest
 * into digest when not NULL. */
int  bstream_direct_end(struct bundle_writer *w, int fd, json_t *m,
    const char *name, uint64_t size, off_t start, size_t ml,
    const char *hex, char *digest, fed_err *e);

#endif
