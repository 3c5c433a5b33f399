/*
 * test_encode: the update encodings of lib/encode.c.  Conversions against
 * bit patterns worked out by hand (round half to even); round trips within
 * each scheme's bound: fp16 2^-11 and bf16 2^-8 relative (half the
 * subnormal spacing below the normal range), int8 half a
 * scale (nearest) or one scale (stochastic) per value, top-k exact on what
 * it keeps and zero elsewhere, with the residual holding the rest exactly;
 * int8 with a residual sends within half a scale of delta plus residual
 * and keeps the difference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsign.h"
#include "encode.h"
#include "half.h"
#include "rng.h"
#include "t.h"

static void
test_conversions(void)
{
	T_OK("fp16 1", half_f16(1.0f) == 0x3c00);
	T_OK("fp16 -2", half_f16(-2.0f) == 0xc000);
	T_OK("fp16 max", half_f16(65504.0f) == 0x7bff);
	T_OK("fp16 overflow", half_f16(65520.0f) == 0x7c00);
	T_OK("fp16 tie to even down", half_f16(1.0f + 0x1p-11f) == 0x3c00);
	T_OK("fp16 tie to even up", half_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);
	T_OK("fp16 smallest subnormal", half_f16(0x1p-24f) == 0x0001);
	T_OK("fp16 half of it ties to 0", half_f16(0x1p-25f) == 0x0000);
	T_OK("fp16 -0", half_f16(-0.0f) == 0x8000);
	T_OK("fp16 back", half_f16_value(0x3c02) == 1.0f + 0x1p-9f &&
	    half_f16_value(0x0001) == 0x1p-24f && half_f16_value(0xc000) == -2);
	T_OK("bf16 1", half_bf16(1.0f) == 0x3f80);
	T_OK("bf16 tie to even down", half_bf16(1.0f + 0x1p-8f) == 0x3f80);
	T_OK("bf16 tie to even up", half_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);
	T_OK("bf16 back", half_bf16_value(0x3f82) == 1.0f + 0x1p-6f);
}

static float *
randoms(uint64_t n, uint64_t seed)
{
	float *p = malloc(n * sizeof(*p));
	rng_t r;
	uint64_t i;

	rng_seed(&r, seed);
	for (i = 0; i < n; i++)
		p[i] = (float)(rng_normal(&r) * 0.01);
	for (i = 0; i < 300; i++)       /* a zero block: scale 0 */
		p[i] = 0;
	return p;
}

static float *
roundtrip(const struct arch *a, const struct enc *c, const float *d,
    float *res, uint64_t seed)
{
	struct st_file st;
	fed_err e;
	uint8_t *b;
	size_t len;
	float *p;

	if ((b = encode_encode(a, c, d, res, seed, &len, &e)) == NULL)
		return NULL;
	if (st_parse(b, len, &st, &e) < 0) {
		free(b);
		return NULL;
	}
	p = encode_decode(a, c, &st, &e);
	st_file_free(&st);
	free(b);
	return p;
}

/* Largest |x - y| / max(rel |x|, abs) over n values (abs: the
 * subnormal spacing). */
static double
worst(const float *x, const float *y, uint64_t n, double rel, double abs)
{
	double w = 0, d;
	uint64_t i;

	for (i = 0; i < n; i++) {
		d = fabs((double)x[i] - y[i]) / fmax(rel * fabs(x[i]), abs);
		if (x[i] == 0)
			d = y[i] == 0 ? 0 : INFINITY;
		w = d > w ? d : w;
	}
	return w;
}

/* An old residual (i % mod) * 1e-4 into *res, and delta plus it into
 * *sent: np floats each, to free. */
static void
old_residual(const float *d, uint64_t np, int mod, float **res,
    float **sent)
{
	uint64_t i;

	*res = calloc(np, sizeof(**res));
	*sent = malloc(np * sizeof(**sent));
	for (i = 0; i < np; i++) {
		(*res)[i] = (float)(i % mod) * 1e-4f;
		(*sent)[i] = d[i] + (*res)[i];
	}
}

/* Top-k with a residual: k values sent, the rest carried. */
static void
test_topk(const struct arch *ap, const float *d)
{
	struct arch a = *ap;
	struct enc c;
	fed_err e;
	uint64_t np = arch_nparams(&a), i, kept = 0;
	float *p, *res, *sent;
	double w, scale;
	int ok;

	encode_parse("topk:0.05", &c, &e);
	c.k = encode_topk_count(0.05, np);
	old_residual(d, np, 7, &res, &sent);
	p = roundtrip(&a, &c, d, res, 0);
	for (i = 0, ok = p != NULL; ok && i < np; i++) {
		kept += p[i] != 0;
		ok = p[i] + res[i] == sent[i] && (p[i] == 0 || res[i] == 0);
	}
	T_OK("topk keeps k", kept == c.k);
	T_OK("topk: sent + residual is delta + old residual", ok);
	for (i = 0, scale = INFINITY, w = 0; p && i < np; i++)
		if (p[i] != 0)
			scale = fmin(scale, fabs(p[i]));
		else
			w = fmax(w, fabs(res[i]));
	T_OK("topk keeps the largest", scale >= w);
	free(p), free(res), free(sent);
}

/* int8 with a residual: what is decoded plus the new residual is the
 * delta plus the old one, up to F32 rounding of their sum. */
static void
test_int8_feedback(const struct arch *ap, const float *d)
{
	struct arch a = *ap;
	struct enc c;
	fed_err e;
	uint64_t np = arch_nparams(&a), i;
	float *p, *res, *sent;
	int ok, moved = 0;

	encode_parse("int8", &c, &e);
	old_residual(d, np, 5, &res, &sent);
	p = roundtrip(&a, &c, d, res, 0);
	for (i = 0, ok = p != NULL; ok && i < np; i++) {
		ok = fabsf(p[i] + res[i] - sent[i]) <= 1e-6f *
		    (fabsf(sent[i]) + 1e-3f);
		moved += res[i] != 0;
	}
	T_OK("int8: decoded + residual is delta + old residual", ok);
	T_OK("int8: the residual keeps the rounding error", moved > 0);
	free(p), free(res), free(sent);
}

static void
test_roundtrip(void)
{
	struct arch a;
	struct enc c;
	fed_err e;
	uint64_t np, i;
	float *d, *p, *q;
	double w, scale;
	int k, ok = 1;

	T_OK("arch", arch_parse("mlp:300-30-10", &a, &e) == 0);
	np = arch_nparams(&a);
	d = randoms(np, 1);
	encode_parse("fp16", &c, &e);
	p = roundtrip(&a, &c, d, NULL, 0);
	T_OK("fp16 within 2^-11", p && (w = worst(d, p, np, 0x1p-11, 0x1p-25)) <= 1);
	free(p);
	encode_parse("bf16", &c, &e);
	p = roundtrip(&a, &c, d, NULL, 0);
	T_OK("bf16 within 2^-8", p && worst(d, p, np, 0x1p-8, 0x1p-133) <= 1);
	free(p);
	for (k = 0; k <= 1; k++) {
		encode_parse("int8", &c, &e);
		c.stochastic = k;
		p = roundtrip(&a, &c, d, NULL, 7);
		q = roundtrip(&a, &c, d, NULL, 7);
		ok = p && q && memcmp(p, q, np * sizeof(*p)) == 0;
		for (i = 0; ok && i < np; i++) {
			/* the first tensor (300 x 30) starts at 0 */
			uint64_t b = i / ENC_BLOCK * ENC_BLOCK;
			uint64_t n = b + ENC_BLOCK <= 9000 ? ENC_BLOCK :
			    i < 9000 ? 9000 - b : 1;

			if (i >= 9000)
				break;
			scale = encode_int8_scale(d + b, n);
			ok = fabs(p[i] - d[i]) <= scale * (c.stochastic ?
			    1.0001 : 0.5001);
		}
		T_OK(c.stochastic ? "int8 stochastic within a scale" :
		    "int8 within half a scale", ok);
		T_OK("int8 zero block stays zero", p && p[0] == 0 &&
		    p[299] == 0);
		free(p);
		free(q);
	}
	test_topk(&a, d);
	test_int8_feedback(&a, d);
	free(d);
}

static void
test_checks(void)
{
	struct arch a;
	struct enc c;
	fed_err e;

	arch_parse("softmax:4-2", &a, &e);
	T_OK("parse topk", encode_parse("topk:0.01", &c, &e) == 0 &&
	    c.scheme == ENC_TOPK && c.fraction == 0.01);
	T_OK("reject topk:0", encode_parse("topk:0", &c, &e) < 0);
	T_OK("reject topk:2", encode_parse("topk:2", &c, &e) < 0);
	T_OK("reject int4", encode_parse("int4", &c, &e) < 0);
	T_OK("topk count rounds up", encode_topk_count(0.01, 1001) == 11 &&
	    encode_topk_count(1e-9, 10) == 1 && encode_topk_count(1, 10) == 10);
	c.scheme = ENC_INT8;
	T_OK("int8 size: scales then values", encode_data_size(&a, &c) ==
	    4 * 2 + 10);
}

/* The streaming decoder fed in uneven chunks gives what encode_decode
 * gives whole, for every scheme. */
static void
test_stream(void)
{
	static const char *const schemes[] = { "fp16", "bf16", "int8",
	    "topk:0.05" };
	struct encode_stream ds;
	struct st_file st;
	struct arch a;
	struct enc c;
	fed_err e;
	uint8_t *b;
	const uint8_t *base, *v;
	float *d, *whole, *part;
	uint64_t np, at, pb;
	size_t len, n;
	int k, same;

	arch_parse("mlp:300-30-10", &a, &e);
	np = arch_nparams(&a);
	d = randoms(np, 5);
	part = calloc(np, sizeof(*part));
	for (k = 0; k < 4; k++) {
		encode_parse(schemes[k], &c, &e);
		c.k = encode_topk_count(c.fraction, np);
		b = encode_encode(&a, &c, d, NULL, 1, &len, &e);
		st_parse(b, len, &st, &e);
		whole = encode_decode(&a, &c, &st, &e);
		base = b + st.data_start;
		encode_stream_init(&ds, &a, &c);
		pb = encode_stream_prefix_bytes(&ds);
		memcpy(encode_stream_prefix(&ds), base, pb);
		same = encode_stream_check(&ds, &e) == 0;
		for (v = base + pb, at = 0; same && at < np; at += n) {
			n = np - at < 777 ? np - at : 777;
			pb = encode_stream_bytes(&ds, at, n);
			same = encode_stream_decode(&ds, v, at, n, part + at,
			    &e) == 0;
			v += pb;
		}
		T_OK(schemes[k], same && whole != NULL &&
		    memcmp(whole, part, np * sizeof(*part)) == 0);
		encode_stream_free(&ds);
		st_file_free(&st);
		free(whole);
		free(b);
	}
	free(part);
	free(d);
}

/* rsign: decoded + residual is the delta, about a bit a weight keeps the
 * direction, a zero delta stays zero, and a stream must cut whole blocks
 * (4200 weights: a block of 4096 and one of 104, turned at 128). */
static void
test_rsign(void)
{
	struct encode_stream ds;
	struct arch a;
	struct enc c;
	fed_err e;
	float *d, *res, *p, out[128];
	double dot = 0, dd = 0, pp = 0;
	uint64_t np, i;
	uint8_t signs[16] = { 0 };
	int ok = 1;

	arch_parse("softmax:419-10", &a, &e);
	np = arch_nparams(&a);
	T_OK("rsign: blocks of 4096, the last turned at 128",
	    np == 4200 && crsign_blocks(np) == 2 && crsign_len(np, 1) == 128 &&
	    crsign_bits_at(np, 2) == 512 + 16 &&
	    encode_data_size(&a, &(struct enc){ .scheme = ENC_RSIGN }) ==
	    8 + 512 + 16);
	d = randoms(np, 9);
	res = calloc(np, sizeof(*res));
	encode_parse("rsign", &c, &e);
	c.seed = 7;
	p = roundtrip(&a, &c, d, res, 1);
	for (i = 0; p != NULL && i < np; i++) {
		ok &= fabsf(p[i] + res[i] - d[i]) <= 1e-6f * fmaxf(1, fabsf(d[i]));
		dot += (double)p[i] * d[i];
		dd += (double)d[i] * d[i];
		pp += (double)p[i] * p[i];
	}
	T_OK("rsign: decoded + residual is the delta", p != NULL && ok);
	T_OK("rsign: a bit a weight keeps the direction",
	    dot / sqrt(dd * pp) > 0.75);
	free(p);
	encode_stream_init(&ds, &a, &c);
	memset(encode_stream_prefix(&ds), 0, 8);
	T_OK("rsign: a chunk must start a block", encode_stream_check(&ds,
	    &e) == 0 && encode_stream_decode(&ds, signs, 4096 - 128, 128, out,
	    &e) < 0 && strstr(e.msg, "whole blocks") != NULL);
	encode_stream_free(&ds);
	/* decoded, a zero scale takes zero signs (the decoder checks), and
	 * any other scale gives some non-zero value */
	memset(d, 0, np * sizeof(*d));
	p = roundtrip(&a, &c, d, NULL, 1);
	for (i = 0, ok = p != NULL; ok && i < np; i++)
		ok = p[i] == 0;
	T_OK("rsign: zero stays zero, scales and signs 0", ok);
	free(p);
	free(res);
	free(d);
}

int
main(void)
{
	test_conversions();
	test_roundtrip();
	test_checks();
	test_stream();
	test_rsign();
	T_DONE();
}
