/*
 * dp: the RDP accountant of the sampled Gaussian mechanism and the
 * central-DP primitives.  Sums of tiny and huge terms are done in log
 * space; everything is double.  No state: the caller keeps the RDP
 * vector (and a ledger keeps it across runs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

static const double orders[DP_NORDERS] = {
	1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.5, 4, 4.5,
	5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
	21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36,
	37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,
	53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 128, 256,
};

const double *
dp_orders(void)
{
	return orders;
}

const char *
dp_accountant_name(enum dp_conversion c)
{
	if (c == DP_CONV_STANDARD)
		return "rdp of the sampled gaussian (mironov et al. 2019), "
		    "orders 1.25,1.5,1.75,2,2.25,2.5,2.75,3,3.5,4,4.5,5..64,"
		    "128,256; conversion mironov 2017";
	return "rdp of the sampled gaussian (mironov et al. 2019), "
	    "orders 1.25,1.5,1.75,2,2.25,2.5,2.75,3,3.5,4,4.5,5..64,128,256; "
	    "conversion balle et al. 2020";
}

/* log(exp(a) + exp(b)) */
static double
log_add(double a, double b)
{
	double hi = a > b ? a : b, lo = a > b ? b : a;

	if (hi == -INFINITY)
		return -INFINITY;
	return hi + log1p(exp(lo - hi));
}

/* log(exp(a) - exp(b)), a >= b */
static double
log_sub(double a, double b)
{
	if (b == -INFINITY)
		return a;
	if (a <= b)
		return -INFINITY;
	return a + log1p(-exp(b - a));
}

/* log(erfc(x)), also where erfc underflows (x > 26). */
static double
log_erfc(double x)
{
	double r, x2;

	if (x < 25)
		return log(erfc(x));
	/* erfc(x) = exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - ..) */
	x2 = x * x;
	r = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2);
	return -x2 - log(x) - 0.5 * log(M_PI) + log(r);
}

/* log A_alpha for integer alpha: sum_k C(a,k) (1-q)^(a-k) q^k
 * exp((k^2 - k) / (2 sigma^2)) */
static double
log_a_int(double q, double sigma, int alpha)
{
	double la = -INFINITY, lc;
	int k;

	for (k = 0; k <= alpha; k++) {
		lc = lgamma(alpha + 1.0) - lgamma(k + 1.0) -
		    lgamma(alpha - k + 1.0) + k * log(q) +
		    (alpha - k) * log1p(-q);
		la = log_add(la, lc + ((double)k * k - k) /
		    (2 * sigma * sigma));
	}
	return la;
}

/*
 * log A_alpha for fractional alpha: the integral split at z0 where the
 * two mixture densities cross, each half an alternating binomial series
 * (Mironov et al. 2019, Sec. 3.3).
 */
static double
log_a_frac(double q, double sigma, double alpha)
{
	double la0 = -INFINITY, la1 = -INFINITY, z0, lcoef = 0;
	double lt0, lt1, le0, le1, ls0, ls1, j, s2 = sigma * sigma;
	int i, sign = 1;

	z0 = s2 * log(1 / q - 1) + 0.5;
	for (i = 0; i < 100000; i++) {
		if (i > 0) {
			/* C(alpha, i) = C(alpha, i-1) (alpha - i + 1) / i */
			double f = (alpha - i + 1) / i;

			if (f < 0)
				sign = -sign;
			lcoef += log(fabs(f));
		}
		j = alpha - i;
		lt0 = lcoef + i * log(q) + j * log1p(-q);
		lt1 = lcoef + j * log(q) + i * log1p(-q);
		le0 = log(0.5) + log_erfc((i - z0) / (M_SQRT2 * sigma));
		le1 = log(0.5) + log_erfc((z0 - j) / (M_SQRT2 * sigma));
		ls0 = lt0 + ((double)i * i - i) / (2 * s2) + le0;
		ls1 = lt1 + (j * j - j) / (2 * s2) + le1;
		if (sign > 0) {
			la0 = log_add(la0, ls0);
			la1 = log_add(la1, ls1);
		} else {
			la0 = log_sub(la0, ls0);
			la1 = log_sub(la1, ls1);
		}
		if ((ls0 > ls1 ? ls0 : ls1) < -30)
			break;
	}
	return log_add(la0, la1);
}

double
dp_rdp_step(double q, double sigma, double alpha)
{
	double la;

	if (q <= 0)
		return 0;
	if (!(sigma > 0) || !(alpha > 1))
		return INFINITY;
	if (q >= 1)
		return alpha / (2 * sigma * sigma);
	if (alpha == floor(alpha) && alpha <= 4096)
		la = log_a_int(q, sigma, (int)alpha);
	else
		la = log_a_frac(q, sigma, alpha);
	if (isnan(la))
		return INFINITY;
	return la / (alpha - 1);
}

void
dp_rdp_add(double *rdp, const double *ord, int n, double q, double sigma,
    int64_t steps)
{
	int k;

	for (k = 0; k < n; k++)
		rdp[k] += (double)steps * dp_rdp_step(q, sigma, ord[k]);
}

/* (epsilon, delta) from RDP (a, r) by conversion c. */
static double
convert(double a, double r, double delta, enum dp_conversion c)
{
	if (c == DP_CONV_STANDARD)
		return r + log(1 / delta) / (a - 1);
	/* KL bound: delta >= sqrt(1 - exp(-r)) already gives epsilon 0 */
	if (delta * delta + expm1(-r) >= 0)
		return 0;
	return r + log1p(-1 / a) - (log(delta) + log(a)) / (a - 1);
}

double
dp_epsilon(const double *ord, const double *rdp, int n, double delta,
    enum dp_conversion c, double *order)
{
	double best = INFINITY, e;
	int k;

	if (order != NULL)
		*order = NAN;
	if (!(delta > 0 && delta < 1))
		return INFINITY;
	for (k = 0; k < n; k++) {
		if (!(rdp[k] >= 0) || isinf(rdp[k]))
			continue;
		e = convert(ord[k], rdp[k], delta, c);
		if (e < best) {
			best = e;
			if (order != NULL)
				*order = ord[k];
		}
	}
	return best > 0 ? best : 0;
}

double
dp_sgm_epsilon(double q, double sigma, int64_t steps, double delta,
    enum dp_conversion c)
{
	double rdp[DP_NORDERS];

	memset(rdp, 0, sizeof(rdp));
	dp_rdp_add(rdp, orders, DP_NORDERS, q, sigma, steps);
	return dp_epsilon(orders, rdp, DP_NORDERS, delta, c, NULL);
}

/* Epsilon falls as sigma grows: bisect on log sigma. */
double
dp_sigma_for_epsilon(double eps, double delta, double q, int64_t steps,
    enum dp_conversion c)
{
	double lo = log(1e-2), hi = log(1e4), mid;
	int i;

	if (!(eps > 0) || dp_sgm_epsilon(q, exp(hi), steps, delta, c) > eps)
		return -1;
	if (dp_sgm_epsilon(q, exp(lo), steps, delta, c) <= eps)
		return exp(lo);
	for (i = 0; i < 60 && hi - lo > 1e-5; i++) {
		mid = 0.5 * (lo + hi);
		if (dp_sgm_epsilon(q, exp(mid), steps, delta, c) <= eps)
			hi = mid;
		else
			lo = mid;
	}
	return exp(hi);
}

double
dp_clip_vector(float *v, size_t n, double c)
{
	double s = 0, norm, f;
	size_t i;

	for (i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	norm = sqrt(s);
	if (norm > c) {
		f = c / norm;
		for (i = 0; i < n; i++)
			v[i] = (float)(v[i] * f);
	}
	return norm;
}

/* (0, 1], 53 bits: never 0, so its log is finite. */
static double
open_unit(rng_t *r)
{
	return ((double)(rng_u64(r) >> 11) + 1.0) * 0x1.0p-53;
}

/*
 * The ziggurat of Marsaglia and Tsang (2000), 128 layers: a normal costs
 * half a 64-bit draw (7 bits pick the layer, 25 the signed abscissa; the
 * result is float32) and a comparison nearly always, which keeps noising
 * every coordinate of a model at every step cheap.  Its tables are a few
 * microseconds of arithmetic, made per call so nothing global changes.
 */
#define ZIG_M1 16777216.0       /* 2^24: |hz| < 2^24 */
struct zig {
	uint32_t k[128];
	double w[128], f[128];
};

static void
zig_init(struct zig *z)
{
	const double m1 = ZIG_M1, vn = 9.91256303526217e-3;
	double dn = 3.442619855899, tn = dn, q;
	int i;

	q = vn / exp(-0.5 * dn * dn);
	z->k[0] = (uint32_t)((dn / q) * m1);
	z->k[1] = 0;
	z->w[0] = q / m1;
	z->w[127] = dn / m1;
	z->f[0] = 1;
	z->f[127] = exp(-0.5 * dn * dn);
	for (i = 126; i >= 1; i--) {
		dn = sqrt(-2 * log(vn / dn + exp(-0.5 * dn * dn)));
		z->k[i + 1] = (uint32_t)((dn / tn) * m1);
		tn = dn;
		z->f[i] = exp(-0.5 * dn * dn);
		z->w[i] = dn / m1;
	}
}

/* The signed 25-bit abscissa in the top bits of a 32-bit half. */
static int32_t
half_hz(uint64_t u)
{
	return (int32_t)((uint32_t)u & 0xffffff80u) / 128;
}

/* One normal from a 32-bit half h, or from more draws in the rare case. */
static inline double
zig_one(const struct zig *z, rng_t *r, uint32_t h);

/* The rare case: the base strip's tail, or a wedge. */
static double
zig_fix(const struct zig *z, rng_t *r, int32_t hz, int iz)
{
	const double rr = 3.442619855899;
	double x, y;
	uint64_t u;

	for (;;) {
		x = hz * z->w[iz];
		if (iz == 0) {
			do {
				x = -log(open_unit(r)) / rr;
				y = -log(open_unit(r));
			} while (y + y < x * x);
			return hz > 0 ? rr + x : -rr - x;
		}
		if (z->f[iz] + (1 - open_unit(r)) * (z->f[iz - 1] - z->f[iz]) <
		    exp(-0.5 * x * x))
			return x;
		u = rng_u64(r);
		hz = half_hz(u);
		iz = (int)(u & 127);
		if ((uint32_t)abs(hz) < z->k[iz])
			return hz * z->w[iz];
	}
}

static inline double
zig_one(const struct zig *z, rng_t *r, uint32_t h)
{
	int32_t hz = half_hz(h);
	int iz = (int)(h & 127);

	if ((uint32_t)abs(hz) < z->k[iz])
		return hz * z->w[iz];
	return zig_fix(z, r, hz, iz);
}

void
dp_gaussian_noise(float *v, size_t n, double std, rng_t *r)
{
	struct zig z;
	uint64_t u;
	size_t i;

	zig_init(&z);
	for (i = 0; i + 1 < n; i += 2) {
		u = rng_u64(r);
		v[i] += (float)(std * zig_one(&z, r, (uint32_t)u));
		v[i + 1] += (float)(std * zig_one(&z, r, (uint32_t)(u >> 32)));
	}
	if (i < n)
		v[i] += (float)(std * zig_one(&z, r, (uint32_t)rng_u64(r)));
}
