/*
 * split: a step of an mlp under MPI (train.c) with its first layer cut
 * across the ranks by neurons, the rest of the net by rows of the batch
 * as before.  A rank owns its neurons' rows of W1 and elements of b1:
 * it computes their outputs for the whole batch and trades them for the
 * others' on its own rows (dist.h's boards), runs the layers above on
 * its rows, trades the gradient at the first layer's outputs the same
 * way, and computes its neurons' gradient over the whole batch,
 * complete: the first layer is neither summed nor shared while
 * training, and its pass needs no other rank's weights.  For
 * 784-200-200-10 at batch 256 on two ranks that moves two tables of
 * 128 by 100 floats each way instead of half of W1 twice (its gradient
 * and its weights), a fifth of the bytes.  Every addition's order is
 * fixed, so the bytes are the same run to run (not across numbers of
 * ranks); the upper layers' gradients are summed as in any sharded step
 * (dist_sum_share), from split's "rest" on.  Ranks that do not share
 * memory trade the same tables by all-gathers, sum the rest whole
 * (dist_sum) and step it all, and so give the same bytes.
 */
#ifndef FED_SPLIT_H
#define FED_SPLIT_H

#include <stdint.h>

#include "data.h"
#include "dist.h"
#include "model.h"

struct split {
	struct dist *d;             /* NULL: the step is not split */
	int D, H;                   /* layer 1: inputs, neurons */
	int c0, c1;                 /* this rank's neurons */
	int maxb;                   /* rows a step may take */
	uint64_t wlo, whi;          /* its rows of W1 in the parameters */
	uint64_t blo, bhi;          /* and its elements of b1 */
	uint64_t rest;              /* where W2 begins: summed from here */
	float **board;              /* (size) every rank's: outputs, then
	                             * gradients, (maxb, H) each */
	float *out;                 /* (maxb, c1 - c0) its neurons' outputs */
	float *dg;                  /* (maxb, c1 - c0) their gradient */
	float *mine;                /* (rows, H) this rank's gradient at
	                             * layer 1's outputs, in the net */
};

/* Splits when d has several ranks, m is an mlp of two layers or more,
 * and each rank gets a neuron; else s->d stays NULL.  Collective. */
int  split_init(struct split *s, struct dist *d, struct model *m,
    fed_err *e);
void split_free(struct split *s);
/*
 * This rank's part of batch b's gradient from weights w, in three
 * parts that every rank calls in turn for every step.  split_out
 * computes its neurons' outputs (from its own rows of W1 and b1 alone)
 * and ends with a trade, after which split_up may read the rest of w:
 * it returns its rows' summed loss and puts their mean gradient from
 * s->rest on into part, to be weighted *f.  split_back begins with a
 * trade and puts its neurons' gradient (W1's rows, b1's elements),
 * whole, into g.  A rank on shared memory posts its part of the rest's
 * sum before split_back (dist_sum_post), so that its barrier serves the
 * sum too; and the first trade of a step serves as the barrier after
 * the last step's shares of the weights were written.
 */
int  split_out(struct split *s, struct model *m, const float *w,
    const struct dataset *data, const struct batch *b, fed_err *e);
double split_up(struct split *s, struct model *m, const float *w,
    const struct batch *b, float *part, double *f);
int  split_back(struct split *s, struct model *m, const float *w,
    const struct batch *b, float *g, fed_err *e);
/* Every rank's rows of W1 and elements of b1 in w to every rank, once
 * the steps are done (ranks that share weights publish them there
 * instead). */
int  split_spread(struct split *s, float *w, fed_err *e);

#endif
