/*
 * data: check a data bundle's manifest against its data.safetensors
 * (shapes, dtypes, label range, class counts) once, at load, so that
 * training and evaluation work on trusted arrays.  The bundle reader has
 * already checked hashes and the safetensors framing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "arch.h"
#include "nn.h"

/* A manifest integer in [min, max], or -1 with e set. */
static int
field_int(const json_t *m, const char *key, int64_t min, int64_t max,
    int64_t *v, fed_err *e)
{
	json_t *j = json_object_get(m, key);

	if (!json_is_integer(j))
		return fed_errf(e, "manifest lacks integer \"%s\"", key);
	*v = json_integer_value(j);
	if (*v < min || *v > max)
		return fed_errf(e, "manifest \"%s\" %lld out of range %lld..%lld",
		    key, (long long)*v, (long long)min, (long long)max);
	return 0;
}

static int
check_manifest(struct dataset *d, const json_t *m, fed_err *e)
{
	const char *kind = json_string_value(json_object_get(m, "kind"));
	json_t *s;
	int64_t v;

	if (kind == NULL || strcmp(kind, "data") != 0)
		return fed_errf(e, "not a data bundle (kind %s)",
		    kind ? kind : "missing");
	if (field_int(m, "samples", 1, DATA_MAXROWS, &d->n, e) < 0)
		return -1;
	if (field_int(m, "features", 1, ARCH_MAXDIM, &v, e) < 0)
		return -1;
	d->features = (int)v;
	if (field_int(m, "classes", 2, ARCH_MAXDIM, &v, e) < 0)
		return -1;
	d->classes = (int)v;
	s = json_object_get(m, "x_scale");
	if (!json_is_number(s))
		return fed_errf(e, "manifest lacks number \"x_scale\"");
	d->x_scale = json_number_value(s);
	if (!isfinite(d->x_scale) || d->x_scale <= 0 || d->x_scale > 1e30)
		return fed_errf(e, "manifest \"x_scale\" must be positive and "
		    "finite");
	return 0;
}

static int
check_shape(const struct st_tensor *t, const char *name, int ndim,
    int64_t d0, int64_t d1, fed_err *e)
{
	if (t == NULL)
		return fed_errf(e, "%s lacks tensor \"%s\"", DATA_MEMBER, name);
	if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 &&
	    t->shape[1] != d1))
		return fed_errf(e, "tensor \"%s\" has the wrong shape for the "
		    "manifest's samples and features", name);
	return 0;
}

static int
check_tensors(struct dataset *d, fed_err *e)
{
	const struct st_tensor *x = st_find(&d->st, "x");
	const struct st_tensor *y = st_find(&d->st, "y");

	if (d->st.n != 2)
		return fed_errf(e, "%s must hold exactly \"x\" and \"y\"",
		    DATA_MEMBER);
	if (check_shape(x, "x", 2, d->n, d->features, e) < 0 ||
	    check_shape(y, "y", 1, d->n, 0, e) < 0)
		return -1;
	if (x->dtype != ST_U8 && x->dtype != ST_F32)
		return fed_errf(e, "tensor \"x\" has dtype %s, want U8 or F32",
		    st_dtype_name(x->dtype));
	if (y->dtype != ST_I32)
		return fed_errf(e, "tensor \"y\" has dtype %s, want I32",
		    st_dtype_name(y->dtype));
	d->xtype = x->dtype;
	d->x = x->data;
	d->y = xcalloc((size_t)d->n, sizeof(int32_t));
	memcpy(d->y, y->data, (size_t)d->n * sizeof(int32_t));
	return 0;
}

/* Labels in range, and the manifest's class_counts (if any) true. */
static int
check_labels(struct dataset *d, const json_t *m, fed_err *e)
{
	json_t *cc = json_object_get(m, "class_counts");
	int64_t i;

	d->count = xcalloc((size_t)d->classes, sizeof(int64_t));
	for (i = 0; i < d->n; i++) {
		if (d->y[i] < 0 || d->y[i] >= d->classes)
			return fed_errf(e, "label %ld of sample %lld outside "
			    "0..%d", (long)d->y[i], (long long)i,
			    d->classes - 1);
		d->count[d->y[i]]++;
	}
	if (cc == NULL)
		return 0;
	if (!json_is_array(cc) || json_array_size(cc) != (size_t)d->classes)
		return fed_errf(e, "manifest \"class_counts\" must be an array "
		    "of %d integers", d->classes);
	for (i = 0; i < d->classes; i++) {
		json_t *c = json_array_get(cc, (size_t)i);

		if (!json_is_integer(c) || json_integer_value(c) != d->count[i])
			return fed_errf(e, "manifest \"class_counts\"[%lld] does "
			    "not match the labels", (long long)i);
	}
	return 0;
}

/* Document starts: from 0, strictly increasing, below n. */
static int
check_docs(const struct st_tensor *t, int64_t n, fed_err *e)
{
	int64_t i, v, prev = -1;

	for (i = 0; i < t->shape[0]; i++) {
		memcpy(&v, (const uint8_t *)t->data + i * 8, 8);
		if ((i == 0 && v != 0) || v <= prev || v >= n)
			return fed_errf(e, "tensor \"docs\": start %lld of "
			    "document %lld out of order or range",
			    (long long)v, (long long)i);
		prev = v;
	}
	return 0;
}

/* A text data set: tokens (U8, (samples)) and docs (I64, (documents)). */
static int
check_text(struct dataset *d, const json_t *m, fed_err *e)
{
	const char *kind = json_string_value(json_object_get(m, "kind"));
	const struct st_tensor *tok, *docs;

	d->text = 1;
	if (kind == NULL || strcmp(kind, "data") != 0)
		return fed_errf(e, "not a data bundle (kind %s)",
		    kind ? kind : "missing");
	if (field_int(m, "samples", 1, DATA_MAXBYTES, &d->n, e) < 0 ||
	    field_int(m, "documents", 1, DATA_TEXT_MAXDOCS, &d->ndocs, e) < 0)
		return -1;
	tok = st_find(&d->st, "tokens");
	docs = st_find(&d->st, "docs");
	if (d->st.n != 2 || tok == NULL || docs == NULL)
		return fed_errf(e, "%s must hold exactly \"tokens\" and "
		    "\"docs\"", DATA_MEMBER);
	if (tok->dtype != ST_U8 || tok->ndim != 1 || tok->shape[0] != d->n)
		return fed_errf(e, "tensor \"tokens\" must be U8 of shape "
		    "(samples)");
	if (docs->dtype != ST_I64 || docs->ndim != 1 ||
	    docs->shape[0] != d->ndocs)
		return fed_errf(e, "tensor \"docs\" must be I64 of shape "
		    "(documents)");
	d->tokens = tok->data;
	return check_docs(docs, d->n, e);
}

int
data_from_bundle(struct dataset *d, struct bundle *b, fed_err *e)
{
	const uint8_t *p;
	uint64_t size;
	const char *mod;

	memset(d, 0, sizeof(*d));
	d->b = *b;
	memset(b, 0, sizeof(*b));
	mod = json_string_value(json_object_get(d->b.manifest, "modality"));
	if (mod != NULL && strcmp(mod, "text") == 0) {
		if ((p = bundle_get(&d->b, DATA_MEMBER, &size)) == NULL)
			return fed_errf(e, "data bundle lacks %s", DATA_MEMBER);
		if (st_parse(p, (size_t)size, &d->st, e) < 0)
			return -1;
		return check_text(d, d->b.manifest, e);
	}
	if (mod != NULL && strcmp(mod, "tabular") != 0)
		return fed_errf(e, "manifest \"modality\" %s unknown", mod);
	if (check_manifest(d, d->b.manifest, e) < 0)
		return -1;
	if ((p = bundle_get(&d->b, DATA_MEMBER, &size)) == NULL)
		return fed_errf(e, "data bundle lacks %s", DATA_MEMBER);
	if (st_parse(p, (size_t)size, &d->st, e) < 0)
		return -1;
	if (check_tensors(d, e) < 0)
		return -1;
	return check_labels(d, d->b.manifest, e);
}

int
data_load(const char *path, struct dataset *d, fed_err *e)
{
	struct bundle b;

	memset(d, 0, sizeof(*d));
	if (bundle_load(path, DATA_MAXBYTES, &b, e) < 0)
		return -1;
	return data_from_bundle(d, &b, e);
}

void
data_free(struct dataset *d)
{
	st_file_free(&d->st);
	bundle_free(&d->b);
	free(d->y);
	free(d->count);
	memset(d, 0, sizeof(*d));
}

static NN_HOT void
bytes_to_floats(float *o, const uint8_t *s, size_t n, float scale)
{
	size_t j;

	for (j = 0; j < n; j++)
		o[j] = (float)s[j] * scale;
}

#define STAGE 16384                 /* bytes of rows gathered at once */

/* The row of a batch's r-th sample. */
static int64_t
row_of(const uint32_t *idx, int64_t start, int r)
{
	return idx != NULL ? idx[start + r] : start + r;
}

/*
 * Rows of bytes, copied a stage at a time into a buffer and converted
 * from there.  A shuffled batch's rows lie far apart; copies alone keep
 * many of their misses in flight, a conversion row by row few (256 rows
 * of Fashion-MNIST on the 2-core test machine: 70 us row by row, 38 us
 * so).  Every rank of an mlp split across ranks (split.h) gathers the
 * whole batch.
 */
static void
batch_u8(const struct dataset *d, float *dst, const uint32_t *idx,
    int64_t start, int B)
{
	uint8_t stage[STAGE];
	size_t f = (size_t)d->features;
	float scale = (float)d->x_scale;
	int r, k, n, per = f <= STAGE ? (int)(STAGE / f) : 0;

	for (r = 0; r < B && per == 0; r++)
		bytes_to_floats(dst + (size_t)r * f, d->x +
		    (size_t)row_of(idx, start, r) * f, f, scale);
	for (r = 0; r < B && per > 0; r += n) {
		n = B - r < per ? B - r : per;
		for (k = 0; k < n; k++)
			memcpy(stage + (size_t)k * f, d->x +
			    (size_t)row_of(idx, start, r + k) * f, f);
		bytes_to_floats(dst + (size_t)r * f, stage, (size_t)n * f,
		    scale);
	}
}

void
data_batch(const struct dataset *d, float *dst, int32_t *y,
    const uint32_t *idx, int64_t start, int B)
{
	size_t f = (size_t)d->features;
	float scale = (float)d->x_scale;
	int r;

	if (d->xtype == ST_U8)
		batch_u8(d, dst, idx, start, B);
	for (r = 0; r < B; r++) {
		int64_t row = row_of(idx, start, r);
		float *o = dst + (size_t)r * f;

		if (d->xtype != ST_U8) {
			memcpy(o, d->x + (size_t)row * f * sizeof(float),
			    f * sizeof(float));
			if (scale != 1.0f)
				nn_scale(o, (uint64_t)f, scale);
		}
		if (y != NULL)
			y[r] = d->y[row];
	}
}
