/*
 * fed-train: local training from a global model on one data bundle; the
 * output is an update bundle holding the weight delta (local minus
 * global), the parent's digest and every hyperparameter.  The training
 * itself is lib/train; this file reads options and bundles and writes
 * the result.  Under mpirun every rank trains alike on its share of each
 * batch (dist.h) and only rank 0 writes.
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
#include "dist.h"
#include "encode.h"
#include "grad.h"
#include "moments.h"
#include "model.h"
#include "nn.h"
#include "optstate.h"
#include "privacy.h"
#include "residual.h"
#include "train.h"
#include "update.h"
#include "weights.h"

struct opts {
	const char *model, *data, *out, *name;
	const char *residual;                   /* int8, topk error feedback */
	const char *optstate;                   /* gpt: Adam's moments */
	int moments;                            /* gpt: shared moments */
	int gradient;                           /* gpt: upload a gradient */
	const char *expand;                     /* the upload to expand */
	int encoded;
	struct enc enc;
	int verbose;
	int lr_given, opt_given, clip_given;
	struct train_opts t;
	struct privacy dp;
};

struct progress {
	struct timespec start, last;
	struct timespec steps, end;     /* the first step's start, the last's end */
	int64_t batch;
	int tty;                        /* show it as it goes */
};

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -m, --model=MODEL         the model bundle to train from\n"
	"  -d, --data=DATA           the data bundle to train on\n"
	"  -e, --epochs=EPOCHS       passes over the data\n"
	"      --steps=N             optimizer steps, instead of -e\n"
	"  -b, --batch=BATCH         examples per step\n"
	"  -l, --lr=LR               learning rate\n"
	"      --optimizer=OPT       sgd, adam or adamw\n"
	"      --momentum=M          sgd momentum\n"
	"      --weight-decay=WD     weight decay\n"
	"      --schedule=S          learning rate schedule: constant, cosine or linear\n"
	"      --prox=MU             FedProx proximal term\n"
	"      --warmup=N            steps of linear learning rate warmup\n"
	"      --clip=NORM           clip the gradient to this L2 norm\n"
	"      --eps=E               adam epsilon\n"
	"  -s, --seed=SEED           seed of shuffling, dropout and noise\n"
	"      --name=NAME           contributor name recorded in the update\n"
	"  -v, --verbose             print a summary line at the end\n"
	"  -o, --output=OUT          write the update here, not to standard output\n"
	"      --dp                  train with DP-SGD\n"
	"      --noise=SIGMA         DP noise multiplier\n"
	"      --epsilon=EPS         DP target epsilon, instead of --noise\n"
	"      --delta=DELTA         DP delta\n"
	"      --ledger=FILE         privacy ledger spent across rounds\n"
	"      --budget=EPS          refuse to train past this epsilon in the ledger\n"
	"      --encode=ENC          compress the update: fp16, bf16, int8, topk:F or topk8:F\n"
	"      --stochastic-rounding round the encoding stochastically\n"
	"      --residual=FILE       keep the encoding error for the next round\n"
	"      --opt-state=FILE      keep AdamW state from round to round (gpt)\n"
	"      --moments             ship the optimizer moments in the update (gpt)\n"
	"      --v-batch=N           size Adam's second moment for batches of N (gpt)\n"
	"      --slices=K            split every batch into K slices (gpt)\n"
	"      --micro-batches=K     split each batch into K micro-batches\n"
	"      --gradient            upload one step's gradient, not the step (gpt)\n"
	"      --expand=UPLOAD       write the update a gradient upload gives from -m\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

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
	    "                 [--encode fp16|bf16|int8|topk:F|topk8:F "
	    "[--stochastic-rounding] [--residual file]]\n"
	    "                 [--opt-state file | --moments] [--v-batch n] "
	    "[--slices k]\n"
	    "                 [--micro-batches k] [--gradient]\n"
	    "       fed-train -m model --expand upload [-o out]\n", f);
	if (status == 0)
		fputs(help, f);
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
	if (step == 0)
		p->steps = now;
	if (step == total)
		p->end = now;
	if (!p->tty || step == 0 || (step < total &&
	    since(&p->last, &now) < 0.5))
		return;
	p->last = now;
	el = since(&p->steps, &now);
	fprintf(stderr, "\rfed-train: step %lld/%lld  loss %.4f  %.0f samples/s ",
	    (long long)step, (long long)total, loss,
	    el > 0 ? (double)step * (double)p->batch / el : 0.0);
	if (step == total)
		fputc('\n', stderr);
}

static void
progress_start(struct progress *p, int64_t batch, int tty)
{
	memset(p, 0, sizeof(*p));
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->steps = p->end = p->start;
	p->batch = batch;
	p->tty = tty;
}

/* -v: what the run did and how fast, for operators and benchmarks: the
 * rate of the steps (as a benchmark's peer times its steps), then the
 * whole run's time with its set-up and the loss before and after. */
static void
summary(const struct progress *p, const struct train_stats *st,
    const struct dist *d)
{
	struct timespec now;
	const char *core = openblas_get_corename();
	double el, all;

	clock_gettime(CLOCK_MONOTONIC, &now);
	all = since(&p->start, &now);
	el = since(&p->steps, &p->end);
	fprintf(stderr, "fed-train: %lld steps, %lld samples in %.3f s, "
	    "%.0f samples/s (%.3f s in all), loss %.4f -> %.4f, blas %s %d "
	    "threads, %d rank%s\n", (long long)st->steps,
	    (long long)st->rows, el, el > 0 ? (double)st->rows / el : 0.0,
	    all, st->loss_start, st->loss_end, core ? core : "?",
	    openblas_get_num_threads(), d->size, d->size > 1 ? "s" : "");
}

/* The model's round and, with ms, its shared moments (zero at step 0
 * when it has none). */
static int
model_extras(const struct bundle *b, struct update *u,
    struct optim_state *ms, fed_err *e)
{
	if ((u->round = manifest_int(b->manifest, "round")) < 0)
		return fed_errf(e, "model lacks a round");
	if (ms == NULL)
		return 0;
	if (u->a.kind != ARCH_GPT)
		return fed_usagef(e, "--moments is for gpt models");
	if (moments_load(b, &u->a, &ms->m, &ms->v, &ms->t, e) < 0)
		return -1;
	if (ms->m == NULL)
		optstate_zero(ms, &u->a);
	return 0;
}

/* The model's weights, round and moments (model_extras). */
static float *
load_model(const char *path, struct update *u, struct optim_state *ms)
{
	struct bundle b;
	fed_err e;
	float *w;

	if ((w = weights_read(path, "model", &b, &u->a, &e)) == NULL) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	if (model_extras(&b, u, ms, &e) < 0) {
		/* freed so that leak checkers stay quiet */
		free(w);
		bundle_free(&b);
		if (e.kind != FED_EUSAGE)
			fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	memcpy(u->parent, b.digest, DIGEST_LEN + 1);
	bundle_free(&b);
	return w;
}

/* gpt models: AdamW at 1e-3 with clipping at 1 unless told otherwise. */
static void
gpt_defaults(struct opts *o, const struct arch *a)
{
	if (a->kind != ARCH_GPT) {
		if (o->t.lr.warmup > 0 || (o->clip_given && !o->dp.on))
			errx(2, "--warmup and --clip are for gpt models");
		if (o->optstate != NULL)
			errx(2, "--opt-state is for gpt models");
		if (o->t.opt.vbatch > 0)
			errx(2, "--v-batch is for gpt models");
		if (o->t.opt.slices > 0)
			errx(2, "--slices is for gpt models");
		if (o->gradient)
			errx(2, "--gradient is for gpt models");
		return;
	}
	if (!o->opt_given)
		o->t.opt.kind = OPTIM_ADAMW;
	if (o->gradient && o->t.opt.kind == OPTIM_SGD)
		errx(2, "--gradient is for adam and adamw");
	if (!o->lr_given)
		o->t.lr.lr = 1e-3;
	if (!o->clip_given)
		o->t.opt.clip = 1.0;
}

/* -v: DP-SGD's spend. */
static void
dp_summary(const struct privacy *p)
{
	fprintf(stderr, "fed-train: dp-sgd q %.6g sigma %.6g clip %g, "
	    "%lld steps: epsilon %.4f at delta %g", p->q, p->noise,
	    p->sgd.clip, (long long)p->steps, p->eps, p->delta);
	if (p->ledger != NULL)
		fprintf(stderr, "; ledger %.4f of %g spent", p->l.spent,
		    p->l.budget);
	fputc('\n', stderr);
}

/* Options that depend on the model and the data: gpt defaults, the
 * optimizer state, DP's preparation. */
static void
prepare(struct opts *o, struct update *u, const struct dataset *d,
    struct optim_state *ts)
{
	int other;
	fed_err e;

	gpt_defaults(o, &u->a);
	if (model_fit(&u->a, d, &e) < 0)
		fed_exitf(1, "%s: %s", display_name(o->data), e.msg);
	if (o->dp.on) {
		o->dp.sgd.clip = o->clip_given ? o->t.opt.clip : 1.0;
		if (privacy_prepare(&o->dp, &o->t, &u->a, d, &e) < 0)
			fed_exit(&e);
		u->dp = &o->dp;
	}
	if (o->optstate != NULL) {
		if (optstate_load(o->optstate, &u->a, ts, &other, &e) < 0)
			fed_exit(&e);
		if (other && o->verbose)
			fed_warnf("%s: optimizer state of another "
			    "architecture, starting afresh", o->optstate);
		o->t.state = ts;
	}
}

/* After training: the spend recorded, the update and the files kept
 * between rounds written. */
static int
finish(struct opts *o, struct update *u, const float *delta, fed_err *e)
{
	float *r = NULL;
	json_t *m;
	int rc = -1;

	if (o->dp.on && privacy_record(&o->dp, u->parent, u->round, e) < 0)
		return -1;
	if (o->dp.on && o->verbose)
		dp_summary(&o->dp);
	if (o->residual != NULL &&
	    (r = residual_load(o->residual, &u->a, e)) == NULL)
		return -1;
	m = update_manifest(u);
	if (o->gradient)
		json_object_set_new(m, "gradient", json_true());
	if (update_write(u, m, delta, r, o->out, e) == 0 &&
	    (r == NULL || residual_save(o->residual, &u->a, r, e) == 0) &&
	    (o->optstate == NULL || optstate_save(o->optstate, &u->a,
	    o->t.state, e) == 0))
		rc = 0;
	json_decref(m);
	free(r);
	return rc;
}

static int
train(struct opts *o)
{
	struct update u = { .name = o->name, .t = &o->t,
	    .enc = o->encoded ? &o->enc : NULL };
	struct train_stats st;
	struct optim_state ts = { 0, NULL, NULL };
	struct progress pr;
	struct dataset d;
	float *global, *local = NULL;
	uint64_t i;
	fed_err e;
	int rc = -1;

	global = load_model(o->model, &u, o->moments ? &ts : NULL);
	if (o->moments) {
		o->t.state = &ts;
		u.moments = &ts;
	}
	if (data_load(o->data, &d, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(o->data));
		goto out;
	}
	prepare(o, &u, &d, &ts);
	local = xmalloc(arch_nparams(&u.a) * sizeof(float));
	if (o->gradient)
		o->t.grad = xcalloc(arch_nparams(&u.a), sizeof(float));
	progress_start(&pr, train_batch_units(&o->t, &u.a, &d), isatty(2) &&
	    o->t.dist->rank == 0);
	if (train_run(&u.a, global, local, &d, &o->t, show_progress, &pr, &st,
	    &e) < 0) {
		fed_errprefix(&e, "%s", display_name(o->data));
		goto out;
	}
	/* every rank done before rank 0 writes the one update */
	if (!dist_agree(o->t.dist, 1))
		dist_abort(o->t.dist, 2);
	if (o->t.dist->rank != 0) {
		rc = 0;
		goto out;
	}
	if (o->verbose)
		summary(&pr, &st, o->t.dist);
	for (i = 0; i < arch_nparams(&u.a); i++)
		local[i] = o->gradient ? o->t.grad[i] : local[i] - global[i];
	u.samples = d.n;
	u.st = &st;
	data_free(&d);
	rc = finish(o, &u, local, &e);
out:
	/* freed before exiting so that leak checkers stay quiet */
	data_free(&d);
	privacy_close(&o->dp);
	optstate_free(&ts);
	free(o->t.grad);
	free(global);
	free(local);
	if (rc < 0)
		fed_exit(&e);
	dist_finish(o->t.dist);
	return 0;
}

/* --expand: the update a gradient upload stands for. */
static int
expand(const struct opts *o)
{
	fed_err e;

	if (grad_expand(o->model, o->expand, o->out, &e) < 0)
		fed_exit(&e);
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
    O_MOMENTS, O_SLICES, O_MICRO, O_GRADIENT, O_EXPAND };

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
	{ "micro-batches", required_argument, NULL, O_MICRO },
	{ "gradient", no_argument, NULL, O_GRADIENT },
	{ "expand", required_argument, NULL, O_EXPAND },
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
	if (o->clip_given && !(o->t.opt.clip > 0))
		errx(2, "--clip: the per-example norm must be positive");
}

/* Options that exclude or need each other. */
static void
check_combinations(const struct opts *o)
{
	if (strcmp(o->model, "-") == 0 && strcmp(o->data, "-") == 0)
		errx(2, "only one of -m and -d can be standard input");
	check_dp(o);
	if (o->enc.stochastic && (!o->encoded || o->enc.scheme != ENC_INT8))
		errx(2, "--stochastic-rounding needs --encode int8");
	if (o->residual && (!o->encoded || o->enc.scheme < ENC_INT8))
		errx(2, "--residual needs --encode int8, topk:F or topk8:F");
	/* both are read, then rewritten in place: a pipe cannot be */
	if (o->residual && strcmp(o->residual, "-") == 0)
		errx(2, "--residual needs a file, not standard input");
	if (o->optstate && strcmp(o->optstate, "-") == 0)
		errx(2, "--opt-state needs a file, not standard input");
	if (o->t.opt.vbatch > 0 && (o->t.batch < 2 ||
	    o->t.opt.vbatch <= o->t.batch))
		errx(2, "--v-batch %lld: want -b 2 or more, and more windows "
		    "than -b (%d)", (long long)o->t.opt.vbatch, o->t.batch);
	if (o->residual && o->out && strcmp(o->residual, o->out) == 0)
		errx(2, "--residual and -o name the same file");
	if (o->optstate && o->moments)
		errx(2, "--opt-state and --moments exclude each other: the "
		    "moments come from the model");
	if (o->moments && o->dp.on)
		errx(2, "--moments and --dp exclude each other");
	if (o->t.opt.slices > 0 && (o->t.batch % o->t.opt.slices != 0 ||
	    o->t.opt.vbatch > 0))
		errx(2, "--slices %d: want a divisor of -b (%d), and no "
		    "--v-batch", o->t.opt.slices, o->t.batch);
	if (o->optstate && o->out && strcmp(o->optstate, o->out) == 0)
		errx(2, "--opt-state and -o name the same file");
	if (o->gradient && (o->t.steps != 1 || o->moments || o->optstate ||
	    o->dp.on || o->t.opt.vbatch > 0 || o->t.opt.slices > 0))
		errx(2, "--gradient wants --steps 1, and no --moments, "
		    "--opt-state, --dp, --v-batch or --slices");
	if (o->optstate && o->residual &&
	    strcmp(o->optstate, o->residual) == 0)
		errx(2, "--opt-state and --residual name the same file");
}

/* The optimizer's and the schedule's options; 0 when c is not one. */
static int
optimizer_option(int c, struct opts *o)
{
	struct train_opts *t = &o->t;

	switch (c) {
	case 'l':
		t->lr.lr = num("-l", optarg, 0, 1e6);
		o->lr_given = 1;
		break;
	case O_WARMUP:
		t->lr.warmup = count("--warmup", optarg, 0, TRAIN_MAXSTEPS);
		break;
	case O_EPS: t->opt.eps = num("--eps", optarg, 1e-12, 1); break;
	case O_CLIP:
		t->opt.clip = num("--clip", optarg, 0, 1e6);
		o->clip_given = 1;
		break;
	case O_MOM: t->opt.momentum = num("--momentum", optarg, 0, 1); break;
	case O_WD: t->opt.weight_decay = num("--weight-decay", optarg, 0,
	    1e6); break;
	case O_PROX: t->opt.prox = num("--prox", optarg, 0, 1e6); break;
	case O_OPT:
		if (optim_parse(optarg, &t->opt.kind) < 0)
			errx(2, "--optimizer %s: want sgd, adam or adamw",
			    optarg);
		o->opt_given = 1;
		break;
	case O_SCHED:
		if (schedule_parse(optarg, &t->lr.kind) < 0)
			errx(2, "--schedule %s: want constant, cosine or "
			    "linear", optarg);
		break;
	case O_VBATCH:
		t->opt.vbatch = count("--v-batch", optarg, 2, INT32_MAX);
		break;
	case O_SLICES:
		t->opt.slices = (int)count("--slices", optarg, 2,
		    TRAIN_MAXBATCH);
		break;
	default: return 0;
	}
	return 1;
}

/* --dp and its options; 0 when c is not one. */
static int
privacy_option(int c, struct privacy *p)
{
	switch (c) {
	case O_DP: p->on = 1; break;
	case O_NOISE: p->noise = num("--noise", optarg, 0.01, 1e4); break;
	case O_EPSILON:
		p->epsilon = num("--epsilon", optarg, 1e-3, 1e3);
		break;
	case O_DELTA: p->delta = num("--delta", optarg, 1e-30, 0.1); break;
	case O_LEDGER: p->ledger = optarg; break;
	case O_BUDGET: p->budget = num("--budget", optarg, 1e-3, 1e6); break;
	default: return 0;
	}
	return 1;
}

static void
parse(int argc, char *argv[], struct opts *o)
{
	struct train_opts *t = &o->t;
	int c, epochs = 0, stoch = 0;
	fed_err e;

	while ((c = getopt_long(argc, argv, "m:d:e:b:l:s:o:vh", longopts,
	    NULL)) != -1) {
		if (optimizer_option(c, o) || privacy_option(c, &o->dp))
			continue;
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
		case 's':
			t->seed = (uint64_t)count("-s", optarg, 0, INT64_MAX);
			break;
		case O_NAME:
			if (strlen(optarg) == 0 || strlen(optarg) > 256)
				errx(2, "--name: want 1 to 256 characters");
			o->name = optarg;
			break;
		case O_ENCODE:
			if (encode_parse(optarg, &o->enc, &e) < 0)
				errx(2, "--encode %s", e.msg);
			o->encoded = 1;
			break;
		case O_STOCH: stoch = 1; break;
		case O_RESIDUAL: o->residual = optarg; break;
		case O_OPTSTATE: o->optstate = optarg; break;
		case O_MOMENTS: o->moments = 1; break;
		case O_GRADIENT: o->gradient = 1; break;
		case O_EXPAND: o->expand = optarg; break;
		case O_MICRO:
			t->micro = (int)count("--micro-batches", optarg, 1,
			    TRAIN_MAXMICRO);
			break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-train " FED_VERSION); exit(0);
		default: usage(stderr, 2);
		}
	}
	if (o->model == NULL)
		errx(2, "-m model is required");
	if (o->expand != NULL && (o->data != NULL || optind != argc ||
	    o->gradient || o->encoded || o->residual || o->moments ||
	    o->optstate || o->dp.on))
		errx(2, "--expand takes -m, -o and nothing that trains");
	if (o->expand != NULL)
		return;
	if (o->data == NULL)
		errx(2, "-d data is required");
	if (optind != argc)
		usage(stderr, 2);
	if (epochs && t->steps > 0)
		errx(2, "-e and --steps exclude each other");
	o->enc.stochastic = stoch;
	check_combinations(o);
}

/* Under mpirun: join the job, one BLAS thread per core of this rank's
 * share, and files every rank can read. */
static void
join(struct opts *o, struct dist *d, int *argc, char ***argv)
{
	fed_err e;
	int n;

	if (dist_init(d, argc, argv, &e) < 0)
		fed_exit(&e);
	o->t.dist = d;
	if ((n = dist_threads(d)) > 0)
		openblas_set_num_threads(n);
	if (d->size > 1 && (strcmp(o->model, "-") == 0 ||
	    strcmp(o->data, "-") == 0))
		errx(2, "under mpirun, -m and -d name files every rank reads");
	/* mpirun relays standard output through a terminal, not bytes */
	if (d->mpi && (o->out == NULL || strcmp(o->out, "-") == 0))
		errx(2, "under mpirun, -o names a file");
}

int
main(int argc, char *argv[])
{
	struct dist d;
	struct opts o;

	memset(&o, 0, sizeof(o));
	train_defaults(&o.t);
	parse(argc, argv, &o);
	if (o.expand != NULL)
		return expand(&o);
	nn_blas_reexec(argv);
	join(&o, &d, &argc, &argv);
	return train(&o);
}
