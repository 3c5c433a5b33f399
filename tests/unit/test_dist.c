/*
 * test_dist: dist_stream, the copy with stores that bypass the cache
 * which the ranks of a sharded step publish their shares with, copies
 * every bit (NaNs and signed zeros too) for every start and length,
 * aligned or not, and writes nothing outside [dst, dst + n).  It needs
 * no MPI job.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dist.h"
#include "t.h"

#define N 100
#define GUARD 0x7fc0dead

static float src[N + 16], dst[N + 32];

/* The copy of n floats from src + a to dst + 8 + b is exact, and the
 * guards either side are untouched. */
static int
copies(int a, int b, int n)
{
	uint32_t g = GUARD, v;
	int i;

	for (i = 0; i < N + 32; i++)
		memcpy(&dst[i], &g, sizeof(g));
	dist_stream(dst + 8 + b, src + a, (uint64_t)n);
	if (memcmp(dst + 8 + b, src + a, (size_t)n * sizeof(float)) != 0)
		return 0;
	for (i = 0; i < N + 32; i++) {
		if (i >= 8 + b && i < 8 + b + n)
			continue;
		memcpy(&v, &dst[i], sizeof(v));
		if (v != GUARD)
			return 0;
	}
	return 1;
}

int
main(void)
{
	int a, b, n, ok = 1;

	for (a = 0; a < N + 16; a++)
		src[a] = (float)a * 0.37f - 5;
	src[3] = NAN;
	src[4] = -0.0f;
	src[5] = INFINITY;
	for (a = 0; a < 8; a++)
		for (b = 0; b < 8; b++)
			for (n = 0; n <= N && ok; n++)
				ok = copies(a, b, n);
	T_OK("dist_stream copies every bit, any start and length", ok);
	T_OK("dist_stream of nothing writes nothing", copies(0, 0, 0));
	T_DONE();
}
