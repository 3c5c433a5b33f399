/*
 * test_nn: every layer of nn against central finite differences, the
 * forward pass against naive loops, and training on small synthetic
 * problems whose answer is known: a softmax student recovering its
 * teacher's weights, an MLP learning XOR, determinism by seed, and the
 * proximal term holding weights near the global model.
 */
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "model.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"
#include "t.h"
#include "tnum.h"
#include "train.h"

/* Largest relative error between analytic g and numeric df/dx over x. */
struct fd {
	float *x;
	int64_t n;
	const float *g;
};

#define B 5
#define IN 7
#define OUT 4

static float din_[B * IN], dw_[OUT * IN], db_[OUT], in_[B * IN];
static float w_[OUT * IN], b_[OUT], out_[B * OUT], c_[B * OUT];

static double
dense_f(void)
{
	nn_dense_forward(out_, in_, w_, b_, B, IN, OUT);
	return dot(out_, c_, B * OUT);
}

static double
relu_f(void)
{
	nn_relu_forward(out_, in_, B * OUT);
	return dot(out_, c_, B * OUT);
}

static int32_t ylab[B] = { 0, 3, 1, 2, 3 };

static double
xent_f(void)
{
	float p[B * OUT];

	return nn_softmax_xent_forward(p, in_, ylab, B, OUT, NULL, NULL) / B;
}

/* Central differences of f along every element of x against g. */
static double
fd_check(double (*f)(void), float *x, int64_t n, const float *g, float h)
{
	double worst = 0;
	int64_t i;

	for (i = 0; i < n; i++) {
		float keep = x[i];
		double up, down, num, err;

		x[i] = keep + h;
		up = f();
		x[i] = keep - h;
		down = f();
		x[i] = keep;
		num = (up - down) / (2.0 * h);
		err = fabs(num - g[i]) / (fabs(num) + fabs(g[i]) + 1e-3);
		if (err > worst)
			worst = err;
	}
	return worst;
}

static void
test_dense(void)
{
	float ref[B * OUT];
	int r, j, k;

	randn(in_, B * IN, 1);
	randn(w_, OUT * IN, 1);
	randn(b_, OUT, 1);
	randn(c_, B * OUT, 1);
	nn_dense_forward(out_, in_, w_, b_, B, IN, OUT);
	for (r = 0; r < B; r++)
		for (j = 0; j < OUT; j++) {
			double s = b_[j];

			for (k = 0; k < IN; k++)
				s += (double)in_[r * IN + k] * w_[j * IN + k];
			ref[r * OUT + j] = (float)s;
		}
	for (r = 0, k = 1; r < B * OUT; r++)
		if (fabs(ref[r] - out_[r]) > 1e-5 * (1 + fabs(ref[r])))
			k = 0;
	T_OK("dense forward matches naive loops", k);
	nn_dense_backward(din_, dw_, db_, c_, in_, w_, B, IN, OUT);
	T_OK("dense d/dw", fd_check(dense_f, w_, OUT * IN, dw_, 1e-2f) < 1e-3);
	T_OK("dense d/db", fd_check(dense_f, b_, OUT, db_, 1e-2f) < 1e-3);
	T_OK("dense d/din", fd_check(dense_f, in_, B * IN, din_, 1e-2f) < 1e-3);
	memset(dw_, 0x7f, sizeof(dw_));
	nn_dense_backward(NULL, dw_, db_, c_, in_, w_, B, IN, OUT);
	T_OK("dense backward overwrites, din optional",
	    fd_check(dense_f, w_, OUT * IN, dw_, 1e-2f) < 1e-3);
}

static void
test_relu(void)
{
	float dinr[B * OUT];
	int i;

	randn(in_, B * OUT, 1);
	for (i = 0; i < B * OUT; i++)   /* keep clear of the kink */
		if (fabs(in_[i]) < 0.05)
			in_[i] = 0.5f;
	randn(c_, B * OUT, 1);
	nn_relu_forward(out_, in_, B * OUT);
	nn_relu_backward(dinr, c_, out_, B * OUT);
	T_OK("relu d/din", fd_check(relu_f, in_, B * OUT, dinr, 1e-3f) < 1e-3);
	nn_relu_forward(out_, in_, B * OUT);
	nn_relu_forward(in_, in_, B * OUT);
	T_OK("relu in place", memcmp(in_, out_, sizeof(out_)) == 0);
}

static void
test_xent(void)
{
	float p[B * OUT], d[B * OUT];
	double loss, s;
	int64_t ok = 0;
	int r, j;

	randn(in_, B * OUT, 2);
	loss = nn_softmax_xent_forward(p, in_, ylab, B, OUT, &ok, NULL);
	nn_softmax_xent_backward(d, p, ylab, B, OUT);
	T_OK("softmax-xent d/dlogits", fd_check(xent_f, in_, B * OUT, d,
	    1e-2f) < 2e-3);
	for (r = 0, s = 0; r < B; r++) {
		double z = 0;

		for (j = 0; j < OUT; j++)
			z += exp(in_[r * OUT + j]);
		s += log(z) - in_[r * OUT + ylab[r]];
	}
	T_NEAR("softmax-xent loss", loss, s, 1e-6);
	in_[0] = 1e4f;      /* stable for huge logits */
	loss = nn_softmax_xent_forward(p, in_, ylab, B, OUT, NULL, NULL);
	T_OK("softmax-xent finite on large logits", isfinite(loss));
}

/* The whole MLP: nn_backward against differences of nn_forward. */
static struct nn_net net_;
static float *par_;
static int32_t ymlp[B] = { 2, 0, 1, 1, 2 };

static double
mlp_f(void)
{
	return nn_forward(&net_, par_, ymlp, B, NULL, NULL) / B;
}

static void
test_mlp_grad(void)
{
	struct arch a;
	float x[B * 6], *g;
	uint64_t np;
	fed_err e;

	T_OK("arch", arch_parse("mlp:6-5-4-3", &a, &e) == 0);
	np = arch_nparams(&a);
	par_ = calloc(np, sizeof(float));
	g = calloc(np, sizeof(float));
	arch_init(&a, par_, &R);
	randn(par_, np, 0.5);
	randn(x, B * 6, 1);
	nn_net_init(&net_, &a, B, &e);
	memcpy(net_.act[0], x, sizeof(x));
	nn_forward(&net_, par_, ymlp, B, NULL, NULL);
	nn_backward(&net_, g, par_, ymlp, B);
	/* act[0] survives the passes, so differences can rerun forward */
	T_OK("mlp input kept", memcmp(net_.act[0], x, sizeof(x)) == 0);
	T_OK("mlp d/dparams", fd_check(mlp_f, par_, (int64_t)np, g, 1e-2f)
	    < 2e-2);
	nn_net_free(&net_);
	free(par_);
	free(g);
}

/*
 * The passes from layer 1 on (an mlp split across ranks, split.h): the
 * same loss and upper gradients as the whole passes, bit for bit, and
 * the gradient at layer 1's output gives layer 1's gradient; Adam's step
 * on two ranges at once is one step, as the whole step is on them.
 */
static void
test_mlp_from(void)
{
	struct arch a;
	struct nn_net n2;
	struct optim_opts o;
	struct optim s, t;
	float x[B * 6], *g, *g2, *w, *w2, dw[5 * 6], db[5];
	const float *dout;
	uint64_t at[4] = { 3, 17, 40, 0 };
	uint64_t np, off;
	double loss;
	fed_err e;

	arch_parse("mlp:6-5-4-3", &a, &e);
	np = arch_nparams(&a);
	at[3] = np;
	off = 6 * 5 + 5;
	par_ = calloc(np, sizeof(float));
	g = calloc(np, sizeof(float));
	g2 = calloc(np, sizeof(float));
	randn(par_, np, 0.5);
	randn(x, B * 6, 1);
	nn_net_init(&net_, &a, B, &e);
	nn_net_init(&n2, &a, B, &e);
	memcpy(net_.act[0], x, sizeof(x));
	loss = nn_forward(&net_, par_, ymlp, B, NULL, NULL);
	memcpy(n2.act[1], net_.act[1], B * 5 * sizeof(float));
	nn_backward(&net_, g, par_, ymlp, B);
	T_OK("mlp from layer 1: the loss",
	    nn_forward_from(&n2, par_, ymlp, B, 1, NULL, NULL) == loss);
	dout = nn_backward_to(&n2, g2, par_, ymlp, B, 1);
	T_OK("mlp from layer 1: the upper gradients",
	    memcmp(g + off, g2 + off, (np - off) * sizeof(float)) == 0);
	nn_dense_backward(NULL, dw, db, dout, x, par_, B, 6, 5);
	T_OK("mlp from layer 1: layer 1's gradient",
	    memcmp(dw, g, sizeof(dw)) == 0 && memcmp(db, g + 30, 20) == 0);
	optim_defaults(&o);
	o.kind = OPTIM_ADAM;
	optim_init(&s, &o, np, NULL, B);
	optim_init(&t, &o, np, NULL, B);
	w = calloc(np, sizeof(float));
	w2 = calloc(np, sizeof(float));
	memcpy(g2, g, np * sizeof(float));
	optim_step(&s, w, g, par_, 0.01);
	optim_step_parts(&t, w2, g2, par_, 0.01, at, 2);
	T_OK("optim: two ranges, one step", t.t == 1 &&
	    memcmp(w + 3, w2 + 3, 14 * sizeof(float)) == 0 &&
	    memcmp(w + 40, w2 + 40, (np - 40) * sizeof(float)) == 0 &&
	    w2[0] == 0 && w2[20] == 0);
	optim_free(&s);
	optim_free(&t);
	nn_net_free(&net_);
	nn_net_free(&n2);
	free(par_);
	free(g);
	free(g2);
	free(w);
	free(w2);
}

/*
 * Labels drawn from a softmax teacher: the maximum-likelihood student
 * recovers the teacher's weights up to softmax's shift, so centred over
 * classes they must agree.
 */
#define TN 20000
static void
test_teacher(void)
{
	static const float tw[3 * 2] = { 2, -1, -1, 1.5f, -0.5f, -1 };
	static const float tb[3] = { 0.3f, 0, -0.3f };
	float *x = calloc(TN * 2, sizeof(float)), *w0, *w;
	int32_t *y = calloc(TN, sizeof(int32_t));
	struct train_opts o;
	struct train_stats st;
	struct dataset d;
	struct arch a;
	fed_err e;
	double worst = 0;
	int i, j, k;

	for (i = 0; i < TN; i++) {
		double z[3], s = 0, u;

		randn(x + 2 * i, 2, 1);
		for (j = 0; j < 3; j++)
			s += z[j] = exp(tw[2 * j] * x[2 * i] +
			    tw[2 * j + 1] * x[2 * i + 1] + tb[j]);
		u = rng_uniform(&R) * s;
		for (k = 0; k < 2 && u >= z[k]; k++)
			u -= z[k];
		y[i] = k;
	}
	mkdata(&d, x, y, TN, 2, 3);
	arch_parse("softmax:2-3", &a, &e);
	w0 = calloc(9, sizeof(float));
	w = calloc(9, sizeof(float));
	train_defaults(&o);
	o.epochs = 20;
	o.batch = 100;
	o.lr.lr = 0.05;
	T_OK("teacher: trains", train_run(&a, w0, w, &d, &o, NULL, NULL,
	    &st, &e) == 0);
	for (k = 0; k < 9; k++) {
		/* centre weights per input column and the biases over classes */
		int col = k < 6 ? k % 2 : 2;
		double mw = 0, mt = 0, lw, lt;

		for (j = 0; j < 3; j++) {
			mw += col < 2 ? w[2 * j + col] : w[6 + j];
			mt += col < 2 ? tw[2 * j + col] : tb[j];
		}
		lw = w[k] - mw / 3;
		lt = (k < 6 ? tw[k] : tb[k - 6]) - mt / 3;
		if (fabs(lw - lt) > worst)
			worst = fabs(lw - lt);
	}
	T_OK("teacher: weights recovered within 0.15", worst < 0.15);
	T_OK("teacher: loss fell", st.loss_end < st.loss_start);
	T_OK("teacher: steps", st.steps == 20 * (TN / 100));
	free(d.count);
	free(x);
	free(y);
	free(w0);
	free(w);
}

/* XOR of two signs: not linearly separable, an MLP must get it all. */
static void
test_xor(void)
{
	enum { N = 512 };
	float x[N * 2], *w0, *w1, *w2;
	int32_t y[N];
	struct train_opts o;
	struct train_stats st;
	struct eval_result r;
	struct dataset d;
	struct arch a;
	fed_err e;
	uint64_t np;
	int i;

	for (i = 0; i < N; i++) {
		randn(x + 2 * i, 2, 1);
		y[i] = (x[2 * i] > 0) != (x[2 * i + 1] > 0);
	}
	mkdata(&d, x, y, N, 2, 2);
	arch_parse("mlp:2-16-16-2", &a, &e);
	np = arch_nparams(&a);
	w0 = calloc(np, sizeof(float));
	w1 = calloc(np, sizeof(float));
	w2 = calloc(np, sizeof(float));
	arch_init(&a, w0, &R);
	train_defaults(&o);
	o.epochs = 100;
	o.batch = 16;
	o.seed = 7;
	o.opt.kind = OPTIM_ADAM;
	o.lr.lr = 0.01;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	eval_init(&r, 2);
	eval_run(&a, w1, &d, &r, &e);
	T_OK("xor: adam accuracy >= 0.97", r.correct >= 0.97 * N);
	T_OK("xor: per-class counts", r.class_n[0] + r.class_n[1] == N);
	T_NEAR("xor: eval loss is the forward loss", r.loss_sum / N,
	    st.loss_end, 0.05);
	eval_free(&r);
	train_run(&a, w0, w2, &d, &o, NULL, NULL, &st, &e);
	T_OK("xor: same seed, same weights",
	    memcmp(w1, w2, np * sizeof(float)) == 0);
	o.seed = 8;
	train_run(&a, w0, w2, &d, &o, NULL, NULL, &st, &e);
	T_OK("xor: other seed, other weights",
	    memcmp(w1, w2, np * sizeof(float)) != 0);

	train_defaults(&o);
	o.epochs = 100;
	o.batch = 16;
	o.opt.kind = OPTIM_SGD;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	eval_init(&r, 2);
	eval_run(&a, w1, &d, &r, &e);
	T_OK("xor: sgd momentum accuracy >= 0.97", r.correct >= 0.97 * N);
	eval_free(&r);

	o.opt.kind = OPTIM_ADAMW;
	o.lr.lr = 0.01;
	o.opt.weight_decay = 0.01;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	eval_init(&r, 2);
	eval_run(&a, w1, &d, &r, &e);
	T_OK("xor: adamw accuracy >= 0.95", r.correct >= 0.95 * N);
	eval_free(&r);

	/* a strong proximal term keeps the local model near the global */
	{
		double far = 0, near = 0;
		uint64_t j;

		o.opt.kind = OPTIM_SGD;
		o.lr.lr = 0.05;
		o.opt.weight_decay = 0;
		o.epochs = 5;
		train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
		o.opt.prox = 5;
		train_run(&a, w0, w2, &d, &o, NULL, NULL, &st, &e);
		for (j = 0; j < np; j++) {
			far += (w1[j] - w0[j]) * (w1[j] - w0[j]);
			near += (w2[j] - w0[j]) * (w2[j] - w0[j]);
		}
		T_OK("prox: pulls towards the global model", near < 0.5 * far);
	}
	o.opt.prox = 0;
	o.steps = 7;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	T_OK("steps: exactly as asked", st.steps == 7 && st.rows == 7 * 16);

	free(d.count);
	free(w0);
	free(w1);
	free(w2);
}

static void
test_fit(void)
{
	struct dataset d;
	struct arch a;
	fed_err e;
	float x[4] = { 0 };
	int32_t y[2] = { 0, 1 };

	mkdata(&d, x, y, 2, 2, 2);
	arch_parse("softmax:3-2", &a, &e);
	T_OK("fit: input width mismatch", model_fit(&a, &d, &e) < 0 &&
	    strstr(e.msg, "3 inputs") != NULL);
	arch_parse("softmax:2-5", &a, &e);
	T_OK("fit: class count mismatch", model_fit(&a, &d, &e) < 0);
	arch_parse("softmax:2-2", &a, &e);
	T_OK("fit: fits", model_fit(&a, &d, &e) == 0);
	free(d.count);
}

/* The one schedule: warmup, then constant, cosine or linear decay. */
static void
test_schedule(void)
{
	struct schedule_opts o = { SCHEDULE_COSINE, 0.1, 0 };

	T_NEAR("schedule: cosine starts at lr", schedule_lr(&o, 0, 10), 0.1,
	    1e-15);
	T_NEAR("schedule: cosine at half", schedule_lr(&o, 5, 10), 0.05,
	    1e-15);
	o.kind = SCHEDULE_LINEAR;
	T_NEAR("schedule: linear at a quarter", schedule_lr(&o, 25, 100),
	    0.075, 1e-15);
	o.kind = SCHEDULE_CONSTANT;
	T_NEAR("schedule: constant", schedule_lr(&o, 99, 100), 0.1, 0);
	o.kind = SCHEDULE_COSINE;
	o.warmup = 4;
	T_NEAR("schedule: warmup's first step", schedule_lr(&o, 0, 14),
	    0.025, 1e-15);
	T_NEAR("schedule: decay starts after warmup", schedule_lr(&o, 4, 14),
	    0.1, 1e-15);
	T_NEAR("schedule: decay over the rest", schedule_lr(&o, 9, 14), 0.05,
	    1e-15);
}

/* One step of each optimizer against its formula. */
static void
test_optim(void)
{
	struct optim_opts o;
	struct optim s;
	float w[2], g[2], w0[2] = { 0, 0 };

	optim_defaults(&o);
	o.momentum = 0.5;
	optim_init(&s, &o, 2, NULL, 1);
	w[0] = 1; w[1] = -1; g[0] = 2; g[1] = 0.5f;
	optim_step(&s, w, g, w0, 0.1);
	g[0] = 2; g[1] = 0.5f;
	optim_step(&s, w, g, w0, 0.1);
	/* v = g, then 0.5 g + g */
	T_NEAR("optim: sgd momentum", w[0], 1 - 0.1 * 2 - 0.1 * 3, 1e-6);
	optim_free(&s);
	o.kind = OPTIM_ADAMW;
	o.weight_decay = 0.1;
	optim_init(&s, &o, 2, NULL, 1);
	w[0] = 1; w[1] = -1; g[0] = 2; g[1] = -0.5f;
	optim_step(&s, w, g, w0, 0.01);
	/* bias-corrected first step: lr g / |g|, after the decay */
	T_NEAR("optim: adamw first step", w[0], 1 * (1 - 0.001) - 0.01, 1e-6);
	T_NEAR("optim: adamw, other sign", w[1], -1 * (1 - 0.001) + 0.01,
	    1e-6);
	T_OK("optim: one step counted", s.t == 1);
	optim_free(&s);
	g[0] = 3; g[1] = 4;
	T_NEAR("optim: clip returns the norm", optim_clip(g, 2, 1), 5, 1e-12);
	T_NEAR("optim: clipped to the norm", g[0] * g[0] + g[1] * g[1], 1,
	    1e-6);
}

int
main(void)
{
	rng_seed(&R, 1);
	test_dense();
	test_relu();
	test_xent();
	test_mlp_grad();
	test_mlp_from();
	test_teacher();
	test_xor();
	test_fit();
	test_schedule();
	test_optim();
	T_DONE();
}
