/*
 * madmit: admission by leave-one-out on the coordinator's held-out data
 * (lib/eval over lib/model).  The merge is judged, not each update
 * alone: under skewed shares an honest update alone makes the held-out
 * loss worse, while the merge of all of them makes it better.  The
 * aggregate here is the rule's own (lib/rule) over whole updates, with
 * the same clipping; the server step and DP noise are left out.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "eval.h"
#include "madmit.h"
#include "model.h"
#include "nn.h"
#include "rule.h"

/* The candidates: every update not yet left out, read whole. */
struct cand {
	int n;                  /* candidates */
	int in;                 /* how many are still in the set */
	int *at;                /* (n) index into the updates */
	int *out;               /* (n) refused */
	float **d;              /* (n) whole deltas, np floats each */
	double *s;              /* (n) clipping scales */
	uint64_t *samples;      /* (n) as weighed */
	const float **p;        /* (n) the set's deltas */
	double *c, *ps, *score, *dist, *tmp;
	double *full;           /* (n * n) krum: squared distances between
	                         * all candidates, upper triangle */
	uint64_t *pn;
	int *sel, *ix;          /* ix[k]: the set's k-th candidate */
	float *x, *y;           /* (np) the model, the model plus D */
	double *D;              /* (np) the aggregate */
};

/* The model's weights, whole, into x (np floats). */
static int
read_model(struct mmodel *mi, float *x, size_t chunk, fed_err *e)
{
	const float *p;
	uint64_t at;
	size_t len;

	if (mmodel_rewind(mi, chunk, e) < 0)
		return -1;
	for (at = 0; at < mi->np; at += len) {
		len = mi->np - at < chunk ? (size_t)(mi->np - at) : chunk;
		if ((p = mmodel_x(mi, len, e)) == NULL)
			return -1;
		memcpy(x + at, p, len * sizeof(*x));
	}
	return mmodel_end(mi, e);
}

/* The mean loss of weights w on d; not finite counts as infinite. */
static int
loss(const struct arch *a, const float *w, const struct dataset *d,
    double *out, int64_t *n, fed_err *e)
{
	struct eval_result r;
	int rc;

	eval_init(&r, eval_classes(a));
	rc = eval_run(a, w, d, &r, e);
	*out = r.n > 0 ? r.loss_sum / (double)r.n : NAN;
	if (!isfinite(*out))
		*out = INFINITY;
	*n = r.n;
	eval_free(&r);
	return rc;
}

/* Update u read whole into y (signatures checked in the same read). */
static int
read_update(struct upd *u, float *y, struct mmodel *mi,
    const struct upd_want *w, int spool, fed_err *e)
{
	uint64_t at;
	size_t len;

	if (upd_open(u, w, spool, e) < 0)
		return -1;
	for (at = 0; at < mi->np; at += len) {
		len = mi->np - at < u->chunk ? (size_t)(mi->np - at) : u->chunk;
		if (upd_chunk(u, at, len, e) < 0)
			return -1;
		memcpy(y + at, u->cur, len * sizeof(*y));
	}
	return upd_finish(u, &mi->a, e);
}

static void
cand_free(struct cand *c)
{
	int k;

	for (k = 0; c->d != NULL && k < c->n; k++)
		free(c->d[k]);
	free(c->at), free(c->out), free(c->d), free(c->s), free(c->samples);
	free(c->p), free(c->c), free(c->ps), free(c->score), free(c->dist);
	free(c->tmp), free(c->pn), free(c->sel), free(c->x), free(c->y);
	free(c->full), free(c->ix);
	free(c->D);
}

static void
cand_alloc(struct cand *c, int n, uint64_t np)
{
	size_t z = (size_t)(n ? n : 1), q = np ? (size_t)np : 1;

	c->at = xcalloc(z, sizeof(*c->at));
	c->out = xcalloc(z, sizeof(*c->out));
	c->d = xcalloc(z, sizeof(*c->d));
	c->s = xcalloc(z, sizeof(*c->s));
	c->samples = xcalloc(z, sizeof(*c->samples));
	c->p = xcalloc(z, sizeof(*c->p));
	c->c = xcalloc(z, sizeof(*c->c));
	c->ps = xcalloc(z, sizeof(*c->ps));
	c->score = xcalloc(z, sizeof(*c->score));
	c->dist = xcalloc(z * z, sizeof(*c->dist));
	c->full = xcalloc(z * z, sizeof(*c->full));
	c->ix = xcalloc(z, sizeof(*c->ix));
	c->tmp = xcalloc(z, sizeof(*c->tmp));
	c->pn = xcalloc(z, sizeof(*c->pn));
	c->sel = xcalloc(z, sizeof(*c->sel));
	c->x = xcalloc(q, sizeof(*c->x));
	c->y = xcalloc(q, sizeof(*c->y));
	c->D = xcalloc(q, sizeof(*c->D));
}

/* Read every update not yet left out; one that fails its checks is
 * marked as in any pass. */
static int
cand_read(struct cand *c, struct upd *u, int n, struct mmodel *mi,
    const struct upd_want *w, const struct mopt *o, int spool, fed_err *e)
{
	fed_err ue;
	int i, r;

	for (i = 0; i < n; i++) {
		if (u[i].bad)
			continue;
		c->d[c->n] = xcalloc(mi->np ? mi->np : 1, sizeof(float));
		r = read_update(&u[i], c->d[c->n], mi, w, spool, &ue);
		upd_close(&u[i], spool);
		if (r < 0) {
			upd_mark(&u[i], &ue);
			if (ue.kind == FED_ESYSTEM)
				return *e = ue, -1;
			free(c->d[c->n]), c->d[c->n] = NULL;
			continue;
		}
		c->s[c->n] = rule_clip_scale(sqrt(rule_sumsq(c->d[c->n],
		    mi->np)), o->clip);
		c->samples[c->n] = u[i].used;
		c->at[c->n++] = i;
	}
	c->in = c->n;
	if (o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM)
		rule_pairdist(c->full, (const float *const *)c->d, c->s, c->n,
		    mi->np, 0, c->n * (c->n - 1) / 2);
	return 0;
}

/* The fewest updates the rule can merge. */
static int
least(const struct mopt *o)
{
	if (o->rule == MOPT_KRUM)
		return 2 * o->f + 3;
	if (o->rule == MOPT_MULTIKRUM)
		return 2 * o->f + 3 > o->m + o->f ? 2 * o->f + 3 : o->m + o->f;
	return 1;
}

/* Krum's or multi-krum's choice among the k deltas of the set into the
 * coefficients c->c, from the distances taken once. */
static int
krum_coef(struct cand *c, int k, const struct mopt *o, fed_err *e)
{
	int m = o->rule == MOPT_KRUM ? 1 : o->m, i, j;

	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++)
			c->dist[i * k + j] =
			    c->full[c->ix[i] * c->n + c->ix[j]];
	if (rule_krum_select(c->dist, k, o->f, m, c->score, c->sel, e) < 0)
		return -1;
	for (i = 0; i < k; i++)
		c->c[i] = c->sel[i] ? c->ps[i] / m : 0;
	return 0;
}

/* The rule's aggregate of the set into c->D. */
static int
aggregate(struct cand *c, const struct mopt *o, uint64_t np, fed_err *e)
{
	const float *const *p = (const float *const *)c->p;
	int i, k = 0;

	for (i = 0; i < c->n; i++)
		if (!c->out[i]) {
			c->ix[k] = i;
			c->p[k] = c->d[i];
			c->ps[k] = c->s[i];
			c->pn[k++] = c->samples[i];
		}
	if (o->rule == MOPT_MEDIAN)
		rule_median(c->D, p, c->ps, k, np, c->tmp);
	else if (o->rule == MOPT_TRIMMED)
		rule_trimmed(c->D, p, c->ps, k,
		    rule_trim_count(o->beta, k), np, c->tmp);
	else if (o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM) {
		if (krum_coef(c, k, o, e) < 0)
			return -1;
		rule_wsum(c->D, p, c->c, k, np);
	} else {
		if (rule_weights(c->c, c->pn, k, o->uniform,
		    o->max_samples) < 0)
			return fed_errf(e, "no samples to weight by");
		for (i = 0; i < k; i++)
			c->c[i] *= c->ps[i];
		rule_wsum(c->D, p, c->c, k, np);
	}
	return 0;
}

/* The held-out loss of the model plus the set's aggregate. */
static int
set_loss(struct cand *c, struct mmodel *mi, const struct dataset *d,
    const struct mopt *o, double *l, fed_err *e)
{
	uint64_t j;
	int64_t n;

	if (aggregate(c, o, mi->np, e) < 0)
		return -1;
	for (j = 0; j < mi->np; j++)
		c->y[j] = (float)((double)c->x[j] + c->D[j]);
	return loss(&mi->a, c->y, d, l, &n, e);
}

/* One step of the greedy: the candidate whose absence lowers the loss
 * most (ties: merge order) into *best, -1 when none may go. */
static int
worst(struct cand *c, struct upd *u, struct mmodel *mi,
    const struct dataset *d, const struct mopt *o, int *best, double *bl,
    fed_err *e)
{
	double l;
	int k;

	*best = -1;
	*bl = INFINITY;
	if (c->in - 1 < least(o))
		return 0;
	for (k = 0; k < c->n; k++) {
		if (c->out[k])
			continue;
		c->out[k] = 1;
		if (set_loss(c, mi, d, o, &l, e) < 0)
			return -1;
		c->out[k] = 0;
		u[c->at[k]].admit_loss = l;
		if (*best < 0 || l < *bl)
			*best = k, *bl = l;
	}
	return 0;
}

/* Leave out, one at a time, the update without which the merge's loss
 * is lower by more than the margin, until none is. */
static int
judge(struct madmit *ad, struct cand *c, struct upd *u, struct mmodel *mi,
    const struct dataset *d, const struct mopt *o, fed_err *e)
{
	fed_err ue;
	double bl;
	int best;

	if (c->n < least(o))    /* the merge says why */
		return 0;
	if (set_loss(c, mi, d, o, &ad->merged, e) < 0)
		return -1;
	for (;;) {
		if (worst(c, u, mi, d, o, &best, &bl, e) < 0)
			return -1;
		if (best < 0 || !(bl + o->margin < ad->merged))
			return 0;
		fed_errf(&ue, "admission: held-out loss of the merge %.4g, "
		    "%.4g without it, better by more than %g", ad->merged, bl,
		    o->margin);
		upd_mark(&u[c->at[best]], &ue);
		u[c->at[best]].admit_out = 1;
		c->out[best] = 1;
		c->in--;
		ad->merged = bl;
	}
}

int
madmit_run(struct madmit *ad, struct upd *u, int n, struct mmodel *mi,
    const struct upd_want *w, const struct mopt *o, int spool, fed_err *e)
{
	struct dataset d;
	struct cand c;
	int rc = -1, threads;

	if (data_load(o->admit, &d, e) < 0)
		return fed_errprefix(e, "%s", display_name(o->admit));
	memcpy(ad->digest, d.b.digest, sizeof(ad->digest));
	ad->merged = NAN;
	memset(&c, 0, sizeof(c));
	cand_alloc(&c, n, mi->np);
	if (model_fit(&mi->a, &d, e) < 0)
		fed_errprefix(e, "%s", display_name(o->admit));
	else if (read_model(mi, c.x, u[0].chunk, e) < 0)
		fed_errprefix(e, "%s", display_name(mi->path));
	else {
		/* the losses are recorded: the same on any thread count */
		threads = nn_blas_threads(1);
		if (loss(&mi->a, c.x, &d, &ad->base, &ad->n, e) == 0 &&
		    cand_read(&c, u, n, mi, w, o, spool, e) == 0)
			rc = judge(ad, &c, u, mi, &d, o, e);
		nn_blas_threads(threads);
	}
	cand_free(&c);
	data_free(&d);
	return rc;
}
