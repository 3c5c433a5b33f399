/*
 * model: the ops of the architectures fed knows, over nn.h's layers
 * (softmax, mlp: rows of features with labels) and gpt.h's transformer
 * (windows of text).  Each forward pass gathers its batch from the data
 * set into buffers allocated by model_init, so a step allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int
rows_fit(const struct arch *a, const struct dataset *d, fed_err *e)
{
	if (d->text || a->kind == ARCH_GPT)
		return fed_errf(e, "%s", d->text ? "text data needs a gpt model" :
		    "a gpt model needs text data");
	if (a->dims[0] != d->features)
		return fed_errf(e, "model takes %d inputs but the data has %d "
		    "features", a->dims[0], d->features);
	if (a->dims[a->nlayers] != d->classes)
		return fed_errf(e, "model has %d classes but the data has %d",
		    a->dims[a->nlayers], d->classes);
	return 0;
}

static int
rows_init(struct model *m, fed_err *e)
{
	if (nn_net_init(&m->u.net, &m->a, m->maxbatch, e) < 0)
		return -1;
	m->classes = m->a.dims[m->a.nlayers];
	m->y = xcalloc((size_t)m->maxbatch, sizeof(int32_t));
	m->pred = xcalloc((size_t)m->maxbatch, sizeof(int32_t));
	return 0;
}

static void
rows_free(struct model *m)
{
	nn_net_free(&m->u.net);
}

static double
rows_forward(struct model *m, const float *w, const struct dataset *d,
    const struct batch *b)
{
	data_batch(d, m->u.net.act[0], m->y, b->rows, b->start, b->n);
	return nn_forward(&m->u.net, w, m->y, b->n, NULL, m->pred);
}

static void
rows_backward(struct model *m, float *g, const float *w,
    const struct batch *b)
{
	nn_backward(&m->u.net, g, w, m->y, b->n);
}

static const struct model_ops rows_ops = {
	rows_fit, rows_init, rows_free, rows_forward, rows_backward,
};

static int
text_fit(const struct arch *a, const struct dataset *d, fed_err *e)
{
	if (a->kind != ARCH_GPT)
		return fed_errf(e, "text data needs a gpt model");
	if (!d->text)
		return fed_errf(e, "a gpt model needs text data");
	if (d->n < 2)
		return fed_errf(e, "text of %lld bytes is too short",
		    (long long)d->n);
	return 0;
}

static int
text_init(struct model *m, fed_err *e)
{
	if (gpt_init(&m->u.gpt, &m->a, m->maxbatch, e) < 0)
		return -1;
	m->text = 1;
	m->tok = xcalloc((size_t)m->maxbatch * (m->u.gpt.T + 1), 1);
	return 0;
}

static void
text_free(struct model *m)
{
	gpt_free(&m->u.gpt);
}

static double
text_forward(struct model *m, const float *w, const struct dataset *d,
    const struct batch *b)
{
	int k;

	for (k = 0; k < b->n; k++)
		memcpy(m->tok + (size_t)k * (b->T + 1), d->tokens + b->at[k],
		    (size_t)b->T + 1);
	return gpt_forward(&m->u.gpt, w, m->tok, b->n, b->T);
}

static void
text_backward(struct model *m, float *g, const float *w,
    const struct batch *b)
{
	gpt_backward(&m->u.gpt, g, w, m->tok, b->n, b->T);
}

static const struct model_ops text_ops = {
	text_fit, text_init, text_free, text_forward, text_backward,
};

static const struct model_ops *
ops_for(const struct arch *a)
{
	return a->kind == ARCH_GPT ? &text_ops : &rows_ops;
}

int
model_fit(const struct arch *a, const struct dataset *d, fed_err *e)
{
	return ops_for(a)->fit(a, d, e);
}

int
model_init(struct model *m, const struct arch *a, int maxbatch, fed_err *e)
{
	memset(m, 0, sizeof(*m));
	if (maxbatch < 1)
		return fed_errf(e, "batch size must be at least 1");
	m->ops = ops_for(a);
	m->a = *a;
	m->np = arch_nparams(a);
	m->maxbatch = maxbatch;
	if (m->ops->init(m, e) < 0) {
		memset(m, 0, sizeof(*m));
		return -1;
	}
	return 0;
}

void
model_free(struct model *m)
{
	if (m->ops != NULL)
		m->ops->free(m);
	free(m->y);
	free(m->pred);
	free(m->tok);
	memset(m, 0, sizeof(*m));
}

uint8_t *
model_decay_mask(const struct model *m)
{
	struct tensor_spec ts[ARCH_MAXTENSORS];
	uint8_t *d = xcalloc(m->np ? m->np : 1, 1);
	int i, n;

	if (!m->text) {
		memset(d, 1, m->np);
		return d;
	}
	/* matrices and embeddings decay; biases and norm gains do not */
	n = arch_tensors(&m->a, ts);
	for (i = 0; i < n; i++)
		if (ts[i].ndim == 2)
			memset(d + ts[i].offset, 1, ts[i].count);
	return d;
}
