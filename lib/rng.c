/*
 * rng: xoshiro256** seeded through splitmix64, with the few distributions
 * fed needs.  Normal draws use Box-Muller without caching so that a stream
 * depends only on the seed and the calls made.
 */
#include <math.h>

#include "rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
rng_seed(rng_t *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
rng_u64(rng_t *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
rng_uniform(rng_t *r)
{
	return (rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t
rng_below(rng_t *r, uint64_t n)
{
	uint64_t x, limit;

	if (n <= 1)
		return 0;
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		x = rng_u64(r);
	while (x >= limit);
	return x % n;
}

double
rng_normal(rng_t *r)
{
	double u1, u2;

	do
		u1 = rng_uniform(r);
	while (u1 <= 0.0);
	u2 = rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia and Tsang; shape < 1 by the boost Gamma(a+1) * U^(1/a). */
double
rng_gamma(rng_t *r, double a)
{
	double d, c, x, v, u;

	if (a < 1.0) {
		do
			u = rng_uniform(r);
		while (u <= 0.0);
		return rng_gamma(r, a + 1.0) * pow(u, 1.0 / a);
	}
	d = a - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		do {
			x = rng_normal(r);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		u = rng_uniform(r);
		if (u < 1.0 - 0.0331 * x * x * x * x)
			return d * v;
		if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

void
rng_shuffle_u32(rng_t *r, uint32_t *a, uint64_t n)
{
	uint64_t i, j;
	uint32_t t;

	for (i = n; i > 1; i--) {
		j = rng_below(r, i);
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}
