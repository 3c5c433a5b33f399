/*
 * train: the one training loop, for every model (model.h).  A step draws
 * a batch (a minibatch of rows in shuffled epochs, random windows of
 * text, or DP-SGD's Poisson batch of rows, dpsgd.h), asks the model for
 * the gradient, and lets the optimizer (optim.h) step at the rate of the
 * schedule (schedule.h).  Every buffer is allocated before the first step;
 * the loop itself only computes.  The order of samples comes from rng.h
 * seeded with the caller's seed, so the same inputs, seed and BLAS
 * thread count give the same weights, bit for bit, and so do the same
 * number of ranks of an MPI job (dist.h).  Reading bundles and
 * writing the update is cmd/'s glue.
 */
#ifndef FED_TRAIN_H
#define FED_TRAIN_H

#include <stdint.h>

#include "arch.h"
#include "data.h"
#include "optim.h"
#include "schedule.h"

struct dist;
struct dpsgd_opts;

#define TRAIN_MAXBATCH  65536
#define TRAIN_MAXEPOCHS 1000000
#define TRAIN_MAXSTEPS  ((int64_t)1 << 40)
#define TRAIN_LOSSROWS  1024    /* rows behind loss_start and loss_end */
#define TRAIN_LOSSWINDOWS 64    /* windows of text behind them */
#define TRAIN_MAXMICRO  64      /* XSUM_MAXTERMS */

struct train_opts {
	int64_t epochs;             /* used when steps is 0 */
	int64_t steps;              /* 0: run epochs */
	int batch;                  /* rows, or windows of text */
	uint64_t seed;
	struct schedule_opts lr;
	struct optim_opts opt;
	/* DP-SGD (dpsgd.h) when not NULL: Poisson batches of expected size
	 * batch, clipped and noised gradients; softmax and mlp only */
	const struct dpsgd_opts *dp;
	/* Adam's moments carried from run to run (DiLoCo keeps each
	 * holder's inner optimizer state), read before and written after
	 * the run; NULL starts from zero moments */
	struct optim_state *state;
	/* data parallelism (dist.h) when it has more than one rank: every
	 * rank draws the same batches from the same seed, computes the
	 * gradient of its contiguous share of each (of every half or slice
	 * of one), and the shares are summed in rank order, so every rank
	 * takes the same step; DP-SGD's noise is drawn once per step from
	 * the shared stream, after the sum.  NULL: one process */
	struct dist *dist;
	/* 0, or every gradient (of a batch, half or slice) taken as this
	 * many micro-batches (DP-SGD: parts of the Poisson batch) whose
	 * gradients are added exactly (xsum.h), so that the result has the
	 * same bits on any number of ranks as in one process; up to
	 * TRAIN_MAXMICRO */
	int micro;
	/* not NULL: a gradient upload's run (grad.h): one step of one
	 * process, whose gradient, clipped, goes here (np floats) instead
	 * of into the optimizer; the weights do not move */
	float *grad;
};

struct train_stats {
	int64_t steps;
	int64_t rows;               /* predictions trained on, counting
	                             * repeats: rows, or bytes of text */
	double loss_start;          /* mean loss of the global model and of */
	double loss_end;            /* the result on the same sample */
};

/* Called with step 0 (and the loss before training) just before the
 * first step, then every so often with the step done, of total, and the
 * mean loss of the steps since the last call, and after the last. */
typedef void train_progress_fn(void *ctx, int64_t step, int64_t total,
    double loss);

/* Defaults: 1 epoch, batch 32, lr 0.05 on a cosine schedule, SGD with
 * momentum 0.9, Adam's betas. */
void train_defaults(struct train_opts *o);
/* The total number of steps o implies for model a on d. */
int64_t train_total_steps(const struct train_opts *o, const struct arch *a,
    const struct dataset *d);
/* The predictions a step trains on: rows, or windows times bytes. */
int64_t train_batch_units(const struct train_opts *o, const struct arch *a,
    const struct dataset *d);

/* Train from global into local (arch_nparams floats each) on d; global
 * stays as it is (FedProx pulls towards it).  Weights that stop being
 * finite are a rejection: the run diverged. */
int  train_run(const struct arch *a, const float *global, float *local,
    const struct dataset *d, const struct train_opts *o,
    train_progress_fn *progress, void *ctx, struct train_stats *st,
    fed_err *e);

#endif
