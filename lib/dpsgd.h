/*
 * dpsgd: DP-SGD (Abadi et al. 2016) for the dense models of nn.h
 * (softmax, mlp).  A step draws its batch by Poisson sampling, every
 * example independently with probability q, which is the sampling the
 * accountant in dp.h assumes; clips each example's gradient to L2 norm
 * C; adds N(0, sigma^2 C^2) to every coordinate of the sum; and divides
 * by the expected batch size q n.  The optimizer step that follows is
 * optim's and, being post-processing, costs no privacy.
 *
 * Per-example gradients are never formed.  For a dense layer the
 * gradient of example b is the outer product delta_b a_b^T, so its
 * squared norm is |delta_b|^2 |a_b|^2, plus |delta_b|^2 for the bias.
 * The step backpropagates the deltas of every layer, sums those norms,
 * scales each example's deltas by min(1, C / norm_b), and then one sgemm
 * a layer gives the clipped sum.
 */
#ifndef FED_DPSGD_H
#define FED_DPSGD_H

#include <stdint.h>

#include "data.h"
#include "arch.h"
#include "nn.h"
#include "rng.h"

struct dpsgd_opts {
	double clip;                /* C, the per-example L2 norm cap */
	double sigma;               /* noise multiplier: noise std sigma C */
};

/* State of DP-SGD for one run, allocated once. */
struct dpsgd {
	struct arch a;
	double clip, sigma;
	double q;                   /* sample rate */
	double lq;                  /* log(1 - q), -inf when q is 1 */
	double expected;            /* q n, the divisor of the noisy sum */
	int64_t n;
	int chunk;                  /* rows a forward pass takes */
	uint64_t np;
	float *delta[ARCH_MAXLAYERS];   /* delta[i]: (chunk, dims[i+1]) */
	double *norm2;              /* (chunk) squared gradient norms */
	float *scale;               /* (chunk) clipping factors */
	uint32_t *idx;              /* (chunk) rows of the batch */
	int part, parts;            /* dpsgd_sum's share of each batch */
};

/* The rate for a nominal batch on n examples: min(batch, n) / n. */
double dpsgd_rate(int batch, int64_t n);
/* Rows a pass should take for a nominal batch: four standard deviations
 * above it, so that a Poisson batch nearly always fits one pass. */
int  dpsgd_chunk(int batch, int64_t n);
/* Only softmax and mlp models; batch is the nominal batch size, chunk
 * the largest number of rows net takes at once. */
int  dpsgd_init(struct dpsgd *s, const struct arch *a,
    const struct dpsgd_opts *o, int64_t n, int batch, int chunk,
    fed_err *e);
void dpsgd_free(struct dpsgd *s);

/*
 * After net->act[0] holds B rows (B <= chunk) with labels y: add the sum
 * of their per-example gradients, each clipped to C, to g (np floats).
 * Returns the loss sum of the rows.  Exposed for tests.
 */
double dpsgd_clipped_sum(struct dpsgd *s, struct nn_net *net, float *g,
    const float *w, const int32_t *y, int B);

/*
 * A step in two halves, for data parallelism: dpsgd_sum draws the
 * Poisson batch with r (the same on every part, so every part draws the
 * same batch), and puts into g the clipped sum over the examples of
 * part `part` of `parts` (the k-th drawn goes to part k mod parts; set
 * the two fields after dpsgd_init, which leaves one part of one; a part
 * past the last draws the batch and sums nothing).  *rows
 * gets the whole batch's size; returns the loss sum over the part.  The
 * caller sums g over the parts, then dpsgd_noise adds the noise, drawn
 * from r, once to that sum and divides by the expected batch size.
 */
double dpsgd_sum(struct dpsgd *s, struct nn_net *net, float *g,
    const float *w, const struct dataset *d, int32_t *y, rng_t *r,
    int64_t *rows);
void dpsgd_noise(struct dpsgd *s, float *g, rng_t *r);

/*
 * One step: g (np floats) gets the noisy clipped mean gradient of a
 * Poisson-sampled batch of d, drawn with r.  *rows gets the batch size
 * drawn; returns the loss sum over it.  y holds chunk labels.
 */
double dpsgd_step(struct dpsgd *s, struct nn_net *net, float *g,
    const float *w, const struct dataset *d, int32_t *y, rng_t *r,
    int64_t *rows);

#endif
