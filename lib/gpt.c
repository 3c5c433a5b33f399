/*
 * gpt: layers, model and sampling of the byte-level transformer; its
 * training and evaluation are train's and eval's, through model.h.  The
 * matrix work (projections, attention scores, the output head) is
 * OpenBLAS sgemm; the element-wise loops are GPT_HOT so they vectorize.
 * Sums that decide a loss are kept in double.  gpt_init allocates every
 * activation; the passes never do.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"

/*
 * NN_HOT, and no trapping math: without it GCC keeps the clamps of
 * fast_expf as branches and the loops that call it stay scalar.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
#define GPT_HOT __attribute__((target_clones("avx512f", "avx2", "default"), \
    optimize("O3", "no-trapping-math")))
#else
#define GPT_HOT
#endif

#define GELU_K 0.7978845608028654f      /* sqrt(2 / pi) */
#define LN_EPS 1e-5f

void
gpt_carve(struct gpt_params *p, const struct arch *a, float *base)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	int l, n = arch_tensors(a, t);
	float **blk;

	p->wte = base + t[0].offset;
	p->wpe = base + t[1].offset;
	for (l = 0; l < a->nlayers; l++) {
		struct gpt_block *h = &p->h[l];
		float **f[12] = { &h->ln1w, &h->ln1b, &h->qkvw, &h->qkvb,
		    &h->projw, &h->projb, &h->ln2w, &h->ln2b, &h->fcw, &h->fcb,
		    &h->fcprojw, &h->fcprojb };
		int k;

		for (k = 0; k < 12; k++) {
			blk = f[k];
			*blk = base + t[2 + 12 * l + k].offset;
		}
	}
	p->lnfw = base + t[n - 3].offset;
	p->lnfb = base + t[n - 2].offset;
	p->head = base + t[n - 1].offset;
}

/*
 * exp(x) for float: x = n ln 2 + r, |r| <= ln 2 / 2, e^r by its Taylor
 * series to r^6 (relative error under 2e-7), 2^n through the exponent
 * bits.  Plain arithmetic, so the loops that call it vectorize, where
 * libm's expf and tanhf are a call per element.  Inputs are clamped to
 * [-87, 88], where the result stays a normal float; a NaN (a run that
 * diverged) becomes -87, as converting it to an integer is undefined.
 */
static inline __attribute__((always_inline)) float
fast_expf(float x)
{
	float n, r, p, s;
	int32_t i, k;

	x = x > -87.0f ? x : -87.0f;
	x = x > 88.0f ? 88.0f : x;
	/* round to nearest; truncation is floor for the positive sum */
	k = (int32_t)(x * 1.44269504f + 128.5f) - 128;
	n = (float)k;
	r = x - n * 0.693145751953125f - n * 1.428606765330187e-6f;
	p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f + r *
	    (0.0416666667f + r * (0.00833333333f + r * 0.00138888889f)))));
	i = (k + 127) << 23;
	memcpy(&s, &i, sizeof(s));
	return p * s;
}

/*
 * Sums over a row in LANES partial sums, then the lanes in order: the
 * lanes vectorize where one running sum cannot (ISO C keeps its order),
 * and every clone and machine adds alike.
 */
#define LANES 16

/* sum over i of x[i] y[i], or of x[i] when y is NULL */
static inline __attribute__((always_inline)) float
lane_dot(const float *x, const float *y, int n)
{
	float l[LANES] = { 0 }, s = 0;
	int i, k;

	for (i = 0; i + LANES <= n; i += LANES)
		for (k = 0; k < LANES; k++)
			l[k] += y != NULL ? x[i + k] * y[i + k] : x[i + k];
	for (k = 0; k < LANES; k++)
		s += l[k];
	for (; i < n; i++)
		s += y != NULL ? x[i] * y[i] : x[i];
	return s;
}

/* sum over i of (x[i] - m)^2 */
static inline __attribute__((always_inline)) float
lane_sqdev(const float *x, float m, int n)
{
	float l[LANES] = { 0 }, s = 0;
	int i, k;

	for (i = 0; i + LANES <= n; i += LANES)
		for (k = 0; k < LANES; k++)
			l[k] += (x[i + k] - m) * (x[i + k] - m);
	for (k = 0; k < LANES; k++)
		s += l[k];
	for (; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return s;
}

/* ---- layers ---- */

void
gpt_encoder_forward(float *out, const uint8_t *tok, const float *wte,
    const float *wpe, int B, int T, int C)
{
	int b, t, i;

	for (b = 0; b < B; b++)
		for (t = 0; t < T; t++) {
			float *o = out + ((size_t)b * T + t) * C;
			const float *we = wte + (size_t)tok[b * (T + 1) + t] * C;
			const float *pe = wpe + (size_t)t * C;

			for (i = 0; i < C; i++)
				o[i] = we[i] + pe[i];
		}
}

void
gpt_encoder_backward(float *dwte, float *dwpe, const float *dout,
    const uint8_t *tok, int B, int T, int C)
{
	int b, t, i;

	memset(dwte, 0, (size_t)GPT_VOCAB * C * sizeof(float));
	memset(dwpe, 0, (size_t)T * C * sizeof(float));
	for (b = 0; b < B; b++)
		for (t = 0; t < T; t++) {
			const float *d = dout + ((size_t)b * T + t) * C;
			float *we = dwte + (size_t)tok[b * (T + 1) + t] * C;
			float *pe = dwpe + (size_t)t * C;

			for (i = 0; i < C; i++) {
				we[i] += d[i];
				pe[i] += d[i];
			}
		}
}

GPT_HOT void
gpt_layer_norm_forward(float *out, float *mean, float *rstd, const float *in,
    const float *w, const float *b, int N, int C)
{
	int r, i;

	for (r = 0; r < N; r++) {
		const float *x = in + (size_t)r * C;
		float *o = out + (size_t)r * C;
		float m = lane_dot(x, NULL, C) / (float)C, v, s;

		v = lane_sqdev(x, m, C);
		s = 1.0f / sqrtf(v / (float)C + LN_EPS);
		for (i = 0; i < C; i++)
			o[i] = (x[i] - m) * s * w[i] + b[i];
		mean[r] = m;
		rstd[r] = s;
	}
}

/* One row's part of the backward pass: *dmean and *dnx the sums over i
 * of dn = w[i] d[i] and of dn nx, in lanes; dw, db added to. */
static inline __attribute__((always_inline)) void
ln_sums(float *dmean, float *dnx, float *dw, float *db, const float *d,
    const float *x, const float *w, float m, float s, int C)
{
	float lm[LANES] = { 0 }, lx[LANES] = { 0 };
	int i = 0, k;

	*dmean = *dnx = 0;
	for (; i + LANES <= C; i += LANES)
		for (k = 0; k < LANES; k++) {
			float nx = (x[i + k] - m) * s, dn = w[i + k] * d[i + k];

			lm[k] += dn;
			lx[k] += dn * nx;
			db[i + k] += d[i + k];
			dw[i + k] += nx * d[i + k];
		}
	for (k = 0; k < LANES; k++) {
		*dmean += lm[k];
		*dnx += lx[k];
	}
	for (; i < C; i++) {
		float nx = (x[i] - m) * s, dn = w[i] * d[i];

		*dmean += dn;
		*dnx += dn * nx;
		db[i] += d[i];
		dw[i] += nx * d[i];
	}
}

GPT_HOT void
gpt_layer_norm_backward(float *din, float *dw, float *db, const float *dout,
    const float *in, const float *w, const float *mean, const float *rstd,
    int N, int C)
{
	int r, i;

	memset(dw, 0, (size_t)C * sizeof(float));
	memset(db, 0, (size_t)C * sizeof(float));
	for (r = 0; r < N; r++) {
		const float *d = dout + (size_t)r * C, *x = in + (size_t)r * C;
		float *di = din + (size_t)r * C;
		float m = mean[r], s = rstd[r], dmean, dnx;

		ln_sums(&dmean, &dnx, dw, db, d, x, w, m, s, C);
		dmean /= (float)C;
		dnx /= (float)C;
		for (i = 0; i < C; i++) {
			float nx = (x[i] - m) * s;

			di[i] += (w[i] * d[i] - dmean - nx * dnx) * s;
		}
	}
}

void
gpt_matmul_forward(float *out, const float *in, const float *w, const float *b,
    int N, int C, int OC)
{
	int r;

	if (b != NULL)
		for (r = 0; r < N; r++)
			memcpy(out + (size_t)r * OC, b, (size_t)OC * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f,
	    in, C, w, C, b != NULL ? 1.0f : 0.0f, out, OC);
}

static GPT_HOT void
sum_rows(float *db, const float *dout, int N, int OC)
{
	int r, j;

	memset(db, 0, (size_t)OC * sizeof(float));
	for (r = 0; r < N; r++) {
		const float *d = dout + (size_t)r * OC;

		for (j = 0; j < OC; j++)
			db[j] += d[j];
	}
}

void
gpt_matmul_backward(float *din, float *dw, float *db, const float *dout,
    const float *in, const float *w, int N, int C, int OC)
{
	/* dw (OC, C) = dout^T (OC, N) . in (N, C) */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f,
	    dout, OC, in, C, 0.0f, dw, C);
	if (db != NULL)
		sum_rows(db, dout, N, OC);
	/* din (N, C) = dout (N, OC) . w (OC, C) */
	if (din != NULL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
		    1.0f, dout, OC, w, C, 0.0f, din, C);
}

/*
 * Causal attention reads no score above the diagonal, so it computes
 * none: rows go a tile at a time, and a tile of rows [i0, i0 + m) needs
 * the columns [0, i0 + m) alone; what lies above the diagonal inside
 * that width is zero, and nothing right of it is written or read.  With
 * tiles of 32 at a context of 128 that is 10 of 16 blocks of the work.
 */
#define ATT_TILE 32

/* Rows [i0, i0 + m) of the scores a (T, T): softmax over j <= i, zero
 * for i < j < i0 + m. */
static GPT_HOT void
causal_softmax(float *a, int T, int i0, int m)
{
	int i, j, w = i0 + m;

	for (i = i0; i < w; i++) {
		float *r = a + (size_t)i * T, max = r[0], sum, inv;

		for (j = 1; j <= i; j++)
			max = r[j] > max ? r[j] : max;
		for (j = 0; j <= i; j++)
			r[j] = fast_expf(r[j] - max);
		sum = lane_dot(r, NULL, i + 1);
		inv = 1.0f / sum;
		for (j = 0; j <= i; j++)
			r[j] *= inv;
		for (j = i + 1; j < w; j++)
			r[j] = 0;
	}
}

/*
 * Attention's products are small (T by T by C/H, one head of one window
 * at a time): OpenBLAS's threads cost more to wake and join there than
 * they save, so they run on one; the large products keep all.  A
 * product's bits do not depend on its threads.
 */
static int
blas_one(void)
{
	int n = openblas_get_num_threads();

	if (n > 1)
		openblas_set_num_threads(1);
	return n;
}

static void
blas_back(int n)
{
	if (n > 1)
		openblas_set_num_threads(n);
}

/* One head of one window: q, k, v rows of stride C3, out of stride C,
 * a (T, T). */
static void
head_forward(float *out, float *a, const float *q, int T, int C, int hs,
    float scale)
{
	int i0, m, C3 = 3 * C;

	for (i0 = 0; i0 < T; i0 += m) {
		m = T - i0 < ATT_TILE ? T - i0 : ATT_TILE;
		/* a (m, i0 + m) = q (m, hs) . k^T, scaled */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i0 + m,
		    hs, scale, q + (size_t)i0 * C3, C3, q + C, C3, 0.0f,
		    a + (size_t)i0 * T, T);
		causal_softmax(a, T, i0, m);
		/* out (m, hs) = a (m, i0 + m) . v (i0 + m, hs) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs,
		    i0 + m, 1.0f, a + (size_t)i0 * T, T, q + 2 * C, C3, 0.0f,
		    out + (size_t)i0 * C, C);
	}
}

void
gpt_attention_forward(float *out, float *att, const float *qkv, int B, int T,
    int C, int H)
{
	int b, h, hs = C / H, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hs);

	int nt = blas_one();

	for (b = 0; b < B; b++)
		for (h = 0; h < H; h++)
			head_forward(out + (size_t)b * T * C + h * hs,
			    att + ((size_t)b * H + h) * T * T,
			    qkv + (size_t)b * T * C3 + h * hs, T, C, hs, scale);
	blas_back(nt);
}

/* The softmax's backward in place on rows [i0, i0 + m) of da:
 * a * (da - sum(a * da)), zero above the diagonal as in a. */
static GPT_HOT void
causal_softmax_backward(float *da, const float *a, int T, int i0, int m)
{
	int i, j, w = i0 + m;

	for (i = i0; i < w; i++) {
		float *d = da + (size_t)i * T, dot;
		const float *r = a + (size_t)i * T;

		dot = lane_dot(r, d, i + 1);
		for (j = 0; j <= i; j++)
			d[j] = r[j] * (d[j] - dot);
		for (j = i + 1; j < w; j++)
			d[j] = 0;
	}
}

/* One head of one window, as head_forward; ds (T, T) scratch.  By rows:
 * da = d . v^T, ds its softmax backward, dq = ds . k; by columns, where
 * only rows [j0, T) reach them: dv = a^T . d, dk = ds^T . q. */
static void
head_backward(float *dq, float *ds, const float *d, const float *q,
    const float *a, int T, int C, int hs, float scale)
{
	int i0, m, C3 = 3 * C;

	for (i0 = 0; i0 < T; i0 += m) {
		m = T - i0 < ATT_TILE ? T - i0 : ATT_TILE;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i0 + m,
		    hs, 1.0f, d + (size_t)i0 * C, C, q + 2 * C, C3, 0.0f,
		    ds + (size_t)i0 * T, T);
		causal_softmax_backward(ds, a, T, i0, m);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs,
		    i0 + m, scale, ds + (size_t)i0 * T, T, q + C, C3, 0.0f,
		    dq + (size_t)i0 * C3, C3);
	}
	for (i0 = 0; i0 < T; i0 += m) {
		m = T - i0 < ATT_TILE ? T - i0 : ATT_TILE;
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, hs,
		    T - i0, 1.0f, a + (size_t)i0 * T + i0, T, d + (size_t)i0 * C,
		    C, 0.0f, dq + 2 * C + (size_t)i0 * C3, C3);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, hs,
		    T - i0, scale, ds + (size_t)i0 * T + i0, T,
		    q + (size_t)i0 * C3, C3, 0.0f, dq + C + (size_t)i0 * C3, C3);
	}
}

void
gpt_attention_backward(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H)
{
	int b, h, hs = C / H, C3 = 3 * C;
	float scale = 1.0f / sqrtf((float)hs);

	int nt = blas_one();

	for (b = 0; b < B; b++)
		for (h = 0; h < H; h++) {
			size_t o = (size_t)b * T * C3 + h * hs;

			head_backward(dqkv + o, scratch,
			    dout + (size_t)b * T * C + h * hs, qkv + o,
			    att + ((size_t)b * H + h) * T * T, T, C, hs, scale);
		}
	blas_back(nt);
}

/* 0.5 x (1 + tanh(u)) is x sigmoid(2u), u = k (x + 0.044715 x^3) */
GPT_HOT void
gpt_gelu_forward(float *out, const float *in, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		float x = in[i], u = GELU_K * (x + 0.044715f * x * x * x);

		out[i] = x / (1.0f + fast_expf(-2.0f * u));
	}
}

GPT_HOT void
gpt_gelu_backward(float *din, const float *dout, const float *in, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		float x = in[i], u = GELU_K * (x + 0.044715f * x * x * x);
		float s = 1.0f / (1.0f + fast_expf(-2.0f * u));
		float g = s + x * 2.0f * s * (1.0f - s) * GELU_K *
		    (1.0f + 3.0f * 0.044715f * x * x);

		din[i] = g * dout[i];
	}
}

static GPT_HOT float
row_max(const float *z, int V)
{
	float m = z[0];
	int j;

	for (j = 1; j < V; j++)
		m = z[j] > m ? z[j] : m;
	return m;
}

static GPT_HOT float
row_exp(float *p, const float *z, float max, int V)
{
	int j;

	for (j = 0; j < V; j++)
		p[j] = fast_expf(z[j] - max);
	return lane_dot(p, NULL, V);
}

static GPT_HOT void
row_scale(float *p, float f, int V)
{
	int j;

	for (j = 0; j < V; j++)
		p[j] *= f;
}

double
gpt_xent_forward(float *probs, const float *logits, const uint8_t *y, int N,
    int V)
{
	double loss = 0;
	int r;

	for (r = 0; r < N; r++) {
		const float *z = logits + (size_t)r * V;
		float *p = probs + (size_t)r * V;
		float max = row_max(z, V), zy = z[y[r]];
		float s = row_exp(p, z, max, V);

		loss += log((double)s) - ((double)zy - max);
		row_scale(p, 1.0f / s, V);
	}
	return loss;
}

void
gpt_xent_backward(float *dlogits, const float *probs, const uint8_t *y, int N,
    int V, float scale)
{
	int r, j;

	for (r = 0; r < N; r++) {
		float *d = dlogits + (size_t)r * V;
		const float *p = probs + (size_t)r * V;

		for (j = 0; j < V; j++)
			d[j] = p[j] * scale;
		d[y[r]] -= scale;
	}
}

/* ---- the model ---- */

int
gpt_init(struct gpt *g, const struct arch *a, int maxbatch, fed_err *e)
{
	struct gpt_acts *x = &g->act;
	size_t N, L, C;

	memset(g, 0, sizeof(*g));
	if (a->kind != ARCH_GPT)
		return fed_errf(e, "not a gpt architecture");
	if (maxbatch < 1)
		return fed_errf(e, "batch size must be at least 1");
	g->a = *a;
	g->L = a->nlayers;
	g->C = a->dims[0];
	g->H = a->dims[1];
	g->T = a->dims[2];
	g->maxbatch = maxbatch;
	N = (size_t)maxbatch * g->T;
	L = (size_t)g->L;
	C = (size_t)g->C;
	x->ln1 = xcalloc(L * N * C, sizeof(float));
	x->ln1m = xcalloc(L * N, sizeof(float));
	x->ln1r = xcalloc(L * N, sizeof(float));
	x->qkv = xcalloc(L * N * 3 * C, sizeof(float));
	x->atty = xcalloc(L * N * C, sizeof(float));
	x->att = xcalloc(L * N * g->H * g->T, sizeof(float));
	x->res2 = xcalloc(L * N * C, sizeof(float));
	x->ln2 = xcalloc(L * N * C, sizeof(float));
	x->ln2m = xcalloc(L * N, sizeof(float));
	x->ln2r = xcalloc(L * N, sizeof(float));
	x->fch = xcalloc(L * N * 4 * C, sizeof(float));
	x->fchg = xcalloc(L * N * 4 * C, sizeof(float));
	x->res3 = xcalloc(L * N * C, sizeof(float));
	x->enc = xcalloc(N * C, sizeof(float));
	x->lnf = xcalloc(N * C, sizeof(float));
	x->lnfm = xcalloc(N, sizeof(float));
	x->lnfr = xcalloc(N, sizeof(float));
	x->probs = xcalloc(N * GPT_VOCAB, sizeof(float));
	x->dres = xcalloc(N * C, sizeof(float));
	x->dbuf1 = xcalloc(N * 4 * C, sizeof(float));
	x->dbuf2 = xcalloc(N * 4 * C, sizeof(float));
	x->scratch = xcalloc((size_t)g->T * g->T, sizeof(float));
	x->targets = xcalloc(N, 1);
	return 0;
}

void
gpt_free(struct gpt *g)
{
	struct gpt_acts *x = &g->act;
	void *all[] = { x->ln1, x->ln1m, x->ln1r, x->qkv, x->atty, x->att,
	    x->res2, x->ln2, x->ln2m, x->ln2r, x->fch, x->fchg, x->res3,
	    x->enc, x->lnf, x->lnfm, x->lnfr, x->probs, x->dres, x->dbuf1,
	    x->dbuf2, x->scratch, x->targets };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]);
	memset(g, 0, sizeof(*g));
}

static GPT_HOT void
add_into(float *out, const float *a, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++)
		out[i] += a[i];
}

/* Forward through the blocks and the final LayerNorm, for N = B * T. */
static void
forward_body(struct gpt *g, const struct gpt_params *p, const uint8_t *tok,
    int B, int T)
{
	struct gpt_acts *x = &g->act;
	size_t N = (size_t)B * T, C = (size_t)g->C, l;
	size_t sc = (size_t)g->maxbatch * g->T * C;      /* layer strides */
	size_t satt = (size_t)g->maxbatch * g->H * g->T * g->T;
	const float *res = x->enc;

	gpt_encoder_forward(x->enc, tok, p->wte, p->wpe, B, T, g->C);
	for (l = 0; l < (size_t)g->L; l++) {
		const struct gpt_block *h = &p->h[l];
		float *ln1 = x->ln1 + l * sc, *qkv = x->qkv + 3 * l * sc;
		float *atty = x->atty + l * sc, *res2 = x->res2 + l * sc;
		float *ln2 = x->ln2 + l * sc, *fch = x->fch + 4 * l * sc;
		float *fchg = x->fchg + 4 * l * sc, *res3 = x->res3 + l * sc;
		size_t sm = l * (size_t)g->maxbatch * g->T;

		gpt_layer_norm_forward(ln1, x->ln1m + sm, x->ln1r + sm, res, h->ln1w,
		    h->ln1b, (int)N, g->C);
		gpt_matmul_forward(qkv, ln1, h->qkvw, h->qkvb, (int)N, g->C,
		    3 * g->C);
		gpt_attention_forward(atty, x->att + l * satt, qkv, B, T, g->C,
		    g->H);
		gpt_matmul_forward(res2, atty, h->projw, h->projb, (int)N, g->C,
		    g->C);
		add_into(res2, res, (int64_t)(N * C));
		gpt_layer_norm_forward(ln2, x->ln2m + sm, x->ln2r + sm, res2,
		    h->ln2w, h->ln2b, (int)N, g->C);
		gpt_matmul_forward(fch, ln2, h->fcw, h->fcb, (int)N, g->C, 4 * g->C);
		gpt_gelu_forward(fchg, fch, (int64_t)(N * 4 * C));
		gpt_matmul_forward(res3, fchg, h->fcprojw, h->fcprojb, (int)N,
		    4 * g->C, g->C);
		add_into(res3, res2, (int64_t)(N * C));
		res = res3;
	}
	gpt_layer_norm_forward(x->lnf, x->lnfm, x->lnfr, res, p->lnfw, p->lnfb,
	    (int)N, g->C);
	gpt_matmul_forward(x->probs, x->lnf, p->head, NULL, (int)N, g->C,
	    GPT_VOCAB);
}

double
gpt_forward(struct gpt *g, const float *params, const uint8_t *tok, int B,
    int T)
{
	struct gpt_params p;
	int b, t;

	gpt_carve(&p, &g->a, (float *)params);
	for (b = 0; b < B; b++)
		for (t = 0; t < T; t++)
			g->act.targets[b * T + t] = tok[b * (T + 1) + t + 1];
	forward_body(g, &p, tok, B, T);
	return gpt_xent_forward(g->act.probs, g->act.probs, g->act.targets, B * T,
	    GPT_VOCAB);
}

void
gpt_logits(struct gpt *g, const float *params, const uint8_t *tok, int T)
{
	struct gpt_params p;
	float *z = g->act.probs + (size_t)(T - 1) * GPT_VOCAB;
	float max;

	gpt_carve(&p, &g->a, (float *)params);
	forward_body(g, &p, tok, 1, T);
	max = row_max(z, GPT_VOCAB);
	row_scale(z, 1.0f / row_exp(z, z, max, GPT_VOCAB), GPT_VOCAB);
}

/* Backward through block l; x->dres holds the gradient of its output
 * and gets that of its input. */
static void
block_backward(struct gpt *g, struct gpt_block *dh, const struct gpt_block *h,
    int l, const float *res, int B, int T)
{
	struct gpt_acts *x = &g->act;
	size_t sc = (size_t)g->maxbatch * g->T * g->C;
	size_t satt = (size_t)g->maxbatch * g->H * g->T * g->T;
	size_t sm = (size_t)l * g->maxbatch * g->T, lc = (size_t)l * sc;
	int N = B * T, C = g->C;
	float *d1 = x->dbuf1, *d2 = x->dbuf2;

	gpt_matmul_backward(d1, dh->fcprojw, dh->fcprojb, x->dres,
	    x->fchg + 4 * lc, h->fcprojw, N, 4 * C, C);
	gpt_gelu_backward(d1, d1, x->fch + 4 * lc, (int64_t)N * 4 * C);
	gpt_matmul_backward(d2, dh->fcw, dh->fcb, d1, x->ln2 + lc, h->fcw, N, C,
	    4 * C);
	gpt_layer_norm_backward(x->dres, dh->ln2w, dh->ln2b, d2, x->res2 + lc,
	    h->ln2w, x->ln2m + sm, x->ln2r + sm, N, C);
	gpt_matmul_backward(d2, dh->projw, dh->projb, x->dres, x->atty + lc,
	    h->projw, N, C, C);
	gpt_attention_backward(d1, x->scratch, d2, x->qkv + 3 * lc,
	    x->att + (size_t)l * satt, B, T, C, g->H);
	gpt_matmul_backward(d2, dh->qkvw, dh->qkvb, d1, x->ln1 + lc, h->qkvw, N,
	    C, 3 * C);
	gpt_layer_norm_backward(x->dres, dh->ln1w, dh->ln1b, d2, res, h->ln1w,
	    x->ln1m + sm, x->ln1r + sm, N, C);
}

void
gpt_backward(struct gpt *g, float *grad, const float *params,
    const uint8_t *tok, int B, int T)
{
	struct gpt_acts *x = &g->act;
	struct gpt_params p, d;
	size_t sc = (size_t)g->maxbatch * g->T * g->C;
	int N = B * T, l;

	gpt_carve(&p, &g->a, (float *)params);
	gpt_carve(&d, &g->a, grad);
	/* positions past T get no gradient */
	memset(d.wpe, 0, (size_t)g->T * g->C * sizeof(float));
	gpt_xent_backward(x->probs, x->probs, x->targets, N, GPT_VOCAB,
	    1.0f / (float)N);
	gpt_matmul_backward(x->dbuf1, d.head, NULL, x->probs, x->lnf, p.head, N,
	    g->C, GPT_VOCAB);
	memset(x->dres, 0, (size_t)N * g->C * sizeof(float));
	gpt_layer_norm_backward(x->dres, d.lnfw, d.lnfb, x->dbuf1,
	    g->L > 0 ? x->res3 + (size_t)(g->L - 1) * sc : x->enc, p.lnfw,
	    x->lnfm, x->lnfr, N, g->C);
	for (l = g->L - 1; l >= 0; l--)
		block_backward(g, &d.h[l], &p.h[l], l, l > 0 ?
		    x->res3 + (size_t)(l - 1) * sc : x->enc, B, T);
	gpt_encoder_backward(d.wte, d.wpe, x->dres, tok, B, T, g->C);
}

/* ---- sampling ---- */

/* A byte from probabilities p at temperature temp (0: the likeliest). */
static uint8_t
draw(const float *p, double temp, rng_t *r)
{
	double q[GPT_VOCAB], sum = 0, u;
	int j, best = 0;

	for (j = 1; j < GPT_VOCAB; j++)
		best = p[j] > p[best] ? j : best;
	if (temp <= 0)
		return (uint8_t)best;
	for (j = 0; j < GPT_VOCAB; j++) {
		q[j] = p[j] > 0 ? exp(log((double)p[j] / p[best]) / temp) : 0;
		sum += q[j];
	}
	u = rng_uniform(r) * sum;
	for (j = 0; j < GPT_VOCAB - 1; j++) {
		if (u < q[j])
			break;
		u -= q[j];
	}
	return (uint8_t)j;
}

int
gpt_sample(const struct arch *a, const float *params, const uint8_t *prompt,
    int len, uint8_t *out, int n, double temp, rng_t *r, fed_err *e)
{
	struct gpt g;
	int T = a->dims[2], k, ctx;
	uint8_t *buf;
	const float *p;

	if (gpt_init(&g, a, 1, e) < 0)
		return -1;
	buf = xmalloc((size_t)T + 1);
	/* an empty prompt starts after a newline, as at a line's start */
	ctx = len > 0 ? (len < T ? len : T) : 1;
	if (len > 0)
		memcpy(buf, prompt + len - ctx, (size_t)ctx);
	else
		buf[0] = '\n';
	for (k = 0; k < n; k++) {
		gpt_logits(&g, params, buf, ctx);
		p = g.act.probs + (size_t)(ctx - 1) * GPT_VOCAB;
		out[k] = draw(p, temp, r);
		if (ctx == T) {
			memmove(buf, buf + 1, (size_t)T - 1);
			ctx--;
		}
		buf[ctx++] = out[k];
	}
	free(buf);
	gpt_free(&g);
	return 0;
}
