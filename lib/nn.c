/*
 * nn: dense, ReLU and softmax cross-entropy, forward and backward, with
 * the matrix work in OpenBLAS sgemm.  Gradients are overwritten, never
 * accumulated, so a training step needs no zeroing pass.  Loss sums are
 * kept in double; everything else is float32 like the weights.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <pmmintrin.h>
#endif

#include "nn.h"

void
nn_dense_forward(float *out, const float *in, const float *w, const float *b,
    int B, int in_w, int out_w)
{
	int r;

	for (r = 0; r < B; r++)
		memcpy(out + (size_t)r * out_w, b, (size_t)out_w * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out_w, in_w,
	    1.0f, in, in_w, w, in_w, 1.0f, out, out_w);
}

NN_HOT void
nn_sum_rows(float *db, const float *dout, int B, int out_w)
{
	int r, j;

	memcpy(db, dout, (size_t)out_w * sizeof(float));
	for (r = 1; r < B; r++) {
		const float *d = dout + (size_t)r * out_w;

		for (j = 0; j < out_w; j++)
			db[j] += d[j];
	}
}

void
nn_dense_backward(float *din, float *dw, float *db, const float *dout,
    const float *in, const float *w, int B, int in_w, int out_w)
{
	/* dw (out, in) = dout^T (out, B) . in (B, in) */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_w, in_w, B,
	    1.0f, dout, out_w, in, in_w, 0.0f, dw, in_w);
	nn_sum_rows(db, dout, B, out_w);
	/* din (B, in) = dout (B, out) . w (out, in) */
	if (din != NULL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in_w,
		    out_w, 1.0f, dout, out_w, w, in_w, 0.0f, din, in_w);
}

NN_HOT void
nn_relu_forward(float *out, const float *in, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		float v = in[i];

		out[i] = v > 0.0f ? v : 0.0f;
	}
}

NN_HOT void
nn_relu_backward(float *din, const float *dout, const float *out, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++)
		din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

/* One row: probabilities in place or not, the loss in double. */
static double
softmax_row(float *p, const float *z, int32_t y, int C, int32_t *argmax)
{
	float max = z[0];
	double sum = 0, loss;
	int j, am = 0;

	for (j = 1; j < C; j++)
		if (z[j] > max) {
			max = z[j];
			am = j;
		}
	for (j = 0; j < C; j++)
		sum += exp((double)z[j] - max);
	*argmax = am;
	/* log-sum-exp minus the label's logit */
	loss = log(sum) - ((double)z[y] - max);
	for (j = 0; j < C; j++)
		p[j] = (float)(exp((double)z[j] - max) / sum);
	return loss;
}

double
nn_softmax_xent_forward(float *probs, const float *logits, const int32_t *y,
    int B, int C, int64_t *correct, int32_t *pred)
{
	double loss = 0;
	int64_t ok = 0;
	int32_t am;
	int r;

	for (r = 0; r < B; r++) {
		loss += softmax_row(probs + (size_t)r * C,
		    logits + (size_t)r * C, y[r], C, &am);
		ok += am == y[r];
		if (pred != NULL)
			pred[r] = am;
	}
	if (correct != NULL)
		*correct += ok;
	return loss;
}

void
nn_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *y,
    int B, int C)
{
	float inv = 1.0f / (float)B;
	int r, j;

	for (r = 0; r < B; r++) {
		float *d = dlogits + (size_t)r * C;
		const float *p = probs + (size_t)r * C;

		for (j = 0; j < C; j++)
			d[j] = p[j] * inv;
		d[y[r]] -= inv;
	}
}

int
nn_net_init(struct nn_net *n, const struct arch *a, int maxbatch,
    fed_err *e)
{
	int i;

	memset(n, 0, sizeof(*n));
	if (maxbatch < 1)
		return fed_errf(e, "batch size must be at least 1");
	n->a = *a;
	n->maxbatch = maxbatch;
	/* no gradient flows into the input, so its width does not count */
	for (i = 1; i <= a->nlayers; i++)
		if (a->dims[i] > n->maxwidth)
			n->maxwidth = a->dims[i];
	for (i = 0; i <= a->nlayers; i++)
		n->act[i] = xcalloc((size_t)maxbatch * a->dims[i],
		    sizeof(float));
	for (i = 0; i < 2; i++)
		n->grad[i] = xcalloc((size_t)maxbatch * n->maxwidth,
		    sizeof(float));
	return 0;
}

void
nn_net_free(struct nn_net *n)
{
	int i;

	for (i = 0; i <= ARCH_MAXLAYERS; i++)
		free(n->act[i]);
	free(n->grad[0]);
	free(n->grad[1]);
	memset(n, 0, sizeof(*n));
}

double
nn_forward(struct nn_net *n, const float *params, const int32_t *y, int B,
    int64_t *correct, int32_t *pred)
{
	return nn_forward_from(n, params, y, B, 0, correct, pred);
}

double
nn_forward_from(struct nn_net *n, const float *params, const int32_t *y,
    int B, int first, int64_t *correct, int32_t *pred)
{
	const struct arch *a = &n->a;
	const float *p = params;
	int i, L = a->nlayers;

	for (i = 0; i < first; i++)
		p += (size_t)a->dims[i] * a->dims[i + 1] + a->dims[i + 1];
	for (i = first; i < L; i++) {
		int in = a->dims[i], out = a->dims[i + 1];
		const float *w = p, *b = p + (size_t)in * out;

		nn_dense_forward(n->act[i + 1], n->act[i], w, b, B, in, out);
		if (i < L - 1)
			nn_relu_forward(n->act[i + 1], n->act[i + 1],
			    (int64_t)B * out);
		p = b + out;
	}
	return nn_softmax_xent_forward(n->act[L], n->act[L], y, B, a->dims[L],
	    correct, pred);
}

void
nn_backward(struct nn_net *n, float *g, const float *params,
    const int32_t *y, int B)
{
	nn_backward_to(n, g, params, y, B, 0);
}

float *
nn_backward_to(struct nn_net *n, float *g, const float *params,
    const int32_t *y, int B, int first)
{
	const struct arch *a = &n->a;
	uint64_t off[ARCH_MAXLAYERS];
	uint64_t o = 0;
	float *dout, *din;
	int i, L = a->nlayers, cur = 0;

	for (i = 0; i < L; i++) {
		off[i] = o;
		o += (uint64_t)a->dims[i] * a->dims[i + 1] + a->dims[i + 1];
	}
	nn_softmax_xent_backward(n->act[L], n->act[L], y, B, a->dims[L]);
	dout = n->act[L];
	for (i = L - 1; i >= first; i--) {
		int in = a->dims[i], out = a->dims[i + 1];
		uint64_t wn = (uint64_t)in * out;

		din = i > 0 ? n->grad[cur] : NULL;
		nn_dense_backward(din, g + off[i], g + off[i] + wn, dout,
		    n->act[i], params + off[i], B, in, out);
		if (din != NULL) {
			nn_relu_backward(din, din, n->act[i], (int64_t)B * in);
			dout = din;
			cur ^= 1;
		}
	}
	return dout;
}

NN_HOT void
nn_scale(float *x, uint64_t n, float f)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		x[i] *= f;
}

const char *
nn_blas_coretype_hint(void)
{
#if defined(__GNUC__) && defined(__x86_64__)
	const char *core = openblas_get_corename();
	static const char *const generic[] = { "Prescott", "Core2", "Penryn",
	    "Nehalem", "Unknown" };
	size_t i;

	for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		if (core != NULL && strcasecmp(core, generic[i]) == 0)
			break;
	if (i == sizeof(generic) / sizeof(generic[0]))
		return NULL;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
#endif
	return NULL;
}

int
nn_blas_threads(int n)
{
	int old = openblas_get_num_threads();

	openblas_set_num_threads(n);
	return old;
}

void
nn_blas_reexec(char *argv[])
{
	const char *core;

	if (getenv("OPENBLAS_CORETYPE") != NULL ||
	    (core = nn_blas_coretype_hint()) == NULL)
		return;
	if (setenv("OPENBLAS_CORETYPE", core, 1) == 0)
		execv("/proc/self/exe", argv);
}

/*
 * Momentum on a weight whose gradient is always zero (a pixel that is
 * blank in every image) decays into denormal floats, which cost a
 * hundred cycles each on x86.  Flushing them to zero keeps steps at full
 * speed; the result stays deterministic.  Returns the previous mode.
 */
unsigned
nn_denormals_off(void)
{
#if defined(__SSE2__)
	unsigned old = _mm_getcsr();

	_mm_setcsr(old | 0x8040);   /* FTZ | DAZ */
	return old;
#else
	return 0;
#endif
}

void
nn_denormals_restore(unsigned old)
{
#if defined(__SSE2__)
	_mm_setcsr(old);
#else
	(void)old;
#endif
}
