/*
 * rng: the one source of randomness, an explicitly seeded xoshiro256**.
 * Same seed, same stream, on every machine; never rand().
 */
#ifndef FED_RNG_H
#define FED_RNG_H

#include <stdint.h>

typedef struct {
	uint64_t s[4];
} rng_t;

void     rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_u64(rng_t *r);
double   rng_uniform(rng_t *r);              /* [0, 1) */
uint64_t rng_below(rng_t *r, uint64_t n);    /* [0, n), unbiased */
double   rng_normal(rng_t *r);               /* N(0, 1) */
double   rng_gamma(rng_t *r, double shape);  /* Gamma(shape, 1) */
void     rng_shuffle_u32(rng_t *r, uint32_t *a, uint64_t n);

#endif
