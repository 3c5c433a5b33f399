/*
 * tnum.h: what the numeric unit tests share: one seeded stream R,
 * Gaussian fill, a double-precision dot product and a data set held in
 * memory.  Each test is one translation unit, so R is its own.
 */
#ifndef FED_TNUM_H
#define FED_TNUM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "rng.h"

static rng_t R;

/* n values drawn from N(0, std^2) off R. */
static inline void
randn(float *x, int64_t n, double std)
{
	int64_t i;

	for (i = 0; i < n; i++)
		x[i] = (float)(std * rng_normal(&R));
}

static inline double
dot(const float *a, const float *b, int64_t n)
{
	double s = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* n rows of f F32 features x with labels y in [0, c), class counts
 * filled in; free(d->count) when done. */
static inline void
mkdata(struct dataset *d, float *x, int32_t *y, int64_t n, int f, int c)
{
	int64_t i;

	memset(d, 0, sizeof(*d));
	d->n = n;
	d->features = f;
	d->classes = c;
	d->x_scale = 1;
	d->xtype = ST_F32;
	d->x = (const uint8_t *)x;
	d->y = y;
	d->count = calloc((size_t)c, sizeof(int64_t));
	for (i = 0; i < n; i++)
		d->count[y[i]]++;
}

#endif
