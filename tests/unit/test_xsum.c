/*
 * test_xsum: exact sums do not depend on the order or grouping of their
 * terms (the property that gives fed-train the same bytes on any number
 * of MPI ranks), and stay within float rounding of the true sum.
 */
#include <stdlib.h>

#include "rng.h"
#include "t.h"
#include "xsum.h"

#define N 1000
#define K 16

static float x[K][N], a[N], b[N];
static xsum_t s1[2 * N], s2[2 * N], part[2 * N];
static double w[K];

/* terms k in [lo, hi) into a fresh part, then merged into s */
static void
group(xsum_t *s, int lo, int hi)
{
	int k;

	xsum_zero(part, N);
	for (k = hi - 1; k >= lo; k--)
		xsum_add(part, x[k], N, w[k]);
	xsum_merge(s, part, N);
}

int
main(void)
{
	double exact, worst = 0;
	rng_t r;
	int i, k;

	rng_seed(&r, 1);
	for (k = 0; k < K; k++) {
		w[k] = (double)(k + 1) / 136;
		for (i = 0; i < N; i++)
			x[k][i] = (float)(rng_normal(&r) *
			    pow(10, (int)rng_below(&r, 12) - 8));
	}
	xsum_zero(s1, N);
	for (k = 0; k < K; k++)
		xsum_add(s1, x[k], N, w[k]);
	xsum_get(a, s1, N);
	/* the same terms backwards, in groups of 3, 5 and 8 */
	xsum_zero(s2, N);
	group(s2, 8, 16);
	group(s2, 3, 8);
	group(s2, 0, 3);
	xsum_get(b, s2, N);
	T_OK("xsum: any grouping, the same bits", memcmp(a, b, sizeof(a)) == 0);
	for (i = 0; i < N; i++) {
		exact = 0;
		for (k = 0; k < K; k++)
			exact += w[k] * x[k][i];
		if (fabs(exact) > 1e-12 &&
		    fabs(a[i] - exact) / fabs(exact) > worst)
			worst = fabs(a[i] - exact) / fabs(exact);
	}
	T_OK("xsum: within float rounding of the sum", worst < 2e-7);
	xsum_zero(s1, 1);
	x[0][0] = NAN;
	xsum_add(s1, x[0], 1, 1.0);
	xsum_get(a, s1, 1);
	T_OK("xsum: a NaN term is capped, not spread", isfinite(a[0]));
	T_DONE();
}
