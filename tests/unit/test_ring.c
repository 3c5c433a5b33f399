/*
 * test_ring: the writer thread writes what was put, in order, hashed
 * as one thread would; a failed write reaches the producer and ring_end;
 * an abort writes nothing more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "t.h"

#define TOTAL (3 * RING_BLOCKS * RING_BLOCK + 12345)

struct dst {
	unsigned char *buf;
	size_t n, fail_at;      /* fail once n would pass fail_at */
};

static int
collect(void *arg, const void *p, size_t n, fed_err *e)
{
	struct dst *d = arg;

	if (d->n + n > d->fail_at) {
		errno = ENOSPC;
		return fed_syserrf(e, "write: no space");
	}
	memcpy(d->buf + d->n, p, n);
	d->n += n;
	return 0;
}

/* Put src in pieces of odd sizes; the sum of ring_put's results. */
static int
put_all(struct ring *r, const unsigned char *src, size_t len, fed_err *e)
{
	size_t at = 0, k, step = 1;
	int bad = 0;

	while (at < len) {
		k = step < len - at ? step : len - at;
		bad += ring_put(r, src + at, k, e) < 0;
		at += k;
		step = step * 3 + 7;
		if (step > 3 * RING_BLOCK)
			step = 1;
	}
	return bad;
}

static void
digest(const void *p, size_t n, unsigned char md[SHA256_LEN])
{
	struct sha256 *h = sha256_new();

	sha256_update(h, p, n);
	sha256_final(h, md);
	sha256_free(h);
}

int
main(void)
{
	unsigned char *src = malloc(TOTAL), want[SHA256_LEN], got[SHA256_LEN];
	struct dst d = { malloc(TOTAL), 0, TOTAL };
	struct sha256 *h = sha256_new();
	struct ring *r;
	fed_err e;
	size_t i;

	for (i = 0; i < TOTAL; i++)
		src[i] = (unsigned char)(i * 2654435761u >> 13);
	r = ring_start(h, collect, &d);
	T_OK("puts succeed", put_all(r, src, TOTAL, &e) == 0);
	T_OK("end succeeds", ring_end(r, &e) == 0);
	T_OK("all written", d.n == TOTAL);
	T_OK("in order", memcmp(d.buf, src, TOTAL) == 0);
	sha256_final(h, got);
	sha256_free(h);
	digest(src, TOTAL, want);
	T_OK("hashed as written", memcmp(got, want, SHA256_LEN) == 0);

	d.n = 0;
	d.fail_at = 2 * RING_BLOCK + 5;
	r = ring_start(NULL, collect, &d);
	T_OK("a failed write reaches the producer",
	    put_all(r, src, TOTAL, &e) > 0);
	T_OK("and ring_end", ring_end(r, &e) == -1 && errno == ENOSPC &&
	    e.kind == FED_ESYSTEM && strstr(e.msg, "no space") != NULL);
	T_OK("nothing after the failure", d.n <= d.fail_at);

	d.n = 0;
	d.fail_at = TOTAL;
	r = ring_start(NULL, collect, &d);
	ring_put(r, src, RING_BLOCK / 2, &e);
	T_OK("an abort succeeds", ring_end(r, NULL) == 0);
	T_OK("the unqueued block dropped", d.n == 0);
	T_OK("ring_end(NULL) is harmless", ring_end(NULL, &e) == 0);
	free(src);
	free(d.buf);
	T_DONE();
}
