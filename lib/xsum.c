/*
 * xsum: fixed-point accumulation of float vectors; see xsum.h.  The cut
 * of a term onto the grid truncates towards zero, once per term, before
 * any addition, so the totals are a function of the multiset of terms.
 */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "xsum.h"

#define CAP 0x1.0p24

void
xsum_zero(xsum_t *acc, uint64_t n)
{
	memset(acc, 0, 2 * n * sizeof(xsum_t));
}

void NN_HOT
xsum_add(xsum_t *acc, const float *x, uint64_t n, double w)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		double t = w * (double)x[i], hi;

		if (!(t < CAP))             /* and NaN */
			t = CAP;
		else if (t < -CAP)
			t = -CAP;
		t *= 0x1.0p32;
		hi = trunc(t);
		acc[2 * i] += (int64_t)hi;
		/* t - hi is exact: both share t's exponent or less */
		acc[2 * i + 1] += (int64_t)((t - hi) * 0x1.0p32);
	}
}

void NN_HOT
xsum_merge(xsum_t *acc, const xsum_t *b, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < 2 * n; i++)
		acc[i] += b[i];
}

void
xsum_get(float *x, const xsum_t *acc, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		/* carry the low word's whole units into the high one, so that
		 * the pair is in one canonical form before it is rounded */
		int64_t lo = acc[2 * i + 1], c = lo >> 32;
		int64_t hi = acc[2 * i] + c;

		lo -= c * ((int64_t)1 << 32);
		x[i] = (float)(((double)hi + (double)lo * 0x1.0p-32) *
		    0x1.0p-32);
	}
}
