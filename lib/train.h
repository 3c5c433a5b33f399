/*
 * train: minibatch training of a model on a data set, and its evaluation.
 * Every buffer (activations, gradients, optimizer moments, the batch) is
 * allocated before the first step; the loop itself only computes.  The
 * order of samples comes from rng.h seeded with the caller's seed, so the
 * same inputs, seed and BLAS thread count give the same weights, bit for
 * bit.  Reading bundles and writing the update is cmd/'s glue.
 */
#ifndef FED_TRAIN_H
#define FED_TRAIN_H

#include <stdint.h>

#include "data.h"
#include "arch.h"

struct dpsgd_opts;

#define TRAIN_MAXBATCH  65536
#define TRAIN_MAXEPOCHS 1000000
#define TRAIN_MAXSTEPS  ((int64_t)1 << 40)
#define TRAIN_LOSSROWS  1024    /* samples behind loss_start and loss_end */

enum train_optimizer { OPT_SGD, OPT_ADAM, OPT_ADAMW };
/* The learning rate over the run: constant, or decayed to 0 at the end. */
enum train_schedule { SCHED_CONSTANT, SCHED_COSINE, SCHED_LINEAR };

struct train_opts {
	int64_t epochs;             /* used when steps is 0 */
	int64_t steps;              /* 0: run epochs */
	int batch;
	double lr;
	enum train_schedule schedule;
	enum train_optimizer opt;
	double momentum;            /* SGD; 0 is plain SGD */
	double beta1, beta2, eps;   /* Adam, AdamW */
	double weight_decay;        /* L2 in the gradient (SGD, Adam);
	                             * decoupled for AdamW */
	double prox;                /* FedProx mu: + mu/2 |w - w_global|^2 */
	uint64_t seed;
	/* DP-SGD (dpsgd.h) when not NULL: Poisson batches of expected size
	 * batch, clipped and noised gradients; softmax and mlp only */
	const struct dpsgd_opts *dp;
	int64_t warmup;             /* gpt: steps of linear warmup */
	double clip;                /* gpt: global gradient norm cap, 0 none */
	/* gpt: estimate Adam's second moment for a batch of vbatch windows
	 * (> batch, batch at least 2) rather than batch, from the spread
	 * between the two halves of each batch (gpt.c, batch_grad); 0 off.
	 * A DiLoCo holder whose update is averaged with others' sets it to
	 * the round's batch over all holders */
	int64_t vbatch;
	/* gpt: split every batch into slices (> 1, dividing batch) that
	 * each take an Adam step from the same moments, as that many holders
	 * sharing their moments (moments.h) would for one step; the weights
	 * move by the mean step.  0 or 1: off */
	int slices;
	/* gpt: Adam's moments carried from run to run (DiLoCo keeps each
	 * holder's inner optimizer state), read before and written after
	 * the run; NULL starts from zero moments as before */
	struct train_state *state;
};

/* Adam's state: t steps taken, first and second moments (np floats
 * each, zero with t 0 for a fresh start). */
struct train_state {
	int64_t t;
	float *m, *v;
};

struct train_stats {
	int64_t steps;
	int64_t rows;               /* rows seen, counting repeats */
	double loss_start;          /* mean loss of the global model and of */
	double loss_end;            /* the result on the same sample rows */
};

/* Called every so often with the step done, of total, and the mean loss
 * of the steps since the last call. */
typedef void train_progress_fn(void *ctx, int64_t step, int64_t total,
    double loss);

/* Defaults: 1 epoch, batch 32, lr 0.05 on a cosine schedule, SGD with
 * momentum 0.9, Adam's betas. */
void train_defaults(struct train_opts *o);
const char *train_optimizer_name(enum train_optimizer o);
int  train_optimizer_parse(const char *s, enum train_optimizer *o);
const char *train_schedule_name(enum train_schedule s);
int  train_schedule_parse(const char *s, enum train_schedule *o);
/* The learning rate of step (from 0) of total. */
double train_lr(const struct train_opts *o, int64_t step, int64_t total);
/* The total number of steps o implies for n samples. */
int64_t train_total_steps(const struct train_opts *o, int64_t n);

/* Model a and data d fit: input width and class count. */
int  train_check_fit(const struct arch *a, const struct dataset *d,
    fed_err *e);

/* Train from global into local (arch_nparams floats each) on d; global
 * stays as it is (FedProx pulls towards it). */
int  train_run(const struct arch *a, const float *global, float *local,
    const struct dataset *d,
    const struct train_opts *o, train_progress_fn *progress, void *ctx,
    struct train_stats *st, fed_err *e);

struct eval_result {
	int64_t n;
	double loss_sum;            /* sum over samples */
	int64_t correct;
	int classes;
	int64_t *class_n;           /* (classes) */
	int64_t *class_correct;     /* (classes) */
};

/* Zeroed counters for c classes; eval_free releases them. */
void eval_init(struct eval_result *r, int classes);
void eval_free(struct eval_result *r);
/* Add the model's loss and accuracy on d to r. */
int  eval_run(const struct arch *a, const float *params,
    const struct dataset *d, struct eval_result *r, fed_err *e);

#endif
