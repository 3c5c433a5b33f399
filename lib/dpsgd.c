/*
 * dpsgd: the DP-SGD gradient step.  Forward is nn's; the backward pass
 * here keeps each example's deltas separate until they are clipped, and
 * only then sums them with sgemm.  Noise comes from dp.h, sampling from
 * the caller's rng.  Under data parallelism (train.h) every part draws
 * the same batch and sums its share of it; the caller combines the sums
 * before the noise.  Nothing is allocated after dpsgd_init.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "dpsgd.h"

double
dpsgd_rate(int batch, int64_t n)
{
	if (n <= 0)
		return 1;
	return batch >= n ? 1.0 : (double)batch / (double)n;
}

int
dpsgd_chunk(int batch, int64_t n)
{
	int64_t c = batch + (int64_t)ceil(4 * sqrt((double)batch)) + 8;

	return c < n ? (int)c : (int)n;
}

int
dpsgd_init(struct dpsgd *s, const struct arch *a, const struct dpsgd_opts *o,
    int64_t n, int batch, int chunk, fed_err *e)
{
	int i;

	memset(s, 0, sizeof(*s));
	if (a->kind != ARCH_SOFTMAX && a->kind != ARCH_MLP)
		return fed_errf(e, "dp-sgd supports softmax and mlp models "
		    "only");
	if (!(o->clip > 0) || !isfinite(o->clip) || !(o->sigma >= 0) ||
	    !isfinite(o->sigma))
		return fed_errf(e, "dp-sgd needs a positive clip norm and a "
		    "noise multiplier >= 0");
	if (chunk < 1 || n < 1 || batch < 1)
		return fed_errf(e, "dp-sgd: empty batch or data");
	s->a = *a;
	s->clip = o->clip;
	s->sigma = o->sigma;
	s->n = n;
	s->parts = 1;
	s->q = dpsgd_rate(batch, n);
	s->lq = s->q >= 1 ? -INFINITY : log1p(-s->q);
	s->expected = s->q * (double)n;
	s->chunk = chunk;
	s->np = arch_nparams(a);
	for (i = 0; i < a->nlayers; i++)
		s->delta[i] = xcalloc((size_t)chunk * a->dims[i + 1],
		    sizeof(float));
	s->norm2 = xcalloc((size_t)chunk, sizeof(double));
	s->scale = xcalloc((size_t)chunk, sizeof(float));
	s->idx = xcalloc((size_t)chunk, sizeof(uint32_t));
	return 0;
}

void
dpsgd_free(struct dpsgd *s)
{
	int i;

	for (i = 0; i < ARCH_MAXLAYERS; i++)
		free(s->delta[i]);
	free(s->norm2);
	free(s->scale);
	free(s->idx);
	memset(s, 0, sizeof(*s));
}

/* norm2[b] += |x_b|^2 * (|a_b|^2 + 1) over B rows of x (B, xw) and
 * a (B, aw): one dense layer's share of the squared gradient norm. */
static NN_HOT void
add_norms(double *norm2, const float *x, const float *a, int B, int xw,
    int aw)
{
	int b, j;

	for (b = 0; b < B; b++) {
		const float *xr = x + (size_t)b * xw, *ar = a + (size_t)b * aw;
		float sx = 0, sa = 0;

		for (j = 0; j < xw; j++)
			sx += xr[j] * xr[j];
		for (j = 0; j < aw; j++)
			sa += ar[j] * ar[j];
		norm2[b] += (double)sx * ((double)sa + 1);
	}
}

/* rows of x (B, w) times scale[b] */
static NN_HOT void
scale_rows(float *x, const float *scale, int B, int w)
{
	int b, j;

	for (b = 0; b < B; b++) {
		float f = scale[b], *xr = x + (size_t)b * w;

		if (f != 1.0f)
			for (j = 0; j < w; j++)
				xr[j] *= f;
	}
}

/* db (out) += the sum of x's B rows */
static NN_HOT void
add_rows(float *db, const float *x, int B, int w)
{
	int b, j;

	for (b = 0; b < B; b++) {
		const float *xr = x + (size_t)b * w;

		for (j = 0; j < w; j++)
			db[j] += xr[j];
	}
}

/* Per-example deltas of every layer, unscaled: delta[L-1] = p - onehot,
 * then back through the weights and ReLUs. */
static void
backprop_deltas(struct dpsgd *s, struct nn_net *net, const float *w,
    const int32_t *y, const uint64_t *off, int B)
{
	const struct arch *a = &s->a;
	int i, b, L = a->nlayers, C = a->dims[L];

	memcpy(s->delta[L - 1], net->act[L], (size_t)B * C * sizeof(float));
	for (b = 0; b < B; b++)
		s->delta[L - 1][(size_t)b * C + y[b]] -= 1.0f;
	for (i = L - 1; i > 0; i--) {
		int in = a->dims[i], out = a->dims[i + 1];

		/* delta[i-1] (B, in) = delta[i] (B, out) . W_i (out, in) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in,
		    out, 1.0f, s->delta[i], out, w + off[i], in, 0.0f,
		    s->delta[i - 1], in);
		nn_relu_backward(s->delta[i - 1], s->delta[i - 1], net->act[i],
		    (int64_t)B * in);
	}
}

double
dpsgd_clipped_sum(struct dpsgd *s, struct nn_net *net, float *g,
    const float *w, const int32_t *y, int B)
{
	const struct arch *a = &s->a;
	uint64_t off[ARCH_MAXLAYERS], o = 0;
	double loss, nrm;
	int i, b, L = a->nlayers;

	for (i = 0; i < L; i++) {
		off[i] = o;
		o += (uint64_t)a->dims[i] * a->dims[i + 1] + a->dims[i + 1];
	}
	loss = nn_forward(net, w, y, B, NULL, NULL);
	backprop_deltas(s, net, w, y, off, B);
	memset(s->norm2, 0, (size_t)B * sizeof(double));
	for (i = 0; i < L; i++)
		add_norms(s->norm2, s->delta[i], net->act[i], B,
		    a->dims[i + 1], a->dims[i]);
	for (b = 0; b < B; b++) {
		nrm = sqrt(s->norm2[b]);
		s->scale[b] = nrm > s->clip ? (float)(s->clip / nrm) : 1.0f;
	}
	for (i = 0; i < L; i++) {
		int in = a->dims[i], out = a->dims[i + 1];

		scale_rows(s->delta[i], s->scale, B, out);
		/* dW (out, in) += delta^T (out, B) . act (B, in) */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in,
		    B, 1.0f, s->delta[i], out, net->act[i], in, 1.0f,
		    g + off[i], in);
		add_rows(g + off[i] + (uint64_t)in * out, s->delta[i], B, out);
	}
	return loss;
}

/* Examples skipped before the next one drawn: geometric with
 * P(k) = (1-q)^k q, from a uniform in (0, 1]. */
static int64_t
skip(const struct dpsgd *s, rng_t *r)
{
	double u, k;

	if (s->lq == -INFINITY)
		return 0;
	u = ((double)(rng_u64(r) >> 11) + 1.0) * 0x1.0p-53;
	k = floor(log(u) / s->lq);
	return k < (double)s->n ? (int64_t)k : s->n;
}

double
dpsgd_sum(struct dpsgd *s, struct nn_net *net, float *g, const float *w,
    const struct dataset *d, int32_t *y, rng_t *r, int64_t *rows)
{
	double loss = 0;
	int64_t pos, k = 0;
	int B;

	memset(g, 0, s->np * sizeof(float));
	pos = skip(s, r);
	while (pos < s->n) {
		/* the k-th example drawn is part k mod parts's */
		for (B = 0; B < s->chunk && pos < s->n; k++) {
			if (k % s->parts == s->part)
				s->idx[B++] = (uint32_t)pos;
			pos += 1 + skip(s, r);
		}
		if (B > 0) {
			data_batch(d, net->act[0], y, s->idx, 0, B);
			loss += dpsgd_clipped_sum(s, net, g, w, y, B);
		}
	}
	*rows = k;
	return loss;
}

void
dpsgd_noise(struct dpsgd *s, float *g, rng_t *r)
{
	if (s->sigma > 0)
		dp_gaussian_noise(g, s->np, s->sigma * s->clip, r);
	nn_scale(g, s->np, (float)(1 / s->expected));
}

double
dpsgd_step(struct dpsgd *s, struct nn_net *net, float *g, const float *w,
    const struct dataset *d, int32_t *y, rng_t *r, int64_t *rows)
{
	double loss = dpsgd_sum(s, net, g, w, d, y, r, rows);

	dpsgd_noise(s, g, r);
	return loss;
}
