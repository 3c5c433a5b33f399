/*
 * model: parse "softmax:784-10" and "mlp:784-200-200-10", and lay their
 * parameters out.  Shapes follow PyTorch's nn.Linear so that weights
 * compare directly with a reference implementation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int
parse_dims(const char *s, struct arch *a, fed_err *e)
{
	const char *p = s;
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

int
arch_parse(const char *s, struct arch *a, fed_err *e)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "softmax:", 8) == 0) {
		a->kind = ARCH_SOFTMAX;
		if (parse_dims(s + 8, a, e) < 0)
			return -1;
		if (a->nlayers != 1)
			return fed_errf(e, "architecture %s: softmax takes "
			    "IN-OUT", s);
	} else if (strncmp(s, "mlp:", 4) == 0) {
		a->kind = ARCH_MLP;
		if (parse_dims(s + 4, a, e) < 0)
			return -1;
		if (a->nlayers < 2)
			return fed_errf(e, "architecture %s: mlp takes "
			    "IN-HIDDEN...-OUT", s);
	} else
		return fed_errf(e, "architecture %s: unknown (softmax:IN-OUT "
		    "or mlp:IN-H1-...-OUT)", s);
	if (a->dims[a->nlayers] < 2)
		return fed_errf(e, "architecture %s: needs at least 2 classes",
		    s);
	if (arch_nparams(a) > ARCH_MAXPARAMS)
		return fed_errf(e, "architecture %s: more than %llu "
		    "parameters", s, (unsigned long long)ARCH_MAXPARAMS);
	return 0;
}

void
arch_format(const struct arch *a, char *buf, size_t len)
{
	size_t n;
	int i;

	n = (size_t)snprintf(buf, len, "%s:",
	    a->kind == ARCH_SOFTMAX ? "softmax" : "mlp");
	for (i = 0; i <= a->nlayers && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, i ? "-%d" : "%d",
		    a->dims[i]);
}

uint64_t
arch_nparams(const struct arch *a)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < a->nlayers; i++)
		n += (uint64_t)a->dims[i] * a->dims[i + 1] + a->dims[i + 1];
	return n;
}

int
arch_tensors(const struct arch *a, struct tensor_spec *t)
{
	uint64_t off = 0;
	int i, n = 0;

	for (i = 0; i < a->nlayers; i++) {
		snprintf(t[n].name, sizeof(t[n].name), "dense.%d.weight", i);
		t[n].ndim = 2;
		t[n].shape[0] = a->dims[i + 1];
		t[n].shape[1] = a->dims[i];
		t[n].count = (uint64_t)a->dims[i + 1] * a->dims[i];
		t[n].offset = off;
		off += t[n++].count;
		snprintf(t[n].name, sizeof(t[n].name), "dense.%d.bias", i);
		t[n].ndim = 1;
		t[n].shape[0] = a->dims[i + 1];
		t[n].shape[1] = 0;
		t[n].count = a->dims[i + 1];
		t[n].offset = off;
		off += t[n++].count;
	}
	return n;
}

void
arch_init(const struct arch *a, float *p, rng_t *r)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	int i, n = arch_tensors(a, t);
	uint64_t j;
	double std;

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
