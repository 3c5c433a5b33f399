/*
 * crsign: the rotated-sign encoding's blocks (crsign.h).  For block b of
 * n coordinates and transform length L: D_j = -1 where bit j % 64 of
 * SplitMix64's output j / 64 is set, its state starting at seed + b *
 * 2^32; y = H D x over x padded with zeros to L, H the Sylvester
 * Hadamard matrix (H_ij = (-1)^popcount(i & j)); bit i is set where y_i
 * < 0 (s_i = -1, else +1); the scale is T = |x|^2 / |y|_1, 0 when y is
 * 0; decoded, x_j = D_j T (H s)_j rounded once to float32.  (H s)_j is
 * an integer of at most L in size, so T (H s)_j is exact in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsign.h"

uint64_t
crsign_blocks(uint64_t np)
{
	return (np + CRSIGN_BLOCK - 1) / CRSIGN_BLOCK;
}

uint64_t
crsign_len(uint64_t np, uint64_t b)
{
	uint64_t n = np - b * CRSIGN_BLOCK, len = CRSIGN_MIN;

	if (n >= CRSIGN_BLOCK)
		return CRSIGN_BLOCK;
	while (len < n)
		len *= 2;
	return len;
}

uint64_t
crsign_bits_at(uint64_t np, uint64_t b)
{
	if (b == 0)
		return 0;
	if (b * CRSIGN_BLOCK <= np)
		return b * (CRSIGN_BLOCK / 8);
	return (b - 1) * (CRSIGN_BLOCK / 8) + crsign_len(np, b - 1) / 8;
}

/* D of block b: one sign bit per coordinate, set for -1. */
static void
rotation(uint64_t seed, uint64_t b, uint64_t len, uint64_t *w)
{
	uint64_t x = seed + (b << 32), z, k;

	for (k = 0; k < len / 64; k++) {
		z = (x += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		w[k] = z ^ (z >> 31);
	}
}

static int
flip(const uint64_t *w, uint64_t j)
{
	return (int)((w[j / 64] >> (j % 64)) & 1);
}

#define BUTTERFLY(T, y, len) do {					\
	uint64_t h_, i_, j_;						\
	for (h_ = 1; h_ < (len); h_ *= 2)				\
		for (i_ = 0; i_ < (len); i_ += 2 * h_)			\
			for (j_ = i_; j_ < i_ + h_; j_++) {		\
				T a_ = (y)[j_], b_ = (y)[j_ + h_];	\
				(y)[j_] = a_ + b_;			\
				(y)[j_ + h_] = a_ - b_;			\
			}						\
} while (0)

/* Block b of np: decoded into out, its coordinates only. */
static void
decode_block(const uint8_t *bits, float scale, uint64_t np, uint64_t b,
    uint64_t seed, float *out)
{
	uint64_t len = crsign_len(np, b), lo = b * CRSIGN_BLOCK, j;
	uint64_t n = np - lo < len ? np - lo : len, w[CRSIGN_BLOCK / 64];
	int32_t k[CRSIGN_BLOCK];
	double v;

	for (j = 0; j < len; j++)
		k[j] = (bits[j / 8] >> (j % 8)) & 1 ? -1 : 1;
	BUTTERFLY(int32_t, k, len);
	rotation(seed, b, len, w);
	for (j = 0; j < n; j++) {
		v = (double)scale * k[j];
		out[j] = (float)(flip(w, j) ? -v : v);
	}
}

/* Block b of x into its scale and signs; x keeps what is left out. */
static float
encode_block(float *x, uint64_t np, uint64_t b, uint64_t seed,
    uint8_t *bits)
{
	uint64_t len = crsign_len(np, b), lo = b * CRSIGN_BLOCK, j;
	uint64_t n = np - lo < len ? np - lo : len, w[CRSIGN_BLOCK / 64];
	double y[CRSIGN_BLOCK], ss = 0, l1 = 0;
	float t, out[CRSIGN_BLOCK];

	rotation(seed, b, len, w);
	for (j = 0; j < len; j++) {
		y[j] = j < n ? (flip(w, j) ? -(double)x[lo + j] :
		    (double)x[lo + j]) : 0;
		ss += y[j] * y[j];
	}
	BUTTERFLY(double, y, len);
	memset(bits, 0, len / 8);
	for (j = 0; j < len; j++) {
		l1 += fabs(y[j]);
		if (y[j] < 0)
			bits[j / 8] |= (uint8_t)(1u << (j % 8));
	}
	t = l1 > 0 ? (float)(ss / l1) : 0;
	if (!(t > 0) || !isfinite(t)) {
		t = 0;
		memset(bits, 0, len / 8);
	}
	decode_block(bits, t, np, b, seed, out);
	for (j = 0; j < n; j++)
		x[lo + j] -= out[j];
	return t;
}

void
crsign_encode(float *x, uint64_t np, uint64_t seed, float *scales,
    uint8_t *signs)
{
	uint64_t b;

	for (b = 0; b < crsign_blocks(np); b++)
		scales[b] = encode_block(x, np, b, seed,
		    signs + crsign_bits_at(np, b));
}

int
crsign_decode(const uint8_t *src, const float *scales, uint64_t np,
    uint64_t seed, uint64_t at, uint64_t len, float *out, fed_err *e)
{
	uint64_t b, k, n;

	if (at % CRSIGN_BLOCK != 0 || (len % CRSIGN_BLOCK != 0 &&
	    at + len != np))
		return fed_errf(e, "rsign: a chunk of whole blocks wanted");
	for (b = at / CRSIGN_BLOCK; b * CRSIGN_BLOCK < at + len; b++) {
		n = crsign_len(np, b) / 8;
		for (k = 0; scales[b] == 0 && k < n; k++)
			if (src[k] != 0)
				return fed_errf(e, "rsign.signs: block %llu "
				    "has signs under a zero scale",
				    (unsigned long long)b);
		decode_block(src, scales[b], np, b, seed, out);
		src += n;
		out += CRSIGN_BLOCK;
	}
	return 0;
}
