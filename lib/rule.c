/*
 * rule: the aggregation rules and server optimizers as pure functions
 * over one chunk of coordinates of n updates.  Nothing here reads a file,
 * allocates per coordinate or depends on the thread that calls it; which
 * chunks come in which order is the driver's (merge.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dp.h"
#include "rule.h"

/*
 * The hot loops run over fixed lanes in pairs of doubles, a type every
 * x86-64 and arm64 register holds, so that they vectorize without
 * -ffast-math: in rule_sumsq lane l always takes elements l, l + 8, ...
 * and the lanes meet in a fixed tree, so the bits are the same on every
 * machine and for every thread count.
 */
typedef float v2f __attribute__((vector_size(8)));
typedef double v2d __attribute__((vector_size(16)));

/* Two floats at p, widened (exactly, whichever way). */
static inline v2d
load2(const float *p)
{
#ifdef __SSE2__
	return (v2d)_mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(
	    (const __m128i *)(const void *)p)));
#else
	v2f f;

	memcpy(&f, p, sizeof(f));
	return __builtin_convertvector(f, v2d);
#endif
}

double
rule_sumsq(const float *p, size_t len)
{
	v2d a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, d;
	double l[8];
	size_t j;

	for (j = 0; j + 8 <= len; j += 8) {
		d = load2(p + j), a0 += d * d;
		d = load2(p + j + 2), a1 += d * d;
		d = load2(p + j + 4), a2 += d * d;
		d = load2(p + j + 6), a3 += d * d;
	}
	memcpy(l, &a0, 16), memcpy(l + 2, &a1, 16);
	memcpy(l + 4, &a2, 16), memcpy(l + 6, &a3, 16);
	for (; j < len; j++)
		l[j % 8] += (double)p[j] * p[j];
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

void
rule_sumsq_blocks(double *acc, const float *p, size_t len)
{
	size_t at, k;

	for (at = 0; at < len; at += k) {
		k = len - at < RULE_BLOCK ? len - at : RULE_BLOCK;
		*acc += rule_sumsq(p + at, k);
	}
}

void
rule_dp_finish(double *D, const float *noise, double k, size_t len)
{
	size_t j;

	for (j = 0; j < len; j++)
		D[j] = (D[j] + noise[j]) / k;
}

double
rule_dp_account(double *rdp, double q, double z, double delta)
{
	dp_rdp_add(rdp, dp_orders(), DP_NORDERS, q, z, 1);
	return dp_epsilon(dp_orders(), rdp, DP_NORDERS, delta, DP_CONV_BALLE,
	    NULL);
}

double
rule_clip_scale(double norm, double clip)
{
	if (clip <= 0 || norm <= clip)
		return 1;
	return clip / norm;
}

int
rule_weights(double *w, const uint64_t *samples, int n, int uniform,
    uint64_t max_samples)
{
	double total = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (uniform)
			w[i] = 1;
		else if (max_samples && samples[i] > max_samples)
			w[i] = (double)max_samples;
		else
			w[i] = (double)samples[i];
		total += w[i];
	}
	if (!(total > 0))
		return -1;
	for (i = 0; i < n; i++)
		w[i] /= total;
	return 0;
}

/* Eight coordinates at a time held in registers while every update is
 * added in order: each out[j] is still ((out[j] + c0 u0) + c1 u1) + ... */
void
rule_wsum_add(double *out, const float *const *u, const double *c, int n,
    size_t len)
{
	v2d a0, a1, a2, a3, ci;
	const float *p;
	size_t j;
	int i;

	for (j = 0; j + 8 <= len; j += 8) {
		memcpy(&a0, out + j, 16), memcpy(&a1, out + j + 2, 16);
		memcpy(&a2, out + j + 4, 16), memcpy(&a3, out + j + 6, 16);
		for (i = 0; i < n; i++) {
			p = u[i] + j;
			ci = (v2d){ c[i], c[i] };
			a0 += ci * load2(p);
			a1 += ci * load2(p + 2);
			a2 += ci * load2(p + 4);
			a3 += ci * load2(p + 6);
		}
		memcpy(out + j, &a0, 16), memcpy(out + j + 2, &a1, 16);
		memcpy(out + j + 4, &a2, 16), memcpy(out + j + 6, &a3, 16);
	}
	for (; j < len; j++)
		for (i = 0; i < n; i++)
			out[j] += c[i] * u[i][j];
}

void
rule_wsum(double *out, const float *const *u, const double *c, int n,
    size_t len)
{
	memset(out, 0, len * sizeof(*out));
	rule_wsum_add(out, u, c, n, len);
}

/* A strict order on doubles that puts -0 before +0, so that sorted values
 * do not depend on the order they came in. */
static int
before(double a, double b)
{
	return a < b || (a == b && signbit(a) && !signbit(b));
}

static void
sift(double *a, size_t root, size_t n)
{
	size_t c;
	double t;

	while ((c = 2 * root + 1) < n) {
		if (c + 1 < n && before(a[c], a[c + 1]))
			c++;
		if (!before(a[root], a[c]))
			return;
		t = a[root], a[root] = a[c], a[c] = t;
		root = c;
	}
}

/* Insertion sort for the usual handful, heapsort beyond: both stay in
 * bounds whatever the values. */
static void
sort_doubles(double *a, size_t n)
{
	size_t i, j;
	double t;

	if (n <= 24) {
		for (i = 1; i < n; i++) {
			t = a[i];
			for (j = i; j > 0 && before(t, a[j - 1]); j--)
				a[j] = a[j - 1];
			a[j] = t;
		}
		return;
	}
	for (i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (i = n; i-- > 1;) {
		t = a[0], a[0] = a[i], a[i] = t;
		sift(a, 0, i);
	}
}

/*
 * Median and trimmed mean look at one coordinate of every update.  The
 * values become integers that sort in the order of before() (the sign bit
 * kept, the other bits flipped for negatives: -0 lands just below +0), so
 * that comparisons are cheap and branch-free, and equal keys are equal
 * values: any correct selection or sort gives the same numbers as sorting
 * the doubles did.
 */
static inline int64_t
okey(double x)
{
	int64_t b;

	memcpy(&b, &x, sizeof(b));
	return b < 0 ? b ^ INT64_MAX : b;
}

static inline double
okey_value(int64_t k)
{
	double x;

	k = k < 0 ? k ^ INT64_MAX : k;
	memcpy(&x, &k, sizeof(x));
	return x;
}

static void
gather(int64_t *key, const float *const *u, const double *s, int n, size_t j)
{
	int i;

	for (i = 0; i < n; i++)
		key[i] = okey(s[i] * u[i][j]);
}

static void
isort_keys(int64_t *a, int n)
{
	int i, j;
	int64_t t;

	for (i = 1; i < n; i++) {
		t = a[i];
		for (j = i; j > 0 && a[j - 1] > t; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

static void
swap_keys(int64_t *a, int i, int j)
{
	int64_t t = a[i];

	a[i] = a[j], a[j] = t;
}

/* Median of three to a[lo], then Hoare's partition around it: on return
 * a[lo..p] <= a[p + 1..hi]. */
static int
partition_keys(int64_t *a, int lo, int hi)
{
	int mid = lo + (hi - lo) / 2, i = lo - 1, j = hi + 1;
	int64_t pv;

	if (a[mid] < a[lo])
		swap_keys(a, mid, lo);
	if (a[hi] < a[lo])
		swap_keys(a, hi, lo);
	if (a[hi] < a[mid])
		swap_keys(a, hi, mid);
	pv = a[mid];
	for (;;) {
		do
			i++;
		while (a[i] < pv);
		do
			j--;
		while (a[j] > pv);
		if (i >= j)
			return j;
		swap_keys(a, i, j);
	}
}

static void
sift_keys(int64_t *a, int root, int n)
{
	int c;

	while ((c = 2 * root + 1) < n) {
		if (c + 1 < n && a[c] < a[c + 1])
			c++;
		if (a[root] >= a[c])
			return;
		swap_keys(a, root, c);
		root = c;
	}
}

static void
heapsort_keys(int64_t *a, int n)
{
	int i;

	for (i = n / 2; i-- > 0;)
		sift_keys(a, i, n);
	for (i = n; i-- > 1;) {
		swap_keys(a, 0, i);
		sift_keys(a, 0, i);
	}
}

/* Sort a[lo..hi]: quicksort down to insertion sort, heapsort when the
 * depth says the values were chosen against the pivots (updates may come
 * from an attacker). */
static void
sort_keys(int64_t *a, int lo, int hi, int depth)
{
	int p;

	while (hi - lo >= 16) {
		if (depth-- == 0) {
			heapsort_keys(a + lo, hi - lo + 1);
			return;
		}
		p = partition_keys(a, lo, hi);
		if (p - lo < hi - p) {
			sort_keys(a, lo, p, depth);
			lo = p + 1;
		} else {
			sort_keys(a, p + 1, hi, depth);
			hi = p;
		}
	}
	isort_keys(a + lo, hi - lo + 1);
}

/* Rearrange a[0..n) so that a[k] is what sorting would put there, nothing
 * before it larger, nothing after it smaller. */
static void
select_keys(int64_t *a, int n, int k)
{
	int lo = 0, hi = n - 1, p, depth = 64;

	while (hi - lo >= 16) {
		if (depth-- == 0)
			break;
		p = partition_keys(a, lo, hi);
		if (k <= p)
			hi = p;
		else
			lo = p + 1;
	}
	sort_keys(a, lo, hi, 2 * 32);
}

void
rule_median(double *out, const float *const *u, const double *s, int n,
    size_t len, void *tmp)
{
	int64_t *key = tmp, lo;
	size_t j;
	int i;

	for (j = 0; j < len; j++) {
		gather(key, u, s, n, j);
		select_keys(key, n, n / 2);
		if (n % 2) {
			out[j] = okey_value(key[n / 2]);
			continue;
		}
		for (lo = key[0], i = 1; i < n / 2; i++)
			lo = key[i] > lo ? key[i] : lo;
		out[j] = (okey_value(lo) + okey_value(key[n / 2])) / 2;
	}
}

int
rule_trim_count(double beta, int n)
{
	int k = (int)floor(beta * n + 1e-9);

	if (2 * k >= n)
		k = (n - 1) / 2;
	return k;
}

void
rule_trimmed(double *out, const float *const *u, const double *s, int n,
    int k, size_t len, void *tmp)
{
	int64_t *key = tmp;
	size_t j;
	double sum;
	int i;

	for (j = 0; j < len; j++) {
		gather(key, u, s, n, j);
		sort_keys(key, 0, n - 1, 64);
		sum = 0;
		for (i = k; i < n - k; i++)
			sum += okey_value(key[i]);
		out[j] = sum / (n - 2 * k);
	}
}

/* Added to *acc block by block, like rule_sumsq_blocks. */
static void
dist2(double *acc, const float *a, double sa, const float *b, double sb,
    size_t len)
{
	double s, d;
	size_t at, k, end;

	for (at = 0; at < len; at = end) {
		end = len - at < RULE_BLOCK ? len : at + RULE_BLOCK;
		for (s = 0, k = at; k < end; k++) {
			d = sa * a[k] - sb * b[k];
			s += d * d;
		}
		*acc += s;
	}
}

void
rule_pairdist(double *d, const float *const *u, const double *s, int n,
    size_t len, int p0, int p1)
{
	int i, j, p = 0;

	for (i = 0; i < n && p < p1; i++)
		for (j = i + 1; j < n && p < p1; j++, p++)
			if (p >= p0)
				dist2(&d[i * n + j], u[i], s[i], u[j], s[j],
				    len);
}

int
rule_krum_fits(int n, int f, int m, int multi, fed_err *e)
{
	if (n < 2 * f + 3)
		return fed_errf(e, "%s with f=%d needs at least %d updates, "
		    "got %d", multi ? "multi-krum" : "krum", f, 2 * f + 3, n);
	if (multi && m > n - f)
		return fed_errf(e, "multi-krum cannot average %d of %d updates "
		    "with f=%d", m, n, f);
	return 0;
}

int
rule_krum_select(const double *d, int n, int f, int m, double *score,
    int *sel, fed_err *e)
{
	int i, j, k, c, best, keep = n - f - 2;
	double *tmp;

	if (rule_krum_fits(n, f, 1, 0, e) < 0)
		return -1;
	if (m < 1 || m > n)
		return fed_errf(e, "multi-krum selects %d of %d updates", m, n);
	tmp = xcalloc((size_t)n, sizeof(*tmp));
	for (i = 0; i < n; i++) {
		for (j = c = 0; j < n; j++)
			if (j != i)
				tmp[c++] = i < j ? d[i * n + j] : d[j * n + i];
		sort_doubles(tmp, (size_t)c);
		score[i] = 0;
		for (k = 0; k < keep; k++)
			score[i] += tmp[k];
		sel[i] = 0;
	}
	free(tmp);
	for (k = 0; k < m; k++) {
		best = -1;
		for (i = 0; i < n; i++)
			if (!sel[i] && (best < 0 || score[i] < score[best]))
				best = i;
		sel[best] = 1;
	}
	return 0;
}

float
rule_v0(const struct mopt *o)
{
	return (float)(o->tau * o->tau);
}

static double
adaptive(const struct mopt *o, double d, float *m, float *v)
{
	double mm, vv, d2 = d * d;

	mm = o->beta1 * *m + (1 - o->beta1) * d;
	switch (o->rule) {
	case MOPT_FEDADAM:
		vv = o->beta2 * *v + (1 - o->beta2) * d2;
		break;
	case MOPT_FEDYOGI:
		vv = *v - (1 - o->beta2) * d2 *
		    (*v > d2 ? 1 : *v < d2 ? -1 : 0);
		break;
	default:                /* fedadagrad */
		vv = *v + d2;
		break;
	}
	*m = (float)mm;
	*v = (float)vv;
	return mm / (sqrt(vv) + o->tau);
}

void
rule_step(const struct mopt *o, float *x, const double *D, float *m,
    float *v, size_t len)
{
	double b, step;
	size_t j;

	if (!mopt_has_m(o->rule)) {
		for (j = 0; j < len; j++)
			x[j] = (float)(x[j] + o->lr * D[j]);
		return;
	}
	for (j = 0; j < len; j++) {
		switch (o->rule) {
		case MOPT_FEDAVGM:
			b = o->momentum * m[j] + D[j];
			m[j] = (float)b;
			step = b;
			break;
		case MOPT_NESTEROV:
			b = o->momentum * m[j] + D[j];
			m[j] = (float)b;
			step = D[j] + o->momentum * b;
			break;
		case MOPT_FEDADAM:
		case MOPT_FEDYOGI:
		case MOPT_FEDADAGRAD:
			step = adaptive(o, D[j], &m[j], &v[j]);
			break;
		default:
			step = D[j];
			break;
		}
		x[j] = (float)(x[j] + o->lr * step);
	}
}

int
rule_finite(const float *p, size_t n)
{
	size_t k;

	if (p == NULL)
		return 1;
	for (k = 0; k < n; k++)
		if (!isfinite(p[k]))
			return 0;
	return 1;
}
