/*
 * train: the training loop over model.h, optim.h and schedule.h.  A run's
 * buffers are allocated by run_init; a step draws its batch, gets the
 * gradient (whole, as two halves for v-batch, or slice by slice), and
 * steps.  Losses are summed in double.  Under MPI each gradient of part
 * of a batch is the ranks' shares combined (part_grad); on one machine a
 * plain step is sharded (shard_step): each rank sums and steps its share
 * of weights the ranks share, so that no rank does the whole of that
 * serial work; an mlp's first layer is split by neurons there instead
 * (split.h), its rows of weights each owned by one rank.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "dpsgd.h"
#include "model.h"
#include "rng.h"
#include "split.h"
#include "train.h"
#include "xsum.h"

void
train_defaults(struct train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = 1;
	o->batch = 32;
	o->lr.lr = 0.05;
	o->lr.kind = SCHEDULE_COSINE;
	optim_defaults(&o->opt);
}

/* Bytes predicted by a window of text: the context, or less on a short
 * text. */
static int
window(const struct arch *a, const struct dataset *d)
{
	return d->n - 1 < a->dims[2] ? (int)(d->n - 1) : a->dims[2];
}

int64_t
train_total_steps(const struct train_opts *o, const struct arch *a,
    const struct dataset *d)
{
	int64_t b = o->batch < d->n ? o->batch : d->n, n = d->n;

	if (o->steps > 0)
		return o->steps;
	if (a->kind == ARCH_GPT) {
		b = (int64_t)o->batch * window(a, d);
		n = d->n - 1;
	}
	return o->epochs * ((n + b - 1) / b);
}

int64_t
train_batch_units(const struct train_opts *o, const struct arch *a,
    const struct dataset *d)
{
	if (a->kind == ARCH_GPT)
		return (int64_t)o->batch * window(a, d);
	return o->batch < d->n ? o->batch : d->n;
}

/* The buffers of a run, allocated once. */
struct run {
	struct model m;
	struct optim opt;
	const struct dataset *d;
	const struct train_opts *o;
	float *g;                   /* (np) gradient */
	int B;                      /* rows or windows a step takes */
	int T;                      /* windows: bytes predicted in each */
	uint32_t *perm;             /* rows: (n) sample order */
	int64_t pos;                /* rows: next in perm */
	int64_t *at;                /* windows: (B) starts */
	uint32_t *lossrows;         /* (nloss) rows behind loss_start/end */
	int64_t *lossat;            /* (nloss) windows behind them */
	int64_t nloss;
	struct dpsgd dp;            /* when o->dp is set */
	float *part;                /* (np) under MPI: this rank's share of
	                             * a gradient */
	float *mg;                  /* (np) with micro: a micro-batch's */
	xsum_t *xmine, *xall;       /* (np) with micro: this process's
	                             * exact sum (dist's buffer under MPI),
	                             * and every rank's */
	float *w;                   /* (np) with a sharded step: the
	                             * weights, shared by the ranks (dist's) */
	uint64_t lo, hi;            /* this rank's share of them */
	uint64_t own[6];            /* (nown) ranges [lo, hi) it steps:
	                             * its share, and its rows of W1 and
	                             * elements of b1 when the step is
	                             * split */
	int nown;
	struct split sp;            /* an mlp's sharded step, split */
	float *wl;                  /* (np) this rank's copy of them, which
	                             * it steps and its passes read */
	fed_err *e;
	int failed;                 /* a collective failed: stop */
};

static void
run_free(struct run *r)
{
	model_free(&r->m);
	optim_free(&r->opt);
	free(r->g);
	free(r->perm);
	free(r->at);
	free(r->lossrows);
	free(r->lossat);
	free(r->mg);
	free(r->part);
	free(r->xall);
	if (!dist_parallel(r->o != NULL ? r->o->dist : NULL))
		free(r->xmine);
	dpsgd_free(&r->dp);
	split_free(&r->sp);
	memset(r, 0, sizeof(*r));
}

/* The loss sample: the first rows of the first shuffle, or windows at
 * random; both drawn first from rng. */
static void
run_sample(struct run *r, rng_t *rng)
{
	const struct dataset *d = r->d;
	int64_t i;

	if (r->m.text) {
		r->nloss = TRAIN_LOSSWINDOWS;
		r->lossat = xcalloc((size_t)r->nloss, sizeof(int64_t));
		for (i = 0; i < r->nloss; i++)
			r->lossat[i] = (int64_t)rng_below(rng,
			    (uint64_t)(d->n - r->T));
		r->at = xcalloc((size_t)r->B, sizeof(int64_t));
		return;
	}
	r->perm = xcalloc((size_t)d->n, sizeof(uint32_t));
	for (i = 0; i < d->n; i++)
		r->perm[i] = (uint32_t)i;
	rng_shuffle_u32(rng, r->perm, (uint64_t)d->n);
	r->nloss = d->n < TRAIN_LOSSROWS ? d->n : TRAIN_LOSSROWS;
	r->lossrows = xcalloc((size_t)r->nloss, sizeof(uint32_t));
	memcpy(r->lossrows, r->perm, (size_t)r->nloss * sizeof(uint32_t));
}

/* The buffers of data parallelism and of micro-batches. */
static int
micro_init(struct run *r, fed_err *e)
{
	struct dist *d = r->o->dist;
	uint64_t n = r->m.np ? r->m.np : 1;

	if (r->o->micro == 0) {
		if (!dist_parallel(d))
			return 0;
		r->part = xcalloc(n, sizeof(float));
		return dist_room(d, r->m.np, e);
	}
	r->mg = xcalloc(n, sizeof(float));
	r->xall = xcalloc(2 * n, sizeof(xsum_t));
	if (!dist_parallel(d))
		r->xmine = xcalloc(2 * n, sizeof(xsum_t));
	else if ((r->xmine = dist_xpart(d, n, e)) == NULL)
		return -1;
	return 0;
}

/*
 * Whether a step may be sharded: under MPI on one machine, a plain step
 * (no DP-SGD, micro-batches, slices or v-batch) whose moments nothing
 * keeps (no --moments).  Each element is summed and stepped as in
 * dist_sum and optim_step, so the bytes are the same; only clipping's
 * norm is added up otherwise, share by share in rank order.  Such a
 * step of an mlp is also split (split.h), on one machine or not: the
 * ranks that share memory step their neurons of layer 1 and their share
 * of the rest (own), the others their neurons and all of the rest.
 */
static int
shard_init(struct run *r, fed_err *e)
{
	const struct train_opts *o = r->o;
	const struct optim_opts *p = &o->opt;

	if (!dist_parallel(o->dist) || o->micro > 0 || o->dp != NULL ||
	    p->slices > 1 || p->vbatch > 0 || o->state != NULL)
		return 0;
	if (dist_share(o->dist, r->m.np, &r->w, e) < 0 ||
	    split_init(&r->sp, o->dist, &r->m, e) < 0)
		return -1;
	r->lo = r->sp.rest;
	r->hi = r->m.np;
	if (r->w != NULL) {
		dist_range(o->dist, r->m.np - r->sp.rest, &r->lo, &r->hi);
		r->lo += r->sp.rest;
		r->hi += r->sp.rest;
	}
	r->own[0] = r->lo;
	r->own[1] = r->hi;
	r->nown = 1;
	if (r->sp.d != NULL) {
		r->own[2] = r->sp.wlo;
		r->own[3] = r->sp.whi;
		r->own[4] = r->sp.blo;
		r->own[5] = r->sp.bhi;
		r->nown = 3;
	}
	return 0;
}

static int
run_init(struct run *r, const struct arch *a, const struct dataset *d,
    const struct train_opts *o, rng_t *rng, fed_err *e)
{
	uint8_t *decay;
	int chunk;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->o = o;
	r->B = a->kind == ARCH_GPT || o->batch < d->n ? o->batch : (int)d->n;
	chunk = o->dp != NULL ? dpsgd_chunk(r->B, d->n) : r->B;
	if (model_init(&r->m, a, chunk, e) < 0)
		return -1;
	if (r->m.text)
		r->T = window(a, d);
	r->g = xcalloc(r->m.np ? r->m.np : 1, sizeof(float));
	decay = model_decay_mask(&r->m);
	optim_init(&r->opt, &o->opt, r->m.np, decay, o->batch);
	free(decay);
	if (o->dp != NULL && dpsgd_init(&r->dp, a, o->dp, d->n, o->batch,
	    chunk, e) < 0) {
		run_free(r);
		return -1;
	}
	if (micro_init(r, e) < 0) {
		run_free(r);
		return -1;
	}
	if (o->dp != NULL && dist_parallel(o->dist)) {
		r->dp.part = o->dist->rank;
		r->dp.parts = o->dist->size;
	}
	if (shard_init(r, e) < 0) {
		run_free(r);
		return -1;
	}
	r->e = e;
	run_sample(r, rng);
	return 0;
}

/* Mean loss per prediction of p over the loss sample, a batch at a
 * time; under MPI each rank takes a contiguous share and the shares'
 * sums are added in rank order. */
static double
run_loss(struct run *r, const float *p)
{
	struct batch b = { 0, r->T, NULL, 0, NULL };
	struct dist *d = r->o->dist;
	int64_t i, lo = 0, hi = r->nloss;
	double sum = 0;

	if (!dist_parallel(d) || r->o->micro > 0)
		d = NULL;       /* every rank the whole, as one process does */
	if (d != NULL) {
		lo = r->nloss * d->rank / d->size;
		hi = r->nloss * (d->rank + 1) / d->size;
	}
	for (i = lo; i < hi; i += b.n) {
		b.n = hi - i < r->m.maxbatch ? (int)(hi - i) : r->m.maxbatch;
		b.rows = r->lossrows != NULL ? r->lossrows + i : NULL;
		b.at = r->lossat != NULL ? r->lossat + i : NULL;
		sum += model_forward(&r->m, p, r->d, &b);
	}
	if (d != NULL && !r->failed &&
	    dist_sum(d, NULL, NULL, 0, 0, &sum, r->e) < 0)
		r->failed = 1;
	return sum / ((double)r->nloss * (r->T > 0 ? r->T : 1));
}

/* The next batch: rows in shuffled order, or windows at random. */
static void
draw(struct run *r, rng_t *rng, struct batch *b)
{
	const struct dataset *d = r->d;
	int k;

	memset(b, 0, sizeof(*b));
	if (r->m.text) {
		for (k = 0; k < r->B; k++)
			r->at[k] = (int64_t)rng_below(rng,
			    (uint64_t)(d->n - r->T));
		*b = (struct batch){ r->B, r->T, NULL, 0, r->at };
		return;
	}
	if (r->pos == d->n) {
		rng_shuffle_u32(rng, r->perm, (uint64_t)d->n);
		r->pos = 0;
	}
	b->n = d->n - r->pos < r->B ? (int)(d->n - r->pos) : r->B;
	b->rows = r->perm;
	b->start = r->pos;
	r->pos += b->n;
}

/* Under MPI, where this rank's exact sum of the next total goes:
 * dist's buffer, of a size reached in micro_init, so never NULL. */
static void
shares(struct run *r)
{
	if (dist_parallel(r->o->dist))
		r->xmine = dist_xpart(r->o->dist, r->m.np, r->e);
}

/* The gradient of part of b, n samples from k, into g; the summed loss. */
static double
local_grad(struct run *r, const float *w, const struct batch *b, int k,
    int n, float *g)
{
	struct batch p = *b;
	double loss;

	p.n = n;
	if (p.at != NULL)
		p.at += k;
	else
		p.start += k;
	loss = model_forward(&r->m, w, r->d, &p);
	model_backward(&r->m, g, w, &p);
	return loss;
}

/* The micro-batches [*j0, *j1) of J this process computes. */
static void
mine(const struct dist *d, int J, int *j0, int *j1)
{
	*j0 = 0;
	*j1 = J;
	if (dist_parallel(d)) {
		*j0 = (int)((int64_t)J * d->rank / d->size);
		*j1 = (int)((int64_t)J * (d->rank + 1) / d->size);
	}
}

/* The exact sum of this process's and every rank's into g. */
static void
micro_total(struct run *r, float *g, double *loss)
{
	struct dist *d = r->o->dist;
	xsum_t *t = r->xmine;

	if (dist_parallel(d)) {
		if (!r->failed && dist_xsum(d, r->xall, r->m.np, loss,
		    r->e) < 0)
			r->failed = 1;
		t = r->xall;
	}
	xsum_get(g, t, r->m.np);
}

/* The gradient of part of b as micro-batches of it, each weighted by
 * its share of the part and added exactly, whatever computed them. */
static double
micro_grad(struct run *r, const float *w, const struct batch *b, int k,
    int n, float *g)
{
	int J = r->o->micro < n ? r->o->micro : n, j, j0, j1, a, z;
	double loss = 0;

	mine(r->o->dist, J, &j0, &j1);
	shares(r);
	xsum_zero(r->xmine, r->m.np);
	for (j = j0; j < j1; j++) {
		a = (int)((int64_t)n * j / J);
		z = (int)((int64_t)n * (j + 1) / J);
		loss += local_grad(r, w, b, k + a, z - a, r->mg);
		xsum_add(r->xmine, r->mg, r->m.np, (double)(z - a) / n);
	}
	micro_total(r, g, &loss);
	return loss;
}

/* Under MPI, this rank's contiguous share of part of b into g: its
 * mean gradient, weighted *f by the share's size; its summed loss. */
static double
rank_grad(struct run *r, const float *w, const struct batch *b, int k,
    int n, double *f, float *g)
{
	struct dist *d = r->o->dist;
	int a, z;

	a = (int)((int64_t)n * d->rank / d->size);
	z = (int)((int64_t)n * (d->rank + 1) / d->size);
	*f = (double)(z - a) / n;
	if (z > a)
		return local_grad(r, w, b, k + a, z - a, g);
	memset(g, 0, r->m.np * sizeof(float));
	return 0;
}

/* The same, the ranks of an MPI job each computing a contiguous share;
 * the losses summed. */
static double
part_grad(struct run *r, const float *w, const struct batch *b, int k,
    int n, float *g)
{
	struct dist *d = r->o->dist;
	double loss, f;

	if (r->o->micro > 0)
		return micro_grad(r, w, b, k, n, g);
	if (!dist_parallel(d))
		return local_grad(r, w, b, k, n, g);
	loss = rank_grad(r, w, b, k, n, &f, r->part);
	if (!r->failed && dist_sum(d, g, r->part, r->m.np, f, &loss,
	    r->e) < 0)
		r->failed = 1;
	return loss;
}

/* Clipping in a sharded step: the squares of every rank's share added
 * in rank order, then this rank's share scaled. */
static int
shard_clip(struct run *r)
{
	const uint64_t *at = r->own;
	double ss = 0;
	int k;

	for (k = 0; k < r->nown; k++)
		ss += optim_sumsq(r->g + at[2 * k], at[2 * k + 1] - at[2 * k]);
	if (dist_sum(r->o->dist, NULL, NULL, 0, 0, &ss, r->e) < 0)
		return -1;
	for (k = 0; k < r->nown; k++)
		optim_clip_by(r->g + at[2 * k], at[2 * k + 1] - at[2 * k], ss,
		    r->o->opt.clip);
	return 0;
}

/* The other ranks' shares of the shared weights w into this rank's copy
 * wl, after a barrier that follows their writing them. */
static void
others(struct run *r, const float *w, float *wl)
{
	uint64_t z = r->sp.rest;

	memcpy(wl + z, w + z, (r->lo - z) * sizeof(float));
	memcpy(wl + r->hi, w + r->hi, (r->m.np - r->hi) * sizeof(float));
}

/* This rank's part of a sharded step's gradient from weights w, summed
 * into g: with a split step its neurons' of layer 1 whole, then its
 * share of the rest from sp.rest on, the sum posted on the split's
 * second barrier, the others' shares of the rest of the weights taken
 * after its first; else its share of the sum of every rank's rows'
 * gradients.  The summed loss into *loss. */
static int
shard_grad(struct run *r, const float *w, const struct batch *b,
    double *loss)
{
	struct dist *d = r->o->dist;
	uint64_t z = r->sp.rest;
	double f;

	if (r->sp.d == NULL) {
		*loss = rank_grad(r, w, b, 0, b->n, &f, r->part);
		return dist_sum_share(d, r->g, r->part, r->m.np, f, loss,
		    r->e);
	}
	if (split_out(&r->sp, &r->m, w, r->d, b, r->e) < 0)
		return -1;
	others(r, r->w, r->wl);
	*loss = split_up(&r->sp, &r->m, w, b, r->part, &f);
	if (dist_sum_post(d, r->part + z, r->m.np - z, f, *loss, r->e) < 0 ||
	    split_back(&r->sp, &r->m, w, b, r->g, r->e) < 0)
		return -1;
	dist_sum_take(d, r->g + z, r->part + z, r->m.np - z, loss);
	return 0;
}

/* A split step of ranks that share no memory: the rest summed whole
 * and stepped on every rank, with this rank's neurons of layer 1. */
static double
split_step(struct run *r, float *w, const float *w0, const struct batch *b,
    double lr)
{
	uint64_t z = r->sp.rest;
	double loss = 0, f;

	if (r->failed || split_out(&r->sp, &r->m, w, r->d, b, r->e) < 0 ||
	    (loss = split_up(&r->sp, &r->m, w, b, r->part, &f), 0) ||
	    split_back(&r->sp, &r->m, w, b, r->g, r->e) < 0 ||
	    dist_sum(r->o->dist, r->g + z, r->part + z, r->m.np - z, f,
	    &loss, r->e) < 0) {
		r->failed = 1;
		return loss;
	}
	optim_step_parts(&r->opt, w, r->g, w0, lr, r->own, r->nown);
	return loss;
}

/* A sharded step: every rank's share of the batch, then this rank's
 * share of the sum and of the step on its copy of the weights, that
 * share copied into the shared weights w, and every rank's in place;
 * then the others' shares copied into this rank's copy, which the next
 * pass reads: one sequential read of the memory they wrote costs less
 * than the model's strided reads of it (a 2-core trace: 35 us less in
 * the forward pass of the mlp, 20 more in the copy).  A split step
 * meets that barrier at its next trade, since its first layer reads
 * this rank's weights only (split.h). */
static double
shard_step(struct run *r, float *w, const float *w0, const struct batch *b,
    double lr)
{
	struct dist *d = r->o->dist;
	double loss = 0;

	if (r->failed || shard_grad(r, r->wl, b, &loss) < 0) {
		r->failed = 1;
		return loss;
	}
	if (r->o->opt.clip > 0 && shard_clip(r) < 0) {
		r->failed = 1;
		return loss;
	}
	optim_step_parts(&r->opt, r->wl, r->g, w0, lr, r->own, r->nown);
	dist_stream(w + r->lo, r->wl + r->lo, r->hi - r->lo);
	if (r->sp.d != NULL)
		return loss;    /* the next step's first trade is the barrier,
		                 * and shard_grad takes the others' shares */
	if (dist_barrier(d, r->e) < 0)
		r->failed = 1;
	others(r, w, r->wl);
	return loss;
}

/* DP-SGD with micro-batches: every part of J drawn afresh from the
 * same state of rng, this process's parts added exactly. */
static double
dp_micro(struct run *r, const float *w, rng_t *rng, int64_t *rows)
{
	int J = r->o->micro, j, j0, j1;
	rng_t r0 = *rng;
	double loss = 0;

	mine(r->o->dist, J, &j0, &j1);
	shares(r);
	xsum_zero(r->xmine, r->m.np);
	r->dp.parts = J;
	for (j = j0; j < j1 || j == j0; j++) {
		*rng = r0;
		r->dp.part = j < j1 ? j : J;    /* past the last: draws only */
		loss += dpsgd_sum(&r->dp, &r->m.u.net, r->mg, w, r->d,
		    r->m.y, rng, rows);
		if (j < j1)
			xsum_add(r->xmine, r->mg, r->m.np, 1.0);
	}
	micro_total(r, r->g, &loss);
	dpsgd_noise(&r->dp, r->g, rng);
	return loss;
}

/* DP-SGD's step: the clipped sum of every rank's share, then the noise
 * once, after the sum. */
static double
dp_grad(struct run *r, const float *w, rng_t *rng, int64_t *rows)
{
	struct dist *d = r->o->dist;
	double loss;

	if (r->o->micro > 0)
		return dp_micro(r, w, rng, rows);
	if (!dist_parallel(d))
		return dpsgd_step(&r->dp, &r->m.u.net, r->g, w, r->d, r->m.y,
		    rng, rows);
	loss = dpsgd_sum(&r->dp, &r->m.u.net, r->part, w, r->d, r->m.y, rng,
	    rows);
	if (!r->failed && dist_sum(d, r->g, r->part, r->m.np, 1.0, &loss,
	    r->e) < 0)
		r->failed = 1;
	dpsgd_noise(&r->dp, r->g, rng);
	return loss;
}

/* slices: each slice's gradient into the optimizer, then one step. */
static double
slices_step(struct run *r, float *w, const float *w0,
    const struct batch *b, double lr)
{
	int k, K = r->o->opt.slices, n = b->n / K;
	double loss = 0;

	optim_slices_begin(&r->opt);
	for (k = 0; k < K; k++) {
		loss += part_grad(r, w, b, k * n, n, r->g);
		optim_slice(&r->opt, w, r->g, w0);
	}
	optim_slices_end(&r->opt, w, lr);
	return loss;
}

/* One step on batch b; the summed loss. */
static double
step(struct run *r, float *w, const float *w0, struct batch *b, rng_t *rng,
    double lr)
{
	const struct optim_opts *o = &r->o->opt;
	int64_t rows;
	double loss;
	int h = b->n / 2;

	if (r->o->dp != NULL) {
		loss = dp_grad(r, w, rng, &rows);
		b->n = (int)rows;
	} else if (r->w != NULL)
		return shard_step(r, w, w0, b, lr);
	else if (r->sp.d != NULL)
		return split_step(r, w, w0, b, lr);
	else if (o->slices > 1)
		return slices_step(r, w, w0, b, lr);
	else if (o->vbatch > 0) {
		loss = part_grad(r, w, b, 0, h, r->opt.spread);
		loss += part_grad(r, w, b, h, b->n - h, r->g);
		optim_vbatch(&r->opt, r->g, h, b->n, o->clip);
	} else {
		loss = part_grad(r, w, b, 0, b->n, r->g);
		optim_clip(r->g, r->m.np, o->clip);
	}
	if (r->o->grad != NULL) {
		memcpy(r->o->grad, r->g, r->m.np * sizeof(float));
		return loss;
	}
	optim_step(&r->opt, w, r->g, w0, lr);
	return loss;
}

static void
loop(struct run *r, float *w, const float *w0, int64_t total,
    train_progress_fn *progress, void *ctx, rng_t *rng,
    struct train_stats *st)
{
	int64_t s, since = 0, every = r->m.text ? 10 : 50, units;
	double window = 0, loss;
	struct batch b = { 0, 0, NULL, 0, NULL };

	for (s = 0; s < total && !r->failed; s++) {
		if (r->o->dp == NULL)
			draw(r, rng, &b);
		loss = step(r, w, w0, &b, rng, schedule_lr(&r->o->lr, s, total));
		units = (int64_t)b.n * (r->T > 0 ? r->T : 1);
		window += units > 0 ? loss / (double)units : 0;
		st->rows += units;
		if (progress != NULL && (++since == every || s + 1 == total)) {
			progress(ctx, s + 1, total, window / (double)since);
			since = 0;
			window = 0;
		}
	}
	st->steps = total;
}

/* The options fit the model and the data. */
static int
check(const struct arch *a, const struct dataset *d,
    const struct train_opts *o, fed_err *e)
{
	const struct optim_opts *p = &o->opt;

	if (model_fit(a, d, e) < 0)
		return -1;
	if (o->batch < 1 || o->batch > TRAIN_MAXBATCH)
		return fed_errf(e, "batch size out of range 1..%d",
		    TRAIN_MAXBATCH);
	if (a->kind == ARCH_GPT && p->kind == OPTIM_SGD)
		return fed_errf(e, "gpt models train with adamw or adam");
	if (p->vbatch > 0 && (o->batch < 2 || p->vbatch <= o->batch))
		return fed_errf(e, "a second moment for %lld windows needs "
		    "batches of 2 or more, and fewer", (long long)p->vbatch);
	if (p->slices > 1 && (o->batch % p->slices != 0 || p->vbatch > 0))
		return fed_errf(e, "%d slices need a batch they divide, and "
		    "no vbatch", p->slices);
	if ((p->slices > 1 || p->vbatch > 0 || o->state != NULL) &&
	    p->kind == OPTIM_SGD)
		return fed_errf(e, "slices, vbatch and moments need adam");
	if (o->grad != NULL && (train_total_steps(o, a, d) != 1 ||
	    o->dp != NULL || p->slices > 1 || p->vbatch > 0 ||
	    o->state != NULL || dist_parallel(o->dist)))
		return fed_errf(e, "a gradient is one step of one process, "
		    "without DP-SGD, slices, vbatch or optimizer state");
	if (o->micro < 0 || o->micro > TRAIN_MAXMICRO)
		return fed_usagef(e, "micro-batches out of range 1..%d",
		    TRAIN_MAXMICRO);
	if (o->lr.warmup >= train_total_steps(o, a, d))
		return fed_errf(e, "warmup of %lld steps leaves none of %lld",
		    (long long)o->lr.warmup,
		    (long long)train_total_steps(o, a, d));
	return 0;
}

/* Weights that are not finite, or whose change is not. */
static int
diverged(const float *w, const float *w0, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (!isfinite(w[i] - w0[i]))
			return 1;
	return 0;
}

/* With a sharded step, this rank's ranges of local into the shared
 * weights, which every rank then reads whole. */
static int
publish(struct run *r, const float *local)
{
	const uint64_t *at = r->own;
	int k;

	for (k = 0; k < r->nown; k++)
		memcpy(r->w + at[2 * k], local + at[2 * k],
		    (at[2 * k + 1] - at[2 * k]) * sizeof(float));
	if (dist_barrier(r->o->dist, r->e) < 0) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

/* The weights the steps move: local, or with a sharded step the shared
 * ones, set from local before any rank reads. */
static float *
shared_weights(struct run *r, float *local)
{
	if (r->w == NULL)
		return local;
	r->wl = local;
	publish(r, local);
	return r->w;
}

int
train_run(const struct arch *a, const float *global, float *local,
    const struct dataset *d, const struct train_opts *o,
    train_progress_fn *progress, void *ctx, struct train_stats *st,
    fed_err *e)
{
	struct run r;
	rng_t rng;
	unsigned csr;
	float *w;
	int failed;

	memset(st, 0, sizeof(*st));
	if (check(a, d, o, e) < 0)
		return -1;
	rng_seed(&rng, o->seed);
	if (run_init(&r, a, d, o, &rng, e) < 0)
		return -1;
	csr = nn_denormals_off();
	memcpy(local, global, r.m.np * sizeof(float));
	w = shared_weights(&r, local);
	if (o->state != NULL)
		optim_state_get(&r.opt, o->state);
	st->loss_start = run_loss(&r, w);
	if (progress != NULL)
		progress(ctx, 0, train_total_steps(o, a, d), st->loss_start);
	loop(&r, w, global, train_total_steps(o, a, d), progress, ctx,
	    &rng, st);
	/* the first layer's neurons, never shared while training */
	if (r.sp.d != NULL && !r.failed && (w != local ? publish(&r, local) :
	    split_spread(&r.sp, local, e)) < 0)
		r.failed = 1;
	st->loss_end = run_loss(&r, w);
	if (w != local)
		memcpy(local, w, r.m.np * sizeof(float));
	if (o->state != NULL)
		optim_state_put(&r.opt, o->state);
	nn_denormals_restore(csr);
	failed = r.failed;
	run_free(&r);
	if (failed)
		return -1;
	if (diverged(local, global, arch_nparams(a)))
		return fed_errf(e, "training diverged (weights not finite); "
		    "try a lower learning rate");
	/* finite weights so large that the model's loss overflows */
	if (!isfinite(st->loss_end))
		return fed_errf(e, "training diverged (loss not finite); "
		    "try a lower learning rate");
	return 0;
}
