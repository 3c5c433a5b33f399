/*
 * ring: a writer thread.  Bytes a producer makes (fed-delta's delta,
 * fed-init's weights, fed-merge's next model) are copied into a bounded
 * ring of blocks; a second thread takes the blocks in order, hashes each
 * and hands it to a write function.  Making the bytes, SHA-256 over them
 * and the kernel's copy into the page cache then run on two cores
 * instead of one, in RING_BLOCKS * RING_BLOCK bytes of memory whatever
 * the size of the output.  The bytes and their order are the producer's:
 * what is written is what one thread would write.
 *
 * What the bytes are, where they go and what their hash is for are the
 * caller's (bstream, mout).  When no thread can be started, the work is
 * done on the caller's thread, a block at a time.
 */
#ifndef FED_RING_H
#define FED_RING_H

#include <stddef.h>

#include "sha256.h"
#include "util.h"

#define RING_BLOCK  ((size_t)1 << 20)
#define RING_BLOCKS 8

/* Write n bytes at p (in the writer thread): 0, or -1 with e set. */
typedef int ring_fn(void *arg, const void *p, size_t n, fed_err *e);

struct ring;

/* Start the thread: every byte put is hashed into h (may be NULL), then
 * written by fn(arg, ...).  Neither h nor what fn writes to may be
 * touched by the caller until ring_end. */
struct ring *ring_start(struct sha256 *h, ring_fn *fn, void *arg);
/* The next n bytes: 0, or -1 when a write failed (e says why, and errno
 * is what the write left), then and at every later call. */
int  ring_put(struct ring *r, const void *p, size_t n, fed_err *e);
/* To make bytes in place instead of copying them in: room for at
 * least 4 and at most RING_BLOCK of them (a multiple of 4 when all the
 * bytes made so far are), *n set, or NULL after a failure (as
 * ring_put); then ring_made with how many were made there. */
void *ring_room(struct ring *r, size_t *n, fed_err *e);
void  ring_made(struct ring *r, size_t n);
/* Everything put written, the thread ended and r freed: 0, or -1 with
 * the first failure.  With e NULL, what is still queued is dropped (an
 * abort).  Harmless on NULL. */
int  ring_end(struct ring *r, fed_err *e);

#endif
