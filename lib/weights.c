/*
 * weights: between tensors.safetensors and the flat parameter buffer.
 * A model of imported tensors stores each in its own type (tset.h); its
 * updates, like every other, are float32.
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "tset.h"
#include "weights.h"

int
weights_meta_arch(const struct manifest *m, struct arch *a, fed_err *e)
{
	const json_t *meta;

	if (m->arch == NULL)
		return fed_errf(e, "manifest.json: arch missing");
	if (arch_parse(m->arch, a, e) < 0)
		return -1;
	if (a->kind != ARCH_TENSORS)
		return 0;
	meta = json_object_get(m->json, "metadata");
	if (meta != NULL && tset_meta_check(meta, e) < 0)
		return fed_errprefix(e, "manifest.json: metadata");
	return tset_load(a, json_object_get(m->json, "tensors"), e);
}

int
weights_arch(const json_t *m, struct arch *a, fed_err *e)
{
	struct manifest mf = { .json = (json_t *)m,
	    .arch = manifest_str(m, "arch") };

	return weights_meta_arch(&mf, a, e);
}

/* Does st hold every tensor in a's stored type and layout (the model
 * form)?  For float32 architectures this is the float32 form too. */
static int
stored_form(const struct tensor_spec *t, int n, const struct st_file *st)
{
	const struct st_tensor *x;
	int i;

	for (i = 0; i < n; i++)
		if ((x = st_find(st, t[i].name)) == NULL ||
		    x->dtype != t[i].dtype || x->begin != t[i].boff)
			return 0;
	return 1;
}

/* The tensors of st are exactly t[0..n), in type and place. */
static int
check_specs(const struct tensor_spec *t, int n, const struct st_file *st,
    fed_err *e)
{
	int i, k;
	const struct st_tensor *x;

	if (st->n != n)
		return fed_errf(e, "%d tensors, the architecture has %d", st->n,
		    n);
	for (i = 0; i < n; i++) {
		if ((x = st_find(st, t[i].name)) == NULL)
			return fed_errf(e, "tensor %s missing", t[i].name);
		/* data in the architecture's order, so that readers can
		 * stream the flat parameter vector */
		if (x->begin != t[i].boff)
			return fed_errf(e, "tensor %s: data not in the "
			    "architecture's order", t[i].name);
		if (x->dtype != t[i].dtype)
			return fed_errf(e, "tensor %s: dtype %s, want %s",
			    t[i].name, st_dtype_name(x->dtype),
			    st_dtype_name(t[i].dtype));
		if (x->ndim != t[i].ndim)
			return fed_errf(e, "tensor %s: %d dimensions, want %d",
			    t[i].name, x->ndim, t[i].ndim);
		for (k = 0; k < x->ndim; k++)
			if (x->shape[k] != t[i].shape[k])
				return fed_errf(e, "tensor %s: shape does not "
				    "match the architecture", t[i].name);
	}
	return 0;
}

int
weights_check(const struct arch *a, const struct st_file *st, fed_err *e)
{
	return weights_check_as(a, st, -1, e);
}

int
weights_check_as(const struct arch *a, const struct st_file *st, int model,
    fed_err *e)
{
	struct tensor_spec *t = xcalloc(ARCH_MAXTENSORS, sizeof(*t));
	int n = arch_tensors(a, t), rc, i;

	/* a model is stored in its types; an update, or either when the
	 * caller does not say, in float32 */
	if (model == 1 || (model == -1 && stored_form(t, n, st)))
		;
	else
		for (i = 0; i < n; i++) {
			t[i].dtype = ST_F32;
			t[i].boff = t[i].offset * sizeof(float);
		}
	rc = check_specs(t, n, st, e);
	free(t);
	return rc;
}

float *
weights_load(const struct bundle *b, struct arch *a, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_file st;
	struct enc c;
	uint64_t size;
	const uint8_t *buf = bundle_get(b, WEIGHTS_MEMBER, &size);
	const struct st_tensor *x;
	float *p;
	int i, n;

	if (weights_meta_arch(&b->meta, a, e) < 0)
		return NULL;
	if (buf == NULL) {
		fed_errf(e, "no %s", WEIGHTS_MEMBER);
		return NULL;
	}
	if (st_parse(buf, size, &st, e) < 0)
		return NULL;
	/* an update may be encoded (fed-bundle(5)): decoded, checked */
	if (encode_manifest(b->meta.json, arch_nparams(a), &c, e) < 0) {
		st_file_free(&st);
		return NULL;
	}
	if (c.scheme != ENC_F32) {
		p = encode_decode(a, &c, &st, e);
		st_file_free(&st);
		return p;
	}
	if (weights_check_as(a, &st, strcmp(b->meta.kind, "model") == 0,
	    e) < 0) {
		st_file_free(&st);
		return NULL;
	}
	p = xmalloc((arch_nparams(a) ? arch_nparams(a) : 1) * sizeof(float));
	n = arch_tensors(a, t);
	for (i = 0; i < n; i++) {
		x = st_find(&st, t[i].name);
		tset_to_float(x->dtype, x->data, p + t[i].offset, t[i].count);
	}
	st_file_free(&st);
	return p;
}

float *
weights_read(const char *path, const char *kind, struct bundle *b,
    struct arch *a, fed_err *e)
{
	float *w;

	if (bundle_load(path, WEIGHTS_MAXBYTES, b, e) < 0)
		return NULL;
	if (strcmp(b->meta.kind, kind) != 0) {
		fed_errf(e, "not a%s %s bundle (kind %s)", *kind == 'u' ? "n" :
		    "", kind, b->meta.kind);
	} else if (b->meta.arch != NULL &&
	    strncmp(b->meta.arch, "tensors:", 8) == 0) {
		/* its readers (fed-train, fed-eval, fed-sample) run fed's own
		 * architectures; an imported set is the user's stack's */
		fed_errf(e, "imported tensors: fed trains and evaluates only "
		    "its own architectures (fed-verify --weights exports them)");
	} else if ((w = weights_load(b, a, e)) != NULL)
		return w;
	bundle_free(b);
	return NULL;
}

uint8_t *
weights_encode(const struct arch *a, const float *p, size_t *len, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_spec s[ARCH_MAXTENSORS];
	int i, n = arch_tensors(a, t);

	for (i = 0; i < n; i++) {
		arch_st_spec(&t[i], t[i].name, ST_F32, &s[i]);
		s[i].data = p + t[i].offset;
	}
	return st_write(s, n, len, e);
}

/* The safetensors header of a's weights as a model stores them, with
 * __metadata__ meta (or NULL). */
uint8_t *
weights_header(const struct arch *a, int stored, const json_t *meta,
    size_t *len, fed_err *e)
{
	struct tensor_spec *t = xcalloc(ARCH_MAXTENSORS, sizeof(*t));
	struct st_spec *s = xcalloc(ARCH_MAXTENSORS, sizeof(*s));
	int i, n = arch_tensors(a, t);
	uint8_t *h;

	for (i = 0; i < n; i++)
		arch_st_spec(&t[i], t[i].name, stored ? t[i].dtype : ST_F32,
		    &s[i]);
	h = st_header_meta(s, n, meta, len, e);
	free(t);
	free(s);
	return h;
}
