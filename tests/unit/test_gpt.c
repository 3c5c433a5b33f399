/*
 * test_gpt: the transformer's layers against central finite differences
 * (every layer, then the whole model), a tiny model that learns a
 * repeating text, byte-identical training for the same seed, evaluation
 * and sampling.  Layer checks compare the whole gradient vector:
 * |numeric - analytic| / (|numeric| + |analytic|) under 1e-2 (float32
 * forward passes, step 1e-2 or 1e-3).
 */
#include <stdlib.h>

#include "eval.h"
#include "gpt.h"
#include "train.h"
#include "t.h"
#include "tnum.h"

/* The loss of the current buffers (a layer's output dotted with R). */
typedef double lossfn(void);

/* Relative error of ana against central differences of f over x. */
static double
fd_err(float *x, size_t n, const float *ana, lossfn *f, float h)
{
	double num, dn = 0, sn = 0, sa = 0;
	size_t i;
	float keep;

	for (i = 0; i < n; i++) {
		keep = x[i];
		x[i] = keep + h;
		num = f();
		x[i] = keep - h;
		num -= f();
		x[i] = keep;
		num /= 2.0 * h;
		dn += (num - ana[i]) * (num - ana[i]);
		sn += num * num;
		sa += (double)ana[i] * ana[i];
	}
	return sqrt(dn) / (sqrt(sn) + sqrt(sa) + 1e-12);
}

/* ---- layer norm ---- */
#define LN_N 3
#define LN_C 8
static float ln_in[LN_N * LN_C], ln_w[LN_C], ln_b[LN_C], ln_r[LN_N * LN_C];

static double
ln_loss(void)
{
	float out[LN_N * LN_C], m[LN_N], s[LN_N];

	gpt_layer_norm_forward(out, m, s, ln_in, ln_w, ln_b, LN_N, LN_C);
	return dot(out, ln_r, LN_N * LN_C);
}

static void
test_layer_norm(void)
{
	float out[LN_N * LN_C], m[LN_N], s[LN_N];
	float din[LN_N * LN_C] = { 0 }, dw[LN_C], db[LN_C];

	randn(ln_in, LN_N * LN_C, 1);
	randn(ln_w, LN_C, 1);
	randn(ln_b, LN_C, 1);
	randn(ln_r, LN_N * LN_C, 1);
	gpt_layer_norm_forward(out, m, s, ln_in, ln_w, ln_b, LN_N, LN_C);
	gpt_layer_norm_backward(din, dw, db, ln_r, ln_in, ln_w, m, s, LN_N, LN_C);
	T_OK("layer norm: d input", fd_err(ln_in, LN_N * LN_C, din, ln_loss,
	    1e-2f) < 1e-2);
	T_OK("layer norm: d weight", fd_err(ln_w, LN_C, dw, ln_loss, 1e-2f) <
	    1e-2);
	T_OK("layer norm: d bias", fd_err(ln_b, LN_C, db, ln_loss, 1e-2f) <
	    1e-2);
	/* the input gradient is added to, as the residual stream wants */
	gpt_layer_norm_backward(din, dw, db, ln_r, ln_in, ln_w, m, s, LN_N, LN_C);
	T_OK("layer norm: d input accumulates", fd_err(ln_in, LN_N * LN_C, din,
	    ln_loss, 1e-2f) > 0.3);
}

/* ---- matmul ---- */
#define MM_N 4
#define MM_C 5
#define MM_O 6
static float mm_in[MM_N * MM_C], mm_w[MM_O * MM_C], mm_b[MM_O],
    mm_r[MM_N * MM_O];

static double
mm_loss(void)
{
	float out[MM_N * MM_O];

	gpt_matmul_forward(out, mm_in, mm_w, mm_b, MM_N, MM_C, MM_O);
	return dot(out, mm_r, MM_N * MM_O);
}

static void
test_matmul(void)
{
	float din[MM_N * MM_C], dw[MM_O * MM_C], db[MM_O];

	randn(mm_in, sizeof(mm_in) / 4, 1);
	randn(mm_w, sizeof(mm_w) / 4, 1);
	randn(mm_b, sizeof(mm_b) / 4, 1);
	randn(mm_r, sizeof(mm_r) / 4, 1);
	gpt_matmul_backward(din, dw, db, mm_r, mm_in, mm_w, MM_N, MM_C, MM_O);
	T_OK("matmul: d input", fd_err(mm_in, MM_N * MM_C, din, mm_loss,
	    1e-2f) < 1e-2);
	T_OK("matmul: d weight", fd_err(mm_w, MM_O * MM_C, dw, mm_loss,
	    1e-2f) < 1e-2);
	T_OK("matmul: d bias", fd_err(mm_b, MM_O, db, mm_loss, 1e-2f) < 1e-2);
}

/* ---- attention ---- */
#define AT_B 2
#define AT_T 5
#define AT_C 8
#define AT_H 2
static float at_qkv[AT_B * AT_T * 3 * AT_C], at_r[AT_B * AT_T * AT_C];

static double
at_loss(void)
{
	float out[AT_B * AT_T * AT_C], att[AT_B * AT_H * AT_T * AT_T];

	gpt_attention_forward(out, att, at_qkv, AT_B, AT_T, AT_C, AT_H);
	return dot(out, at_r, AT_B * AT_T * AT_C);
}

static void
test_attention(void)
{
	float out[AT_B * AT_T * AT_C], att[AT_B * AT_H * AT_T * AT_T];
	float dqkv[AT_B * AT_T * 3 * AT_C], scratch[AT_T * AT_T], saved;
	double before;
	int i;

	randn(at_qkv, sizeof(at_qkv) / 4, 1);
	randn(at_r, sizeof(at_r) / 4, 1);
	gpt_attention_forward(out, att, at_qkv, AT_B, AT_T, AT_C, AT_H);
	gpt_attention_backward(dqkv, scratch, at_r, at_qkv, att, AT_B, AT_T, AT_C,
	    AT_H);
	T_OK("attention: d qkv", fd_err(at_qkv, sizeof(at_qkv) / 4, dqkv,
	    at_loss, 1e-2f) < 1e-2);
	/* causal: the last position's key does not reach earlier outputs */
	before = at_loss();
	saved = at_qkv[(AT_T - 1) * 3 * AT_C + AT_C];
	at_qkv[(AT_T - 1) * 3 * AT_C + AT_C] += 5;
	gpt_attention_forward(out, att, at_qkv, AT_B, AT_T, AT_C, AT_H);
	for (i = 0; i < AT_C; i++)
		at_r[(AT_T - 1) * AT_C + i] = 0;    /* ignore the last row */
	(void)before;
	{
		float out2[AT_B * AT_T * AT_C];

		at_qkv[(AT_T - 1) * 3 * AT_C + AT_C] = saved;
		gpt_attention_forward(out2, att, at_qkv, AT_B, AT_T, AT_C, AT_H);
		T_OK("attention: causal", memcmp(out, out2,
		    (AT_T - 1) * AT_C * sizeof(float)) == 0);
	}
}

/* A context of three tiles of rows, the last one short: the tiles'
 * products, and no score above the diagonal, still give the gradient. */
#define AL_T 70
#define AL_C 8
static float al_qkv[AL_T * 3 * AL_C], al_r[AL_T * AL_C];
static float al_att[2 * AL_T * AL_T];

static double
al_loss(void)
{
	float out[AL_T * AL_C];

	gpt_attention_forward(out, al_att, al_qkv, 1, AL_T, AL_C, 2);
	return dot(out, al_r, AL_T * AL_C);
}

static void
test_attention_tiles(void)
{
	static float dqkv[AL_T * 3 * AL_C], scratch[AL_T * AL_T];
	float out[AL_T * AL_C];
	double sum = 0;
	rng_t keep = R;
	int i, j;

	/* drawn off a copy: the later tests draw what they always drew
	 * (the whole model's check is near its tolerance for some draws) */
	randn(al_qkv, sizeof(al_qkv) / 4, 2);
	randn(al_r, sizeof(al_r) / 4, 3);
	R = keep;
	gpt_attention_forward(out, al_att, al_qkv, 1, AL_T, AL_C, 2);
	for (j = 0; j < AL_T; j++)
		sum += al_att[(AL_T - 1) * AL_T + j];
	T_NEAR("attention tiles: the last row sums to 1", sum, 1.0, 1e-5);
	gpt_attention_backward(dqkv, scratch, al_r, al_qkv, al_att, 1, AL_T,
	    AL_C, 2);
	T_OK("attention tiles: d qkv", fd_err(al_qkv, sizeof(al_qkv) / 4,
	    dqkv, al_loss, 1e-2f) < 1e-2);
	for (i = 0, sum = 0; i < 31; i++)
		for (j = i + 1; j < 32; j++)
			sum += al_att[i * AL_T + j] != 0;
	T_OK("attention tiles: zero above the diagonal", sum == 0);
}

/* ---- GELU ---- */
#define GE_N 24
static float ge_in[GE_N], ge_r[GE_N];

static double
ge_loss(void)
{
	float out[GE_N];

	gpt_gelu_forward(out, ge_in, GE_N);
	return dot(out, ge_r, GE_N);
}

static void
test_gelu(void)
{
	float din[GE_N], out[1], x = 1.0f;

	randn(ge_in, GE_N, 2);
	randn(ge_r, GE_N, 1);
	gpt_gelu_backward(din, ge_r, ge_in, GE_N);
	T_OK("gelu: d input", fd_err(ge_in, GE_N, din, ge_loss, 1e-2f) < 1e-2);
	gpt_gelu_forward(out, &x, 1);
	T_NEAR("gelu: gelu(1) (tanh form)", out[0], 0.841192, 1e-5);
}

/* ---- softmax cross-entropy ---- */
#define XE_N 5
#define XE_V 7
static float xe_z[XE_N * XE_V];
static uint8_t xe_y[XE_N] = { 0, 3, 6, 2, 2 };

static double
xe_loss(void)
{
	float p[XE_N * XE_V];

	return gpt_xent_forward(p, xe_z, xe_y, XE_N, XE_V);
}

static void
test_xent(void)
{
	float p[XE_N * XE_V], d[XE_N * XE_V], z0[XE_V] = { 0 };
	uint8_t y0 = 4;

	randn(xe_z, XE_N * XE_V, 2);
	gpt_xent_forward(p, xe_z, xe_y, XE_N, XE_V);
	gpt_xent_backward(d, p, xe_y, XE_N, XE_V, 1.0f);
	T_OK("xent: d logits", fd_err(xe_z, XE_N * XE_V, d, xe_loss, 1e-2f) <
	    1e-2);
	T_NEAR("xent: uniform logits give ln V",
	    gpt_xent_forward(p, z0, &y0, 1, XE_V), log(XE_V), 1e-6);
}

/* ---- embedding ---- */
#define EN_B 2
#define EN_T 3
#define EN_C 4
static float en_wte[GPT_VOCAB * EN_C], en_wpe[EN_T * EN_C],
    en_r[EN_B * EN_T * EN_C];
static const uint8_t en_tok[EN_B * (EN_T + 1)] = { 7, 9, 7, 0, 255, 7, 1,
    0 };

static double
en_loss(void)
{
	float out[EN_B * EN_T * EN_C];

	gpt_encoder_forward(out, en_tok, en_wte, en_wpe, EN_B, EN_T, EN_C);
	return dot(out, en_r, EN_B * EN_T * EN_C);
}

static void
test_encoder(void)
{
	static float dwte[GPT_VOCAB * EN_C];
	float dwpe[EN_T * EN_C];

	randn(en_wte, sizeof(en_wte) / 4, 1);
	randn(en_wpe, sizeof(en_wpe) / 4, 1);
	randn(en_r, sizeof(en_r) / 4, 1);
	gpt_encoder_backward(dwte, dwpe, en_r, en_tok, EN_B, EN_T, EN_C);
	T_OK("embedding: d wte", fd_err(en_wte, sizeof(en_wte) / 4, dwte,
	    en_loss, 1e-2f) < 1e-2);
	T_OK("embedding: d wpe", fd_err(en_wpe, sizeof(en_wpe) / 4, dwpe,
	    en_loss, 1e-2f) < 1e-2);
}

/* ---- the whole model ---- */
static struct gpt M;
static float *mp;
static uint8_t mtok[2 * 7];

static double
model_loss(void)
{
	return gpt_forward(&M, mp, mtok, 2, 6) / 12.0;
}

static void
test_model_grad(void)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct arch a;
	fed_err e;
	float *g;
	uint64_t np;
	int i, n, bad = 0;

	T_OK("model: parse gpt:2-8-2-6", arch_parse("gpt:2-8-2-6", &a, &e) ==
	    0);
	np = arch_nparams(&a);
	mp = xcalloc(np, sizeof(float));
	g = xcalloc(np, sizeof(float));
	gpt_init(&M, &a, 2, &e);
	/* larger weights than at initialization, so gradients stand out
	 * from float32 rounding */
	randn(mp, np, 0.3);
	for (i = 0; i < 14; i++)
		mtok[i] = (uint8_t)rng_below(&R, 256);
	mtok[3] = mtok[10];     /* a repeated byte, embedding rows shared */
	model_loss();
	gpt_backward(&M, g, mp, mtok, 2, 6);
	n = arch_tensors(&a, t);
	for (i = 0; i < n; i++) {
		/* embeddings: the rows the tokens touch, or all of wpe */
		float *x = mp + t[i].offset, *gx = g + t[i].offset;
		size_t cnt = t[i].count;

		if (i == 0) {   /* wte: row of byte mtok[0] */
			x += (size_t)mtok[0] * t[i].shape[1];
			gx += (size_t)mtok[0] * t[i].shape[1];
			cnt = (size_t)t[i].shape[1];
		}
		if (fd_err(x, cnt, gx, model_loss, 1e-3f) > 2e-2) {
			printf("FAIL: model: gradient of %s\n", t[i].name);
			bad++;
		}
	}
	T_OK("model: every tensor's gradient", bad == 0);
	gpt_free(&M);
	free(mp);
	free(g);
}

/* ---- layout ---- */
static void
test_arch(void)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	char s[ARCH_STRLEN];
	struct arch a;
	uint64_t sum = 0;
	fed_err e;
	int i, n;

	arch_parse("gpt:4-128-4-128", &a, &e);
	arch_format(&a, s, sizeof(s));
	T_OK("arch: gpt round trip", strcmp(s, "gpt:4-128-4-128") == 0);
	n = arch_tensors(&a, t);
	T_OK("arch: 5 + 12 tensors a block", n == 5 + 12 * 4);
	for (i = 0; i < n; i++) {
		if (t[i].offset != sum)
			break;
		sum += t[i].count;
	}
	T_OK("arch: tensors tile the buffer", i == n &&
	    sum == arch_nparams(&a));
	T_OK("arch: parameter count", arch_nparams(&a) ==
	    (uint64_t)(512 + 128) * 128 + 256 + 4 * (12 * 128 * 128 + 13 * 128));
	T_OK("arch: names", strcmp(t[2].name, "h.0.ln1.weight") == 0 &&
	    strcmp(t[n - 1].name, "lm_head.weight") == 0);
	T_OK("arch: heads must divide width",
	    arch_parse("gpt:2-10-3-8", &a, &e) < 0);
	T_OK("arch: four numbers", arch_parse("gpt:2-8-2", &a, &e) < 0);
	T_OK("arch: context capped", arch_parse("gpt:1-8-2-100000", &a, &e) <
	    0);
	T_OK("arch: layers capped", arch_parse("gpt:17-8-2-8", &a, &e) < 0);
	arch_parse("mlp:784-200-10", &a, &e);
	T_OK("arch: mlp unchanged", arch_tensors(&a, t) == 4 &&
	    arch_nparams(&a) == 784 * 200 + 200 + 200 * 10 + 10);
}

/* ---- training ---- */
static const char TEXT[] = "the quick brown fox jumps over the lazy dog. ";

static void
text_data(struct dataset *d, uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)TEXT[i % (sizeof(TEXT) - 1)];
	memset(d, 0, sizeof(*d));
	d->text = 1;
	d->tokens = buf;
	d->n = (int64_t)n;
	d->ndocs = 1;
}

/* Loss summed over every predicted byte of d, and how many. */
static int
text_eval(const struct arch *a, const float *w, const struct dataset *d,
    double *loss, int64_t *n, fed_err *e)
{
	struct eval_result r;
	int rc;

	eval_init(&r, 0);
	rc = eval_run(a, w, d, &r, e);
	*loss = r.loss_sum;
	*n = r.n;
	eval_free(&r);
	return rc;
}

static void
test_training(void)
{
	static uint8_t buf[4000];
	struct train_stats st, st2;
	struct train_opts o;
	struct dataset d;
	struct arch a;
	float *w0, *w1, *w2;
	uint8_t out[64];
	double loss;
	int64_t n;
	fed_err e;
	rng_t r;

	text_data(&d, buf, sizeof(buf));
	arch_parse("gpt:1-32-2-16", &a, &e);
	w0 = xcalloc(arch_nparams(&a), sizeof(float));
	w1 = xcalloc(arch_nparams(&a), sizeof(float));
	w2 = xcalloc(arch_nparams(&a), sizeof(float));
	rng_seed(&r, 1);
	arch_init(&a, w0, &r);
	train_defaults(&o);
	o.opt.kind = OPTIM_ADAMW;
	o.lr.lr = 1e-2;
	o.batch = 8;
	o.steps = 300;
	o.lr.warmup = 10;
	o.opt.clip = 1.0;
	o.opt.weight_decay = 0.01;
	o.seed = 3;
	T_OK("train: runs", train_run(&a, w0, w1, &d, &o, NULL, NULL, &st,
	    &e) == 0);
	T_OK("train: starts near ln 256", st.loss_start > 5.0 &&
	    st.loss_start < 6.0);
	/* the first bytes of a window have too little context to be sure */
	T_NEAR("train: learns a repeating text", st.loss_end, 0, 0.1);
	T_OK("train: counts tokens", st.rows == 300 * 8 * 16 && st.steps == 300);
	train_run(&a, w0, w2, &d, &o, NULL, NULL, &st2, &e);
	T_OK("train: same seed, same weights", memcmp(w1, w2,
	    arch_nparams(&a) * sizeof(float)) == 0);
	o.seed = 4;
	o.steps = 5;
	o.lr.warmup = 0;
	train_run(&a, w0, w2, &d, &o, NULL, NULL, &st2, &e);
	T_OK("train: another seed, other weights", memcmp(w1, w2,
	    arch_nparams(&a) * sizeof(float)) != 0);
	o.opt.kind = OPTIM_SGD;
	T_OK("train: sgd refused", train_run(&a, w0, w2, &d, &o, NULL,
	    NULL, &st2, &e) < 0);

	T_OK("eval: runs", text_eval(&a, w1, &d, &loss, &n, &e) == 0);
	T_OK("eval: every byte but the first", n == (int64_t)sizeof(buf) - 1);
	T_OK("eval: low loss", loss / n < 0.1);
	T_OK("sample: runs", gpt_sample(&a, w1, (const uint8_t *)"the quick ",
	    10, out, 20, 0, &r, &e) == 0);
	T_OK("sample: continues the text", memcmp(out, "brown fox jumps over",
	    20) == 0);
	free(w0);
	free(w1);
	free(w2);
}

/*
 * vbatch: after one AdamW step from zero moments a weight moves by
 * lr g / sqrt(v), so lr exactly without vbatch, and between lr and
 * lr sqrt(vbatch / batch) with it (the noise taken out of v, at most all
 * but batch / vbatch of it); when both halves of every batch are the
 * same text there is no noise to take out.
 */
static void
test_vbatch(void)
{
	static uint8_t buf[4000];
	struct train_stats st;
	struct train_opts o;
	struct dataset d;
	struct arch a;
	float *w0, *w1, *w2;
	uint64_t i, np, moved = 0, inside = 0, grown = 0, same = 0;
	const double lr = 1e-3;
	fed_err e;
	rng_t r;

	text_data(&d, buf, sizeof(buf));
	arch_parse("gpt:1-32-2-16", &a, &e);
	np = arch_nparams(&a);
	w0 = xcalloc(np, sizeof(float));
	w1 = xcalloc(np, sizeof(float));
	w2 = xcalloc(np, sizeof(float));
	rng_seed(&r, 1);
	arch_init(&a, w0, &r);
	train_defaults(&o);
	o.opt.kind = OPTIM_ADAMW;
	o.lr.lr = lr;
	o.lr.kind = SCHEDULE_CONSTANT;
	o.batch = 8;
	o.steps = 1;
	o.opt.clip = 0;
	o.opt.weight_decay = 0;
	o.opt.eps = 1e-6;
	o.seed = 5;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	o.opt.vbatch = 32;
	T_OK("vbatch: runs", train_run(&a, w0, w2, &d, &o, NULL, NULL,
	    &st, &e) == 0);
	for (i = 0; i < np; i++) {
		double d1 = w1[i] - w0[i], d2 = w2[i] - w0[i];

		if (fabs(d1) < 0.9 * lr)
			continue;
		moved++;
		if (d1 * d2 > 0 && fabs(d2) > 0.999 * fabs(d1) &&
		    fabs(d2) < 2.001 * lr)
			inside++;
		if (fabs(d2) > 1.2 * lr)
			grown++;
	}
	T_OK("vbatch: weights move", moved > np / 4);
	T_OK("vbatch: steps between lr and lr sqrt(vbatch / batch)",
	    inside == moved);
	T_OK("vbatch: noise taken out", grown > moved / 10);

	/* every window the same bytes: the halves agree */
	memset(buf, 'a', sizeof(buf));
	o.opt.vbatch = 0;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	o.opt.vbatch = 32;
	train_run(&a, w0, w2, &d, &o, NULL, NULL, &st, &e);
	for (i = 0; i < np; i++)
		if (fabs((double)w2[i] - w1[i]) <= 1e-3 * lr)
			same++;
	T_OK("vbatch: no noise, no change", same == np);

	o.opt.vbatch = 8;
	T_OK("vbatch: refused at the batch", train_run(&a, w0, w2, &d, &o,
	    NULL, NULL, &st, &e) < 0);
	o.opt.vbatch = 32;
	o.batch = 1;
	T_OK("vbatch: refused for batches of 1", train_run(&a, w0, w2, &d,
	    &o, NULL, NULL, &st, &e) < 0);
	free(w0);
	free(w1);
	free(w2);
}

/*
 * slices: from zero moments every slice's first step moves a weight by
 * lr (g / |g|), so the mean of them by at most lr; the merged v is at
 * least m^2.  When every slice sees the same bytes, the step is plain
 * AdamW's and only v changes: to max(v, m^2).
 */
static void
test_slices(void)
{
	static uint8_t buf[4000];
	struct optim_state s1, s2;
	struct train_stats st;
	struct train_opts o;
	struct dataset d;
	struct arch a;
	float *w0, *w1, *w2;
	uint64_t i, np, within = 0, below = 0, same = 0, vok = 0;
	const double lr = 1e-3;
	fed_err e;
	rng_t r;

	text_data(&d, buf, sizeof(buf));
	arch_parse("gpt:1-32-2-16", &a, &e);
	np = arch_nparams(&a);
	w0 = xcalloc(np, sizeof(float));
	w1 = xcalloc(np, sizeof(float));
	w2 = xcalloc(np, sizeof(float));
	s1.m = xcalloc(np, sizeof(float));
	s1.v = xcalloc(np, sizeof(float));
	s2.m = xcalloc(np, sizeof(float));
	s2.v = xcalloc(np, sizeof(float));
	rng_seed(&r, 1);
	arch_init(&a, w0, &r);
	train_defaults(&o);
	o.opt.kind = OPTIM_ADAMW;
	o.lr.lr = lr;
	o.lr.kind = SCHEDULE_CONSTANT;
	o.batch = 8;
	o.steps = 1;
	o.opt.clip = 0;
	o.opt.weight_decay = 0;
	o.opt.eps = 1e-9;
	o.seed = 5;
	o.opt.slices = 4;
	s2.t = 0;
	o.state = &s2;
	T_OK("slices: runs", train_run(&a, w0, w2, &d, &o, NULL, NULL,
	    &st, &e) == 0);
	for (i = 0; i < np; i++) {
		double d2 = fabs((double)w2[i] - w0[i]);

		within += d2 <= lr * 1.0001;
		below += d2 > 0 && d2 < 0.99 * lr;
		vok += s2.v[i] >= s2.m[i] * s2.m[i] * 0.9999f;
	}
	T_OK("slices: no weight moves more than lr", within == np);
	T_OK("slices: disagreeing slices move less", below > np / 20);
	T_OK("slices: v at least m^2", vok == np);
	T_OK("slices: one step counted", s2.t == 1);

	/*
	 * every window the same bytes: the slices agree.  Most gradients
	 * are then zero but for rounding (1e-11), which the order of sums
	 * over 2 or 8 windows decides; an eps far above that keeps such
	 * noise from moving weights, so only real gradients are compared.
	 */
	memset(buf, 'a', sizeof(buf));
	o.opt.eps = 1e-6;
	o.opt.slices = 0;
	memset(s1.m, 0, np * sizeof(float));
	memset(s1.v, 0, np * sizeof(float));
	s1.t = 0;
	o.state = &s1;
	train_run(&a, w0, w1, &d, &o, NULL, NULL, &st, &e);
	o.opt.slices = 4;
	memset(s2.m, 0, np * sizeof(float));
	memset(s2.v, 0, np * sizeof(float));
	s2.t = 0;
	o.state = &s2;
	train_run(&a, w0, w2, &d, &o, NULL, NULL, &st, &e);
	vok = 0;
	for (i = 0; i < np; i++) {
		float v = s1.v[i] > s1.m[i] * s1.m[i] ? s1.v[i] :
		    s1.m[i] * s1.m[i];

		/* the same up to the rounding of sums over 2 or 8 windows */
		same += fabs((double)w2[i] - w1[i]) <= 1e-2 * lr &&
		    fabs((double)s2.m[i] - s1.m[i]) <= 1e-3 * fabs(s1.m[i]) +
		    1e-10;
		/* v is m^2 here: twice m's relative error */
		vok += fabs((double)s2.v[i] - v) <= 2e-3 * v + 1e-20;
	}
	T_OK("slices: agreeing slices step as plain AdamW", same == np);
	T_OK("slices: and v becomes max(v, m^2)", vok == np);

	o.state = NULL;
	o.opt.slices = 3;
	T_OK("slices: refused when they do not divide the batch",
	    train_run(&a, w0, w2, &d, &o, NULL, NULL, &st, &e) < 0);
	o.opt.slices = 2;
	o.opt.vbatch = 32;
	T_OK("slices: refused with vbatch", train_run(&a, w0, w2, &d, &o,
	    NULL, NULL, &st, &e) < 0);
	free(w0);
	free(w1);
	free(w2);
	free(s1.m);
	free(s1.v);
	free(s2.m);
	free(s2.v);
}

int
main(void)
{
	rng_seed(&R, 42);
	test_layer_norm();
	test_matmul();
	test_attention();
	test_attention_tiles();
	test_gelu();
	test_xent();
	test_encoder();
	test_model_grad();
	test_arch();
	test_training();
	test_vbatch();
	test_slices();
	T_DONE();
}
