/*
 * train: the training loop and the evaluation pass over nn's layers.
 * A step gathers a batch (converting bytes to floats into the input
 * buffer), runs forward and backward, and updates the weights with one
 * fused loop over the flat parameter buffer.  Nothing is allocated after
 * the loop starts.  Losses are summed in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpsgd.h"
#include "nn.h"
#include "rng.h"
#include "train.h"

#define PROGRESS_EVERY 50       /* steps between progress calls */

void
train_defaults(struct train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = 1;
	o->batch = 32;
	o->lr = 0.05;
	o->schedule = SCHED_COSINE;
	o->opt = OPT_SGD;
	o->momentum = 0.9;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->eps = 1e-8;
}

static const char *const opt_names[] = { "sgd", "adam", "adamw" };

const char *
train_optimizer_name(enum train_optimizer o)
{
	return opt_names[o];
}

int
train_optimizer_parse(const char *s, enum train_optimizer *o)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, opt_names[i]) == 0) {
			*o = (enum train_optimizer)i;
			return 0;
		}
	return -1;
}

int64_t
train_total_steps(const struct train_opts *o, int64_t n)
{
	int64_t b = o->batch < n ? o->batch : n;

	if (o->steps > 0)
		return o->steps;
	return o->epochs * ((n + b - 1) / b);
}

int
train_check_fit(const struct arch *a, const struct dataset *d, fed_err *e)
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

/* The buffers of a run, allocated once. */
struct run {
	struct nn_net net;
	uint64_t np;
	float *g;                   /* (np) gradient */
	float *m, *v;               /* (np) moments; v for Adam only */
	uint32_t *perm;             /* (n) sample order */
	uint32_t *lossrows;         /* (nloss) rows behind loss_start/end */
	int64_t nloss;
	int32_t *y;                 /* (batch) labels */
	int64_t t;                  /* optimizer steps taken */
	struct dpsgd dp;            /* when o->dp is set */
};

static void run_free(struct run *r);

static int
run_init(struct run *r, const struct arch *a, const struct dataset *d,
    const struct train_opts *o, int batch, fed_err *e)
{
	int64_t i;

	memset(r, 0, sizeof(*r));
	if (o->dp != NULL)
		batch = dpsgd_chunk(batch, d->n);
	if (nn_net_init(&r->net, a, batch, e) < 0)
		return -1;
	r->np = arch_nparams(a);
	r->g = xcalloc(r->np, sizeof(float));
	if (o->opt != OPT_SGD || o->momentum != 0)
		r->m = xcalloc(r->np, sizeof(float));
	if (o->opt != OPT_SGD)
		r->v = xcalloc(r->np, sizeof(float));
	r->perm = xcalloc((size_t)d->n, sizeof(uint32_t));
	for (i = 0; i < d->n; i++)
		r->perm[i] = (uint32_t)i;
	r->nloss = d->n < TRAIN_LOSSROWS ? d->n : TRAIN_LOSSROWS;
	r->lossrows = xcalloc((size_t)r->nloss, sizeof(uint32_t));
	r->y = xcalloc((size_t)batch, sizeof(int32_t));
	if (o->dp != NULL && dpsgd_init(&r->dp, a, o->dp, d->n, o->batch,
	    batch, e) < 0) {
		run_free(r);
		return -1;
	}
	return 0;
}

static void
run_free(struct run *r)
{
	nn_net_free(&r->net);
	free(r->g);
	free(r->m);
	free(r->v);
	free(r->perm);
	free(r->lossrows);
	free(r->y);
	dpsgd_free(&r->dp);
	memset(r, 0, sizeof(*r));
}

/* Mean loss of p over the rows r->lossrows, a batch at a time. */
static double
run_loss(struct run *r, const float *p, const struct dataset *d)
{
	double sum = 0;
	int64_t i;
	int b;

	for (i = 0; i < r->nloss; i += b) {
		b = r->nloss - i < r->net.maxbatch ? (int)(r->nloss - i) :
		    r->net.maxbatch;
		data_batch(d, r->net.act[0], r->y, r->lossrows, i, b);
		sum += nn_forward(&r->net, p, r->y, b, NULL, NULL);
	}
	return sum / (double)r->nloss;
}

/* SGD, PyTorch's form: v = m v + g; w -= lr v.  L2 and the proximal
 * term enter the gradient. */
static NN_HOT void
step_sgd(struct run *r, float *w, const float *w0, const struct train_opts *o,
    double lr_now)
{
	const float lr = (float)lr_now, mom = (float)o->momentum;
	const float wd = (float)o->weight_decay, mu = (float)o->prox;
	float *g = r->g, *m = r->m;
	uint64_t i, n = r->np;

	if (wd != 0 || mu != 0)
		for (i = 0; i < n; i++)
			g[i] += wd * w[i] + mu * (w[i] - w0[i]);
	if (m == NULL) {
		for (i = 0; i < n; i++)
			w[i] -= lr * g[i];
		return;
	}
	for (i = 0; i < n; i++) {
		m[i] = mom * m[i] + g[i];
		w[i] -= lr * m[i];
	}
}

/* Adam (L2 in the gradient) and AdamW (decoupled decay), as PyTorch. */
static NN_HOT void
step_adam(struct run *r, float *w, const float *w0, const struct train_opts *o,
    double lr)
{
	const float b1 = (float)o->beta1, b2 = (float)o->beta2;
	const float eps = (float)o->eps, mu = (float)o->prox;
	float wd = (float)o->weight_decay, *g = r->g, *m = r->m, *v = r->v;
	double t = (double)++r->t;
	const float step = (float)(lr / (1 - pow(o->beta1, t)));
	const float rbc2 = (float)(1 / sqrt(1 - pow(o->beta2, t)));
	uint64_t i, n = r->np;

	if (o->opt == OPT_ADAMW) {
		float keep = (float)(1 - lr * o->weight_decay);

		if (wd != 0)
			for (i = 0; i < n; i++)
				w[i] *= keep;
		wd = 0;
	}
	if (wd != 0 || mu != 0)
		for (i = 0; i < n; i++)
			g[i] += wd * w[i] + mu * (w[i] - w0[i]);
	for (i = 0; i < n; i++) {
		m[i] = b1 * m[i] + (1 - b1) * g[i];
		v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
		w[i] -= step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
	}
}

double
train_lr(const struct train_opts *o, int64_t step, int64_t total)
{
	double f = (double)step / (double)total;

	switch (o->schedule) {
	case SCHED_COSINE:
		return o->lr * 0.5 * (1 + cos(M_PI * f));
	case SCHED_LINEAR:
		return o->lr * (1 - f);
	default:
		return o->lr;
	}
}

static const char *const sched_names[] = { "constant", "cosine", "linear" };

const char *
train_schedule_name(enum train_schedule s)
{
	return sched_names[s];
}

int
train_schedule_parse(const char *s, enum train_schedule *o)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, sched_names[i]) == 0) {
			*o = (enum train_schedule)i;
			return 0;
		}
	return -1;
}

static void
shuffle(struct run *r, rng_t *rng, int64_t n)
{
	rng_shuffle_u32(rng, r->perm, (uint64_t)n);
}

/* The next b rows in shuffled order into r->g's gradient; the mean loss. */
static double
plain_batch(struct run *r, const float *w, const struct dataset *d,
    rng_t *rng, int64_t *pos, int64_t *bp)
{
	int B = r->net.maxbatch, b;
	double loss;

	if (*pos == d->n) {
		shuffle(r, rng, d->n);
		*pos = 0;
	}
	b = d->n - *pos < B ? (int)(d->n - *pos) : B;
	data_batch(d, r->net.act[0], r->y, r->perm, *pos, b);
	*pos += b;
	*bp = b;
	loss = nn_forward(&r->net, w, r->y, b, NULL, NULL) / b;
	nn_backward(&r->net, r->g, w, r->y, b);
	return loss;
}

/* DP-SGD's noisy clipped gradient of a Poisson batch into r->g; the
 * mean loss of the batch. */
static double
dp_batch(struct run *r, const float *w, const struct dataset *d,
    rng_t *rng, int64_t *bp)
{
	double loss = dpsgd_step(&r->dp, &r->net, r->g, w, d, r->y, rng, bp);

	return *bp > 0 ? loss / (double)*bp : 0;
}

static void
train_loop(struct run *r, float *w, const float *w0, const struct dataset *d,
    const struct train_opts *o, int64_t total, train_progress_fn *progress,
    void *ctx, rng_t *rng, struct train_stats *st)
{
	int64_t s, pos = 0, since = 0, b;
	double window = 0, lr;

	for (s = 0; s < total; s++) {
		if (o->dp != NULL)
			window += dp_batch(r, w, d, rng, &b);
		else
			window += plain_batch(r, w, d, rng, &pos, &b);
		lr = train_lr(o, s, total);
		if (o->opt == OPT_SGD)
			step_sgd(r, w, w0, o, lr);
		else
			step_adam(r, w, w0, o, lr);
		st->rows += b;
		if (progress != NULL && (++since == PROGRESS_EVERY ||
		    s + 1 == total)) {
			progress(ctx, s + 1, total, window / (double)since);
			since = 0;
			window = 0;
		}
	}
	st->steps = total;
}

int
train_run(const struct arch *a, const float *global, float *local,
    const struct dataset *d, const struct train_opts *o,
    train_progress_fn *progress, void *ctx, struct train_stats *st,
    fed_err *e)
{
	struct run r;
	rng_t rng;
	int64_t total;
	unsigned csr;
	int batch;

	memset(st, 0, sizeof(*st));
	if (train_check_fit(a, d, e) < 0)
		return -1;
	if (o->batch < 1 || o->batch > TRAIN_MAXBATCH)
		return fed_errf(e, "batch size out of range 1..%d",
		    TRAIN_MAXBATCH);
	batch = o->batch < d->n ? o->batch : (int)d->n;
	if (run_init(&r, a, d, o, batch, e) < 0)
		return -1;
	memcpy(local, global, r.np * sizeof(float));
	csr = nn_denormals_off();
	rng_seed(&rng, o->seed);
	shuffle(&r, &rng, d->n);
	memcpy(r.lossrows, r.perm, (size_t)r.nloss * sizeof(uint32_t));
	st->loss_start = run_loss(&r, local, d);
	total = train_total_steps(o, d->n);
	train_loop(&r, local, global, d, o, total, progress, ctx, &rng, st);
	st->loss_end = run_loss(&r, local, d);
	nn_denormals_restore(csr);
	run_free(&r);
	return 0;
}

void
eval_init(struct eval_result *r, int classes)
{
	memset(r, 0, sizeof(*r));
	r->classes = classes;
	r->class_n = xcalloc((size_t)classes, sizeof(int64_t));
	r->class_correct = xcalloc((size_t)classes, sizeof(int64_t));
}

void
eval_free(struct eval_result *r)
{
	free(r->class_n);
	free(r->class_correct);
	memset(r, 0, sizeof(*r));
}

#define EVAL_BATCH 256

int
eval_run(const struct arch *a, const float *params, const struct dataset *d,
    struct eval_result *r, fed_err *e)
{
	struct nn_net net;
	int32_t y[EVAL_BATCH], pred[EVAL_BATCH];
	int64_t i;
	int b, k;

	if (train_check_fit(a, d, e) < 0)
		return -1;
	if (r->classes != d->classes)
		return fed_errf(e, "data has %d classes, want %d", d->classes,
		    r->classes);
	if (nn_net_init(&net, a, EVAL_BATCH, e) < 0)
		return -1;
	for (i = 0; i < d->n; i += b) {
		b = d->n - i < EVAL_BATCH ? (int)(d->n - i) : EVAL_BATCH;
		data_batch(d, net.act[0], y, NULL, i, b);
		r->loss_sum += nn_forward(&net, params, y, b, &r->correct,
		    pred);
		for (k = 0; k < b; k++) {
			r->class_n[y[k]]++;
			r->class_correct[y[k]] += pred[k] == y[k];
		}
	}
	r->n += d->n;
	nn_net_free(&net);
	return 0;
}
