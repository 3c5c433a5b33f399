/*
 * arch: parse "softmax:784-10" and "mlp:784-200-200-10", and lay their
 * parameters out.  Shapes follow PyTorch's nn.Linear so that weights
 * compare directly with a reference implementation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

/* The widths after the prefix of s, which messages quote whole. */
static int
parse_dims(const char *s, size_t off, struct arch *a, fed_err *e)
{
	const char *p = s + off;
	char *end;
	long v;
	int n = 0;

	for (;;) {
		if (*p < '0' || *p > '9')
			return fed_errf(e, "architecture %s: expected a width", s);
		v = strtol(p, &end, 10);
		if (v < 1 || v > ARCH_MAXDIM)
			return fed_errf(e, "architecture %s: width out of range "
			    "1..%d", s, ARCH_MAXDIM);
		if (n > ARCH_MAXLAYERS)
			return fed_errf(e, "architecture %s: more than %d "
			    "layers", s, ARCH_MAXLAYERS);
		a->dims[n++] = (int)v;
		if (*end == '\0')
			break;
		if (*end != '-')
			return fed_errf(e, "architecture %s: unexpected '%c'",
			    s, *end);
		p = end + 1;
	}
	a->nlayers = n - 1;
	return 0;
}

/* gpt:LAYERS-DIM-HEADS-CONTEXT into nlayers and dims[0..2]. */
static int
parse_gpt(const char *s, struct arch *a, fed_err *e)
{
	int L, C, H, T;

	if (parse_dims(s, 4, a, e) < 0)
		return -1;
	if (a->nlayers != 3)
		return fed_errf(e, "architecture %s: gpt takes "
		    "LAYERS-DIM-HEADS-CONTEXT", s);
	L = a->dims[0], C = a->dims[1], H = a->dims[2], T = a->dims[3];
	if (L > ARCH_MAXLAYERS)
		return fed_errf(e, "architecture %s: more than %d layers", s,
		    ARCH_MAXLAYERS);
	if (C % H != 0)
		return fed_errf(e, "architecture %s: %d heads do not divide "
		    "width %d", s, H, C);
	if (T > ARCH_MAXCONTEXT)
		return fed_errf(e, "architecture %s: context over %d", s,
		    ARCH_MAXCONTEXT);
	memset(a, 0, sizeof(*a));
	a->kind = ARCH_GPT;
	a->nlayers = L;
	a->dims[0] = C;
	a->dims[1] = H;
	a->dims[2] = T;
	return 0;
}

/* tensors:HEX, the table's digest in 64 lowercase hex digits; the table
 * itself is tset's to load. */
static int
parse_tensors(const char *s, struct arch *a, fed_err *e)
{
	size_t i;

	for (i = 8; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')) || i >= 8 + 64)
			break;
	if (i != 8 + 64 || s[i] != '\0')
		return fed_errf(e, "architecture %.80s: tensors takes the "
		    "table's SHA-256 in 64 lowercase hex digits", s);
	a->kind = ARCH_TENSORS;
	memcpy(a->id, s + 8, 65);
	return 0;
}

/* One architecture, one spelling: "mlp:784-032-10" is refused, since two
 * strings for one model would let two manifests that mean the same model
 * differ, and a comparison of strings say they are different. */
static int
arch_canonical(const struct arch *a, const char *s, fed_err *e)
{
	char buf[ARCH_STRLEN];

	arch_format(a, buf, sizeof(buf));
	if (strcmp(buf, s) != 0)
		return fed_errf(e, "architecture %.64s: not canonical (%s)",
		    s, buf);
	return 0;
}

int
arch_parse(const char *s, struct arch *a, fed_err *e)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "softmax:", 8) == 0) {
		a->kind = ARCH_SOFTMAX;
		if (parse_dims(s, 8, a, e) < 0)
			return -1;
		if (a->nlayers != 1)
			return fed_errf(e, "architecture %s: softmax takes "
			    "IN-OUT", s);
	} else if (strncmp(s, "mlp:", 4) == 0) {
		a->kind = ARCH_MLP;
		if (parse_dims(s, 4, a, e) < 0)
			return -1;
		if (a->nlayers < 2)
			return fed_errf(e, "architecture %s: mlp takes "
			    "IN-HIDDEN...-OUT", s);
	} else if (strncmp(s, "gpt:", 4) == 0) {
		if (parse_gpt(s, a, e) < 0)
			return -1;
	} else if (strncmp(s, "tensors:", 8) == 0)
		return parse_tensors(s, a, e);
	else
		return fed_errf(e, "architecture %.64s: unknown (softmax:IN-OUT, "
		    "mlp:IN-H1-...-OUT, gpt:LAYERS-DIM-HEADS-CONTEXT or "
		    "tensors:SHA256)", s);
	if (a->kind != ARCH_GPT && a->dims[a->nlayers] < 2)
		return fed_errf(e, "architecture %s: needs at least 2 classes",
		    s);
	if (arch_nparams(a) > ARCH_MAXPARAMS)
		return fed_errf(e, "architecture %s: more than %llu "
		    "parameters", s, (unsigned long long)ARCH_MAXPARAMS);
	return arch_canonical(a, s, e);
}

void
arch_format(const struct arch *a, char *buf, size_t len)
{
	size_t n;
	int i;

	if (a->kind == ARCH_GPT) {
		snprintf(buf, len, "gpt:%d-%d-%d-%d", a->nlayers, a->dims[0],
		    a->dims[1], a->dims[2]);
		return;
	}
	if (a->kind == ARCH_TENSORS) {
		snprintf(buf, len, "tensors:%s", a->id);
		return;
	}
	n = (size_t)snprintf(buf, len, "%s:",
	    a->kind == ARCH_SOFTMAX ? "softmax" : "mlp");
	for (i = 0; i <= a->nlayers && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, i ? "-%d" : "%d",
		    a->dims[i]);
}

uint64_t
arch_nparams(const struct arch *a)
{
	uint64_t n = 0, C = (uint64_t)a->dims[0];
	int i;

	if (a->kind == ARCH_GPT)
		return (2 * 256 + (uint64_t)a->dims[2]) * C + 2 * C +
		    (uint64_t)a->nlayers * (12 * C * C + 13 * C);
	if (a->kind == ARCH_TENSORS)
		return a->nt > 0 ? a->t[a->nt - 1].offset +
		    a->t[a->nt - 1].count : 0;
	for (i = 0; i < a->nlayers; i++)
		n += (uint64_t)a->dims[i] * a->dims[i + 1] + a->dims[i + 1];
	return n;
}

/* Append tensor name (d0) or (d0, d1) at *off. */
static int
add_tensor(struct tensor_spec *t, uint64_t *off, const char *name,
    int64_t d0, int64_t d1)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->ndim = d1 > 0 ? 2 : 1;
	t->dtype = ST_F32;
	t->shape[0] = d0;
	t->shape[1] = d1 > 0 ? d1 : 0;
	t->count = (uint64_t)d0 * (d1 > 0 ? (uint64_t)d1 : 1);
	t->offset = *off;
	t->boff = *off * sizeof(float);
	*off += t->count;
	return 1;
}

/* gpt's tensors, block by block in the order gpt.h's struct lists. */
static int
gpt_tensors(const struct arch *a, struct tensor_spec *t)
{
	static const struct { const char *name; int rows, cols; } blk[12] = {
		{ "ln1.weight", 1, 0 }, { "ln1.bias", 1, 0 },
		{ "attn.qkv.weight", 3, 1 }, { "attn.qkv.bias", 3, 0 },
		{ "attn.proj.weight", 1, 1 }, { "attn.proj.bias", 1, 0 },
		{ "ln2.weight", 1, 0 }, { "ln2.bias", 1, 0 },
		{ "mlp.fc.weight", 4, 1 }, { "mlp.fc.bias", 4, 0 },
		{ "mlp.proj.weight", 1, 4 }, { "mlp.proj.bias", 1, 0 },
	};
	int64_t C = a->dims[0];
	uint64_t off = 0;
	char name[32];
	int l, k, n = 0;

	n += add_tensor(t + n, &off, "wte.weight", 256, C);
	n += add_tensor(t + n, &off, "wpe.weight", a->dims[2], C);
	for (l = 0; l < a->nlayers; l++)
		for (k = 0; k < 12; k++) {
			snprintf(name, sizeof(name), "h.%d.%s", l, blk[k].name);
			n += add_tensor(t + n, &off, name, blk[k].rows * C,
			    blk[k].cols * C);
		}
	n += add_tensor(t + n, &off, "ln_f.weight", C, 0);
	n += add_tensor(t + n, &off, "ln_f.bias", C, 0);
	n += add_tensor(t + n, &off, "lm_head.weight", 256, C);
	return n;
}

int
arch_tensors(const struct arch *a, struct tensor_spec *t)
{
	uint64_t off = 0;
	int i, n = 0;
	char name[32];

	if (a->kind == ARCH_GPT)
		return gpt_tensors(a, t);
	if (a->kind == ARCH_TENSORS) {
		memcpy(t, a->t, (size_t)a->nt * sizeof(*t));
		return a->nt;
	}
	for (i = 0; i < a->nlayers; i++) {
		snprintf(name, sizeof(name), "dense.%d.weight", i);
		n += add_tensor(t + n, &off, name, a->dims[i + 1], a->dims[i]);
		snprintf(name, sizeof(name), "dense.%d.bias", i);
		n += add_tensor(t + n, &off, name, a->dims[i + 1], 0);
	}
	return n;
}

void
arch_st_spec(const struct tensor_spec *t, const char *name, enum st_dtype d,
    struct st_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->dtype = d;
	s->ndim = t->ndim;
	memcpy(s->shape, t->shape, sizeof(s->shape));
}

/*
 * GPT-2's initialization: N(0, 0.02) for matrices and embeddings, the
 * projections into the residual stream scaled by 1/sqrt(2 LAYERS), zero
 * biases, LayerNorm gains of one.
 */
static void
gpt_init_params(const struct arch *a, float *p, rng_t *r)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	int i, n = arch_tensors(a, t);
	double std, resid = 0.02 / sqrt(2.0 * a->nlayers);
	uint64_t j;

	for (i = 0; i < n; i++) {
		float *w = p + t[i].offset;

		if (t[i].ndim == 1) {
			float v = strstr(t[i].name, "weight") ? 1.0f : 0.0f;

			for (j = 0; j < t[i].count; j++)
				w[j] = v;
			continue;
		}
		std = strstr(t[i].name, "proj.weight") ? resid : 0.02;
		for (j = 0; j < t[i].count; j++)
			w[j] = (float)(std * rng_normal(r));
	}
}

void
arch_init(const struct arch *a, float *p, rng_t *r)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	int i, n;
	uint64_t j;
	double std;

	if (a->kind == ARCH_GPT) {
		gpt_init_params(a, p, r);
		return;
	}
	n = arch_tensors(a, t);

	for (i = 0; i < n; i++) {
		float *w = p + t[i].offset;
		int last = i / 2 == a->nlayers - 1;

		if (t[i].ndim == 1) {
			memset(w, 0, t[i].count * sizeof(float));
			continue;
		}
		std = sqrt((last ? 1.0 : 2.0) / (double)t[i].shape[1]);
		for (j = 0; j < t[i].count; j++)
			w[j] = (float)(std * rng_normal(r));
	}
}
