/*
 * encode: the encodings of an update's delta.  Every scheme's tensors
 * have one canonical data order (encode_specs), so that fed-merge can stream
 * them: int8's scales before its values, top-k's indices before its
 * values.  Conversions are bit-exact and documented in fed-bundle(5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crsign.h"
#include "ctopk.h"
#include "encode.h"
#include "half.h"
#include "rng.h"

_Static_assert(CTOPK_BLOCK == ENC_BLOCK, "topk8's values are int8 blocks");

static const char *const names[] = {
	[ENC_F32] = "f32", [ENC_F16] = "fp16", [ENC_BF16] = "bf16",
	[ENC_INT8] = "int8", [ENC_RSIGN] = "rsign", [ENC_TOPK] = "topk",
	[ENC_TOPK8] = "topk8",
};

const char *
encode_name(enum encode_scheme s)
{
	return names[s];
}

uint64_t
encode_topk_count(double fraction, uint64_t np)
{
	double k = ceil(fraction * (double)np);

	return k < 1 ? 1 : k >= (double)np ? np : (uint64_t)k;
}

int
encode_parse(const char *s, struct enc *c, fed_err *e)
{
	int i;

	memset(c, 0, sizeof(*c));
	if (strncmp(s, "topk:", 5) == 0 || strncmp(s, "topk8:", 6) == 0) {
		c->scheme = s[4] == '8' ? ENC_TOPK8 : ENC_TOPK;
		if (parse_double(strchr(s, ':') + 1, 0, 1, &c->fraction) < 0 ||
		    !(c->fraction > 0))
			return fed_errf(e, "encoding %s: want topk:FRACTION or "
			    "topk8:FRACTION, 0 < FRACTION <= 1", s);
		return 0;
	}
	for (i = ENC_F16; i <= ENC_RSIGN; i++)
		if (strcmp(s, names[i]) == 0) {
			c->scheme = (enum encode_scheme)i;
			return 0;
		}
	return fed_errf(e, "encoding %s: unknown (fp16, bf16, int8, rsign, "
	    "topk:FRACTION, topk8:FRACTION)", s);
}

json_t *
encode_json(const struct enc *c)
{
	json_t *j = json_pack("{s:s}", "scheme", names[c->scheme]);

	if (c->scheme == ENC_INT8) {
		json_object_set_new(j, "block", json_integer(ENC_BLOCK));
		json_object_set_new(j, "rounding", json_string(c->stochastic ?
		    "stochastic" : "nearest-even"));
		/* only when on, so plain int8 manifests stay as they were */
		if (c->feedback)
			json_object_set_new(j, "error_feedback", json_true());
	} else if (c->scheme == ENC_RSIGN) {
		json_object_set_new(j, "block", json_integer(CRSIGN_BLOCK));
		json_object_set_new(j, "seed", json_integer((json_int_t)c->seed));
		json_object_set_new(j, "error_feedback",
		    json_boolean(c->feedback));
	} else if (c->scheme >= ENC_TOPK) {
		json_object_set_new(j, "fraction", json_real(c->fraction));
		json_object_set_new(j, "k", json_integer((json_int_t)c->k));
		if (c->scheme == ENC_TOPK8) {
			json_object_set_new(j, "span", json_integer(CTOPK_SPAN));
			json_object_set_new(j, "block",
			    json_integer(CTOPK_BLOCK));
		}
		json_object_set_new(j, "error_feedback",
		    json_boolean(c->feedback));
	}
	return j;
}

int
encode_manifest(const json_t *m, uint64_t np, struct enc *c, fed_err *e)
{
	const json_t *j = json_object_get(m, "encoding"), *k;
	const char *s;
	int i;

	memset(c, 0, sizeof(*c));
	if (j == NULL)
		return 0;
	s = json_string_value(json_object_get(j, "scheme"));
	for (i = ENC_F16; s != NULL && i <= ENC_TOPK8; i++)
		if (strcmp(s, names[i]) == 0)
			break;
	if (!json_is_object(j) || s == NULL || i > ENC_TOPK8)
		return fed_errf(e, "manifest.json: encoding unknown");
	c->scheme = (enum encode_scheme)i;
	if (c->scheme == ENC_INT8 && json_integer_value(json_object_get(j,
	    "block")) != ENC_BLOCK)
		return fed_errf(e, "manifest.json: int8 block must be %d",
		    ENC_BLOCK);
	if (c->scheme == ENC_TOPK8 && (json_integer_value(json_object_get(j,
	    "span")) != CTOPK_SPAN || json_integer_value(json_object_get(j,
	    "block")) != CTOPK_BLOCK))
		return fed_errf(e, "manifest.json: topk8 span must be %d and "
		    "block %d", CTOPK_SPAN, CTOPK_BLOCK);
	if (c->scheme == ENC_RSIGN && (json_integer_value(json_object_get(j,
	    "block")) != CRSIGN_BLOCK || !json_is_integer(json_object_get(j,
	    "seed"))))
		return fed_errf(e, "manifest.json: rsign block must be %d, "
		    "and seed an integer", CRSIGN_BLOCK);
	c->seed = (uint64_t)json_integer_value(json_object_get(j, "seed"));
	if (c->scheme >= ENC_TOPK) {
		k = json_object_get(j, "k");
		if (!json_is_integer(k) || json_integer_value(k) < 1 ||
		    (uint64_t)json_integer_value(k) > np)
			return fed_errf(e, "manifest.json: topk k must be in "
			    "1..%llu", (unsigned long long)np);
		c->k = (uint64_t)json_integer_value(k);
	}
	return 0;
}

static void
spec(struct st_spec *s, const char *name, enum st_dtype d, int ndim,
    int64_t d0, int64_t d1)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->dtype = d;
	s->ndim = ndim;
	s->shape[0] = d0;
	s->shape[1] = d1;
}

static int64_t
nblocks(uint64_t count)
{
	return (int64_t)((count + ENC_BLOCK - 1) / ENC_BLOCK);
}

int
encode_specs(const struct arch *a, const struct enc *c, struct st_spec *s,
    char (*nm)[ST_MAXNAME])
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	int i, n = arch_tensors(a, t), k = 0;
	uint64_t np;
	enum st_dtype d = c->scheme == ENC_F16 ? ST_F16 :
	    c->scheme == ENC_BF16 ? ST_BF16 : c->scheme == ENC_INT8 ? ST_I8 :
	    ST_F32;

	if (c->scheme == ENC_TOPK) {
		spec(&s[0], "topk.indices", ST_I32, 1, (int64_t)c->k, 0);
		spec(&s[1], "topk.values", ST_F32, 1, (int64_t)c->k, 0);
		return 2;
	}
	if (c->scheme == ENC_TOPK8) {
		spec(&s[0], "topk.counts", ST_U8, 1,
		    (int64_t)ctopk_spans(arch_nparams(a)), 0);
		spec(&s[1], "topk.offsets", ST_U8, 1, (int64_t)c->k, 0);
		spec(&s[2], "topk.scales", ST_F32, 1,
		    (int64_t)ctopk_blocks(c->k), 0);
		spec(&s[3], "topk.values", ST_I8, 1, (int64_t)c->k, 0);
		return 4;
	}
	if (c->scheme == ENC_RSIGN) {
		np = arch_nparams(a);
		spec(&s[0], "rsign.scales", ST_F32, 1,
		    (int64_t)crsign_blocks(np), 0);
		spec(&s[1], "rsign.signs", ST_U8, 1,
		    (int64_t)crsign_bits_at(np, crsign_blocks(np)), 0);
		return 2;
	}
	if (c->scheme == ENC_INT8)
		for (i = 0; i < n; i++) {
			snprintf(nm[k], ST_MAXNAME, "%.128s.scale", t[i].name);
			spec(&s[k], nm[k], ST_F32, 1, nblocks(t[i].count), 0);
			k++;
		}
	for (i = 0; i < n; i++, k++) {
		snprintf(nm[k], ST_MAXNAME, "%.128s", t[i].name);
		spec(&s[k], nm[k], d, t[i].ndim, t[i].shape[0], t[i].shape[1]);
		memcpy(s[k].shape, t[i].shape, sizeof(s[k].shape));
	}
	return k;
}

static uint64_t
spec_bytes(const struct st_spec *s)
{
	uint64_t n = 1;
	int k;

	for (k = 0; k < s->ndim; k++)
		n *= (uint64_t)s->shape[k];
	return n * st_dtype_size(s->dtype);
}

uint64_t
encode_data_size(const struct arch *a, const struct enc *c)
{
	struct st_spec s[ENC_MAXTENSORS];
	char nm[ENC_MAXTENSORS][ST_MAXNAME];
	uint64_t total = 0;
	int i, n = encode_specs(a, c, s, nm);

	for (i = 0; i < n; i++)
		total += spec_bytes(&s[i]);
	return total;
}

int
encode_check_layout(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e)
{
	struct st_spec s[ENC_MAXTENSORS];
	char nm[ENC_MAXTENSORS][ST_MAXNAME];
	const struct st_tensor *x;
	uint64_t at = 0;
	int i, k, n = encode_specs(a, c, s, nm);

	if (st->n != n)
		return fed_errf(e, "%d tensors, %s wants %d", st->n,
		    names[c->scheme], n);
	for (i = 0; i < n; i++) {
		if ((x = st_find(st, s[i].name)) == NULL)
			return fed_errf(e, "tensor %s missing", s[i].name);
		if (x->dtype != s[i].dtype)
			return fed_errf(e, "tensor %s: dtype %s, want %s",
			    s[i].name, st_dtype_name(x->dtype),
			    st_dtype_name(s[i].dtype));
		if (x->ndim != s[i].ndim)
			return fed_errf(e, "tensor %s: %d dimensions, want %d",
			    s[i].name, x->ndim, s[i].ndim);
		for (k = 0; k < x->ndim; k++)
			if (x->shape[k] != s[i].shape[k])
				return fed_errf(e, "tensor %s: shape does not "
				    "fit %s", s[i].name, names[c->scheme]);
		if (x->begin != at)
			return fed_errf(e, "tensor %s: data not in the "
			    "order of %s", s[i].name, names[c->scheme]);
		at += spec_bytes(&s[i]);
	}
	return 0;
}

/* ---- encoding ---- */

float
encode_int8_scale(const float *x, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (fabs(x[i]) > m)
			m = fabs(x[i]);
	return (float)(m / 127);
}

static int8_t
int8_round(float x, float scale, rng_t *r)
{
	double q = (double)x / scale;

	q = r != NULL ? floor(q + rng_uniform(r)) : nearbyint(q);
	return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

static void
int8_tensor(const float *x, uint64_t count, float *scale, int8_t *q,
    rng_t *r)
{
	uint64_t b, i, n;

	for (b = 0; b * ENC_BLOCK < count; b++) {
		n = count - b * ENC_BLOCK < ENC_BLOCK ? count - b * ENC_BLOCK :
		    ENC_BLOCK;
		scale[b] = encode_int8_scale(x + b * ENC_BLOCK, n);
		for (i = 0; i < n; i++)
			q[b * ENC_BLOCK + i] = scale[b] > 0 ? int8_round(
			    x[b * ENC_BLOCK + i], scale[b], r) : 0;
	}
}

struct mag {
	float a;
	uint32_t i;
};

/* Larger magnitude first, then lower index: a total order. */
static int
cmp_mag(const void *pa, const void *pb)
{
	const struct mag *a = pa, *b = pb;

	if (a->a != b->a)
		return a->a > b->a ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int
cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

/* x (np) -> k indices ascending and their values; x keeps the rest. */
static void
topk(float *x, uint64_t np, uint64_t k, int32_t *idx, float *val)
{
	struct mag *m = xcalloc(np, sizeof(*m));
	uint64_t i;

	for (i = 0; i < np; i++) {
		m[i].a = fabsf(x[i]);
		m[i].i = (uint32_t)i;
	}
	qsort(m, np, sizeof(*m), cmp_mag);
	for (i = 0; i < k; i++)
		((uint32_t *)idx)[i] = m[i].i;
	free(m);
	qsort(idx, k, sizeof(*idx), cmp_u32);
	for (i = 0; i < k; i++) {
		val[i] = x[idx[i]];
		x[idx[i]] = 0;
	}
}

/* topk8: the top k of x (np) packed into s; x keeps the rest and what
 * the int8 values leave out of the kept entries.  The values are int8
 * blocks as int8's own, over the k entries in index order. */
static void
topk8(float *x, uint64_t np, uint64_t k, struct st_spec *s)
{
	int32_t *idx = xmalloc(k * sizeof(*idx));
	float *val = xmalloc(k * sizeof(*val));
	float *sc = (float *)(uintptr_t)s[2].data;
	int8_t *q = (int8_t *)(uintptr_t)s[3].data;
	uint64_t i;

	topk(x, np, k, idx, val);
	int8_tensor(val, k, sc, q, NULL);
	for (i = 0; i < k; i++)
		x[idx[i]] = val[i] - q[i] * sc[i / ENC_BLOCK];
	ctopk_pack(idx, k, np, (uint8_t *)(uintptr_t)s[0].data,
	    (uint8_t *)(uintptr_t)s[1].data);
	free(idx);
	free(val);
}

/*
 * Every tensor of x (np) to int8 into s; with res, x is the delta plus
 * the residual and res becomes what the decoded values left out.
 */
static void
int8_all(const struct tensor_spec *t, int nt, const struct enc *c,
    const float *x, float *res, uint64_t seed, struct st_spec *s)
{
	uint64_t i;
	float *sc;
	int8_t *q;
	rng_t r;
	int k;

	rng_seed(&r, seed);
	for (k = 0; k < nt; k++) {
		sc = (float *)(uintptr_t)s[k].data;
		q = (int8_t *)(uintptr_t)s[nt + k].data;
		int8_tensor(x + t[k].offset, t[k].count, sc, q,
		    c->stochastic ? &r : NULL);
		for (i = 0; res != NULL && i < t[k].count; i++)
			res[t[k].offset + i] = x[t[k].offset + i] -
			    q[i] * sc[i / ENC_BLOCK];
	}
}

static void *
encode_values(const struct arch *a, const struct enc *c, const float *d,
    float *res, uint64_t seed, struct st_spec *s, int n)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	uint64_t np = arch_nparams(a), i, bytes = 0;
	int k, nt = arch_tensors(a, t);
	uint8_t *buf, *p;
	float *x = NULL;

	for (k = 0; k < n; k++)
		bytes += spec_bytes(&s[k]);
	p = buf = xmalloc(bytes ? bytes : 1);
	for (k = 0; k < n; k++) {
		s[k].data = p;
		p += spec_bytes(&s[k]);
	}
	if (res != NULL) {
		x = xmalloc(np * sizeof(*x));
		for (i = 0; i < np; i++)
			x[i] = d[i] + res[i];
	}
	switch (c->scheme) {
	case ENC_F16:
	case ENC_BF16:
		for (i = 0; i < np; i++) {
			uint16_t h = c->scheme == ENC_F16 ? half_f16(d[i]) :
			    half_bf16(d[i]);
			memcpy(buf + 2 * i, &h, 2);
		}
		break;
	case ENC_INT8:
		int8_all(t, nt, c, x != NULL ? x : d, res, seed, s);
		break;
	case ENC_RSIGN:
		x = x != NULL ? x : memcpy(xmalloc(np * 4), d, np * 4);
		crsign_encode(x, np, c->seed, (float *)(uintptr_t)s[0].data,
		    (uint8_t *)(uintptr_t)s[1].data);
		if (res != NULL)
			memcpy(res, x, np * sizeof(*x));
		break;
	default:
		if (x == NULL) {
			x = xmalloc(np * sizeof(*x));
			memcpy(x, d, np * sizeof(*x));
		}
		if (c->scheme == ENC_TOPK8)
			topk8(x, np, c->k, s);
		else
			topk(x, np, c->k, (int32_t *)(uintptr_t)s[0].data,
			    (float *)(uintptr_t)s[1].data);
		if (res != NULL)
			memcpy(res, x, np * sizeof(*x));
		break;
	}
	free(x);
	return buf;
}

uint8_t *
encode_encode(const struct arch *a, const struct enc *c, const float *delta,
    float *residual, uint64_t seed, size_t *len, fed_err *e)
{
	struct st_spec s[ENC_MAXTENSORS];
	char nm[ENC_MAXTENSORS][ST_MAXNAME];
	struct st_file st;
	uint8_t *buf, *out;
	int n = encode_specs(a, c, s, nm);

	buf = encode_values(a, c, delta, residual, seed, s, n);
	out = st_write(s, n, len, e);
	free(buf);
	if (out == NULL)
		return NULL;
	/* fp16 and bf16 overflow to infinity: refuse, as readers would */
	if (st_parse(out, *len, &st, e) < 0) {
		free(out);
		fed_errf(e, "the delta does not fit %s: %s", names[c->scheme],
		    e->msg);
		return NULL;
	}
	st_file_free(&st);
	return out;
}

/* ---- streaming decoder ---- */

void
encode_stream_init(struct encode_stream *s, const struct arch *a,
    const struct enc *c)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->c = *c;
	s->np = arch_nparams(a);
	s->nt = arch_tensors(a, s->t);
	for (i = 0; i < s->nt; i++) {
		s->sbase[i] = s->nblocks;
		s->nblocks += (s->t[i].count + ENC_BLOCK - 1) / ENC_BLOCK;
	}
	s->prefix = xcalloc(encode_stream_prefix_bytes(s) / 4 + 1, 4);
}

uint64_t
encode_stream_prefix_bytes(const struct encode_stream *s)
{
	if (s->c.scheme == ENC_INT8)
		return s->nblocks * 4;
	if (s->c.scheme == ENC_RSIGN)
		return crsign_blocks(s->np) * 4;
	if (s->c.scheme == ENC_TOPK8)
		return ctopk_spans(s->np) + s->c.k + 4 * ctopk_blocks(s->c.k);
	return s->c.scheme == ENC_TOPK ? s->c.k * 4 : 0;
}

void *
encode_stream_prefix(struct encode_stream *s)
{
	return s->prefix;
}

/* int8: scales finite and >= 0; topk: indices ascending, unique, in
 * range.  After this, decoding can trust them. */
int
encode_stream_check(struct encode_stream *s, fed_err *e)
{
	const float *sc = s->prefix;
	const int32_t *ix = s->prefix;
	uint64_t i;
	int k;

	s->pidx = 0;
	if (s->c.scheme == ENC_TOPK8) {
		free(s->ix);
		free(s->ksc);
		s->ix = xmalloc(s->c.k * sizeof(*s->ix));
		s->ksc = xmalloc(ctopk_blocks(s->c.k) * sizeof(*s->ksc));
		return ctopk_unpack(s->prefix, s->np, s->c.k, s->ix, s->ksc, e);
	}
	for (i = 0; s->c.scheme == ENC_RSIGN && i < crsign_blocks(s->np); i++)
		if (!(sc[i] >= 0) || !isfinite(sc[i]))
			return fed_errf(e, "rsign.scales: scale not finite "
			    "and >= 0");
	if (s->c.scheme == ENC_INT8) {
		for (k = 0; k < s->nt; k++)
			for (i = s->sbase[k]; i < (k + 1 < s->nt ?
			    s->sbase[k + 1] : s->nblocks); i++)
				if (!(sc[i] >= 0) || !isfinite(sc[i]))
					return fed_errf(e, "%s.scale: scale "
					    "not finite and >= 0",
					    s->t[k].name);
	} else if (s->c.scheme == ENC_TOPK) {
		for (i = 0; i < s->c.k; i++)
			if (ix[i] < 0 || (uint64_t)ix[i] >= s->np ||
			    (i > 0 && ix[i] <= ix[i - 1]))
				return fed_errf(e, "topk.indices: entry %llu "
				    "not ascending, unique and below %llu",
				    (unsigned long long)i,
				    (unsigned long long)s->np);
	}
	return 0;
}

uint64_t
encode_stream_bytes(const struct encode_stream *s, uint64_t at, size_t len)
{
	const int32_t *ix = s->c.scheme == ENC_TOPK8 ? s->ix : s->prefix;
	uint64_t i;

	switch (s->c.scheme) {
	case ENC_TOPK:
	case ENC_TOPK8:
		for (i = s->pidx; i < s->c.k && (uint64_t)ix[i] < at + len; i++)
			;
		return (i - s->pidx) * (s->c.scheme == ENC_TOPK ? 4 : 1);
	case ENC_INT8:
		return len;
	case ENC_RSIGN:
		return crsign_bits_at(s->np, (at + len + CRSIGN_BLOCK - 1) /
		    CRSIGN_BLOCK) - crsign_bits_at(s->np, at / CRSIGN_BLOCK);
	case ENC_F32:
		return (uint64_t)len * 4;
	default:
		return (uint64_t)len * 2;
	}
}

/* An int8 value as the format allows it: never -128, and 0 under a
 * zero scale. */
static int
int8_valid(int8_t q, float sc)
{
	return q != -128 && (sc != 0 || q == 0);
}

/* int8 values of coordinates [at, at + len) times their blocks' scales. */
static int
stream_int8(const struct encode_stream *s, const uint8_t *src, uint64_t at,
    size_t len, float *out, fed_err *e)
{
	const struct tensor_spec *t = s->t;
	const float *scales = s->prefix;
	uint64_t c;
	size_t k;
	int ti = 0;
	int8_t q;
	float sc;

	for (k = 0; k < len; k++) {
		c = at + k;
		while (c >= t[ti].offset + t[ti].count)
			ti++;
		sc = scales[s->sbase[ti] + (c - t[ti].offset) / ENC_BLOCK];
		q = (int8_t)src[k];
		if (!int8_valid(q, sc))
			return fed_errf(e, "%s: value %d out of range",
			    t[ti].name, q);
		out[k] = q * sc;
	}
	return 0;
}

/* topk8's entries in [at, at + len), int8 times their blocks' scales. */
static int
stream_topk8(struct encode_stream *s, const uint8_t *src, uint64_t at,
    size_t len, float *out, fed_err *e)
{
	size_t k;
	int8_t q;
	float sc;

	memset(out, 0, len * sizeof(float));
	for (k = 0; s->pidx < s->c.k && (uint64_t)s->ix[s->pidx] < at + len;
	    s->pidx++, k++) {
		q = (int8_t)src[k];
		sc = s->ksc[s->pidx / ENC_BLOCK];
		if (!int8_valid(q, sc))
			return fed_errf(e, "topk.values: value %d out of range",
			    q);
		out[s->ix[s->pidx] - at] = q * sc;
	}
	return 0;
}

int
encode_stream_decode(struct encode_stream *s, const uint8_t *src,
    uint64_t at, size_t len, float *out, fed_err *e)
{
	const int32_t *ix = s->prefix;
	uint16_t h;
	size_t k;

	switch (s->c.scheme) {
	case ENC_TOPK:
		memset(out, 0, len * sizeof(float));
		for (k = 0; s->pidx < s->c.k &&
		    (uint64_t)ix[s->pidx] < at + len; s->pidx++, k++)
			memcpy(out + (ix[s->pidx] - at), src + 4 * k, 4);
		break;
	case ENC_INT8:
		if (stream_int8(s, src, at, len, out, e) < 0)
			return -1;
		break;
	case ENC_TOPK8:
		if (stream_topk8(s, src, at, len, out, e) < 0)
			return -1;
		break;
	case ENC_RSIGN:
		if (crsign_decode(src, s->prefix, s->np, s->c.seed, at, len,
		    out, e) < 0)
			return -1;
		break;
	case ENC_F32:
		memcpy(out, src, len * sizeof(float));
		break;
	default:
		for (k = 0; k < len; k++) {
			memcpy(&h, src + 2 * k, 2);
			out[k] = s->c.scheme == ENC_F16 ? half_f16_value(h) :
			    half_bf16_value(h);
		}
	}
	for (k = 0; k < len; k++)
		if (!isfinite(out[k]))
			return fed_errf(e, "value not finite");
	return 0;
}

void
encode_stream_free(struct encode_stream *s)
{
	free(s->prefix);
	free(s->ix);
	free(s->ksc);
	s->prefix = NULL;
	s->ix = NULL;
	s->ksc = NULL;
}

/* ---- checking and decoding whole ---- */

/* The values of a checked layout through the streaming decoder: a new
 * buffer of np floats, or NULL. */
static float *
decode_all(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e)
{
	struct encode_stream s;
	const uint8_t *base = (const uint8_t *)st->t[0].data - st->t[0].begin;
	uint64_t pb;
	float *p;

	encode_stream_init(&s, a, c);
	pb = encode_stream_prefix_bytes(&s);
	memcpy(encode_stream_prefix(&s), base, pb);
	p = xcalloc(s.np ? s.np : 1, sizeof(*p));
	if (encode_stream_check(&s, e) < 0 ||
	    encode_stream_decode(&s, base + pb, 0, s.np, p, e) < 0) {
		free(p);
		p = NULL;
	}
	encode_stream_free(&s);
	return p;
}

int
encode_check_values(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e)
{
	float *p = decode_all(a, c, st, e);

	free(p);
	return p == NULL ? -1 : 0;
}

float *
encode_decode(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e)
{
	if (encode_check_layout(a, c, st, e) < 0)
		return NULL;
	return decode_all(a, c, st, e);
}
