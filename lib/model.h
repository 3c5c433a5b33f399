/*
 * model: the one interface the training loop (train.h) and evaluation
 * (eval.h) drive every architecture through.  A model has a parameter
 * count and layout (arch.h: one flat float buffer carved into named
 * tensors), activations for a largest batch allocated once by
 * model_init, a forward pass over a batch of the data set returning the
 * loss summed over its predictions, and a backward pass writing the
 * gradient of the mean loss.  softmax and mlp are nn.h's layers over
 * rows with labels; gpt is gpt.h's transformer over windows of text.
 * Another kind (a CNN, an imported tensor set) adds its ops here.
 * Optimizers, schedules and the order of samples are not its business.
 */
#ifndef FED_MODEL_H
#define FED_MODEL_H

#include <stdint.h>

#include "arch.h"
#include "data.h"
#include "gpt.h"
#include "nn.h"

/* Which samples of a data set a batch holds. */
struct batch {
	int n;                      /* rows, or windows */
	int T;                      /* windows: bytes predicted in each */
	const uint32_t *rows;       /* rows: (n) indices, or NULL for */
	int64_t start;              /* rows start..start+n */
	const int64_t *at;          /* windows: (n) starts in the text */
};

struct model;

struct model_ops {
	/* a and d go together */
	int    (*fit)(const struct arch *a, const struct dataset *d,
	    fed_err *e);
	int    (*init)(struct model *m, fed_err *e);
	void   (*free)(struct model *m);
	/* gathers b from d into the input buffers; the summed loss */
	double (*forward)(struct model *m, const float *w,
	    const struct dataset *d, const struct batch *b);
	/* after forward on b: the gradient of the mean loss into g (np
	 * floats, overwritten) */
	void   (*backward)(struct model *m, float *g, const float *w,
	    const struct batch *b);
};

struct model {
	const struct model_ops *ops;
	struct arch a;
	uint64_t np;
	int maxbatch;               /* rows or windows */
	int text;                   /* windows of bytes, not rows */
	int classes;                /* rows: labels are 0..classes-1 */
	union {
		struct nn_net net;
		struct gpt gpt;
	} u;
	int32_t *y, *pred;          /* rows: (maxbatch) labels, and the
	                             * arg-max of the last forward pass */
	uint8_t *tok;               /* windows: (maxbatch, context + 1) */
};

/* a and d go together (input width, classes; text for gpt only). */
int  model_fit(const struct arch *a, const struct dataset *d, fed_err *e);
int  model_init(struct model *m, const struct arch *a, int maxbatch,
    fed_err *e);
void model_free(struct model *m);
/* (np) 1 where weight decay applies: matrices and embeddings of a gpt,
 * every weight of the others; the caller frees it. */
uint8_t *model_decay_mask(const struct model *m);

static inline double
model_forward(struct model *m, const float *w, const struct dataset *d,
    const struct batch *b)
{
	return m->ops->forward(m, w, d, b);
}

static inline void
model_backward(struct model *m, float *g, const float *w,
    const struct batch *b)
{
	m->ops->backward(m, g, w, b);
}

#endif
