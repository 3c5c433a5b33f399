/*
 * xsum: exact sums of float vectors, so that a sum's bits do not depend
 * on the order of its terms.  Each term w x (a weight times a float,
 * computed in double the same way whoever computes it) is cut, once and
 * deterministically, onto a fixed-point grid of 2^-64 with two int64
 * words per element (the part above 2^-32 and the part below), and
 * integer additions are associative.  This is what lets training on N ranks give the same
 * bytes for every N (train.h: micro-batches): the ranks add their
 * micro-batches' gradients in any grouping, and the totals agree.
 * Terms are capped at 2^24 in magnitude (a gradient that large has
 * diverged already), so that XSUM_MAXTERMS of them cannot overflow;
 * bits below 2^-64 are dropped.
 */
#ifndef FED_XSUM_H
#define FED_XSUM_H

#include <stdint.h>

/* (2 n) int64: for element i, [2i] in units of 2^-32, [2i+1] of 2^-64 */
typedef int64_t xsum_t;

#define XSUM_MAXTERMS 64

/* acc (n elements) = 0 */
void xsum_zero(xsum_t *acc, uint64_t n);
/* acc += w x, for x (n floats); at most XSUM_MAXTERMS terms a sum */
void xsum_add(xsum_t *acc, const float *x, uint64_t n, double w);
/* acc += b, element by element (n elements each) */
void xsum_merge(xsum_t *acc, const xsum_t *b, uint64_t n);
/* x (n floats) = acc, by way of a double that depends on the exact
 * total only */
void xsum_get(float *x, const xsum_t *acc, uint64_t n);

#endif
