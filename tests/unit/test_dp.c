/*
 * test_dp: the RDP accountant against an independent computation (the
 * binomial closed form for integer orders summed directly, numerical
 * integration of the Rényi divergence for fractional ones) and against
 * published figures; the noise multiplier search; DP-SGD's per-example
 * clipping against brute-force per-example gradients; Poisson batch
 * sizes and noise statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "dpsgd.h"
#include "nn.h"
#include "rng.h"
#include "t.h"
#include "tnum.h"

/* A_alpha = sum_k C(alpha,k) (1-q)^(alpha-k) q^k exp((k^2-k)/(2 s^2)),
 * plain doubles and Pascal's triangle; rdp = log(A) / (alpha - 1). */
static double
rdp_closed(double q, double s, int alpha)
{
	double c[80], a = 0;
	int k, j;

	memset(c, 0, sizeof(c));
	c[0] = 1;
	for (j = 1; j <= alpha; j++)
		for (k = j; k > 0; k--)
			c[k] += c[k - 1];
	for (k = 0; k <= alpha; k++)
		a += c[k] * pow(1 - q, alpha - k) * pow(q, k) *
		    exp(((double)k * k - k) / (2 * s * s));
	return log(a) / (alpha - 1);
}

/* The definition: A = E_{z ~ N(0,s^2)} [((1-q) + q exp((2z-1)/(2s^2)))^a],
 * by the trapezoid rule over [-40s, 40s]. */
static double
rdp_integral(double q, double s, double alpha)
{
	double lo = -40 * s, hi = 40 * s, h, z, f, a = 0;
	int i, n = 400000;

	h = (hi - lo) / n;
	for (i = 0; i <= n; i++) {
		z = lo + i * h;
		f = exp(-z * z / (2 * s * s)) / (s * sqrt(2 * M_PI)) *
		    pow(1 - q + q * exp((2 * z - 1) / (2 * s * s)), alpha);
		a += (i == 0 || i == n ? 0.5 : 1) * f;
	}
	return log(a * h) / (alpha - 1);
}

static void
test_accountant_exact(void)
{
	static const struct { double q, s; int a; } c[] = {
		{ 0.01, 1.0, 2 }, { 0.01, 1.0, 8 }, { 0.004, 1.1, 11 },
		{ 0.1, 2.0, 32 }, { 0.05, 0.8, 5 }, { 0.3, 4.0, 64 },
		{ 0.02, 1.5, 20 },
	};
	static const struct { double q, s, a; } f[] = {
		{ 0.01, 1.0, 1.5 }, { 0.05, 1.2, 2.5 }, { 0.1, 2.0, 3.5 },
		{ 0.004, 1.1, 4.5 }, { 0.02, 0.9, 1.25 },
	};
	char name[128];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(name, sizeof(name), "rdp: integer order %d, q %g, "
		    "sigma %g = closed form", c[i].a, c[i].q, c[i].s);
		T_NEAR(name, dp_rdp_step(c[i].q, c[i].s, c[i].a),
		    rdp_closed(c[i].q, c[i].s, c[i].a), 1e-9);
	}
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(name, sizeof(name), "rdp: order %g, q %g, sigma %g "
		    "= integral", f[i].a, f[i].q, f[i].s);
		T_NEAR(name, dp_rdp_step(f[i].q, f[i].s, f[i].a) /
		    rdp_integral(f[i].q, f[i].s, f[i].a), 1, 1e-5);
	}
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(name, sizeof(name), "rdp: integer order %d = "
		    "integral", c[i].a);
		T_NEAR(name, dp_rdp_step(c[i].q, c[i].s, c[i].a) /
		    rdp_integral(c[i].q, c[i].s, c[i].a), 1, 1e-5);
	}
	T_NEAR("rdp: q 1 is the gaussian a/(2s^2)", dp_rdp_step(1, 2, 8),
	    8 / 8.0, 1e-12);
	T_OK("rdp: q 0 costs nothing", dp_rdp_step(0, 1, 8) == 0);
	T_OK("rdp: more noise, less rdp", dp_rdp_step(0.01, 2, 8) <
	    dp_rdp_step(0.01, 1, 8));
}

/* TF Privacy's orders: 1.1 .. 10.9 by 0.1, 12 .. 63, 128, 256, 512. */
static int
tf_orders(double *o)
{
	int n = 0, x;

	for (x = 1; x < 100; x++)
		o[n++] = 1 + x / 10.0;
	for (x = 12; x < 64; x++)
		o[n++] = x;
	o[n++] = 128;
	o[n++] = 256;
	o[n++] = 512;
	return n;
}

static double
eps_with(const double *o, int n, double q, double s, int64_t steps,
    double delta, enum dp_conversion c)
{
	double rdp[200];

	memset(rdp, 0, sizeof(rdp));
	dp_rdp_add(rdp, o, n, q, s, steps);
	return dp_epsilon(o, rdp, n, delta, c, NULL);
}

/*
 * Published: the TF Privacy tutorials README (MNIST, N 60000, batch 256,
 * delta 1e-5, steps ceil(epochs N / batch), its orders, the standard
 * conversion): sigma 1.1 for 60 epochs eps 3.01, 1.3 for 15 epochs 1.19,
 * 0.7 for 45 epochs 7.10; compute_dp_sgd_privacy's docstring: sigma 1.12
 * for 60 epochs 2.92.  Opacus' compute_dp_sgd_privacy documentation
 * (improved conversion): q 0.01, sigma 1.0, 300 steps, orders 2 5 10 20
 * 100, eps 2.39.  Within 1%, with their orders and with ours.
 */
static void
test_published(void)
{
	static const struct { double s; int ep; double eps; } tf[] = {
		{ 1.1, 60, 3.01 }, { 1.3, 15, 1.19 }, { 0.7, 45, 7.10 },
		{ 1.12, 60, 2.92 },
	};
	static const double op[] = { 2, 5, 10, 20, 100 };
	double o[200], q = 256.0 / 60000, e;
	char name[128];
	int64_t steps;
	size_t i;
	int n = tf_orders(o);

	for (i = 0; i < sizeof(tf) / sizeof(tf[0]); i++) {
		steps = (int64_t)ceil(tf[i].ep * 60000.0 / 256);
		e = eps_with(o, n, q, tf[i].s, steps, 1e-5, DP_CONV_STANDARD);
		snprintf(name, sizeof(name), "published: tf privacy sigma "
		    "%g, %d epochs: eps %.4f ~ %.2f", tf[i].s, tf[i].ep, e,
		    tf[i].eps);
		T_NEAR(name, e / tf[i].eps, 1, 0.01);
		e = dp_sgm_epsilon(q, tf[i].s, steps, 1e-5, DP_CONV_STANDARD);
		snprintf(name, sizeof(name), "published: our orders, sigma "
		    "%g, %d epochs: eps %.4f ~ %.2f", tf[i].s, tf[i].ep, e,
		    tf[i].eps);
		T_NEAR(name, e / tf[i].eps, 1, 0.01);
	}
	e = eps_with(op, 5, 0.01, 1.0, 300, 1e-5, DP_CONV_BALLE);
	snprintf(name, sizeof(name), "published: opacus q 0.01 sigma 1 300 "
	    "steps: eps %.4f ~ 2.39", e);
	T_NEAR(name, e / 2.39, 1, 0.01);
	T_OK("conversion: balle et al. is tighter",
	    dp_sgm_epsilon(q, 1.1, 14063, 1e-5, DP_CONV_BALLE) <
	    dp_sgm_epsilon(q, 1.1, 14063, 1e-5, DP_CONV_STANDARD));
}

static void
test_sigma_search(void)
{
	double q = 256.0 / 60000, s, e;
	const double target[] = { 1, 3, 8 };
	char name[128];
	int i;

	for (i = 0; i < 3; i++) {
		s = dp_sigma_for_epsilon(target[i], 1e-5, q, 5000,
		    DP_CONV_BALLE);
		e = dp_sgm_epsilon(q, s, 5000, 1e-5, DP_CONV_BALLE);
		snprintf(name, sizeof(name), "sigma search: eps %g -> sigma "
		    "%.4f -> eps %.5f", target[i], s, e);
		T_OK(name, s > 0 && e <= target[i] && e > target[i] * 0.999);
	}
	s = dp_sigma_for_epsilon(3.01, 1e-5, q, 14063, DP_CONV_STANDARD);
	T_NEAR("sigma search: the tf tutorial's 3.01 gives sigma 1.1", s, 1.1,
	    0.01);
	T_OK("sigma search: impossible target refused",
	    dp_sigma_for_epsilon(1e-9, 1e-5, 1, 1000000, DP_CONV_BALLE) < 0);
}

/* Brute force: each example alone through nn_backward, clipped, summed. */
static void
brute_clipped(const struct arch *a, const float *w, const float *x,
    const int32_t *y, int B, double C, double *sum)
{
	struct nn_net net;
	uint64_t np = arch_nparams(a), i;
	float *g = xcalloc(np, sizeof(float));
	double nrm;
	int b;
	fed_err e;

	nn_net_init(&net, a, 1, &e);
	memset(sum, 0, np * sizeof(double));
	for (b = 0; b < B; b++) {
		memcpy(net.act[0], x + (size_t)b * a->dims[0],
		    (size_t)a->dims[0] * sizeof(float));
		nn_forward(&net, w, y + b, 1, NULL, NULL);
		nn_backward(&net, g, w, y + b, 1);
		nrm = 0;
		for (i = 0; i < np; i++)
			nrm += (double)g[i] * g[i];
		nrm = sqrt(nrm);
		for (i = 0; i < np; i++)
			sum[i] += g[i] * (nrm > C ? C / nrm : 1);
	}
	nn_net_free(&net);
	free(g);
}

static void
test_clipping(const char *spec, double C)
{
	struct dpsgd_opts o = { C, 0 };
	struct dpsgd s;
	struct nn_net net;
	struct arch a;
	fed_err e;
	int B = 37, b;
	uint64_t np, i;
	float *w, *x, *g;
	double *want, err = 0, scale = 0;
	int32_t y[37];
	char name[128];

	arch_parse(spec, &a, &e);
	np = arch_nparams(&a);
	w = xmalloc(np * sizeof(float));
	g = xcalloc(np, sizeof(float));
	want = xmalloc(np * sizeof(double));
	x = xmalloc((size_t)B * a.dims[0] * sizeof(float));
	arch_init(&a, w, &R);
	randn(x, (int64_t)B * a.dims[0], 1.5);
	for (b = 0; b < B; b++)
		y[b] = (int32_t)rng_below(&R, (uint64_t)a.dims[a.nlayers]);
	brute_clipped(&a, w, x, y, B, C, want);
	nn_net_init(&net, &a, B, &e);
	T_OK("clip: dpsgd init", dpsgd_init(&s, &a, &o, 1000, B, B, &e) == 0);
	memcpy(net.act[0], x, (size_t)B * a.dims[0] * sizeof(float));
	dpsgd_clipped_sum(&s, &net, g, w, y, B);
	for (i = 0; i < np; i++) {
		err = fmax(err, fabs(g[i] - want[i]));
		scale = fmax(scale, fabs(want[i]));
	}
	snprintf(name, sizeof(name), "clip: %s, C %g: norm trick = brute "
	    "force (max err %.2g of %.2g)", spec, C, err, scale);
	T_OK(name, err <= 1e-5 * (scale > 1 ? scale : 1));
	dpsgd_free(&s);
	nn_net_free(&net);
	free(w);
	free(g);
	free(want);
	free(x);
}

/* A data set of n rows of f Gaussian features, labels mod classes. */
static void
fake_data(struct dataset *d, float *x, int32_t *y, int64_t n, int f, int c)
{
	int64_t i;

	randn(x, n * f, 1);
	for (i = 0; i < n; i++)
		y[i] = (int32_t)(i % c);
	mkdata(d, x, y, n, f, c);
}

/* Poisson batches: size mean n q and variance n q (1 - q). */
static void
test_sampling(void)
{
	enum { N = 5000, F = 3, STEPS = 400 };
	struct dpsgd_opts o = { 1, 0 };
	struct dataset d;
	struct dpsgd s;
	struct nn_net net;
	struct arch a;
	float *x = xmalloc((size_t)N * F * sizeof(float)), *w, *g;
	int32_t *y = xmalloc(N * sizeof(int32_t)), yb[64];
	double m = 0, v = 0, q;
	int64_t rows;
	rng_t r;
	fed_err e;
	int i;

	fake_data(&d, x, y, N, F, 2);
	arch_parse("softmax:3-2", &a, &e);
	w = xcalloc(arch_nparams(&a), sizeof(float));
	g = xcalloc(arch_nparams(&a), sizeof(float));
	nn_net_init(&net, &a, 64, &e);
	dpsgd_init(&s, &a, &o, N, 500, 64, &e);
	q = s.q;
	rng_seed(&r, 5);
	for (i = 0; i < STEPS; i++) {
		dpsgd_step(&s, &net, g, w, &d, yb, &r, &rows);
		m += (double)rows;
		v += (double)rows * rows;
	}
	m /= STEPS;
	v = v / STEPS - m * m;
	T_NEAR("poisson: mean batch n q", m / (N * q), 1, 0.01);
	T_NEAR("poisson: batch variance n q (1-q)", v / (N * q * (1 - q)), 1,
	    0.2);
	dpsgd_free(&s);
	nn_net_free(&net);
	free(d.count);
	free(x);
	free(y);
	free(w);
	free(g);
}

/* q 1 (the whole set each step): two runs differ only by their noise,
 * of std sqrt(2) sigma C / n a coordinate. */
static void
test_noise(void)
{
	enum { N = 50, F = 20 };
	struct dpsgd_opts o = { 0.5, 1.3 };
	struct dataset d;
	struct dpsgd s;
	struct nn_net net;
	struct arch a;
	float x[N * F], *w, *g1, *g2;
	int32_t y[N], yb[N];
	double m = 0, v = 0, k = 0, t, sd;
	int64_t rows;
	uint64_t np, i;
	rng_t r;
	fed_err e;

	fake_data(&d, x, y, N, F, 4);
	arch_parse("mlp:20-100-100-4", &a, &e);
	np = arch_nparams(&a);
	w = xmalloc(np * sizeof(float));
	g1 = xmalloc(np * sizeof(float));
	g2 = xmalloc(np * sizeof(float));
	arch_init(&a, w, &R);
	nn_net_init(&net, &a, N, &e);
	dpsgd_init(&s, &a, &o, N, N, N, &e);
	rng_seed(&r, 1);
	dpsgd_step(&s, &net, g1, w, &d, yb, &r, &rows);
	T_OK("noise: q 1 takes every row", rows == N);
	dpsgd_step(&s, &net, g2, w, &d, yb, &r, &rows);
	sd = sqrt(2.0) * o.sigma * o.clip / N;
	for (i = 0; i < np; i++) {
		t = (g1[i] - g2[i]) / sd;
		m += t;
		v += t * t;
		k += t * t * t * t;
	}
	m /= (double)np;
	v /= (double)np;
	k /= (double)np;
	T_NEAR("noise: mean 0", m, 0, 0.02);
	T_NEAR("noise: std sigma C / expected batch", sqrt(v), 1, 0.02);
	T_NEAR("noise: gaussian kurtosis 3", k / (v * v), 3, 0.05);
	dpsgd_free(&s);
	nn_net_free(&net);
	free(d.count);
	free(w);
	free(g1);
	free(g2);
}

static void
test_central(void)
{
	float v[4] = { 3, 4, 0, 0 }, u[2] = { 0.3f, 0.4f };
	float *z = xcalloc(100000, sizeof(float));
	double s = 0, s2 = 0;
	rng_t r;
	int i;

	T_NEAR("central: clip returns the norm", dp_clip_vector(v, 4, 1), 5,
	    1e-9);
	T_NEAR("central: clipped to C", sqrt(v[0] * v[0] + v[1] * v[1]), 1,
	    1e-6);
	dp_clip_vector(u, 2, 1);
	T_OK("central: short vectors stay", u[0] == 0.3f && u[1] == 0.4f);
	rng_seed(&r, 3);
	dp_gaussian_noise(z, 100000, 2.5, &r);
	for (i = 0; i < 100000; i++) {
		s += z[i];
		s2 += (double)z[i] * z[i];
	}
	T_NEAR("central: noise mean 0", s / 100000, 0, 0.03);
	T_NEAR("central: noise std", sqrt(s2 / 100000), 2.5, 0.02);
	free(z);
}

int
main(void)
{
	rng_seed(&R, 42);
	test_accountant_exact();
	test_published();
	test_sigma_search();
	test_clipping("softmax:7-4", 0.3);
	test_clipping("mlp:9-16-12-5", 0.5);
	test_clipping("mlp:9-16-12-5", 100);
	test_sampling();
	test_noise();
	test_central();
	T_DONE();
}
