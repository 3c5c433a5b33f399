/*
 * merge: the driver of fed-merge.  It decides which passes a rule needs
 * over which updates, and what a step of each pass does: thread 0 plans
 * the step (writes the chunk just finished, loads the model's next one),
 * every thread reads updates, every thread computes coordinates.  The
 * arithmetic is rule's, the reading upd's and mmodel's, the threads
 * pool's, the record mrec's.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <stdatomic.h>

#include "merge.h"
#include "dp.h"
#include "mmodel.h"
#include "mdown.h"
#include "mmom.h"
#include "moments.h"
#include "mrec.h"
#include "mout.h"
#include "mvote.h"
#include "out.h"
#include "pool.h"
#include "rng.h"
#include "rule.h"
#include "weights.h"

/* The passes: clipping norms; Krum's distances; the robust rules'
 * aggregate with the server step; the linear rules' sum into the
 * accumulator, then their server step over the model; or both at once,
 * a chunk at a time, when one window holds every update (PASS_ONE). */
enum pass { PASS_NORM, PASS_DIST, PASS_ROBUST, PASS_SUM, PASS_STEP,
	PASS_ONE };

struct job {
	const struct mopt *o;
	struct mmodel *mi;
	struct upd_want want;
	struct upd *u;
	int nu;                         /* all operands, sorted by digest */
	int *act, na;                   /* updates of this pass */
	const int *win;                 /* those read together now: */
	int w0, nw;                     /* act[w0 .. w0 + nw) */
	enum pass pass;
	int norms;                      /* accumulate sums of squares */
	double *coef;                   /* (na) weighted-sum coefficients */
	double *scale;                  /* (na) clipping scales */
	double *dist;                   /* (n * n) Krum */
	int trim, npairs;
	uint64_t at;                    /* coordinate of this chunk */
	size_t len, chunk;              /* its length; the most */
	int finish;
	double *D;                      /* (chunk) this chunk's aggregate */
	double *acc;                    /* (np) linear rules' sum, or NULL
	                                 * with one */
	int one;                        /* linear passes as PASS_ONE */
	float *x, *m, *v;               /* (chunk) this step's outputs */
	struct mout mo;                 /* the output, as it is made */
	atomic_int rnext, cnext;        /* the next task of a step's reading
	                                 * and of its arithmetic */
	int nthreads;
	const float **lp[MOPT_MAXTHREADS];
	double *tmp[MOPT_MAXTHREADS];
	pthread_mutex_t mu;
	rng_t dprng;                    /* DP: noise, drawn in plan() in
	                                 * coordinate order, by one thread */
	float *noise;                   /* (chunk) DP: this step's noise */
	double dpk;                     /* DP: updates merged, public */
	int moments;                    /* the updates share Adam's moments */
	int64_t mstep;
	uint8_t *mout;                  /* moments.safetensors, whole */
	size_t mlen;
	int spool;                      /* stdin's copy, or -1 */
	int failed;                     /* an update failed (marked) */
	int jfail;                      /* the model or a spool failed: err */
	int nonfinite;
	struct madmit ad;               /* --admit: the model's own loss */
	struct mdown dn;                /* --download */
	fed_err err;
};

static int
robust(enum mopt_rule r)
{
	return r == MOPT_MEDIAN || r == MOPT_TRIMMED;
}

/* Does the pass write the next model? */
static int
outputs(enum pass p)
{
	return p == PASS_ROBUST || p == PASS_STEP || p == PASS_ONE;
}

static void
fail_upd(struct job *j, struct upd *u, const fed_err *e)
{
	pthread_mutex_lock(&j->mu);
	upd_mark(u, e);
	j->failed = 1;
	pthread_mutex_unlock(&j->mu);
}

/* The finished chunk into the spools and the tensors' hash. */
static void
out_chunk(struct job *j)
{
	uint64_t np = j->mi->np, at = j->at;
	size_t n = j->len * 4;

	if (mmodel_put(j->mi, j->x, j->len, at, mout_weights, &j->mo) < 0 ||
	    (j->m && mout_state(&j->mo, j->m, n, at * 4) < 0) ||
	    (j->v && mout_state(&j->mo, j->v, n, (np + at) * 4) < 0)) {
		fed_syserrf(&j->err, "output: %s", strerror(errno));
		j->jfail = 1;
	}
}

/* The model's next chunk, its state and DP's noise: 0, or 1 to stop. */
static int
load_chunk(struct job *j)
{
	const struct mmodel *mi = j->mi;
	size_t k;

	if (mmodel_read(j->mi, j->x, j->len, &j->err) < 0) {
		fed_errprefix(&j->err, "%s", display_name(mi->path));
		j->jfail = 1;
		return 1;
	}
	if (j->m && mi->m)
		memcpy(j->m, mi->m + j->at * 4, j->len * 4);
	else if (j->m)
		memset(j->m, 0, j->len * 4);
	if (j->v && mi->v)
		memcpy(j->v, mi->v + j->at * 4, j->len * 4);
	else if (j->v)
		for (k = 0; k < j->len; k++)
			j->v[k] = rule_v0(j->o);
	if (j->noise != NULL) {
		memset(j->noise, 0, j->len * sizeof(*j->noise));
		dp_gaussian_noise(j->noise, j->len, j->o->dp_noise *
		    j->o->clip, &j->dprng);
	}
	return 0;
}

/* Thread 0, between steps: finish the last chunk, set up the next. */
static int
plan(void *arg)
{
	struct job *j = arg;
	int out = outputs(j->pass);

	atomic_store(&j->rnext, 0);
	atomic_store(&j->cnext, 0);
	if (out && j->len > 0 && !j->failed && !j->nonfinite && !j->jfail)
		out_chunk(j);
	if (j->failed || j->jfail || j->nonfinite || j->finish)
		return 1;
	j->at += j->len;
	if (j->at >= j->mi->np) {
		j->finish = 1;
		j->len = 0;
		if (out && mmodel_end(j->mi, &j->err) < 0) {
			fed_errprefix(&j->err, "%s", display_name(j->mi->path));
			j->jfail = 1;
			return 1;
		}
		return 0;
	}
	j->len = j->mi->np - j->at < j->chunk ? (size_t)(j->mi->np - j->at) :
	    j->chunk;
	return out ? load_chunk(j) : 0;
}

/*
 * The threads take the tasks of a step as they come free, rather than a
 * fixed share each, so that a thread the machine is slow to schedule
 * holds the others up by one task, not by half the step.  Who does a task
 * does not change its result: each update's reader and sum of squares,
 * each coordinate's sum, each pair's distance belong to one task.
 */
static void
read_tasks(void *arg, int t)
{
	struct job *j = arg;
	struct upd *u;
	fed_err e;
	int k, r;

	(void)t;
	while ((k = atomic_fetch_add(&j->rnext, 1)) < j->nw) {
		u = &j->u[j->win[k]];
		if (j->finish)
			r = upd_finish(u, &j->mi->a, &e);
		else if ((r = upd_chunk(u, j->at, j->len, &e)) == 0 &&
		    j->norms)
			rule_sumsq_blocks(&u->sumsq, u->cur, j->len);
		if (r < 0)
			fail_upd(j, u, &e);
	}
}

/* The server step over coordinates [a, b) of the chunk, D their
 * aggregate. */
static void
step_range(struct job *j, double *D, size_t a, size_t b)
{
	float *m = j->m ? j->m + a : NULL, *v = j->v ? j->v + a : NULL;

	if (j->noise != NULL)
		rule_dp_finish(D, j->noise + a, j->dpk, b - a);
	rule_step(j->o, j->x + a, D, m, v, b - a);
	if (!rule_finite(j->x + a, b - a) || !rule_finite(m, b - a) ||
	    !rule_finite(v, b - a)) {
		pthread_mutex_lock(&j->mu);
		j->nonfinite = 1;
		pthread_mutex_unlock(&j->mu);
	}
}

/* Coordinates [a, b) of the chunk through the pass's arithmetic. */
static void
compute_range(struct job *j, size_t a, size_t b, int t)
{
	const float **lp = j->lp[t];
	double *D;
	int k;

	for (k = 0; k < j->nw; k++)
		lp[k] = j->u[j->win[k]].cur + a;
	if (j->pass == PASS_SUM) {
		/* the first window's sums start from zero, set here by
		 * every thread as it goes rather than by one beforehand:
		 * the accumulator's first touch is most of its cost */
		(j->w0 == 0 ? rule_wsum : rule_wsum_add)(j->acc + j->at + a,
		    lp, j->coef + j->w0, j->nw, b - a);
		return;
	}
	if (j->pass == PASS_STEP)
		D = j->acc + j->at + a;
	else if (j->pass == PASS_ONE)   /* the same sums, a chunk's worth */
		rule_wsum(D = j->D + a, lp, j->coef, j->nw, b - a);
	else if (j->o->rule == MOPT_MEDIAN)
		rule_median(D = j->D + a, lp, j->scale, j->nw, b - a,
		    j->tmp[t]);
	else
		rule_trimmed(D = j->D + a, lp, j->scale, j->nw, j->trim,
		    b - a, j->tmp[t]);
	step_range(j, D, a, b);
}

/* The arithmetic of a step, as tasks: RULE_BLOCK coordinates each, or a
 * slice of Krum's pairs. */
static void
compute_tasks(void *arg, int t)
{
	struct job *j = arg;
	const float **lp = j->lp[t];
	int k, p, np;
	size_t a;

	if (j->failed || j->finish || j->pass == PASS_NORM)
		return;
	if (j->pass == PASS_DIST) {
		for (k = 0; k < j->nw; k++)
			lp[k] = j->u[j->win[k]].cur;
		np = j->npairs < 8 * j->nthreads ? j->npairs : 8 * j->nthreads;
		while ((p = atomic_fetch_add(&j->cnext, 1)) < np)
			rule_pairdist(j->dist, lp, j->scale, j->nw, j->len,
			    (int)((int64_t)j->npairs * p / np),
			    (int)((int64_t)j->npairs * (p + 1) / np));
		return;
	}
	while ((a = (size_t)atomic_fetch_add(&j->cnext, 1) * RULE_BLOCK) <
	    j->len)
		compute_range(j, a, j->len - a < RULE_BLOCK ? j->len :
		    a + RULE_BLOCK, t);
}

/* Open the window's updates that are not open yet: 0, or -1 when one
 * failed. */
static int
open_win(struct job *j)
{
	struct upd *u;
	fed_err e;
	int k;

	for (k = 0; k < j->nw; k++) {
		u = &j->u[j->win[k]];
		if (u->s.r == NULL && upd_open(u, &j->want, j->spool, &e) < 0) {
			upd_mark(u, &e);
			j->failed = 1;
		}
	}
	return j->failed ? -1 : 0;
}

static void
close_all(struct job *j)
{
	int i;

	for (i = 0; i < j->nu; i++)
		upd_close(&j->u[i], j->spool);
}

/* How many updates a pass reads at once: the linear passes a few, in
 * windows one after another, so that memory does not grow with their
 * number; the robust ones all.  A window of one would read and write
 * the whole float64 accumulator once per update, eight times the
 * update's own bytes: memory bandwidth, not arithmetic, would set the
 * pace, so a window holds at least MERGE_WINDOW updates, and more for
 * a large model, up to MERGE_MAXWINDOW. */
static int
window(const struct job *j, enum pass p)
{
	/* ~1 MiB of buffers an open update: at most half the model's size */
	uint64_t fit = j->mi->np * sizeof(float) / (2u << 20);
	int w = fit > MERGE_MAXWINDOW ? MERGE_MAXWINDOW : (int)fit;

	if (w < MERGE_WINDOW)
		w = MERGE_WINDOW;
	if (w < j->o->threads)
		w = j->o->threads;
	if (p == PASS_NORM || p == PASS_SUM)
		return w;
	return j->na > 0 ? j->na : 1;
}

/* Stream every update of j->act once, window by window. */
static int
run_pass(struct job *j)
{
	static const struct pool_ops ops = { plan, read_tasks, compute_tasks };
	int w = window(j, j->pass), nt;

	j->w0 = 0;
	do {
		j->win = j->act + j->w0;
		j->nw = j->na - j->w0 < w ? j->na - j->w0 : w;
		if (j->pass == PASS_STEP)       /* the model only */
			j->nw = 0;
		j->at = 0;
		j->len = 0;
		j->finish = 0;
		if (open_win(j) < 0)
			break;
		if (outputs(j->pass) && mmodel_rewind(j->mi, j->chunk, &j->err) < 0) {
			fed_errprefix(&j->err, "%s", display_name(j->mi->path));
			j->jfail = 1;
			break;
		}
		nt = j->o->threads;
		if (!outputs(j->pass) && nt > j->nw)
			nt = j->nw;
		pool_run(nt, &ops, j, &j->nthreads);
		close_all(j);
		j->w0 += j->nw;
	} while (!j->failed && !j->jfail && !j->nonfinite && j->nw > 0 &&
	    j->w0 < j->na);
	close_all(j);
	return j->failed || j->jfail || j->nonfinite ? -1 : 0;
}

static void set_norms(struct job *);
static json_t *record(const struct job *);

/* The next model is about to be made: straight into the output, its
 * record first, complete (set_norms gives what it will give after). */
static int
out_begin(struct job *j)
{
	json_t *man = NULL;
	int r;

	if (j->mo.direct) {
		set_norms(j);
		man = record(j);
	}
	if ((r = mout_begin(&j->mo, man, &j->err)) < 0)
		j->jfail = 1;
	json_decref(man);
	return r;
}

/* After a PASS_ONE that began the output with the norms unknown: does
 * the record with them take the tar blocks its placeholder took (else
 * the pass is run again, its record now complete)? */
static int
record_fits(struct job *j)
{
	json_t *man;
	int r;

	if (!j->mo.direct)
		return 1;
	set_norms(j);
	man = record(j);
	r = mout_fits(&j->mo, man);
	json_decref(man);
	return r;
}

/* One pass over j->act. */
static int
pass_do(struct job *j, enum pass p, int norms)
{
	j->pass = p;
	j->norms = norms;
	j->failed = 0;
	if (outputs(p)) {
		rng_seed(&j->dprng, j->o->dp_seed);
		if (out_begin(j) < 0)
			return -1;
	}
	return run_pass(j);
}

/* The error of a failed pass: a system failure first, else the first
 * bad update in merge order. */
static int
pass_error(struct job *j, fed_err *e)
{
	const struct upd *u;
	int i;

	if (j->jfail) {
		*e = j->err;
		return -1;
	}
	if (j->nonfinite)
		return fed_errf(e, "the merge gives non-finite weights; lower "
		    "the server learning rate or clip the updates");
	if ((u = upd_sys_bad(j->u, j->nu)) != NULL)
		return upd_error(u, e);
	for (i = 0; i < j->nu; i++)
		if (j->u[i].bad)
			return upd_error(&j->u[i], e);
	return fed_errf(e, "merge failed");
}

/* After a failed pass: 1 to start over without the bad update
 * (--skip-bad, when it was rejected), else the error. */
static int
pass_failed(struct job *j, fed_err *e)
{
	if (j->o->skip_bad && !j->jfail && !j->nonfinite && !upd_sys_bad(j->u, j->nu))
		return 1;
	return pass_error(j, e);
}

static void
set_act(struct job *j, int selected_only)
{
	int i;

	j->na = 0;
	for (i = 0; i < j->nu; i++)
		if (!j->u[i].bad && (!selected_only || j->u[i].selected))
			j->act[j->na++] = i;
}

static void
set_norms(struct job *j)
{
	struct upd *u;
	int k;

	for (k = 0; k < j->na; k++) {
		u = &j->u[j->act[k]];
		u->norm = sqrt(u->sumsq);
		u->scale = rule_clip_scale(u->norm, j->o->clip);
		j->scale[k] = u->scale;
	}
}

/* The aggregation weights of the current act, for the rule. */
static int
plan_weights(struct job *j, fed_err *e)
{
	const struct mopt *o = j->o;
	uint64_t *samples;
	double *w;
	int k, r;

	if (!mopt_weighted(o->rule)) {
		j->trim = rule_trim_count(o->beta, j->na);
		return 0;
	}
	samples = xcalloc((size_t)j->na, sizeof(*samples));
	w = xcalloc((size_t)j->na, sizeof(*w));
	for (k = 0; k < j->na; k++)
		samples[k] = j->u[j->act[k]].used;
	r = rule_weights(w, samples, j->na, o->uniform, o->max_samples);
	for (k = 0; r == 0 && k < j->na; k++) {
		j->u[j->act[k]].weight = w[k];
		/* DP: the sum of clipped updates; noise, then / k */
		j->coef[k] = o->dp_noise > 0 ? j->scale[k] :
		    w[k] * j->scale[k];
	}
	j->dpk = j->na;
	free(samples);
	free(w);
	return r < 0 ? fed_errf(e, "no samples to weight by") : 0;
}

static int
krum_select(struct job *j, fed_err *e)
{
	int m = j->o->rule == MOPT_KRUM ? 1 : j->o->m, k;

	if (upd_krum(j->u, j->act, j->na, j->dist, j->o, e) < 0)
		return -1;
	set_act(j, 1);
	for (k = 0; k < j->na; k++) {
		j->scale[k] = j->u[j->act[k]].scale;
		j->coef[k] = j->scale[k] / m;
	}
	return 0;
}

/* Reset the updates of a new attempt; -1 when there are too few. */
static int
passes_start(struct job *j, fed_err *e)
{
	const struct mopt *o = j->o;
	int krum = o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM, k;
	struct upd *u;

	set_act(j, 0);
	if (j->na == 0)
		return upd_none_left(j->u, j->nu, e);
	for (k = 0; k < j->na; k++) {
		u = &j->u[j->act[k]];
		u->sumsq = 0;
		u->scale = j->scale[k] = 1;
		u->selected = 1;
		u->weight = u->score = NAN;
	}
	if (krum && rule_krum_fits(j->na, o->f, o->m,
	    o->rule == MOPT_MULTIKRUM, e) < 0)
		return upd_left_out(j->u, j->nu, e);
	return 0;
}

/* Every pass over the updates not yet left out: 0 done, 1 to start over
 * without an update that failed (--skip-bad), or -1. */
static int
passes(struct job *j, fed_err *e)
{
	const struct mopt *o = j->o;
	int krum = o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM;
	int normed = o->clip > 0, r;

	if (passes_start(j, e) < 0)
		return -1;
	if (normed && pass_do(j, PASS_NORM, 1) < 0)
		return pass_failed(j, e);
	if (normed)
		set_norms(j);
	if (krum) {
		memset(j->dist, 0, (size_t)j->na * j->na * sizeof(*j->dist));
		j->npairs = j->na * (j->na - 1) / 2;
		if (pass_do(j, PASS_DIST, !normed) < 0)
			return pass_failed(j, e);
		if (!normed)
			set_norms(j);
		normed = 1;
		if (krum_select(j, e) < 0)
			return -1;
	} else if (plan_weights(j, e) < 0)
		return -1;
	if (robust(o->rule))
		r = pass_do(j, PASS_ROBUST, !normed);
	else if (!j->one) {
		if (pass_do(j, PASS_SUM, !normed) < 0)
			return pass_failed(j, e);
		/* --download: the aggregate quantized before the step */
		if (o->download &&
		    mdown_quantize(&j->dn, &j->mi->a, j->acc, e) < 0)
			return -1;
		r = pass_do(j, PASS_STEP, 0);
	} else if ((r = pass_do(j, PASS_ONE, !normed)) == 0 && !normed &&
	    !record_fits(j))
		r = pass_do(j, PASS_ONE, 0);
	if (r < 0)
		return pass_failed(j, e);
	if (!normed)
		set_norms(j);
	return 0;
}

/* The merged moments: 0, 1 to start over (--skip-bad), or -1. */
static int
moments_pass(struct job *j, fed_err *e)
{
	int r;

	set_act(j, 0);
	r = mmom_merge(j->u, j->act, j->na, j->mi, j->acc, j->chunk, j->spool,
	    &j->mout, &j->mlen, &j->mstep, e);
	return r == 1 ? pass_failed(j, e) : r;
}

/* Operands at a first look, payloads skipped where they can be (a pass
 * verifies them): sorted by digest, signed, bad ones marked. */
static int
first_open(struct job *j, fed_err *e)
{
	const struct upd *b;
	struct upd *u = j->u;
	int i, n = j->nu;
	fed_err ue;

	for (i = 0; i < n; i++)
		upd_first_look(&u[i], &j->want, j->spool);
	for (i = 0; i < n; i++)
		if (u[i].skimmed && !u[i].bad && mvote_shared(u, n, i))
			upd_first_whole(&u[i], &j->want, j->spool);
	qsort(u, (size_t)n, sizeof(*u), upd_cmp);
	for (i = 1; i < n; i++)
		if (!u[i].bad && strcmp(u[i].digest, u[i - 1].digest) == 0) {
			fed_errf(&ue, "the same update as %s",
			    display_name(u[i - 1].path));
			upd_mark(&u[i], &ue);
		}
	mvote_weigh(j->u, j->nu, j->o);
	if (mmom_plan(u, n, j->o, j->mi, &j->moments, e) < 0)
		return -1;
	if ((b = upd_sys_bad(j->u, j->nu)) != NULL ||
	    (!j->o->skip_bad && (b = upd_first_bad(j->u, j->nu)) != NULL))
		return upd_error(b, e);
	return mvote_check(j->u, j->nu, j->o, e);
}

/* Buffers for the steps; the output's members (mout). */
static int
job_outputs(struct job *j, int out, fed_err *e)
{
	int ns = mopt_has_m(j->o->rule) ? mopt_has_v(j->o->rule) ? 2 : 1 : 0;

	/* no accumulator when one window holds every update (a download
	 * quantizes the whole aggregate before the step) */
	j->one = !robust(j->o->rule) && !j->moments && !j->o->download &&
	    j->nu <= window(j, PASS_SUM);
	if (robust(j->o->rule) || j->one)
		j->D = xcalloc(j->chunk, sizeof(*j->D));
	else
		j->acc = xcalloc(j->mi->np ? j->mi->np : 1, sizeof(*j->acc));
	if (j->o->dp_noise > 0)
		j->noise = xcalloc(j->chunk, sizeof(*j->noise));
	j->x = xcalloc(j->chunk, sizeof(*j->x));
	if (ns > 0)
		j->m = xcalloc(j->chunk, sizeof(*j->m));
	if (ns > 1)
		j->v = xcalloc(j->chunk, sizeof(*j->v));
	if (j->o->download && mdown_open(&j->dn, &j->mi->a, j->o, e) < 0)
		return -1;
	return mout_open(&j->mo, out, !robust(j->o->rule) && !j->moments &&
	    !j->o->download, &j->mi->a, j->mi->nbytes, j->mi->np, ns, e);
}

static json_t *
record(const struct job *j)
{
	struct mrec rec = { j->o, j->mi, j->u, j->nu, j->trim, j->dpk,
	    j->mout != NULL, j->mstep, j->o->admit ? &j->ad : NULL };

	return mrec_manifest(&rec);
}

static int
write_out(struct job *j, char *digest, fed_err *e)
{
	json_t *man = record(j);
	const struct mmodel *mi = j->mi;
	int r = mout_finish(&j->mo, man, j->mout, j->mlen, digest, e);

	if (r < 0)
		e->kind = FED_ESYSTEM;
	else if (j->o->download)
		r = mdown_write(&j->dn, j->o, mi->arch, mi->digest, mi->round,
		    man, j->mout, j->mlen, e);
	json_decref(man);
	return r;
}

static size_t
chunk_for(int n)
{
	size_t c = ((size_t)1 << 22) / (size_t)n;

	c -= c % RULE_BLOCK;
	return c < RULE_BLOCK ? RULE_BLOCK : c > MERGE_CHUNK ?
	    MERGE_CHUNK : c;
}

static void
job_init(struct job *j, struct mmodel *mi, const struct mopt *o,
    const char *const *paths, int n)
{
	int i;

	j->o = o;
	j->mi = mi;
	j->want = (struct upd_want){ &mi->a, mi->arch, mi->digest, mi->round,
	    mi->np };
	j->nu = n;
	j->chunk = chunk_for(n);
	j->u = xcalloc((size_t)n, sizeof(*j->u));
	j->act = xcalloc((size_t)n, sizeof(*j->act));
	j->coef = xcalloc((size_t)n, sizeof(*j->coef));
	j->scale = xcalloc((size_t)n, sizeof(*j->scale));
	if (o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM)
		j->dist = xcalloc((size_t)n * n, sizeof(*j->dist));
	for (i = 0; i < o->threads && i < MOPT_MAXTHREADS; i++) {
		j->lp[i] = xcalloc((size_t)n, sizeof(*j->lp[i]));
		j->tmp[i] = xcalloc((size_t)n, sizeof(*j->tmp[i]));
	}
	for (i = 0; i < n; i++)
		upd_init(&j->u[i], paths[i], i, j->chunk, o);
	pthread_mutex_init(&j->mu, NULL);
}

static void
job_free(struct job *j)
{
	int i;

	for (i = 0; i < j->nu; i++)
		upd_free(&j->u[i]);
	for (i = 0; i < MOPT_MAXTHREADS; i++)
		free(j->lp[i]), free(j->tmp[i]);
	free(j->u), free(j->act), free(j->coef), free(j->scale), free(j->dist);
	free(j->D), free(j->acc), free(j->x), free(j->m), free(j->v);
	free(j->noise), free(j->mout);
	mout_free(&j->mo);
	mdown_free(&j->dn);
	pthread_mutex_destroy(&j->mu);
}

static int
job_merge(struct job *j, int out, char *digest, fed_err *e)
{
	int r;

	if (first_open(j, e) < 0 || (j->o->admit && madmit_run(&j->ad, j->u,
	    j->nu, j->mi, &j->want, j->o, j->spool, e) < 0) ||
	    job_outputs(j, out, e) < 0)
		return -1;
	do {
		while ((r = passes(j, e)) == 1)
			;
	} while (r == 0 && j->moments && (r = moments_pass(j, e)) == 1);
	if (r < 0 || write_out(j, digest, e) < 0)
		return -1;
	upd_each_skipped(j->u, j->nu, j->o->skipped);
	return 0;
}

int
merge_run(const char *model, const char *const *paths, int n,
    const struct mopt *o, int out, char *digest, fed_err *e)
{
	struct mmodel mi;
	struct job j;
	int i, r, std = strcmp(model, "-") == 0;

	memset(&j, 0, sizeof(j));
	j.mo.tfd = j.mo.sfd = j.spool = -1;
	for (i = 0; i < n; i++)
		std |= strcmp(paths[i], "-") == 0;
	if (std && (j.spool = out_spool_open(e)) < 0) {
		e->kind = FED_ESYSTEM;
		return -1;
	}
	if (mmodel_open(&mi, model, o, j.spool, e) < 0) {
		fed_errprefix(e, "%s", display_name(model));
		r = -1;
	} else {
		job_init(&j, &mi, o, paths, n);
		r = job_merge(&j, out, digest, e);
		job_free(&j);
	}
	mmodel_free(&mi);
	if (j.spool >= 0)
		close(j.spool);
	return r;
}
