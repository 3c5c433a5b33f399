/*
 * optim: the optimizers every model trains with, over one flat
 * parameter buffer: SGD with momentum, Adam and AdamW as PyTorch
 * computes them, with a FedProx pull towards the global weights, norm
 * clipping, Adam's second moment estimated for a larger batch (v-batch),
 * and a batch taken as slices that share their moments (moments.h).
 * Every buffer is allocated by optim_init; a step only computes, in
 * vectorized loops (NN_HOT).  Gradients come from the model (model.h);
 * the order of steps and the learning rate from train and sched.
 */
#ifndef FED_OPTIM_H
#define FED_OPTIM_H

#include <stdint.h>

#include "util.h"

enum optim_kind { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW };

struct optim_opts {
	enum optim_kind kind;
	double momentum;            /* SGD; 0 is plain SGD */
	double beta1, beta2, eps;   /* Adam, AdamW */
	double weight_decay;        /* L2 in the gradient (SGD, Adam);
	                             * decoupled for AdamW */
	double prox;                /* FedProx mu: + mu/2 |w - w_global|^2 */
	double clip;                /* global gradient norm cap, 0 none */
	/* Adam's second moment for a batch of vbatch samples (> batch,
	 * batch at least 2) rather than batch, from the spread between the
	 * two halves of each batch (optim_vbatch); 0 off.  A DiLoCo holder
	 * whose update is averaged with others' sets it to the round's batch
	 * over all holders */
	int64_t vbatch;
	/* every batch split into slices (> 1, dividing batch) that each
	 * take an Adam step from the same moments, as that many holders
	 * sharing their moments (moments.h) would for one step; the weights
	 * move by the mean step.  0 or 1: off */
	int slices;
};

/* Adam's state: t steps taken, first and second moments (np floats
 * each, zero with t 0 for a fresh start). */
struct optim_state {
	int64_t t;
	float *m, *v;
};

struct optim {
	struct optim_opts o;
	uint64_t np;
	float *m, *v;               /* (np) moments; m also SGD's momentum */
	float *spread;              /* (np) with vbatch: see optim_vbatch */
	float *am, *aw, *as;        /* (np) with slices: see optim_slice */
	float keepv;                /* batch / vbatch */
	uint8_t *decay;             /* (np) 1 where weight decay applies */
	int64_t t;                  /* Adam steps taken */
};

/* SGD with momentum 0.9; Adam's betas and eps. */
void optim_defaults(struct optim_opts *o);
const char *optim_name(enum optim_kind k);
int  optim_parse(const char *s, enum optim_kind *k);

/* Buffers for np parameters and batches of batch samples; decay (np,
 * may be NULL for all) says which weights decay and is copied. */
void optim_init(struct optim *s, const struct optim_opts *o, uint64_t np,
    const uint8_t *decay, int batch);
void optim_free(struct optim *s);
/* Moments and step count from st, or back into it. */
void optim_state_get(struct optim *s, const struct optim_state *st);
void optim_state_put(const struct optim *s, struct optim_state *st);

/* Scale g (n) to L2 norm at most clip (0: never); returns its norm. */
double optim_clip(float *g, uint64_t n, double clip);
/* The same in parts (a rank's share of a sharded step): the sum of the
 * squares of g (n) in double, and the scaling of g to clip given the
 * whole gradient's sum ss, which returns the whole's norm. */
double optim_sumsq(const float *g, uint64_t n);
double optim_clip_by(float *g, uint64_t n, double ss, double clip);
/*
 * v-batch: given the mean gradients ga of h and gb of B - h samples,
 * gb becomes the batch's gradient and ga (s->spread) the signed root of
 * the estimate of its variance, both clipped with clip.
 */
void optim_vbatch(struct optim *s, float *gb, int h, int B, double clip);
/* One step of weights w by gradient g (overwritten) at rate lr; w0 are
 * the global weights the proximal term pulls towards. */
void optim_step(struct optim *s, float *w, float *g, const float *w0,
    double lr);
/* The same step on the elements [lo, hi) alone (a rank's share of a
 * sharded step, dist.h); the others, and their moments, stay as they
 * are. */
void optim_step_part(struct optim *s, float *w, float *g, const float *w0,
    double lr, uint64_t lo, uint64_t hi);
/* The same step on k ranges [at[2j], at[2j + 1]) at once (one step of
 * Adam's count). */
void optim_step_parts(struct optim *s, float *w, float *g, const float *w0,
    double lr, const uint64_t *at, int k);
/* slices: optim_slices_begin, optim_slice for every slice's gradient g
 * (overwritten), then optim_slices_end moves w by the mean step. */
void optim_slices_begin(struct optim *s);
void optim_slice(struct optim *s, const float *w, float *g, const float *w0);
void optim_slices_end(struct optim *s, float *w, double lr);

#endif
