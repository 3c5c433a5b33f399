/*
 * weights: between tensors.safetensors and the flat parameter buffer.
 */
#include <string.h>

#include "encode.h"
#include "weights.h"

int
weights_meta_arch(const struct manifest *m, struct arch *a, fed_err *e)
{
	if (m->arch == NULL)
		return fed_errf(e, "manifest.json: arch missing");
	return arch_parse(m->arch, a, e);
}

int
weights_arch(const json_t *m, struct arch *a, fed_err *e)
{
	struct manifest mf = { .arch = manifest_str(m, "arch") };

	return weights_meta_arch(&mf, a, e);
}

int
weights_check(const struct arch *a, const struct st_file *st, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	int i, k, n = arch_tensors(a, t);
	const struct st_tensor *x;

	if (st->n != n)
		return fed_errf(e, "%d tensors, the architecture has %d", st->n,
		    n);
	for (i = 0; i < n; i++) {
		if ((x = st_find(st, t[i].name)) == NULL)
			return fed_errf(e, "tensor %s missing", t[i].name);
		/* data in the architecture's order, so that readers can
		 * stream the flat parameter vector */
		if (x->begin != t[i].offset * sizeof(float))
			return fed_errf(e, "tensor %s: data not in the "
			    "architecture's order", t[i].name);
		if (x->dtype != ST_F32)
			return fed_errf(e, "tensor %s: dtype %s, want F32",
			    t[i].name, st_dtype_name(x->dtype));
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

float *
weights_load(const struct bundle *b, struct arch *a, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_file st;
	struct enc c;
	uint64_t size;
	const uint8_t *buf = bundle_get(b, WEIGHTS_MEMBER, &size);
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
	if (weights_check(a, &st, e) < 0) {
		st_file_free(&st);
		return NULL;
	}
	p = xmalloc(arch_nparams(a) * sizeof(float));
	n = arch_tensors(a, t);
	for (i = 0; i < n; i++)
		memcpy(p + t[i].offset, st_find(&st, t[i].name)->data,
		    t[i].count * sizeof(float));
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

	memset(s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		s[i].name = t[i].name;
		s[i].dtype = ST_F32;
		s[i].ndim = t[i].ndim;
		s[i].shape[0] = t[i].shape[0];
		s[i].shape[1] = t[i].shape[1];
		s[i].data = p + t[i].offset;
	}
	return st_write(s, n, len, e);
}
