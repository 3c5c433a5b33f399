/*
 * ring: the writer thread of ring.h.  The producer owns the block at
 * (head + count) % RING_BLOCKS while it fills it; the writer owns the
 * count queued blocks from head, each until it is written.  One mutex
 * guards the indices; the bytes of a block are touched by one side at a
 * time, so they need none.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

struct ring {
	pthread_t t;
	int threaded;
	pthread_mutex_t mu;
	pthread_cond_t more, room;      /* a block queued; a block written */
	uint8_t *mem;                   /* the blocks, page-aligned (dio.h) */
	uint8_t *buf[RING_BLOCKS];
	size_t len[RING_BLOCKS];
	int head, count;                /* the queued blocks */
	size_t fill;                    /* bytes in the producer's block */
	int done;                       /* nothing more will be queued */
	int drop;                       /* an abort: write nothing more */
	int failed, errnum;             /* a write failed, errno then */
	fed_err err;
	struct sha256 *h;
	ring_fn *fn;
	void *arg;
};

/* Hash and write one block; a failure is kept for the producer. */
static void
work(struct ring *r, const void *p, size_t n)
{
	fed_err e;
	int rc;

	if (r->h != NULL)
		sha256_update(r->h, p, n);
	if ((rc = r->fn(r->arg, p, n, &e)) == 0)
		return;
	if (r->threaded)
		pthread_mutex_lock(&r->mu);
	r->errnum = errno;
	r->err = e;
	r->failed = 1;
	if (r->threaded)
		pthread_mutex_unlock(&r->mu);
}

static void *
writer(void *arg)
{
	struct ring *r = arg;
	int i, skip;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->count == 0 && !r->done)
			pthread_cond_wait(&r->more, &r->mu);
		if (r->count == 0)
			break;
		i = r->head;
		skip = r->failed || r->drop;
		pthread_mutex_unlock(&r->mu);
		if (!skip)
			work(r, r->buf[i], r->len[i]);
		pthread_mutex_lock(&r->mu);
		r->head = (r->head + 1) % RING_BLOCKS;
		r->count--;
		pthread_cond_signal(&r->room);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct ring *
ring_start(struct sha256 *h, ring_fn *fn, void *arg)
{
	struct ring *r = xcalloc(1, sizeof(*r));
	int i;

	r->h = h;
	r->fn = fn;
	r->arg = arg;
	if ((r->mem = aligned_alloc(4096, RING_BLOCKS * RING_BLOCK)) == NULL)
		r->mem = xmalloc(RING_BLOCKS * RING_BLOCK);
	for (i = 0; i < RING_BLOCKS; i++)
		r->buf[i] = r->mem + i * RING_BLOCK;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->more, NULL);
	pthread_cond_init(&r->room, NULL);
	r->threaded = pthread_create(&r->t, NULL, writer, r) == 0;
	return r;
}

static int
failure(struct ring *r, fed_err *e)
{
	if (e != NULL)
		*e = r->err;
	errno = r->errnum;
	return -1;
}

/* The producer's block, once the writer has room for it; NULL after a
 * failure. */
static uint8_t *
filling(struct ring *r)
{
	uint8_t *b;

	pthread_mutex_lock(&r->mu);
	while (r->count == RING_BLOCKS && !r->failed)
		pthread_cond_wait(&r->room, &r->mu);
	b = r->failed ? NULL : r->buf[(r->head + r->count) % RING_BLOCKS];
	pthread_mutex_unlock(&r->mu);
	return b;
}

/* The producer's block queued (under the lock). */
static void
queue(struct ring *r)
{
	r->len[(r->head + r->count) % RING_BLOCKS] = r->fill;
	r->count++;
	r->fill = 0;
	pthread_cond_signal(&r->more);
}

void *
ring_room(struct ring *r, size_t *n, fed_err *e)
{
	uint8_t *b;

	if (!r->threaded)       /* one block, written when full */
		b = r->failed ? NULL : r->buf[0];
	else
		b = filling(r);
	if (b == NULL) {
		failure(r, e);
		return NULL;
	}
	*n = RING_BLOCK - r->fill;
	return b + r->fill;
}

void
ring_made(struct ring *r, size_t n)
{
	r->fill += n;
	if (r->fill < RING_BLOCK)
		return;
	if (!r->threaded) {
		work(r, r->buf[0], r->fill);
		r->fill = 0;
		return;
	}
	pthread_mutex_lock(&r->mu);
	queue(r);
	pthread_mutex_unlock(&r->mu);
}

int
ring_put(struct ring *r, const void *p, size_t n, fed_err *e)
{
	const uint8_t *s = p;
	uint8_t *b;
	size_t k;

	while (n > 0) {
		if ((b = ring_room(r, &k, e)) == NULL)
			return -1;
		k = k < n ? k : n;
		memcpy(b, s, k);
		ring_made(r, k);
		s += k;
		n -= k;
	}
	return 0;
}

int
ring_end(struct ring *r, fed_err *e)
{
	int rc;

	if (r == NULL)
		return 0;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		if (e == NULL)
			r->drop = 1;
		else if (r->fill > 0)
			queue(r);
		r->done = 1;
		pthread_cond_signal(&r->more);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->t, NULL);
	} else if (e != NULL && r->fill > 0 && !r->failed)
		work(r, r->buf[0], r->fill);
	rc = r->failed ? failure(r, e) : 0;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->more);
	pthread_cond_destroy(&r->room);
	free(r->mem);
	free(r);
	return rc;
}
