/*
 * half: float32 to IEEE binary16 (fp16) and bfloat16 and back, rounding
 * half to even, the conversions of the fp16 and bf16 encodings
 * (fed-bundle(5)) and of imported half-precision tensors.
 */
#include <math.h>
#include <string.h>

#include "half.h"

uint16_t
half_f16(float f)
{
	uint32_t x, sign;
	float a;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	x &= 0x7fffffff;
	if (x > 0x7f800000)
		return (uint16_t)(sign | 0x7e00);
	if (x >= 0x47800000)            /* 2^16 and up: infinity */
		return (uint16_t)(sign | 0x7c00);
	if (x < 0x38800000) {           /* below 2^-14: subnormal or 0 */
		memcpy(&a, &x, 4);
		return (uint16_t)(sign | (uint32_t)lrint((double)a * 16777216.0));
	}
	x += 0xc8000fffu + ((x >> 13) & 1);     /* rebias, round to even */
	return (uint16_t)(sign | (x >> 13));
}

float
half_f16_value(uint16_t h)
{
	uint32_t s = (uint32_t)(h & 0x8000) << 16, ex = (h >> 10) & 0x1f;
	uint32_t m = h & 0x3ff, x;
	float f;

	if (ex == 0) {
		f = (float)ldexp((double)m, -24);
		return s ? -f : f;
	}
	if (ex == 31)
		x = s | 0x7f800000 | (m << 13);
	else
		x = s | ((ex + 112) << 23) | (m << 13);
	memcpy(&f, &x, 4);
	return f;
}

uint16_t
half_bf16(float f)
{
	uint32_t x;

	memcpy(&x, &f, 4);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 0x40);
	x += 0x7fff + ((x >> 16) & 1);
	return (uint16_t)(x >> 16);
}

float
half_bf16_value(uint16_t h)
{
	uint32_t x = (uint32_t)h << 16;
	float f;

	memcpy(&f, &x, 4);
	return f;
}
