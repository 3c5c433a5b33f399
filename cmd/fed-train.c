/*
 * fed-train: local training from a global model on one data bundle; the
 * output is an update bundle holding the weight delta (local minus
 * global), the parent's digest and every hyperparameter.  The training
 * itself is lib/train; this file reads options and bundles and writes
 * the result.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "bundle.h"
#include "data.h"
#include "dp.h"
#include "dpsgd.h"
#include "encode.h"
#include "gpt.h"
#include "ledger.h"
#include "moments.h"
#include "nn.h"
#include "out.h"
#include "train.h"
#include "weights.h"


/* --dp: DP-SGD, its accounting and the holder's ledger. */
struct privacy {
	int on;
	double noise, epsilon, delta, budget;   /* 0: not given */
	const char *ledger;
	struct dpsgd_opts sgd;
	double q, eps, rdp[DP_NORDERS];         /* this run's */
	int64_t steps;
	struct ledger l;
};

struct opts {
	const char *model, *data, *out, *name;
	const char *residual;                   /* topk error feedback */
	const char *optstate;                   /* gpt: Adam's moments */
	int moments;                            /* gpt: shared moments */
	int encoded;
	struct enc enc;
	int verbose;
	int lr_given, opt_given, clip_given;
	struct train_opts t;
	struct privacy dp;
};

struct progress {
	struct timespec start, last;
	int64_t batch;
};

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-train -m model -d data [-e epochs | --steps n] "
	    "[-b batch] [-l lr]\n"
	    "                 [--optimizer sgd|adam|adamw] [--momentum m] "
	    "[--weight-decay wd]\n"
	    "                 [--schedule constant|cosine|linear] [--prox mu] "
	    "[-s seed]\n"
	    "                 [--warmup n] [--clip norm] [--eps e] [--name name]\n"
	    "                 [-v] [-o out]\n"
	    "                 [--dp [--noise sigma | --epsilon eps] "
	    "[--delta delta]\n"
	    "                       [--ledger file [--budget eps]]]\n"
	    "                 [--encode fp16|bf16|int8|topk:F "
	    "[--stochastic-rounding] [--residual file]]\n"
	    "                 [--opt-state file | --moments] [--v-batch n] "
	    "[--slices k]\n", f);
	exit(status);
}

static double
since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static void
show_progress(void *ctx, int64_t step, int64_t total, double loss)
{
	struct progress *p = ctx;
	struct timespec now;
	double el;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (step < total && since(&p->last, &now) < 0.5)
		return;
	p->last = now;
	el = since(&p->start, &now);
	fprintf(stderr, "\rfed-train: step %lld/%lld  loss %.4f  %.0f samples/s ",
	    (long long)step, (long long)total, loss,
	    el > 0 ? (double)step * (double)p->batch / el : 0.0);
	if (step == total)
		fputc('\n', stderr);
}

/* -v: what the run did and how fast, for operators and benchmarks. */
static void
summary(const struct progress *p, const struct train_stats *st)
{
	struct timespec now;
	const char *core = openblas_get_corename();
	double el;

	clock_gettime(CLOCK_MONOTONIC, &now);
	el = since(&p->start, &now);
	fprintf(stderr, "fed-train: %lld steps, %lld samples in %.3f s, "
	    "%.0f samples/s, loss %.4f -> %.4f, blas %s %d threads\n",
	    (long long)st->steps, (long long)st->rows, el,
	    el > 0 ? (double)st->rows / el : 0.0, st->loss_start,
	    st->loss_end, core ? core : "?", openblas_get_num_threads());
}

/* A file that cannot be opened is a system failure (2), not a verdict. */
static void
readable(const char *path)
{
	if (strcmp(path, "-") != 0 && access(path, R_OK) < 0)
		err(2, "%s", path);
}

/* The model's weights; with ms, its shared moments too (zero at step 0
 * when it has none). */
static float *
load_model(const char *path, struct arch *a, char *digest, int64_t *round,
    struct train_state *ms)
{
	struct bundle b;
	fed_err e;
	float *w;

	readable(path);
	if ((w = weights_read(path, "model", &b, a, &e)) == NULL)
		errx(1, "%s: %s", display_name(path), e.msg);
	*round = manifest_int(b.manifest, "round");
	if (*round < 0)
		errx(1, "%s: model lacks a round", display_name(path));
	if (ms != NULL) {
		if (a->kind != ARCH_GPT)
			errx(2, "--moments is for gpt models");
		if (moments_load(&b, a, &ms->m, &ms->v, &ms->t, &e) < 0)
			errx(1, "%s: %s", display_name(path), e.msg);
		if (ms->m == NULL) {
			ms->m = xcalloc(arch_nparams(a), sizeof(float));
			ms->v = xcalloc(arch_nparams(a), sizeof(float));
		}
	}
	memcpy(digest, b.digest, DIGEST_LEN + 1);
	bundle_free(&b);
	return w;
}

static json_t *
train_json(const struct train_opts *t, int gpt)
{
	json_t *j = json_object();

	json_object_set_new(j, "optimizer",
	    json_string(train_optimizer_name(t->opt)));
	json_object_set_new(j, "lr", json_real(t->lr));
	json_object_set_new(j, "schedule",
	    json_string(train_schedule_name(t->schedule)));
	json_object_set_new(j, "batch", json_integer(t->batch));
	json_object_set_new(j, "epochs", t->steps > 0 ? json_null() :
	    json_integer(t->epochs));
	json_object_set_new(j, "max_steps", t->steps > 0 ?
	    json_integer(t->steps) : json_null());
	if (t->opt == OPT_SGD)
		json_object_set_new(j, "momentum", json_real(t->momentum));
	else {
		json_object_set_new(j, "beta1", json_real(t->beta1));
		json_object_set_new(j, "beta2", json_real(t->beta2));
		json_object_set_new(j, "eps", json_real(t->eps));
	}
	json_object_set_new(j, "weight_decay", json_real(t->weight_decay));
	json_object_set_new(j, "prox", json_real(t->prox));
	json_object_set_new(j, "seed", json_integer((json_int_t)t->seed));
	json_object_set_new(j, "shuffle", json_string("xoshiro256**"));
	if (gpt) {
		json_object_set_new(j, "warmup", json_integer(t->warmup));
		json_object_set_new(j, "clip", json_real(t->clip));
		json_object_set_new(j, "v_batch", t->vbatch > 0 ?
		    json_integer(t->vbatch) : json_null());
		json_object_set_new(j, "slices", json_integer(t->slices > 1 ?
		    t->slices : 1));
		json_object_set_new(j, "windows", json_string("uniform random "
		    "starts, context + 1 bytes"));
	}
	return j;
}

static json_t *
privacy_json(const struct privacy *p)
{
	json_t *j = json_object(), *l = json_null();

	json_object_set_new(j, "mechanism", json_string("dp-sgd, poisson "
	    "sampling, gaussian"));
	json_object_set_new(j, "unit", json_string("example"));
	json_object_set_new(j, "clip", json_real(p->sgd.clip));
	json_object_set_new(j, "noise_multiplier", json_real(p->sgd.sigma));
	json_object_set_new(j, "sample_rate", json_real(p->q));
	json_object_set_new(j, "steps", json_integer(p->steps));
	json_object_set_new(j, "delta", json_real(p->delta));
	json_object_set_new(j, "epsilon", json_real(p->eps));
	json_object_set_new(j, "accountant",
	    json_string(dp_accountant_name(DP_CONV_BALLE)));
	if (p->ledger != NULL)
		l = json_pack("{s:I,s:f,s:f,s:s}", "entries",
		    (json_int_t)p->l.entries, "spent", p->l.spent, "budget",
		    p->l.budget, "head", p->l.head);
	json_object_set_new(j, "ledger", l);
	return j;
}

static json_t *
update_manifest(const struct opts *o, const struct arch *a,
    const char *parent, int64_t round, const struct dataset *d,
    const struct train_stats *st)
{
	char arch[ARCH_STRLEN];
	json_t *m = manifest_new("update", "fed-train");

	arch_format(a, arch, sizeof(arch));
	json_object_set_new(m, "arch", json_string(arch));
	json_object_set_new(m, "parent", json_string(parent));
	json_object_set_new(m, "round", json_integer(round));
	json_object_set_new(m, "samples", json_integer(d->n));
	json_object_set_new(m, "steps", json_integer(st->steps));
	json_object_set_new(m, "contributor", o->name ? json_string(o->name) :
	    json_null());
	json_object_set_new(m, "train", train_json(&o->t,
	    a->kind == ARCH_GPT));
	if (o->dp.on) {
		/* losses over private rows, unnoised: not released under DP */
		json_object_set_new(m, "stats", json_pack("{s:n,s:n}",
		    "loss_start", "loss_end"));
		json_object_set_new(m, "privacy", privacy_json(&o->dp));
	} else
		json_object_set_new(m, "stats", json_pack("{s:f,s:f}",
		    "loss_start", st->loss_start, "loss_end", st->loss_end));
	if (o->moments)
		json_object_set_new(m, "moments",
		    moments_json(o->t.state->t));
	return m;
}

/* The holder's top-k residual: zeros when the file does not exist yet. */
static float *
residual_load(const char *path, const struct arch *a)
{
	uint64_t np = arch_nparams(a);
	float *r = xcalloc(np ? np : 1, sizeof(*r));
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_file st;
	uint8_t *buf;
	size_t len;
	fed_err e;
	int i, n;

	if (access(path, F_OK) < 0)
		return r;
	if ((buf = read_file(path, 8 + ST_MAXHEADER + np * 4, &len,
	    &e)) == NULL)
		errx(2, "%s", e.msg);
	if (st_parse(buf, len, &st, &e) < 0 || weights_check(a, &st, &e) < 0)
		errx(1, "%s: not a residual of this model: %s", path, e.msg);
	n = arch_tensors(a, t);
	for (i = 0; i < n; i++)
		memcpy(r + t[i].offset, st_find(&st, t[i].name)->data,
		    t[i].count * sizeof(float));
	st_file_free(&st);
	free(buf);
	return r;
}

static void
residual_save(const char *path, const struct arch *a, const float *r)
{
	struct out out;
	uint8_t *st;
	size_t len;
	fed_err e;

	if ((st = weights_encode(a, r, &len, &e)) == NULL ||
	    out_open(&out, path, &e) < 0)
		errx(2, "%s", e.msg);
	if (out_write_all(out.fd, st, len, &e) < 0 || out_commit(&out, &e) < 0) {
		out_abort(&out);
		errx(2, "%s", e.msg);
	}
	free(st);
}

/*
 * --opt-state: the holder's AdamW moments between rounds, a safetensors
 * file of "arch" (U8, the canonical architecture string), "step" (I64,
 * Adam's step count), "exp_avg" and "exp_avg_sq" (F32, one per
 * parameter).  A file that does not exist yet, or one of another
 * architecture, starts from zero moments.
 */
static void
optstate_load(const char *path, const struct arch *a, struct train_state *s,
    int verbose)
{
	uint64_t np = arch_nparams(a);
	const struct st_tensor *ta, *tt, *tm, *tv;
	char as[256];
	struct st_file st;
	uint8_t *buf;
	size_t len;
	fed_err e;
	int64_t t;

	s->t = 0;
	s->m = xcalloc(np, sizeof(float));
	s->v = xcalloc(np, sizeof(float));
	if (access(path, F_OK) < 0)
		return;
	if ((buf = read_file(path, 8 + ST_MAXHEADER + 2 * np * 4 + 4096, &len,
	    &e)) == NULL)
		errx(2, "%s", e.msg);
	if (st_parse(buf, len, &st, &e) < 0)
		errx(1, "%s: not an optimizer state: %s", path, e.msg);
	arch_format(a, as, sizeof(as));
	ta = st_find(&st, "arch");
	tt = st_find(&st, "step");
	tm = st_find(&st, "exp_avg");
	tv = st_find(&st, "exp_avg_sq");
	if (ta == NULL || tt == NULL || tm == NULL || tv == NULL ||
	    ta->dtype != ST_U8 || tt->dtype != ST_I64 || st_elements(tt) != 1 ||
	    tm->dtype != ST_F32 || tv->dtype != ST_F32)
		errx(1, "%s: not an optimizer state", path);
	memcpy(&t, tt->data, sizeof(t));
	if (t < 0)
		errx(1, "%s: not an optimizer state: negative step", path);
	if (st_elements(ta) != strlen(as) || memcmp(ta->data, as,
	    strlen(as)) != 0 || st_elements(tm) != np ||
	    st_elements(tv) != np) {
		if (verbose)
			warnx("%s: optimizer state of another architecture, "
			    "starting afresh", path);
	} else {
		s->t = t;
		memcpy(s->m, tm->data, np * sizeof(float));
		memcpy(s->v, tv->data, np * sizeof(float));
	}
	st_file_free(&st);
	free(buf);
}

static void
optstate_save(const char *path, const struct arch *a,
    const struct train_state *s)
{
	uint64_t np = arch_nparams(a);
	char as[256];
	struct st_spec sp[4];
	struct out out;
	uint8_t *st;
	size_t len;
	fed_err e;

	arch_format(a, as, sizeof(as));
	memset(sp, 0, sizeof(sp));
	sp[0] = (struct st_spec){ "arch", ST_U8, 1, { (int64_t)strlen(as) },
	    as };
	sp[1] = (struct st_spec){ "step", ST_I64, 1, { 1 }, &s->t };
	sp[2] = (struct st_spec){ "exp_avg", ST_F32, 1, { (int64_t)np },
	    s->m };
	sp[3] = (struct st_spec){ "exp_avg_sq", ST_F32, 1, { (int64_t)np },
	    s->v };
	if ((st = st_write(sp, 4, &len, &e)) == NULL ||
	    out_open(&out, path, &e) < 0)
		errx(2, "%s", e.msg);
	if (out_write_all(out.fd, st, len, &e) < 0 || out_commit(&out, &e) < 0) {
		out_abort(&out);
		errx(2, "%s", e.msg);
	}
	free(st);
}

/* tensors.safetensors, encoded as asked; the residual is updated in r. */
static uint8_t *
encode_delta(struct opts *o, json_t *m, const struct arch *a,
    const float *delta, float *r, size_t *len)
{
	uint8_t *st;
	fed_err e;

	if (!o->encoded)
		st = weights_encode(a, delta, len, &e);
	else {
		if (o->enc.scheme == ENC_TOPK)
			o->enc.k = encode_topk_count(o->enc.fraction,
			    arch_nparams(a));
		o->enc.feedback = r != NULL;
		st = encode_encode(a, &o->enc, delta, r, o->t.seed, len, &e);
		json_object_set_new(m, "encoding", encode_json(&o->enc));
	}
	if (st == NULL)
		errx(1, "%s", e.msg);
	return st;
}

/* --moments: the member of m and the spread max(v - m^2, 0). */
static uint8_t *
encode_moments(const struct arch *a, const struct train_state *s,
    size_t *len)
{
	uint64_t i, np = arch_nparams(a);
	float *w = xmalloc(np * sizeof(float));
	uint8_t *st;
	fed_err e;

	for (i = 0; i < np; i++) {
		w[i] = moments_spread(s->m[i], s->v[i]);
		if (!isfinite(s->m[i]) || !isfinite(w[i]))
			errx(1, "training diverged (moments not finite); try "
			    "a lower learning rate");
	}
	if ((st = moments_encode(a, s->m, w, MOMENTS_UPDATE, len, &e)) == NULL)
		errx(1, "%s", e.msg);
	free(w);
	return st;
}

static void
write_update(struct opts *o, json_t *m, const struct arch *a,
    const float *delta)
{
	struct bundle_payload pl[2] = {
		{ WEIGHTS_MEMBER, NULL, -1, 0, NULL },
		{ MOMENTS_MEMBER, NULL, -1, 0, NULL },
	};
	struct out out;
	size_t len;
	uint8_t *st;
	float *r = o->residual ? residual_load(o->residual, a) : NULL;
	fed_err e;

	st = encode_delta(o, m, a, delta, r, &len);
	pl[0].data = st;
	pl[0].size = len;
	if (o->moments) {
		pl[1].data = encode_moments(a, o->t.state, &len);
		pl[1].size = len;
	}
	if (out_open(&out, o->out, &e) < 0)
		errx(2, "%s", e.msg);
	if (bundle_write(out.fd, m, pl, o->moments ? 2 : 1, NULL, &e) < 0 ||
	    out_commit(&out, &e) < 0) {
		out_abort(&out);
		errx(2, "%s", e.msg);
	}
	free(st);
	free((void *)pl[1].data);
	if (r != NULL)
		residual_save(o->residual, a, r);
	free(r);
}

/* gpt models: AdamW at 1e-3 with clipping at 1 unless told otherwise. */
static void
gpt_defaults(struct opts *o, const struct arch *a)
{
	if (a->kind != ARCH_GPT) {
		if (o->t.warmup > 0 || (o->clip_given && !o->dp.on))
			errx(2, "--warmup and --clip are for gpt models");
		if (o->optstate != NULL)
			errx(2, "--opt-state is for gpt models");
		if (o->t.vbatch > 0)
			errx(2, "--v-batch is for gpt models");
		if (o->t.slices > 0)
			errx(2, "--slices is for gpt models");
		return;
	}
	if (!o->opt_given)
		o->t.opt = OPT_ADAMW;
	if (!o->lr_given)
		o->t.lr = 1e-3;
	if (!o->clip_given)
		o->t.clip = 1.0;
}

/* delta when none is given: 1e-5, or 1/n^1.1 when that is smaller */
static double
default_delta(int64_t n)
{
	double d = pow((double)n, -1.1);

	return d < 1e-5 ? d : 1e-5;
}

/* Before training: sigma, epsilon, and the ledger's consent. */
static void
dp_prepare(struct opts *o, const struct arch *a, const struct dataset *d)
{
	struct privacy *p = &o->dp;
	const char *lp = p->ledger;
	fed_err e;

	if (a->kind != ARCH_SOFTMAX && a->kind != ARCH_MLP)
		errx(1, "%s: --dp is for softmax and mlp models",
		    display_name(o->model));
	p->sgd.clip = o->clip_given ? o->t.clip : 1.0;
	o->t.clip = 0;
	p->q = dpsgd_rate(o->t.batch, d->n);
	p->steps = train_total_steps(&o->t, d->n);
	if (lp != NULL) {
		if (ledger_open(&p->l, lp, p->budget, p->delta > 0 ? p->delta :
		    access(lp, F_OK) < 0 ? default_delta(d->n) : 0, &e) < 0)
			errx(1, "%s: %s", lp, e.msg);
		p->delta = p->l.delta;
	} else if (p->delta == 0)
		p->delta = default_delta(d->n);
	if (p->epsilon > 0) {
		p->noise = dp_sigma_for_epsilon(p->epsilon, p->delta, p->q,
		    p->steps, DP_CONV_BALLE);
		if (p->noise < 0)
			errx(1, "--epsilon %g: out of reach in %lld steps at "
			    "sample rate %g", p->epsilon, (long long)p->steps,
			    p->q);
	}
	p->sgd.sigma = p->noise;
	dp_rdp_add(p->rdp, dp_orders(), DP_NORDERS, p->q, p->noise, p->steps);
	p->eps = dp_epsilon(dp_orders(), p->rdp, DP_NORDERS, p->delta,
	    DP_CONV_BALLE, NULL);
	if (!isfinite(p->eps))
		errx(1, "--noise %g: too little noise, epsilon is unbounded",
		    p->noise);
	if (lp != NULL) {
		double after;

		if (ledger_check(&p->l, p->rdp, &after, &e) < 0)
			errx(1, "%s: %s", lp, e.msg);
	}
	o->t.dp = &p->sgd;
}

/* After training, before the update leaves: the spend is written down. */
static void
dp_record(struct opts *o, const char *parent, int64_t round)
{
	struct privacy *p = &o->dp;
	fed_err e;

	if (p->ledger != NULL && ledger_record(&p->l, parent, round,
	    "dp-sgd, poisson sampling, gaussian", p->eps, p->rdp, &e) < 0)
		errx(2, "%s: %s", p->ledger, e.msg);
	if (o->verbose)
		fprintf(stderr, "fed-train: dp-sgd q %.6g sigma %.6g clip %g, "
		    "%lld steps: epsilon %.4f at delta %g", p->q, p->noise,
		    p->sgd.clip, (long long)p->steps, p->eps, p->delta);
	if (o->verbose && p->ledger != NULL)
		fprintf(stderr, "; ledger %.4f of %g spent", p->l.spent,
		    p->l.budget);
	if (o->verbose)
		fputc('\n', stderr);
}

static int
train(struct opts *o)
{
	char parent[DIGEST_LEN + 1];
	struct train_stats st;
	struct train_state ts;
	struct progress pr;
	struct dataset d;
	struct arch a;
	float *global, *local;
	int64_t round;
	uint64_t i, np;
	fed_err e;
	json_t *m;

	global = load_model(o->model, &a, parent, &round,
	    o->moments ? &ts : NULL);
	if (o->moments)
		o->t.state = &ts;
	gpt_defaults(o, &a);
	readable(o->data);
	if (data_load(o->data, &d, &e) < 0)
		errx(1, "%s: %s", display_name(o->data), e.msg);
	if ((a.kind == ARCH_GPT || d.text ? gpt_check_fit(&a, &d, &e) :
	    train_check_fit(&a, &d, &e)) < 0)
		errx(1, "%s: %s", display_name(o->data), e.msg);
	if (o->dp.on)
		dp_prepare(o, &a, &d);
	np = arch_nparams(&a);
	local = xmalloc(np * sizeof(float));
	memset(&pr, 0, sizeof(pr));
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	pr.batch = o->t.batch < d.n ? o->t.batch : d.n;
	if (a.kind == ARCH_GPT) {
		pr.batch = (int64_t)o->t.batch * (d.n - 1 < a.dims[2] ?
		    d.n - 1 : a.dims[2]);
		if (o->optstate != NULL) {
			optstate_load(o->optstate, &a, &ts, o->verbose);
			o->t.state = &ts;
		}
		if (gpt_train_run(&a, global, local, &d, &o->t, isatty(2) ?
		    show_progress : NULL, &pr, &st, &e) < 0) {
			free(global);
			free(local);
			data_free(&d);
			errx(1, "%s: %s", display_name(o->data), e.msg);
		}
	} else if (train_run(&a, global, local, &d, &o->t, isatty(2) ?
	    show_progress : NULL, &pr, &st, &e) < 0)
		errx(2, "%s", e.msg);
	if (o->verbose)
		summary(&pr, &st);
	for (i = 0; i < np; i++) {
		local[i] -= global[i];
		if (!isfinite(local[i]))
			errx(1, "%s: training diverged (weights not finite); "
			    "try a lower learning rate", display_name(o->data));
	}
	free(global);
	if (o->dp.on)
		dp_record(o, parent, round);
	m = update_manifest(o, &a, parent, round, &d, &st);
	data_free(&d);
	write_update(o, m, &a, local);
	if (o->t.state != NULL) {
		if (o->optstate != NULL)
			optstate_save(o->optstate, &a, &ts);
		free(ts.m);
		free(ts.v);
	}
	if (o->dp.on)
		ledger_close(&o->dp.l);
	json_decref(m);
	free(local);
	return 0;
}

static double
num(const char *opt, const char *s, double min, double max)
{
	double v;

	if (parse_double(s, min, max, &v) < 0)
		errx(2, "%s %s: not a number in %g..%g", opt, s, min, max);
	return v;
}

static int64_t
count(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, min, max, &v) < 0)
		errx(2, "%s %s: not an integer in %llu..%llu", opt, s,
		    (unsigned long long)min, (unsigned long long)max);
	return (int64_t)v;
}

enum { O_STEPS = 256, O_OPT, O_MOM, O_WD, O_PROX, O_NAME, O_SCHED,
    O_WARMUP, O_CLIP, O_DP, O_NOISE, O_EPSILON, O_DELTA, O_LEDGER,
    O_BUDGET, O_ENCODE, O_STOCH, O_RESIDUAL, O_EPS, O_OPTSTATE, O_VBATCH,
    O_MOMENTS, O_SLICES };

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "data", required_argument, NULL, 'd' },
	{ "epochs", required_argument, NULL, 'e' },
	{ "steps", required_argument, NULL, O_STEPS },
	{ "batch", required_argument, NULL, 'b' },
	{ "lr", required_argument, NULL, 'l' },
	{ "optimizer", required_argument, NULL, O_OPT },
	{ "momentum", required_argument, NULL, O_MOM },
	{ "weight-decay", required_argument, NULL, O_WD },
	{ "schedule", required_argument, NULL, O_SCHED },
	{ "prox", required_argument, NULL, O_PROX },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "clip", required_argument, NULL, O_CLIP },
	{ "eps", required_argument, NULL, O_EPS },
	{ "dp", no_argument, NULL, O_DP },
	{ "noise", required_argument, NULL, O_NOISE },
	{ "epsilon", required_argument, NULL, O_EPSILON },
	{ "delta", required_argument, NULL, O_DELTA },
	{ "ledger", required_argument, NULL, O_LEDGER },
	{ "budget", required_argument, NULL, O_BUDGET },
	{ "encode", required_argument, NULL, O_ENCODE },
	{ "stochastic-rounding", no_argument, NULL, O_STOCH },
	{ "residual", required_argument, NULL, O_RESIDUAL },
	{ "opt-state", required_argument, NULL, O_OPTSTATE },
	{ "v-batch", required_argument, NULL, O_VBATCH },
	{ "moments", no_argument, NULL, O_MOMENTS },
	{ "slices", required_argument, NULL, O_SLICES },
	{ "seed", required_argument, NULL, 's' },
	{ "name", required_argument, NULL, O_NAME },
	{ "output", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
check_dp(const struct opts *o)
{
	const struct privacy *p = &o->dp;

	if (!p->on) {
		if (p->noise > 0 || p->epsilon > 0 || p->delta > 0 ||
		    p->ledger != NULL || p->budget > 0)
			errx(2, "--noise, --epsilon, --delta, --ledger and "
			    "--budget need --dp");
		return;
	}
	if ((p->noise > 0) == (p->epsilon > 0))
		errx(2, "--dp needs one of --noise and --epsilon");
	if (p->budget > 0 && p->ledger == NULL)
		errx(2, "--budget needs --ledger");
	if (o->clip_given && !(o->t.clip > 0))
		errx(2, "--clip: the per-example norm must be positive");
}

static void
parse(int argc, char *argv[], struct opts *o)
{
	struct train_opts *t = &o->t;
	int c, epochs = 0, stoch = 0;
	fed_err e;

	while ((c = getopt_long(argc, argv, "m:d:e:b:l:s:o:vh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'd': o->data = optarg; break;
		case 'o': o->out = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'e':
			t->epochs = count("-e", optarg, 1, TRAIN_MAXEPOCHS);
			epochs = 1;
			break;
		case O_STEPS:
			t->steps = count("--steps", optarg, 1, TRAIN_MAXSTEPS);
			break;
		case 'b':
			t->batch = (int)count("-b", optarg, 1, TRAIN_MAXBATCH);
			break;
		case 'l':
			t->lr = num("-l", optarg, 0, 1e6);
			o->lr_given = 1;
			break;
		case O_WARMUP:
			t->warmup = count("--warmup", optarg, 0, TRAIN_MAXSTEPS);
			break;
		case O_EPS:
			t->eps = num("--eps", optarg, 1e-12, 1);
			break;
		case O_CLIP:
			t->clip = num("--clip", optarg, 0, 1e6);
			o->clip_given = 1;
			break;
		case O_MOM: t->momentum = num("--momentum", optarg, 0, 1); break;
		case O_WD: t->weight_decay = num("--weight-decay", optarg, 0,
		    1e6); break;
		case O_PROX: t->prox = num("--prox", optarg, 0, 1e6); break;
		case 's':
			t->seed = (uint64_t)count("-s", optarg, 0, INT64_MAX);
			break;
		case O_OPT:
			if (train_optimizer_parse(optarg, &t->opt) < 0)
				errx(2, "--optimizer %s: want sgd, adam or "
				    "adamw", optarg);
			o->opt_given = 1;
			break;
		case O_SCHED:
			if (train_schedule_parse(optarg, &t->schedule) < 0)
				errx(2, "--schedule %s: want constant, cosine "
				    "or linear", optarg);
			break;
		case O_NAME:
			if (strlen(optarg) == 0 || strlen(optarg) > 256)
				errx(2, "--name: want 1 to 256 characters");
			o->name = optarg;
			break;
		case O_DP: o->dp.on = 1; break;
		case O_NOISE:
			o->dp.noise = num("--noise", optarg, 0.01, 1e4);
			break;
		case O_EPSILON:
			o->dp.epsilon = num("--epsilon", optarg, 1e-3, 1e3);
			break;
		case O_DELTA:
			o->dp.delta = num("--delta", optarg, 1e-30, 0.1);
			break;
		case O_LEDGER: o->dp.ledger = optarg; break;
		case O_BUDGET:
			o->dp.budget = num("--budget", optarg, 1e-3, 1e6);
			break;
		case O_ENCODE:
			if (encode_parse(optarg, &o->enc, &e) < 0)
				errx(2, "--encode %s", e.msg);
			o->encoded = 1;
			break;
		case O_STOCH: stoch = 1; break;
		case O_RESIDUAL: o->residual = optarg; break;
		case O_OPTSTATE: o->optstate = optarg; break;
		case O_VBATCH:
			t->vbatch = count("--v-batch", optarg, 2, INT32_MAX);
			break;
		case O_MOMENTS: o->moments = 1; break;
		case O_SLICES:
			t->slices = (int)count("--slices", optarg, 2,
			    TRAIN_MAXBATCH);
			break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-train " FED_VERSION); exit(0);
		default: usage(stderr, 2);
		}
	}
	if (o->model == NULL || o->data == NULL || optind != argc)
		usage(stderr, 2);
	if (epochs && t->steps > 0)
		errx(2, "-e and --steps exclude each other");
	if (strcmp(o->model, "-") == 0 && strcmp(o->data, "-") == 0)
		errx(2, "only one of -m and -d can be standard input");
	check_dp(o);
	if (stoch && (!o->encoded || o->enc.scheme != ENC_INT8))
		errx(2, "--stochastic-rounding needs --encode int8");
	o->enc.stochastic = stoch;
	if (o->residual && (!o->encoded || o->enc.scheme != ENC_TOPK))
		errx(2, "--residual needs --encode topk:F");
	/* both are read, then rewritten in place: a pipe cannot be */
	if (o->residual && strcmp(o->residual, "-") == 0)
		errx(2, "--residual needs a file, not standard input");
	if (o->optstate && strcmp(o->optstate, "-") == 0)
		errx(2, "--opt-state needs a file, not standard input");
	if (t->vbatch > 0 && (t->batch < 2 || t->vbatch <= t->batch))
		errx(2, "--v-batch %lld: want -b 2 or more, and more windows "
		    "than -b (%d)", (long long)t->vbatch, t->batch);
	if (o->residual && o->out && strcmp(o->residual, o->out) == 0)
		errx(2, "--residual and -o name the same file");
	if (o->optstate && o->moments)
		errx(2, "--opt-state and --moments exclude each other: the "
		    "moments come from the model");
	if (o->moments && o->dp.on)
		errx(2, "--moments and --dp exclude each other");
	if (t->slices > 0 && (t->batch % t->slices != 0 || t->vbatch > 0))
		errx(2, "--slices %d: want a divisor of -b (%d), and no "
		    "--v-batch", t->slices, t->batch);
	if (o->optstate && o->out && strcmp(o->optstate, o->out) == 0)
		errx(2, "--opt-state and -o name the same file");
	if (o->optstate && o->residual &&
	    strcmp(o->optstate, o->residual) == 0)
		errx(2, "--opt-state and --residual name the same file");
}

int
main(int argc, char *argv[])
{
	struct opts o;

	memset(&o, 0, sizeof(o));
	train_defaults(&o.t);
	parse(argc, argv, &o);
	nn_blas_reexec(argv);
	return train(&o);
}
