/*
 * moments: the moments member of updates and models, and its manifest
 * object.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "moments.h"

static const char *const second[] = { "w.", "v." };

/* s as manifest_moments_step gives it: 0 is a malformed object. */
static int
step_of(int64_t s, int64_t *step, fed_err *e)
{
	*step = s == 0 ? -1 : s;
	if (s == 0)
		return fed_errf(e, "manifest.json: moments.step must be a "
		    "positive integer");
	return 0;
}

int
moments_step(const json_t *m, int64_t *step, fed_err *e)
{
	return step_of(manifest_moments_step(m), step, e);
}

int
moments_meta_step(const struct manifest *m, int64_t *step, fed_err *e)
{
	return step_of(m->moments_step, step, e);
}

json_t *
moments_json(int64_t step)
{
	return json_pack("{s:I}", "step", (json_int_t)step);
}

int
moments_layout(const struct arch *a, const struct st_file *st,
    enum moments_kind k, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	const struct st_tensor *x;
	char name[ST_MAXNAME];
	int h, i, d, n = arch_tensors(a, t);
	uint64_t np = arch_nparams(a);

	if (st->n != 2 * n)
		return fed_errf(e, "%d tensors, want %d", st->n, 2 * n);
	for (h = 0; h < 2; h++)
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s%.128s", h ? second[k] :
			    "m.", t[i].name);
			if ((x = st_find(st, name)) == NULL)
				return fed_errf(e, "tensor %s missing", name);
			if (x->dtype != ST_F32 || x->ndim != t[i].ndim ||
			    x->begin != (h * np + t[i].offset) * 4)
				return fed_errf(e, "tensor %s is not F32 in the "
				    "architecture's order", name);
			for (d = 0; d < x->ndim; d++)
				if (x->shape[d] != t[i].shape[d])
					return fed_errf(e, "tensor %s: shape "
					    "does not match the architecture",
					    name);
		}
	return 0;
}

int
moments_values(const void *s, uint64_t n, fed_err *e)
{
	const uint8_t *p = s;
	uint64_t i;
	float x;

	for (i = 0; i < n; i++, p += 4)
		if (memcpy(&x, p, 4), !(x >= 0) || !isfinite(x))
			return fed_errf(e, "second moment not finite and >= 0 "
			    "at %llu", (unsigned long long)i);
	return 0;
}

int
moments_check(const struct arch *a, const struct st_file *st,
    enum moments_kind k, fed_err *e)
{
	uint64_t np = arch_nparams(a);
	const uint8_t *data;
	fed_err me;

	if (moments_layout(a, st, k, &me) < 0)
		return fed_errf(e, "%s: %s", MOMENTS_MEMBER, me.msg);
	data = (const uint8_t *)st->t[0].data - st->t[0].begin;
	if (moments_values(data + np * 4, np, &me) < 0)
		return fed_errf(e, "%s: %s", MOMENTS_MEMBER, me.msg);
	return 0;
}

uint8_t *
moments_encode(const struct arch *a, const float *m, const float *s,
    enum moments_kind k, size_t *len, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_spec sp[2 * ARCH_MAXTENSORS];
	char names[2 * ARCH_MAXTENSORS][ST_MAXNAME];
	int h, i, n = arch_tensors(a, t);

	memset(sp, 0, sizeof(sp));
	for (h = 0; h < 2; h++)
		for (i = 0; i < n; i++) {
			struct st_spec *p = &sp[h * n + i];

			snprintf(names[h * n + i], ST_MAXNAME, "%s%.128s",
			    h ? second[k] : "m.", t[i].name);
			p->name = names[h * n + i];
			p->dtype = ST_F32;
			p->ndim = t[i].ndim;
			memcpy(p->shape, t[i].shape, sizeof(p->shape));
			p->data = (h ? s : m) + t[i].offset;
		}
	return st_write(sp, 2 * n, len, e);
}

int
moments_load(const struct bundle *b, const struct arch *a, float **m,
    float **v, int64_t *step, fed_err *e)
{
	uint64_t size, np = arch_nparams(a);
	const uint8_t *buf = bundle_get(b, MOMENTS_MEMBER, &size);
	struct st_file st;
	fed_err pe;
	int64_t s;

	*m = *v = NULL;
	*step = 0;
	if (moments_meta_step(&b->meta, &s, e) < 0)
		return -1;
	if ((buf == NULL) != (s < 0))
		return fed_errf(e, "%s and manifest.json's moments: one "
		    "without the other", MOMENTS_MEMBER);
	if (buf == NULL)
		return 0;
	if (st_parse(buf, size, &st, &pe) < 0)
		return fed_errf(e, "%s: %s", MOMENTS_MEMBER, pe.msg);
	if (moments_check(a, &st, MOMENTS_MODEL, e) < 0) {
		st_file_free(&st);
		return -1;
	}
	*m = xmalloc(np * sizeof(float));
	*v = xmalloc(np * sizeof(float));
	memcpy(*m, buf + st.data_start, np * sizeof(float));
	memcpy(*v, buf + st.data_start + np * 4, np * sizeof(float));
	*step = s;
	st_file_free(&st);
	return 0;
}
