/*
 * split: an mlp's first layer cut by neurons across the ranks (split.h
 * says why).  A rank's board holds, first, its neurons' outputs for the
 * rows of the others, (n, c1 - c0) in batch order, and then its rows'
 * gradient at layer 1's outputs, (rows, H), already weighted by its
 * share of the batch.  A shared board is rewritten only after a barrier
 * that every reader of its last contents has passed.
 */
#include <stdlib.h>
#include <string.h>

#include "split.h"

/* Rank q's neurons [*c0, *c1) of H. */
static void
neurons(const struct split *s, int q, int *c0, int *c1)
{
	*c0 = (int)((int64_t)s->H * q / s->d->size);
	*c1 = (int)((int64_t)s->H * (q + 1) / s->d->size);
}

/* Rank q's rows [*a, *z) of a batch of n, as train's rank_grad. */
static void
rows(const struct split *s, int q, int n, int *a, int *z)
{
	*a = (int)((int64_t)n * q / s->d->size);
	*z = (int)((int64_t)n * (q + 1) / s->d->size);
}

/* The most of n any of k ranks takes. */
static int
most(int n, int k)
{
	return (n + k - 1) / k;
}

int
split_init(struct split *s, struct dist *d, struct model *m, fed_err *e)
{
	const struct arch *a = &m->a;
	int hc;

	memset(s, 0, sizeof(*s));
	if (m->text || a->nlayers < 2 || a->dims[1] < d->size)
		return 0;
	s->D = a->dims[0];
	s->H = a->dims[1];
	s->maxb = m->maxbatch;
	if (dist_boards(d, 2 * (uint64_t)s->maxb * s->H, &s->board, e) < 0)
		return -1;
	if (s->board == NULL)
		return 0;       /* not a job of several ranks */
	s->d = d;
	neurons(s, d->rank, &s->c0, &s->c1);
	hc = s->c1 - s->c0;
	s->wlo = (uint64_t)s->c0 * s->D;
	s->whi = (uint64_t)s->c1 * s->D;
	s->blo = (uint64_t)s->H * s->D + s->c0;
	s->bhi = (uint64_t)s->H * s->D + s->c1;
	s->rest = (uint64_t)s->H * s->D + s->H;
	s->out = xcalloc((size_t)s->maxb * hc, sizeof(float));
	s->dg = xcalloc((size_t)s->maxb * hc, sizeof(float));
	return 0;
}

void
split_free(struct split *s)
{
	free(s->out);
	free(s->dg);
	memset(s, 0, sizeof(*s));
}

/* This rank's neurons over the whole batch (n rows in act[0]); what the
 * others' rows take of them onto its board. */
static void
layer1(struct split *s, struct nn_net *net, const float *w, int n)
{
	float *bd = s->board[s->d->rank];
	int hc = s->c1 - s->c0, a, z;

	nn_dense_forward(s->out, net->act[0], w + s->wlo, w + s->blo, n, s->D,
	    hc);
	rows(s, s->d->rank, n, &a, &z);
	dist_stream(bd, s->out, (uint64_t)a * hc);
	dist_stream(bd + (size_t)z * hc, s->out + (size_t)z * hc,
	    (uint64_t)(n - z) * hc);
}

/* Layer 1's outputs on this rank's rows [a, z), every rank's neurons,
 * into act[1] through the ReLU (on the way: one pass, not two). */
static void
gather_out(struct split *s, struct nn_net *net, int n)
{
	const float *src;
	int q, i, c0, c1, a, z;

	rows(s, s->d->rank, n, &a, &z);
	for (q = 0; q < s->d->size; q++) {
		neurons(s, q, &c0, &c1);
		src = q == s->d->rank ? s->out : s->board[q];
		for (i = a; i < z; i++)
			nn_relu_forward(net->act[1] + (size_t)(i - a) * s->H +
			    c0, src + (size_t)i * (c1 - c0), c1 - c0);
	}
}

/* The layers above on this rank's rows: their gradient into part; the
 * gradient at layer 1's outputs weighted f onto the board. */
static double
upper(struct split *s, struct model *m, const float *w, float *part,
    int n, double f)
{
	struct nn_net *net = &m->u.net;
	int a, z;
	double loss;

	rows(s, s->d->rank, n, &a, &z);
	if (z == a) {
		memset(part + s->rest, 0, (m->np - s->rest) * sizeof(float));
		return 0;
	}
	loss = nn_forward_from(net, w, m->y + a, z - a, 1, NULL, NULL);
	s->mine = nn_backward_to(net, part, w, m->y + a, z - a, 1);
	nn_scale(s->mine, (uint64_t)(z - a) * s->H, (float)f);
	dist_stream(s->board[s->d->rank] + (size_t)s->maxb * s->H, s->mine,
	    (uint64_t)(z - a) * s->H);
	return loss;
}

/* This rank's neurons' gradient over the whole batch, rank by rank,
 * then its rows of W1's gradient and elements of b1's from it, into g. */
static void
layer1_grad(struct split *s, struct nn_net *net, const float *w, float *g,
    int n)
{
	const float *src;
	int q, i, a, z, hc = s->c1 - s->c0;

	for (q = 0; q < s->d->size; q++) {
		rows(s, q, n, &a, &z);
		src = q == s->d->rank ? s->mine :
		    s->board[q] + (size_t)s->maxb * s->H;
		for (i = a; i < z; i++)
			memcpy(s->dg + (size_t)i * hc,
			    src + (size_t)(i - a) * s->H + s->c0,
			    (size_t)hc * sizeof(float));
	}
	nn_dense_backward(NULL, g + s->wlo, g + s->blo, s->dg, net->act[0],
	    w + s->wlo, n, s->D, hc);
}

int
split_out(struct split *s, struct model *m, const float *w,
    const struct dataset *data, const struct batch *b, fed_err *e)
{
	struct nn_net *net = &m->u.net;

	data_batch(data, net->act[0], m->y, b->rows, b->start, b->n);
	layer1(s, net, w, b->n);
	return dist_trade(s->d, 0, (uint64_t)b->n * most(s->H, s->d->size),
	    e);
}

double
split_up(struct split *s, struct model *m, const float *w,
    const struct batch *b, float *part, double *f)
{
	int a, z;

	rows(s, s->d->rank, b->n, &a, &z);
	*f = (double)(z - a) / b->n;
	gather_out(s, &m->u.net, b->n);
	return upper(s, m, w, part, b->n, *f);
}

int
split_back(struct split *s, struct model *m, const float *w,
    const struct batch *b, float *g, fed_err *e)
{
	if (dist_trade(s->d, (uint64_t)s->maxb * s->H,
	    (uint64_t)most(b->n, s->d->size) * s->H, e) < 0)
		return -1;
	layer1_grad(s, &m->u.net, w, g, b->n);
	return 0;
}

int
split_spread(struct split *s, float *w, fed_err *e)
{
	uint64_t *at = xcalloc((size_t)s->d->size + 1, sizeof(uint64_t));
	uint64_t *bt = xcalloc((size_t)s->d->size + 1, sizeof(uint64_t));
	int q, c0, c1, rc;

	for (q = 0; q < s->d->size; q++) {
		neurons(s, q, &c0, &c1);
		at[q] = (uint64_t)c0 * s->D;
		at[q + 1] = (uint64_t)c1 * s->D;
		bt[q] = (uint64_t)s->H * s->D + c0;
		bt[q + 1] = (uint64_t)s->H * s->D + c1;
	}
	rc = dist_spread(s->d, w, at, e) < 0 || dist_spread(s->d, w, bt, e) < 0 ?
	    -1 : 0;
	free(at);
	free(bt);
	return rc;
}
