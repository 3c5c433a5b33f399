/*
 * optim: SGD and the one Adam of fed.  The loops over the parameters are
 * NN_HOT so they vectorize; flags that hold for a whole step are tested
 * inside them and left to the compiler to hoist.  float32 like the
 * weights, with the bias corrections in double as PyTorch has them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "moments.h"
#include "nn.h"
#include "optim.h"

void
optim_defaults(struct optim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = OPTIM_SGD;
	o->momentum = 0.9;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->eps = 1e-8;
}

static const char *const names[] = { "sgd", "adam", "adamw" };

const char *
optim_name(enum optim_kind k)
{
	return names[k];
}

int
optim_parse(const char *s, enum optim_kind *k)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*k = (enum optim_kind)i;
			return 0;
		}
	return -1;
}

void
optim_init(struct optim *s, const struct optim_opts *o, uint64_t np,
    const uint8_t *decay, int batch)
{
	size_t n = np ? np : 1;

	memset(s, 0, sizeof(*s));
	s->o = *o;
	s->np = np;
	if (o->kind != OPTIM_SGD || o->momentum != 0)
		s->m = xcalloc(n, sizeof(float));
	if (o->kind != OPTIM_SGD)
		s->v = xcalloc(n, sizeof(float));
	if (o->vbatch > 0) {
		s->spread = xcalloc(n, sizeof(float));
		s->keepv = (float)((double)batch / (double)o->vbatch);
	}
	if (o->slices > 1) {
		s->am = xcalloc(n, sizeof(float));
		s->aw = xcalloc(n, sizeof(float));
		s->as = xcalloc(n, sizeof(float));
	}
	s->decay = xmalloc(n);
	if (decay != NULL)
		memcpy(s->decay, decay, np);
	else
		memset(s->decay, 1, n);
}

void
optim_free(struct optim *s)
{
	free(s->m);
	free(s->v);
	free(s->spread);
	free(s->am);
	free(s->aw);
	free(s->as);
	free(s->decay);
	memset(s, 0, sizeof(*s));
}

void
optim_state_get(struct optim *s, const struct optim_state *st)
{
	memcpy(s->m, st->m, s->np * sizeof(float));
	memcpy(s->v, st->v, s->np * sizeof(float));
	s->t = st->t;
}

void
optim_state_put(const struct optim *s, struct optim_state *st)
{
	memcpy(st->m, s->m, s->np * sizeof(float));
	memcpy(st->v, s->v, s->np * sizeof(float));
	st->t = s->t;
}

double
optim_sumsq(const float *g, uint64_t n)
{
	double ss = 0;
	uint64_t i;

	for (i = 0; i < n; i++)
		ss += (double)g[i] * g[i];
	return ss;
}

double
optim_clip_by(float *g, uint64_t n, double ss, double clip)
{
	ss = sqrt(ss);
	if (ss > clip)
		nn_scale(g, n, (float)(clip / ss));
	return ss;
}

double
optim_clip(float *g, uint64_t n, double clip)
{
	if (!(clip > 0))
		return 0;
	return optim_clip_by(g, n, optim_sumsq(g, n), clip);
}

/*
 * With the two halves of h and B - h samples giving gradients ga and
 * gb, g = (h ga + (B - h) gb) / B, and coordinate by coordinate
 * (ga - gb)^2 h (B - h) / B^2 is an unbiased estimate of the variance
 * of g (the two-batch-size estimator of McCandlish et al. 2018, "An
 * Empirical Model of Large-Batch Training", per coordinate).  The spread
 * keeps its signed root, clipped with g.
 */
void
optim_vbatch(struct optim *s, float *gb, int h, int B, double clip)
{
	float *ga = s->spread, fa, fb, fs;
	double norm;
	uint64_t i;

	fa = (float)h / (float)B;
	fb = (float)(B - h) / (float)B;
	fs = (float)(sqrt((double)h * (B - h)) / B);
	for (i = 0; i < s->np; i++) {
		float a = ga[i], b = gb[i];

		gb[i] = fa * a + fb * b;
		ga[i] = fs * (a - b);
	}
	norm = optim_clip(gb, s->np, clip);
	if (clip > 0 && norm > clip)
		nn_scale(ga, s->np, (float)(clip / norm));
}

/* SGD, PyTorch's form: v = m v + g; w -= lr v.  L2 and the proximal
 * term enter the gradient. */
static NN_HOT void
sgd_step(struct optim *s, float *w, float *g, const float *w0, double lr_now,
    uint64_t lo, uint64_t n)
{
	const float lr = (float)lr_now, mom = (float)s->o.momentum;
	const float wd = (float)s->o.weight_decay, mu = (float)s->o.prox;
	const uint8_t *dk = s->decay;
	float *m = s->m;
	uint64_t i;

	if (wd != 0 || mu != 0)
		for (i = lo; i < n; i++)
			g[i] += (dk[i] ? wd : 0) * w[i] + mu * (w[i] - w0[i]);
	if (m == NULL) {
		for (i = lo; i < n; i++)
			w[i] -= lr * g[i];
		return;
	}
	for (i = lo; i < n; i++) {
		m[i] = mom * m[i] + g[i];
		w[i] -= lr * m[i];
	}
}

/* Adam's constants for one step. */
struct adam {
	float b1, b2, eps, wd, mu, keep, step, rbc2, keepv, cut;
	int adamw;
};

static void
adam_consts(struct adam *k, const struct optim *s, double lr)
{
	const struct optim_opts *o = &s->o;
	double t = (double)s->t;

	k->b1 = (float)o->beta1;
	k->b2 = (float)o->beta2;
	k->eps = (float)o->eps;
	k->wd = (float)o->weight_decay;
	k->mu = (float)o->prox;
	k->keep = (float)(1 - lr * o->weight_decay);
	k->adamw = o->kind == OPTIM_ADAMW;
	k->step = (float)(lr / (1 - pow(o->beta1, t)));
	k->rbc2 = (float)(1 / sqrt(1 - pow(o->beta2, t)));
	k->keepv = s->keepv;
	k->cut = 1 - s->keepv;
}

/* The gradient of a coordinate with L2 and the proximal pull towards
 * w0; AdamW's decay goes to *wi.  dk: the coordinate decays. */
static inline __attribute__((always_inline)) float
adam_grad(const struct adam k, float gi, float *wi, float w0, uint8_t dk)
{
	if (k.adamw) {
		if (dk)
			*wi *= k.keep;
		if (k.mu != 0)
			gi += k.mu * (*wi - w0);
	} else if (k.mu != 0)
		gi += (dk ? k.wd : 0) * *wi + k.mu * (*wi - w0);
	else if (k.wd != 0 && dk)
		gi += k.wd * *wi;
	return gi;
}

/* AdamW (decoupled decay) or Adam (L2 in the gradient), as PyTorch. */
static NN_HOT void
adam_step(struct optim *s, float *w, const float *g, const float *w0,
    const struct adam k, uint64_t lo, uint64_t n)
{
	float *m = s->m, *v = s->v;
	const float *sp = s->spread;
	const uint8_t *dk = s->decay;
	uint64_t i;

	for (i = lo; i < n; i++) {
		float wi = w[i], sq, c;
		float gi = adam_grad(k, g[i], &wi, w0[i], dk[i]);

		m[i] = k.b1 * m[i] + (1 - k.b1) * gi;
		if (sp == NULL)
			v[i] = k.b2 * v[i] + (1 - k.b2) * gi * gi;
		else {
			/* E[g^2] at vbatch: less the part of the variance a
			 * larger batch would not have; at least what pure
			 * noise would leave of it */
			sq = gi * gi;
			c = sq - k.cut * sp[i] * sp[i];
			sq = c > k.keepv * sq ? c : k.keepv * sq;
			v[i] = k.b2 * v[i] + (1 - k.b2) * sq;
		}
		w[i] = wi - k.step * m[i] / (sqrtf(v[i]) * k.rbc2 + k.eps);
	}
}

void
optim_step(struct optim *s, float *w, float *g, const float *w0, double lr)
{
	optim_step_part(s, w, g, w0, lr, 0, s->np);
}

void
optim_step_part(struct optim *s, float *w, float *g, const float *w0,
    double lr, uint64_t lo, uint64_t hi)
{
	const uint64_t at[2] = { lo, hi };

	optim_step_parts(s, w, g, w0, lr, at, 1);
}

void
optim_step_parts(struct optim *s, float *w, float *g, const float *w0,
    double lr, const uint64_t *at, int k)
{
	struct adam c;
	int j;

	if (s->o.kind == OPTIM_SGD) {
		for (j = 0; j < k; j++)
			sgd_step(s, w, g, w0, lr, at[2 * j], at[2 * j + 1]);
		return;
	}
	s->t++;
	adam_consts(&c, s, lr);
	for (j = 0; j < k; j++)
		adam_step(s, w, g, w0, c, at[2 * j], at[2 * j + 1]);
}

/*
 * slices: every slice takes its own Adam step from the same weights and
 * moments; the weights move by the mean of the steps, and the moments
 * become what fed-merge gives such holders (moments.h): the mean m, and
 * v = m^2 plus the mean of the slices' spreads.
 */
void
optim_slices_begin(struct optim *s)
{
	s->t++;
	memset(s->am, 0, s->np * sizeof(float));
	memset(s->aw, 0, s->np * sizeof(float));
	memset(s->as, 0, s->np * sizeof(float));
}

static NN_HOT void
slice_add(struct optim *s, const float *w, const float *g, const float *w0,
    const struct adam k)
{
	float *am = s->am, *aw = s->aw, *as = s->as;
	const float *m = s->m, *v = s->v;
	const uint8_t *dk = s->decay;
	uint64_t i, n = s->np;

	for (i = 0; i < n; i++) {
		float wi = w[i], gi = g[i], mk, vk;

		if (!k.adamw)
			gi = adam_grad(k, gi, &wi, w0[i], dk[i]);
		else if (k.mu != 0)
			gi += k.mu * (wi - w0[i]);
		mk = k.b1 * m[i] + (1 - k.b1) * gi;
		vk = k.b2 * v[i] + (1 - k.b2) * gi * gi;
		as[i] += mk / (sqrtf(vk) * k.rbc2 + k.eps);
		am[i] += mk;
		aw[i] += moments_spread(mk, vk);
	}
}

void
optim_slice(struct optim *s, const float *w, float *g, const float *w0)
{
	struct adam k;

	optim_clip(g, s->np, s->o.clip);
	adam_consts(&k, s, 0);
	slice_add(s, w, g, w0, k);
}

static NN_HOT void
slices_apply(struct optim *s, float *w, const struct adam k, int K)
{
	float *m = s->m, *v = s->v;
	const float *am = s->am, *aw = s->aw, *as = s->as;
	const uint8_t *dk = s->decay;
	uint64_t i, n = s->np;

	for (i = 0; i < n; i++) {
		float wi = w[i];

		if (dk[i] && k.adamw)
			wi *= k.keep;
		w[i] = wi - k.step * (as[i] / K);
		m[i] = am[i] / K;
		v[i] = moments_v(m[i], (double)aw[i] / K);
	}
}

void
optim_slices_end(struct optim *s, float *w, double lr)
{
	struct adam k;

	adam_consts(&k, s, lr);
	slices_apply(s, w, k, s->o.slices);
}
