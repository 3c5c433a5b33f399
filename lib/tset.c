/*
 * tset: the table of an imported tensor set: checked, sorted, digested,
 * carried in manifests; and its stored types converted.  The bytes of
 * the tensors are weights' and fed-init's to move.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "half.h"
#include "sha256.h"
#include "tset.h"

static int
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > ARCH_MAXNAME)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* One entry: its name, type and shape checked, its count set. */
static int
spec_set(struct tensor_spec *t, const char *name, enum st_dtype d, int ndim,
    const int64_t *shape, fed_err *e)
{
	char q[ARCH_MAXNAME + 64];
	int k;

	memset(t, 0, sizeof(*t));
	fed_escape(q, sizeof(q), name);
	if (!name_ok(name))
		return fed_errf(e, "tensor name %.40s: empty, over %d bytes "
		    "or not printable ASCII", q, ARCH_MAXNAME);
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (d != ST_F32 && d != ST_F16 && d != ST_BF16)
		return fed_errf(e, "tensor %s: dtype %s, want F32, F16 or BF16",
		    q, st_dtype_name(d));
	if (ndim < 0 || ndim > ST_MAXNDIM)
		return fed_errf(e, "tensor %s: more than %d dimensions",
		    q, ST_MAXNDIM);
	t->dtype = d;
	t->ndim = ndim;
	t->count = 1;
	for (k = 0; k < ndim; k++) {
		if (shape[k] < 1 || (uint64_t)shape[k] > ARCH_MAXPARAMS ||
		    t->count * (uint64_t)shape[k] > ARCH_MAXPARAMS)
			return fed_errf(e, "tensor %s: empty or larger than %llu "
			    "elements", q,
			    (unsigned long long)ARCH_MAXPARAMS);
		t->shape[k] = shape[k];
		t->count *= (uint64_t)shape[k];
	}
	return 0;
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct tensor_spec *)x)->name,
	    ((const struct tensor_spec *)y)->name);
}

/* The text the digest is over: one line a tensor. */
static void
digest(const struct arch *a, char hex[65])
{
	struct sha256 *h = sha256_new();
	uint8_t d[SHA256_LEN];
	char line[ARCH_MAXNAME + 128];
	int i, k, n;

	for (i = 0; i < a->nt; i++) {
		const struct tensor_spec *t = &a->t[i];

		n = snprintf(line, sizeof(line), "%s\t%s\t", t->name,
		    st_dtype_name(t->dtype));
		for (k = 0; k < t->ndim; k++)
			n += snprintf(line + n, sizeof(line) - (size_t)n,
			    k ? ",%lld" : "%lld", (long long)t->shape[k]);
		line[n++] = '\n';
		sha256_update(h, line, (size_t)n);
	}
	sha256_final(h, d);
	sha256_free(h);
	for (i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Sorted entries: no two alike, offsets laid out, the digest set into
 * want (when it is NULL) or checked against it. */
static int
finish(struct arch *a, const char *want, fed_err *e)
{
	uint64_t off = 0, boff = 0;
	char hex[65], q[ARCH_MAXNAME + 64];
	int i;

	if (a->nt == 0)
		return fed_errf(e, "no tensors");
	for (i = 0; i < a->nt; i++) {
		if (i > 0 && strcmp(a->t[i - 1].name, a->t[i].name) >= 0)
			return fed_errf(e, "tensor %s: %s",
			    fed_escape(q, sizeof(q), a->t[i].name),
			    strcmp(a->t[i - 1].name, a->t[i].name) == 0 ?
			    "listed twice" : "not in name order");
		a->t[i].offset = off;
		a->t[i].boff = boff;
		off += a->t[i].count;
		boff += a->t[i].count * st_dtype_size(a->t[i].dtype);
		if (off > ARCH_MAXPARAMS)
			return fed_errf(e, "more than %llu parameters",
			    (unsigned long long)ARCH_MAXPARAMS);
	}
	digest(a, hex);
	if (want != NULL && strcmp(want, hex) != 0)
		return fed_errf(e, "the tensor table's digest is %.16s..., the "
		    "architecture names %.16s...", hex, want);
	memcpy(a->id, hex, sizeof(hex));
	return 0;
}

int
tset_from_st(const struct st_file *st, struct arch *a, fed_err *e)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->kind = ARCH_TENSORS;
	if (st->n > ARCH_MAXTENSORS)
		return fed_errf(e, "%d tensors, at most %d", st->n,
		    ARCH_MAXTENSORS);
	for (i = 0; i < st->n; i++)
		if (spec_set(&a->t[i], st->t[i].name, st->t[i].dtype,
		    st->t[i].ndim, st->t[i].shape, e) < 0)
			return -1;
	a->nt = st->n;
	qsort(a->t, (size_t)a->nt, sizeof(a->t[0]), by_name);
	return finish(a, NULL, e);
}

/* One manifest entry {"name", "dtype", "shape"} into t. */
static int
load_entry(struct tensor_spec *t, const json_t *o, fed_err *e)
{
	static const enum st_dtype types[] = { ST_F32, ST_F16, ST_BF16 };
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *dt = json_string_value(json_object_get(o, "dtype"));
	const json_t *sh = json_object_get(o, "shape"), *v;
	int64_t shape[ST_MAXNDIM];
	char q[64];
	size_t k, d;

	if (!json_is_object(o) || json_object_size(o) != 3 || name == NULL ||
	    dt == NULL || !json_is_array(sh) ||
	    json_array_size(sh) > ST_MAXNDIM)
		return fed_errf(e, "manifest.json: tensors: each entry is "
		    "{\"name\", \"dtype\", \"shape\"} with at most %d "
		    "dimensions", ST_MAXNDIM);
	for (d = 0; d < 3; d++)
		if (strcmp(dt, st_dtype_name(types[d])) == 0)
			break;
	json_array_foreach(sh, k, v) {
		if (!json_is_integer(v))
			return fed_errf(e, "manifest.json: tensors: a shape "
			    "holds integers");
		shape[k] = json_integer_value(v);
	}
	if (d == 3)
		return fed_errf(e, "manifest.json: tensors: dtype %.16s, want "
		    "F32, F16 or BF16", fed_escape(q, sizeof(q), dt));
	return spec_set(t, name, types[d], (int)json_array_size(sh), shape, e);
}

int
tset_load(struct arch *a, const json_t *tensors, fed_err *e)
{
	size_t i;

	if (!json_is_array(tensors))
		return fed_errf(e, "manifest.json: tensors missing (the "
		    "architecture's table)");
	if (json_array_size(tensors) > ARCH_MAXTENSORS)
		return fed_errf(e, "manifest.json: more than %d tensors",
		    ARCH_MAXTENSORS);
	for (i = 0; i < json_array_size(tensors); i++)
		if (load_entry(&a->t[i], json_array_get(tensors, i), e) < 0)
			return -1;
	a->nt = (int)json_array_size(tensors);
	if (finish(a, a->id, e) < 0)
		return fed_errprefix(e, "manifest.json");
	return 0;
}

json_t *
tset_json(const struct arch *a)
{
	json_t *arr = json_array(), *sh;
	int i, k;

	for (i = 0; i < a->nt; i++) {
		sh = json_array();
		for (k = 0; k < a->t[i].ndim; k++)
			json_array_append_new(sh, json_integer(a->t[i].shape[k]));
		json_array_append_new(arr, json_pack("{s:s,s:s,s:o}", "name",
		    a->t[i].name, "dtype", st_dtype_name(a->t[i].dtype),
		    "shape", sh));
	}
	return arr;
}

int
tset_meta_check(const json_t *meta, fed_err *e)
{
	const char *k;
	char q[64];
	json_t *v;
	size_t n = 0;

	if (!json_is_object(meta))
		return fed_errf(e, "__metadata__ is not an object");
	json_object_foreach((json_t *)meta, k, v) {
		if (!json_is_string(v))
			return fed_errf(e, "__metadata__: %.40s is not a string",
			    fed_escape(q, sizeof(q), k));
		n += strlen(k) + json_string_length(v) + 8;
	}
	if (n > TSET_MAXMETA)
		return fed_errf(e, "__metadata__: over %d bytes", TSET_MAXMETA);
	return 0;
}

void
tset_to_float(enum st_dtype d, const void *src, float *dst, size_t n)
{
	const uint8_t *p = src;
	uint16_t h;
	size_t i;

	if (d == ST_F32) {
		memcpy(dst, src, n * sizeof(float));
		return;
	}
	for (i = 0; i < n; i++) {
		h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
		dst[i] = d == ST_F16 ? half_f16_value(h) :
		    half_bf16_value(h);
	}
}

size_t
tset_from_float(enum st_dtype d, const float *src, void *dst, size_t n)
{
	uint16_t h, mask = d == ST_F16 ? 0x7c00 : 0x7f80;
	uint8_t *p = dst;
	size_t i, bad = 0;

	if (d == ST_F32) {
		memcpy(dst, src, n * sizeof(float));
		return 0;
	}
	for (i = 0; i < n; i++) {
		h = d == ST_F16 ? half_f16(src[i]) : half_bf16(src[i]);
		bad += (h & mask) == mask;
		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
	return bad;
}
