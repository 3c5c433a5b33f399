/*
 * merge: aggregation rules and server optimizers as pure functions over
 * chunks of coordinates, then the streaming driver that reads the bundles
 * in lockstep and feeds them.  Signature policy is fed-verify's business;
 * this module only records who signed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <unistd.h>

#include "bundle.h"
#include "dp.h"
#include "encode.h"
#include "merge.h"
#include "moments.h"
#include "out.h"
#include "weights.h"

static const struct {
	const char *name;
	enum merge_rule rule;
} rules[] = {
	{ "fedavg", MERGE_FEDAVG }, { "fedavgm", MERGE_FEDAVGM },
	{ "nesterov", MERGE_NESTEROV }, { "fedadam", MERGE_FEDADAM },
	{ "fedyogi", MERGE_FEDYOGI }, { "fedadagrad", MERGE_FEDADAGRAD },
	{ "median", MERGE_MEDIAN }, { "trimmed-mean", MERGE_TRIMMED },
	{ "krum", MERGE_KRUM }, { "multi-krum", MERGE_MULTIKRUM },
};
#define NRULES ((int)(sizeof(rules) / sizeof(rules[0])))

const char *
merge_rule_name(enum merge_rule r)
{
	int i;

	for (i = 0; i < NRULES; i++)
		if (rules[i].rule == r)
			return rules[i].name;
	return "?";
}

void
merge_opts_init(struct merge_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rule = MERGE_FEDAVG;
	o->lr = o->momentum = o->beta1 = o->beta2 = o->tau = NAN;
	o->dp_delta = o->dp_rate = NAN;
	o->threads = 1;
}

static int
parse_int_param(const char *s, const char *rule, int min, int *out,
    fed_err *e)
{
	uint64_t v;

	if (parse_u64(s, (uint64_t)min, MERGE_MAXUPDATES, &v) < 0)
		return fed_errf(e, "rule %s: bad parameter '%s'", rule, s);
	*out = (int)v;
	return 0;
}

int
merge_rule_parse(const char *s, struct merge_opts *o, fed_err *e)
{
	char name[32], *p1, *p2;
	int i;

	if (strlen(s) >= sizeof(name))
		return fed_errf(e, "rule %s: unknown", s);
	strcpy(name, s);
	if ((p1 = strchr(name, ':')) != NULL)
		*p1++ = '\0';
	if (p1 != NULL && (p2 = strchr(p1, ':')) != NULL)
		*p2++ = '\0';
	else
		p2 = NULL;
	for (i = 0; i < NRULES && strcmp(rules[i].name, name) != 0; i++)
		;
	if (i == NRULES)
		return fed_errf(e, "rule %s: unknown", s);
	o->rule = rules[i].rule;
	switch (o->rule) {
	case MERGE_TRIMMED:
		if (p1 == NULL || p2 != NULL ||
		    parse_double(p1, 0, 0.5, &o->beta) < 0 || o->beta >= 0.5)
			return fed_errf(e, "rule %s: want trimmed-mean:BETA, "
			    "0 <= BETA < 0.5", s);
		return 0;
	case MERGE_KRUM:
		if (p1 == NULL || p2 != NULL)
			return fed_errf(e, "rule %s: want krum:F", s);
		return parse_int_param(p1, s, 0, &o->f, e);
	case MERGE_MULTIKRUM:
		if (p1 == NULL || p2 == NULL)
			return fed_errf(e, "rule %s: want multi-krum:F:M", s);
		if (parse_int_param(p1, s, 0, &o->f, e) < 0)
			return -1;
		return parse_int_param(p2, s, 1, &o->m, e);
	default:
		if (p1 != NULL)
			return fed_errf(e, "rule %s: takes no parameter", s);
		return 0;
	}
}

int
merge_rule_has_m(enum merge_rule r)
{
	return r == MERGE_FEDAVGM || r == MERGE_NESTEROV ||
	    merge_rule_has_v(r);
}

int
merge_rule_has_v(enum merge_rule r)
{
	return r == MERGE_FEDADAM || r == MERGE_FEDYOGI ||
	    r == MERGE_FEDADAGRAD;
}

/* Rules whose aggregate is the (sample-)weighted mean. */
static int
weighted(enum merge_rule r)
{
	return r == MERGE_FEDAVG || merge_rule_has_m(r);
}

static int
dflt(double *v, double d)
{
	int given = !isnan(*v);

	if (!given)
		*v = d;
	return given;
}

/*
 * DP-FedAvg's rules.  Its sensitivity argument needs every update to
 * enter the sum with weight one after clipping to C: the robust rules'
 * outputs move by other amounts than C when one holder changes, and
 * sample weights or caps would let a holder's claim scale its share.
 */
static int
dp_finish(struct merge_opts *o, fed_err *e)
{
	const char *rn = merge_rule_name(o->rule);
	int given = !isnan(o->dp_delta) || !isnan(o->dp_rate) ||
	    o->dp_seeded;

	if (!(o->dp_noise > 0)) {
		if (given || o->dp_noise < 0)
			return fed_errf(e, "--dp-delta, --dp-sample-rate and "
			    "-s need --dp-noise");
		return 0;
	}
	if (!weighted(o->rule))
		return fed_errf(e, "--dp-noise does not apply to %s: its "
		    "sensitivity is not the clip norm", rn);
	if (!(o->clip > 0))
		return fed_errf(e, "--dp-noise needs --clip-norm");
	if (o->max_samples)
		return fed_errf(e, "--dp-noise weights updates uniformly; "
		    "--max-samples does not apply");
	if (!o->dp_seeded)
		return fed_errf(e, "--dp-noise needs a secret seed, -s");
	dflt(&o->dp_delta, 1e-5);
	dflt(&o->dp_rate, 1);
	if (!(o->dp_delta > 0 && o->dp_delta < 1))
		return fed_errf(e, "--dp-delta must be in (0, 1)");
	if (!(o->dp_rate > 0 && o->dp_rate <= 1))
		return fed_errf(e, "--dp-sample-rate must be in (0, 1]");
	if (!isfinite(o->dp_noise))
		return fed_errf(e, "--dp-noise must be finite");
	o->uniform = 1;
	return 0;
}

int
merge_opts_finish(struct merge_opts *o, fed_err *e)
{
	enum merge_rule r = o->rule;
	const char *rn = merge_rule_name(r);
	int mom = r == MERGE_FEDAVGM || r == MERGE_NESTEROV;
	int ada = merge_rule_has_v(r);

	dflt(&o->lr, r == MERGE_NESTEROV ? 0.7 : ada ? 0.01 : 1.0);
	if (dflt(&o->momentum, 0.9) && !mom)
		return fed_errf(e, "--momentum applies to fedavgm and "
		    "nesterov, not %s", rn);
	if ((dflt(&o->beta1, 0.9) | dflt(&o->beta2, 0.99) |
	    dflt(&o->tau, 1e-3)) && !ada)
		return fed_errf(e, "--beta1, --beta2 and --tau apply to "
		    "fedadam, fedyogi and fedadagrad, not %s", rn);
	if ((o->uniform || o->max_samples) && !weighted(r))
		return fed_errf(e, "--uniform and --max-samples apply to the "
		    "weighted rules, not %s", rn);
	if (!(o->lr > 0) || !isfinite(o->lr))
		return fed_errf(e, "server learning rate must be positive");
	if (!(o->momentum >= 0 && o->momentum < 1) ||
	    !(o->beta1 >= 0 && o->beta1 < 1) ||
	    !(o->beta2 >= 0 && o->beta2 < 1))
		return fed_errf(e, "momentum and betas must be in [0, 1)");
	if (!(o->tau > 0) || !isfinite(o->tau))
		return fed_errf(e, "tau must be positive");
	if (!(o->clip >= 0) || !isfinite(o->clip))
		return fed_errf(e, "clip norm must be positive");
	if (o->threads < 1 || o->threads > MERGE_MAXTHREADS)
		return fed_errf(e, "threads must be in 1..%d",
		    MERGE_MAXTHREADS);
	return dp_finish(o, e);
}

/* ---- the rules ---- */

/*
 * The hot loops run over fixed lanes in pairs of doubles, a type every
 * x86-64 and arm64 register holds, so that they vectorize without
 * -ffast-math: in merge_sumsq lane l always takes elements l, l + 8, ...
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
merge_sumsq(const float *p, size_t len)
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
merge_sumsq_blocks(double *acc, const float *p, size_t len)
{
	size_t at, k;

	for (at = 0; at < len; at += k) {
		k = len - at < MERGE_BLOCK ? len - at : MERGE_BLOCK;
		*acc += merge_sumsq(p + at, k);
	}
}

void
merge_dp_finish(double *D, const float *noise, double k, size_t len)
{
	size_t j;

	for (j = 0; j < len; j++)
		D[j] = (D[j] + noise[j]) / k;
}

double
merge_dp_account(double *rdp, double q, double z, double delta)
{
	dp_rdp_add(rdp, dp_orders(), DP_NORDERS, q, z, 1);
	return dp_epsilon(dp_orders(), rdp, DP_NORDERS, delta, DP_CONV_BALLE,
	    NULL);
}

double
merge_clip_scale(double norm, double clip)
{
	if (clip <= 0 || norm <= clip)
		return 1;
	return clip / norm;
}

int
merge_weights(double *w, const uint64_t *samples, int n, int uniform,
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
 * added in order: each out[j] is still ((0 + c0 u0) + c1 u1) + ... */
void
merge_wsum(double *out, const float *const *u, const double *c, int n,
    size_t len)
{
	v2d a0, a1, a2, a3, ci;
	const float *p;
	size_t j;
	int i;

	for (j = 0; j + 8 <= len; j += 8) {
		a0 = a1 = a2 = a3 = (v2d){ 0, 0 };
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
	for (; j < len; j++) {
		out[j] = 0;
		for (i = 0; i < n; i++)
			out[j] += c[i] * u[i][j];
	}
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
merge_median(double *out, const float *const *u, const double *s, int n,
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
merge_trim_count(double beta, int n)
{
	int k = (int)floor(beta * n + 1e-9);

	if (2 * k >= n)
		k = (n - 1) / 2;
	return k;
}

void
merge_trimmed(double *out, const float *const *u, const double *s, int n,
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

/* Added to *acc block by block, like merge_sumsq_blocks. */
static void
dist2(double *acc, const float *a, double sa, const float *b, double sb,
    size_t len)
{
	double s, d;
	size_t at, k, end;

	for (at = 0; at < len; at = end) {
		end = len - at < MERGE_BLOCK ? len : at + MERGE_BLOCK;
		for (s = 0, k = at; k < end; k++) {
			d = sa * a[k] - sb * b[k];
			s += d * d;
		}
		*acc += s;
	}
}

void
merge_pairdist(double *d, const float *const *u, const double *s, int n,
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
merge_krum_select(const double *d, int n, int f, int m, double *score,
    int *sel, fed_err *e)
{
	int i, j, k, c, best, keep = n - f - 2;
	double *tmp;

	if (n < 2 * f + 3)      /* Blanchard et al.: n > 2f + 2 */
		return fed_errf(e, "krum with f=%d needs at least %d updates, "
		    "got %d", f, 2 * f + 3, n);
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
merge_v0(const struct merge_opts *o)
{
	return (float)(o->tau * o->tau);
}

static double
adaptive(const struct merge_opts *o, double d, float *m, float *v)
{
	double mm, vv, d2 = d * d;

	mm = o->beta1 * *m + (1 - o->beta1) * d;
	switch (o->rule) {
	case MERGE_FEDADAM:
		vv = o->beta2 * *v + (1 - o->beta2) * d2;
		break;
	case MERGE_FEDYOGI:
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
merge_step(const struct merge_opts *o, float *x, const double *D, float *m,
    float *v, size_t len)
{
	double b, step;
	size_t j;

	if (!merge_rule_has_m(o->rule)) {
		for (j = 0; j < len; j++)
			x[j] = (float)(x[j] + o->lr * D[j]);
		return;
	}
	for (j = 0; j < len; j++) {
		switch (o->rule) {
		case MERGE_FEDAVGM:
			b = o->momentum * m[j] + D[j];
			m[j] = (float)b;
			step = b;
			break;
		case MERGE_NESTEROV:
			b = o->momentum * m[j] + D[j];
			m[j] = (float)b;
			step = D[j] + o->momentum * b;
			break;
		case MERGE_FEDADAM:
		case MERGE_FEDYOGI:
		case MERGE_FEDADAGRAD:
			step = adaptive(o, D[j], &m[j], &v[j]);
			break;
		default:
			step = D[j];
			break;
		}
		x[j] = (float)(x[j] + o->lr * step);
	}
}

/* ---- the streaming driver ---- */

enum pass { PASS_NORM, PASS_DIST, PASS_AGG };

/* One update operand. */
struct upd {
	const char *path;               /* as given */
	char src[32];                   /* /dev/fd/N once stdin is spooled */
	int order;                      /* operand position */
	char digest[DIGEST_LEN + 1];
	json_t *contributor, *signers;
	uint64_t samples;
	int64_t steps;                  /* optimizer steps it took */
	int64_t mstep;                  /* its moments' step; -1: none */
	double sumsq, norm, scale, weight, score;
	int selected;
	int bad;                        /* rejected; why says why */
	char why[FED_ERRLEN];
	struct bundle_reader *r;
	const uint8_t *p;               /* unread rest of the current block */
	size_t n;
	const float *cur;               /* this step's floats: in the reader's
	                                 * block, or buf when they straddle two */
	float *buf;                     /* (chunk) */
	struct enc enc;                 /* how its delta is encoded */
	uint8_t *raw;                   /* (2 * chunk) fp16, bf16, int8 bytes */
	float *scales;                  /* int8: every block's scale */
	int32_t *idx;                   /* topk: the k indices */
	uint64_t pidx;                  /* topk: the next of them */
};

/* The model, loaded once: its floats stay in the bundle's buffer. */
struct model_in {
	struct bundle b;
	struct arch a;
	char arch[ARCH_STRLEN];
	uint64_t np;
	int64_t round;
	int64_t mstep;                  /* its shared moments' step, or 0 */
	const uint8_t *x, *m, *v;       /* np floats each, unaligned; m, v
	                                 * NULL when there is no state */
	const char *state;              /* "fresh", "continued" or NULL */
	double rdp[DP_NORDERS];         /* DP: the parent's cumulative curve */
	int64_t dp_rounds;              /* DP rounds in it */
	int64_t dp_since;               /* the round accounting starts at */
	struct tensor_spec t[ARCH_MAXTENSORS];
	int nt;
	uint64_t sbase[ARCH_MAXTENSORS];/* int8: tensor's first block */
	uint64_t nblocks;               /* int8: blocks of all tensors */
};

struct job {
	const struct merge_opts *o;
	struct model_in *mi;
	struct upd *u;
	int nu;                         /* all operands, sorted by digest */
	int *act, na;                   /* updates read in this pass */
	enum pass pass;
	int norms;                      /* accumulate sums of squares */
	int first;                      /* first pass: collect signers */
	double *coef;                   /* (na) weighted-sum coefficients */
	double *scale;                  /* (na) clipping scales */
	double *dist;                   /* (n * n) Krum */
	int trim, npairs;
	uint64_t at;                    /* coordinate of this chunk */
	size_t len;
	int finish, stop;
	double *D;                      /* (MERGE_CHUNK) */
	float *x, *m, *v;               /* (chunk) this step's outputs */
	float *xbuf;                    /* (chunk) x when tensors spool */
	uint8_t *tout;                  /* tensors.safetensors, whole, when
	                                 * the rule keeps no state; else NULL */
	uint8_t *thead;                 /* its safetensors header */
	struct sha256 *th;              /* its hash, fed as chunks finish */
	const float *hx;                /* finished chunk still to hash */
	size_t hlen;
	atomic_int rnext, cnext;        /* the next task of a step's reading
	                                 * and of its arithmetic */
	int tfd, sfd;                   /* spools: tensors, state */
	uint64_t thdr, shdr;            /* their header lengths */
	int nthreads;
	pthread_barrier_t bar;
	pthread_mutex_t mu, gate;
	size_t chunk;                   /* floats per update per step */
	rng_t dprng;                    /* DP: noise, drawn in plan() in
	                                 * coordinate order, by one thread */
	float *noise;                   /* (chunk) DP: this step's noise */
	int moments;                    /* the updates share Adam's moments */
	int64_t mstep;                  /* the merged moments' step */
	uint8_t *mout;                  /* moments.safetensors, whole */
	size_t mlen;
	double dpk;                     /* DP: updates merged, public */
	int failed, sysfail, nonfinite;
	fed_err err;
};

static void
upd_fail(struct job *j, struct upd *u, const char *msg)
{
	pthread_mutex_lock(&j->mu);
	if (!u->bad)
		snprintf(u->why, sizeof(u->why), "%s", msg);
	u->bad = 1;
	j->failed = 1;
	pthread_mutex_unlock(&j->mu);
}

/* Copy exactly n bytes of the current member into dst (NULL: skip). */
static int
upd_take(struct upd *u, void *dst, size_t n, fed_err *e)
{
	const void *p;
	ssize_t got;
	size_t k;

	while (n > 0) {
		if (u->n == 0) {
			if ((got = bundle_read(u->r, &p, e)) < 0)
				return -1;
			if (got == 0)
				return fed_errf(e, "%s: ends early",
				    WEIGHTS_MEMBER);
			u->p = p;
			u->n = (size_t)got;
		}
		k = n < u->n ? n : u->n;
		if (dst != NULL) {
			memcpy(dst, u->p, k);
			dst = (uint8_t *)dst + k;
		}
		u->p += k, u->n -= k, n -= k;
	}
	return 0;
}

/* int8 values of coordinates [at, at + len) times their blocks' scales. */
static int
decode_int8(struct upd *u, const struct model_in *mi, uint64_t at,
    size_t len, fed_err *e)
{
	const struct tensor_spec *t = mi->t;
	uint64_t c;
	size_t k;
	int ti = 0;
	int8_t q;
	float s;

	for (k = 0; k < len; k++) {
		c = at + k;
		while (c >= t[ti].offset + t[ti].count)
			ti++;
		s = u->scales[mi->sbase[ti] + (c - t[ti].offset) / ENC_BLOCK];
		q = (int8_t)u->raw[k];
		if (q == -128 || (s == 0 && q != 0))
			return fed_errf(e, "%s: int8 value %d out of range",
			    t[ti].name, q);
		u->buf[k] = q * s;
	}
	return 0;
}

/* Coordinates [at, at + len) of an encoded update into u->buf.  Top-k's
 * indices are ascending, so its values come in coordinate order. */
static int
upd_decode(struct upd *u, const struct model_in *mi, uint64_t at,
    size_t len, fed_err *e)
{
	uint16_t h;
	size_t k;

	u->cur = u->buf;
	switch (u->enc.scheme) {
	case ENC_TOPK:
		memset(u->buf, 0, len * sizeof(float));
		for (; u->pidx < u->enc.k &&
		    (uint64_t)u->idx[u->pidx] < at + len; u->pidx++)
			if (upd_take(u, u->buf + (u->idx[u->pidx] - at), 4,
			    e) < 0)
				return -1;
		break;
	case ENC_INT8:
		if (upd_take(u, u->raw, len, e) < 0 ||
		    decode_int8(u, mi, at, len, e) < 0)
			return -1;
		break;
	default:
		if (upd_take(u, u->raw, len * 2, e) < 0)
			return -1;
		for (k = 0; k < len; k++) {
			memcpy(&h, u->raw + 2 * k, 2);
			u->buf[k] = u->enc.scheme == ENC_F16 ?
			    encode_f16_value(h) : encode_bf16_value(h);
		}
	}
	for (k = 0; k < len; k++)
		if (!isfinite(u->buf[k]))
			return fed_errf(e, "%s: value not finite",
			    WEIGHTS_MEMBER);
	return 0;
}

/* The next len floats of u's tensors into u->cur: straight from the
 * reader's block when they lie in one (it stays valid until the next
 * read of this update), else copied into u->buf. */
static int
upd_chunk(struct upd *u, const struct model_in *mi, uint64_t at, size_t len,
    fed_err *e)
{
	const void *p;
	ssize_t got;

	if (u->enc.scheme != ENC_F32)
		return upd_decode(u, mi, at, len, e);
	if (u->n == 0) {
		if ((got = bundle_read(u->r, &p, e)) < 0)
			return -1;
		if (got == 0)
			return fed_errf(e, "%s: ends early", WEIGHTS_MEMBER);
		u->p = p;
		u->n = (size_t)got;
	}
	if (u->n >= len * 4 && (uintptr_t)u->p % sizeof(float) == 0) {
		u->cur = (const float *)(const void *)u->p;
		u->p += len * 4, u->n -= len * 4;
		return 0;
	}
	u->cur = u->buf;
	return upd_take(u, u->buf, len * 4, e);
}

/* The tensors of st lie exactly where the flat layout of a puts them,
 * starting at float offset base. */
static int
layout_check(const struct arch *a, const struct st_file *st, uint64_t base,
    const char *prefix, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	const struct st_tensor *x;
	char name[ST_MAXNAME];
	int i, n = arch_tensors(a, t);

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%.8s%.31s", prefix, t[i].name);
		if ((x = st_find(st, name)) == NULL)
			return fed_errf(e, "tensor %s missing", name);
		if (x->dtype != ST_F32 ||
		    x->begin != (base + t[i].offset) * 4 ||
		    x->end != (base + t[i].offset + t[i].count) * 4)
			return fed_errf(e, "tensor %s is not F32 in the "
			    "architecture's order", name);
	}
	return 0;
}

#define MODEL_MAX ((uint64_t)5 * ARCH_MAXPARAMS * 4 + ((uint64_t)4 << 20))
#define STATE_MEMBER "state.safetensors"

/* Server state that the previous merge left, when it was made by the same
 * rule; anything else starts fresh. */
static int
state_load(struct model_in *mi, const struct merge_opts *o, fed_err *e)
{
	const json_t *prev = json_object_get(mi->b.manifest, "merge");
	const char *rule = json_string_value(json_object_get(prev, "rule"));
	int hv = merge_rule_has_v(o->rule);
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_file st;
	const uint8_t *buf;
	uint64_t size;

	if (!merge_rule_has_m(o->rule))
		return 0;
	mi->state = "fresh";
	buf = bundle_get(&mi->b, STATE_MEMBER, &size);
	if (buf == NULL || rule == NULL ||
	    strcmp(rule, merge_rule_name(o->rule)) != 0)
		return 0;
	if (st_parse(buf, size, &st, e) < 0)
		return fed_errprefix(e, "%s", STATE_MEMBER);
	if (st.n != arch_tensors(&mi->a, t) * (hv ? 2 : 1)) {
		st_file_free(&st);
		return fed_errf(e, "%s: tensors do not fit %s", STATE_MEMBER,
		    rule);
	}
	if (layout_check(&mi->a, &st, 0, "m.", e) < 0 ||
	    (hv && layout_check(&mi->a, &st, mi->np, "v.", e) < 0)) {
		st_file_free(&st);
		return fed_errprefix(e, "%s", STATE_MEMBER);
	}
	mi->m = buf + st.data_start;
	mi->v = hv ? mi->m + mi->np * 4 : NULL;
	mi->state = "continued";
	st_file_free(&st);
	return 0;
}

/*
 * DP: the curve to compose with.  A parent merged under DP-FedAvg passes
 * on its cumulative RDP; round 0 has seen no data; a parent merged without
 * DP has, and its rounds are not covered: accounting starts afresh, and
 * the record says from which round.
 */
static int
dp_parent(struct model_in *mi, fed_err *e)
{
	const json_t *p = json_object_get(mi->b.manifest, "privacy");
	const json_t *rdp = json_object_get(p, "rdp"), *x;
	const json_t *rounds = json_object_get(p, "rounds");
	const json_t *since = json_object_get(p, "since_round");
	size_t k;

	memset(mi->rdp, 0, sizeof(mi->rdp));
	mi->dp_rounds = 0;
	mi->dp_since = mi->round + 1;
	if (p == NULL)
		return 0;
	if (!json_is_array(rdp) || json_array_size(rdp) != DP_NORDERS ||
	    !json_is_integer(rounds) || json_integer_value(rounds) < 1 ||
	    json_integer_value(rounds) > mi->round ||
	    !json_is_integer(since) || json_integer_value(since) < 1 ||
	    json_integer_value(since) > mi->round)
		return fed_errf(e, "privacy record is not a dp-fedavg curve");
	json_array_foreach(rdp, k, x) {
		mi->rdp[k] = json_number_value(x);
		if (!json_is_number(x) || !(mi->rdp[k] >= 0) ||
		    !isfinite(mi->rdp[k]))
			return fed_errf(e, "privacy record: rdp values must "
			    "be finite and not negative");
	}
	mi->dp_rounds = json_integer_value(rounds);
	mi->dp_since = json_integer_value(since);
	return 0;
}

static int
model_load(const char *path, const struct merge_opts *o, struct model_in *mi,
    fed_err *e)
{
	const char *kind;
	const uint8_t *buf;
	struct st_file st;
	uint64_t size;
	int i;

	memset(mi, 0, sizeof(*mi));
	if (bundle_load(path, MODEL_MAX, &mi->b, e) < 0)
		return -1;
	kind = manifest_str(mi->b.manifest, "kind");
	if (strcmp(kind, "model") != 0)
		return fed_errf(e, "a %s bundle, not a model", kind);
	if (weights_arch(mi->b.manifest, &mi->a, e) < 0)
		return -1;
	arch_format(&mi->a, mi->arch, sizeof(mi->arch));
	mi->np = arch_nparams(&mi->a);
	mi->round = manifest_int(mi->b.manifest, "round");
	mi->nt = arch_tensors(&mi->a, mi->t);
	for (i = 0; i < mi->nt; i++) {
		mi->sbase[i] = mi->nblocks;
		mi->nblocks += (mi->t[i].count + ENC_BLOCK - 1) / ENC_BLOCK;
	}
	if ((buf = bundle_get(&mi->b, WEIGHTS_MEMBER, &size)) == NULL)
		return fed_errf(e, "no %s", WEIGHTS_MEMBER);
	if (st_parse(buf, size, &st, e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	if (weights_check(&mi->a, &st, e) < 0 ||
	    layout_check(&mi->a, &st, 0, "", e) < 0) {
		st_file_free(&st);
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	}
	mi->x = buf + st.data_start;
	st_file_free(&st);
	if (moments_step(mi->b.manifest, &mi->mstep, e) < 0)
		return -1;
	if (mi->mstep < 0)
		mi->mstep = 0;
	if (o->dp_noise > 0 && dp_parent(mi, e) < 0)
		return -1;
	return state_load(mi, o, e);
}

/* What the manifest of an update must say to be merged into mi. */
static int
upd_manifest(struct upd *u, const struct model_in *mi, fed_err *e)
{
	const json_t *m = bundle_manifest(u->r);
	const char *kind = manifest_str(m, "kind");
	const char *parent = manifest_str(m, "parent");
	char canon[ARCH_STRLEN];
	struct arch a;

	if (strcmp(kind, "update") != 0)
		return fed_errf(e, "a %s bundle, not an update", kind);
	if (weights_arch(m, &a, e) < 0)
		return -1;
	arch_format(&a, canon, sizeof(canon));
	if (strcmp(canon, mi->arch) != 0)
		return fed_errf(e, "architecture %s, the model is %s", canon,
		    mi->arch);
	if (parent == NULL || strcmp(parent, mi->b.digest) != 0)
		return fed_errf(e, "trained from %.19s..., not from this "
		    "model", parent ? parent : "nothing");
	if (manifest_int(m, "round") != mi->round)
		return fed_errf(e, "round %lld, the model is at round %lld",
		    (long long)manifest_int(m, "round"), (long long)mi->round);
	if (encode_manifest(m, mi->np, &u->enc, e) < 0)
		return -1;
	u->samples = (uint64_t)manifest_int(m, "samples");
	u->steps = manifest_int(m, "steps");
	if (moments_step(m, &u->mstep, e) < 0)
		return -1;
	json_decref(u->contributor);
	u->contributor = json_incref(json_object_get(m, "contributor"));
	if (!json_is_string(u->contributor)) {
		json_decref(u->contributor);
		u->contributor = json_null();
	}
	return 0;
}

/*
 * What an encoded update keeps ahead of its values, read whole at open:
 * int8's scales (a 64th of the float32 size), top-k's indices.  Checked
 * here, so that decoding can trust them.
 */
static int
upd_prefix(struct upd *u, const struct model_in *mi, fed_err *e)
{
	uint64_t i;

	u->pidx = 0;
	if (u->enc.scheme == ENC_INT8) {
		free(u->scales);
		u->scales = xcalloc(mi->nblocks + 1, sizeof(float));
		if (upd_take(u, u->scales, mi->nblocks * 4, e) < 0)
			return -1;
		for (i = 0; i < mi->nblocks; i++)
			if (!(u->scales[i] >= 0) || !isfinite(u->scales[i]))
				return fed_errf(e, "%s: int8 scale not finite "
				    "and >= 0", WEIGHTS_MEMBER);
	} else if (u->enc.scheme == ENC_TOPK) {
		free(u->idx);
		u->idx = xcalloc(u->enc.k, sizeof(*u->idx));
		if (upd_take(u, u->idx, u->enc.k * 4, e) < 0)
			return -1;
		for (i = 0; i < u->enc.k; i++)
			if (u->idx[i] < 0 || (uint64_t)u->idx[i] >= mi->np ||
			    (i > 0 && u->idx[i] <= u->idx[i - 1]))
				return fed_errf(e, "topk.indices: entry %llu "
				    "not ascending, unique and below %llu",
				    (unsigned long long)i,
				    (unsigned long long)mi->np);
	}
	return 0;
}

/* Open u (again), check it, and stop at the first float of its tensors. */
static int
upd_open(struct upd *u, const struct model_in *mi, int spool, fed_err *e)
{
	const struct bundle_entry *ent;
	uint8_t lb[8];
	uint64_t hl = 0;
	int s, k, std = u->src[0] == '\0' && strcmp(u->path, "-") == 0;

	u->n = 0;
	u->r = bundle_open(u->src[0] ? u->src : u->path, std ? spool : -1, e);
	if (u->r == NULL)
		return -1;
	if (u->digest[0] && strcmp(u->digest, bundle_digest(u->r)) != 0)
		return fed_errf(e, "changed while being merged");
	memcpy(u->digest, bundle_digest(u->r), sizeof(u->digest));
	if (upd_manifest(u, mi, e) < 0)
		return -1;
	while ((s = bundle_next(u->r, &ent, e)) > 0 &&
	    strcmp(ent->name, WEIGHTS_MEMBER) != 0)
		;
	if (s < 0)
		return -1;
	if (s == 0)
		return fed_errf(e, "no %s", WEIGHTS_MEMBER);
	if (upd_take(u, lb, 8, e) < 0)
		return -1;
	for (k = 0; k < 8; k++)
		hl |= (uint64_t)lb[k] << (8 * k);
	if (hl > ST_MAXHEADER ||
	    ent->size != 8 + hl + encode_data_size(&mi->a, &u->enc))
		return fed_errf(e, "%s: %llu bytes do not fit %s",
		    WEIGHTS_MEMBER, (unsigned long long)ent->size, mi->arch);
	if (upd_take(u, NULL, (size_t)hl, e) < 0)
		return -1;
	return upd_prefix(u, mi, e);
}

/* Close u's reader; a first read of stdin is drained into its spool so
 * that a later pass finds all of it. */
static void
upd_close(struct upd *u, int spool)
{
	fed_err e;

	if (u->r == NULL)
		return;
	if (u->src[0] == '\0' && strcmp(u->path, "-") == 0) {
		if (bundle_drain(u->r, &e) < 0 && !u->bad) {
			u->bad = 1;
			snprintf(u->why, sizeof(u->why), "%s", e.msg);
		}
		snprintf(u->src, sizeof(u->src), "/dev/fd/%d", spool);
	}
	bundle_close(u->r);
	u->r = NULL;
}

/* End of the tensors: hash, contents and layout, then the rest of the
 * archive and its signatures. */
static int
upd_finish(struct upd *u, const struct arch *a, fed_err *e)
{
	const struct bundle_entry *ent;
	const struct bundle_sig *sg;
	const struct st_file *st;
	const void *p;
	ssize_t got;
	int s;

	if (u->n != 0 || (got = bundle_read(u->r, &p, e)) > 0)
		return fed_errf(e, "%s: longer than its architecture",
		    WEIGHTS_MEMBER);
	if (got < 0)
		return -1;
	if ((st = bundle_member_st(u->r)) == NULL)
		return fed_errf(e, "%s: not safetensors", WEIGHTS_MEMBER);
	if (u->enc.scheme != ENC_F32 ? encode_check_layout(a, &u->enc, st, e) < 0 :
	    weights_check(a, st, e) < 0 || layout_check(a, st, 0, "", e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	while ((s = bundle_next(u->r, &ent, e)) > 0)
		;
	if (s < 0)
		return -1;
	s = bundle_sigs(u->r, &sg);
	json_decref(u->signers);
	u->signers = json_array();
	while (s-- > 0)
		json_array_append_new(u->signers, json_string(sg++->keyid));
	return 0;
}

static int
pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	ssize_t k;

	while (n > 0) {
		k = pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p = (const uint8_t *)p + k, n -= (size_t)k, off += (uint64_t)k;
	}
	return 0;
}

/* Thread 0, between steps: write the last chunk out, set up the next. */
static void
plan(struct job *j)
{
	const struct model_in *mi = j->mi;
	uint64_t np = mi->np;
	size_t k;

	atomic_store(&j->rnext, 0);
	atomic_store(&j->cnext, 0);
	j->hx = NULL;
	if (j->pass == PASS_AGG && j->len > 0 && j->tout != NULL) {
		j->hx = j->x;   /* hashed during the next step's reading */
		j->hlen = j->len;
	} else if (j->pass == PASS_AGG && j->len > 0)
		sha256_update(j->th, j->x, j->len * 4);
	if (j->pass == PASS_AGG && j->len > 0 && !j->failed && !j->nonfinite &&
	    ((j->tout == NULL && pwrite_all(j->tfd, j->x, j->len * 4,
	    j->thdr + j->at * 4) < 0) ||
	    (j->m && pwrite_all(j->sfd, j->m, j->len * 4,
	    j->shdr + j->at * 4) < 0) ||
	    (j->v && pwrite_all(j->sfd, j->v, j->len * 4,
	    j->shdr + (np + j->at) * 4) < 0))) {
		fed_errf(&j->err, "spool: %s", strerror(errno));
		j->sysfail = 1;
	}
	if (j->failed || j->sysfail || j->nonfinite || j->finish) {
		j->stop = 1;
		return;
	}
	j->at += j->len;
	if (j->at >= np) {
		j->finish = 1;
		j->len = 0;
		return;
	}
	j->len = np - j->at < j->chunk ? (size_t)(np - j->at) : j->chunk;
	if (j->pass != PASS_AGG)
		return;
	if (j->tout != NULL)
		j->x = (float *)(j->tout + j->thdr) + j->at;
	if (j->noise != NULL) {
		memset(j->noise, 0, j->len * sizeof(*j->noise));
		dp_gaussian_noise(j->noise, j->len, j->o->dp_noise *
		    j->o->clip, &j->dprng);
	}
	memcpy(j->x, mi->x + j->at * 4, j->len * 4);
	if (j->m && mi->m)
		memcpy(j->m, mi->m + j->at * 4, j->len * 4);
	else if (j->m)
		memset(j->m, 0, j->len * 4);
	if (j->v && mi->v)
		memcpy(j->v, mi->v + j->at * 4, j->len * 4);
	else if (j->v)
		for (k = 0; k < j->len; k++)
			j->v[k] = merge_v0(j->o);
}

/*
 * The threads take the tasks of a step as they come free, rather than a
 * fixed share each, so that a thread the machine is slow to schedule
 * holds the others up by one task, not by half the step.  Who does a task
 * does not change its result: each update's reader and sum of squares,
 * each coordinate's sum, each pair's distance belong to one task.
 */
static void
read_tasks(struct job *j)
{
	struct upd *u;
	fed_err e;
	int k;

	while ((k = atomic_fetch_add(&j->rnext, 1)) <= j->na) {
		if (k == 0) {   /* the output chunk the last step finished */
			if (j->hx != NULL)
				sha256_update(j->th, j->hx, j->hlen * 4);
			continue;
		}
		u = &j->u[j->act[k - 1]];
		if (j->finish) {
			if (upd_finish(u, &j->mi->a, &e) < 0)
				upd_fail(j, u, e.msg);
		} else if (upd_chunk(u, j->mi, j->at, j->len, &e) < 0)
			upd_fail(j, u, e.msg);
		else if (j->norms)
			merge_sumsq_blocks(&u->sumsq, u->cur, j->len);
	}
}

static int
finite_range(const float *p, size_t n)
{
	size_t k;

	if (p == NULL)
		return 1;
	for (k = 0; k < n; k++)
		if (!isfinite(p[k]))
			return 0;
	return 1;
}

/* Coordinates [a, b) of the chunk through the rule and the server step. */
static void
compute_range(struct job *j, size_t a, size_t b, const float **lp,
    double *tmp)
{
	const struct merge_opts *o = j->o;
	int k;

	for (k = 0; k < j->na; k++)
		lp[k] = j->u[j->act[k]].cur + a;
	if (o->rule == MERGE_MEDIAN)
		merge_median(j->D + a, lp, j->scale, j->na, b - a, tmp);
	else if (o->rule == MERGE_TRIMMED)
		merge_trimmed(j->D + a, lp, j->scale, j->na, j->trim, b - a,
		    tmp);
	else
		merge_wsum(j->D + a, lp, j->coef, j->na, b - a);
	if (j->noise != NULL)
		merge_dp_finish(j->D + a, j->noise + a, j->dpk, b - a);
	merge_step(o, j->x + a, j->D + a, j->m ? j->m + a : NULL,
	    j->v ? j->v + a : NULL, b - a);
	if (!finite_range(j->x + a, b - a) ||
	    !finite_range(j->m ? j->m + a : NULL, b - a) ||
	    !finite_range(j->v ? j->v + a : NULL, b - a)) {
		pthread_mutex_lock(&j->mu);
		j->nonfinite = 1;
		pthread_mutex_unlock(&j->mu);
	}
}

/* The arithmetic of a step, as tasks: MERGE_BLOCK coordinates each, or a
 * slice of Krum's pairs.  lp and tmp hold na entries. */
static void
compute_tasks(struct job *j, const float **lp, double *tmp)
{
	int k, p, np;
	size_t a;

	if (j->finish || j->pass == PASS_NORM)
		return;
	if (j->pass == PASS_DIST) {
		for (k = 0; k < j->na; k++)
			lp[k] = j->u[j->act[k]].cur;
		np = j->npairs < 8 * j->nthreads ? j->npairs : 8 * j->nthreads;
		while ((p = atomic_fetch_add(&j->cnext, 1)) < np)
			merge_pairdist(j->dist, lp, j->scale, j->na, j->len,
			    (int)((int64_t)j->npairs * p / np),
			    (int)((int64_t)j->npairs * (p + 1) / np));
		return;
	}
	while ((a = (size_t)atomic_fetch_add(&j->cnext, 1) * MERGE_BLOCK) <
	    j->len)
		compute_range(j, a, j->len - a < MERGE_BLOCK ? j->len :
		    a + MERGE_BLOCK, lp, tmp);
}

struct worker {
	struct job *j;
	int t;
	pthread_t th;
};

static void *
steps(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->j;
	const float **lp = xcalloc((size_t)j->na, sizeof(*lp));
	double *tmp = xcalloc((size_t)j->na, sizeof(*tmp));

	pthread_mutex_lock(&j->gate);
	pthread_mutex_unlock(&j->gate);
	for (;;) {
		if (w->t == 0)
			plan(j);
		pthread_barrier_wait(&j->bar);
		if (j->stop)
			break;
		read_tasks(j);
		pthread_barrier_wait(&j->bar);
		if (!j->failed)
			compute_tasks(j, lp, tmp);
		pthread_barrier_wait(&j->bar);
	}
	free(lp);
	free(tmp);
	return NULL;
}

/* Stream every update of j->act once, from the readers already open. */
static int
run_pass(struct job *j)
{
	struct worker w[MERGE_MAXTHREADS];
	int t, nt = j->o->threads;

	if (nt > j->na && j->pass != PASS_AGG)
		nt = j->na;
	j->at = 0;
	j->len = 0;
	j->finish = j->stop = j->failed = 0;
	/* Workers wait at the gate until the barrier is sized for the
	 * threads that did start; fewer threads give the same bytes. */
	pthread_mutex_lock(&j->gate);
	for (t = 0; t < nt; t++) {
		w[t].j = j;
		w[t].t = t;
		if (t > 0 && pthread_create(&w[t].th, NULL, steps, &w[t]) != 0)
			break;
	}
	nt = t;
	j->nthreads = nt;
	j->hx = NULL;
	pthread_barrier_init(&j->bar, NULL, (unsigned)nt);
	pthread_mutex_unlock(&j->gate);
	steps(&w[0]);
	for (t = 1; t < nt; t++)
		pthread_join(w[t].th, NULL);
	pthread_barrier_destroy(&j->bar);
	return j->failed || j->sysfail || j->nonfinite ? -1 : 0;
}

static void
mark_bad(struct upd *u, const char *fmt, const char *arg)
{
	u->bad = 1;
	snprintf(u->why, sizeof(u->why), fmt, arg);
}

static int
cmp_upd(const void *pa, const void *pb)
{
	const struct upd *a = pa, *b = pb;
	int c = strcmp(a->digest, b->digest);

	if (c == 0)
		c = strcmp(a->path, b->path);
	return c ? c : a->order - b->order;
}

/* Open what is not open yet; 0, or -1 when some update failed. */
static int
open_act(struct job *j, int spool)
{
	struct upd *u;
	fed_err e;
	int k, bad = 0;

	for (k = 0; k < j->na; k++) {
		u = &j->u[j->act[k]];
		if (u->r == NULL && upd_open(u, j->mi, spool, &e) < 0) {
			mark_bad(u, "%s", e.msg);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static void
close_all(struct upd *u, int n, int spool)
{
	int i;

	for (i = 0; i < n; i++)
		upd_close(&u[i], spool);
}

/* One streaming pass over j->act: open, read in lockstep, verify. */
static int
pass_do(struct job *j, enum pass p, int norms, int spool)
{
	int r;

	j->pass = p;
	j->norms = norms;
	if (p == PASS_AGG) {
		rng_seed(&j->dprng, j->o->dp_seed);
		sha256_free(j->th);
		j->th = sha256_new();
		sha256_update(j->th, j->thead, j->thdr);
	}
	r = open_act(j, spool) < 0 ? -1 : run_pass(j);
	close_all(j->u, j->nu, spool);
	return r;
}

/* The error of a failed pass: the first bad update in digest order. */
static int
pass_error(struct job *j, fed_err *e)
{
	int i;

	if (j->sysfail) {
		fed_errf(e, "%s", j->err.msg);
		return MERGE_FAIL;
	}
	if (j->nonfinite) {
		fed_errf(e, "the merge gives non-finite weights; lower the "
		    "server learning rate or clip the updates");
		return MERGE_REJECT;
	}
	for (i = 0; i < j->nu; i++)
		if (j->u[i].bad) {
			fed_errf(e, "%s: %s", display_name(j->u[i].path),
			    j->u[i].why);
			return MERGE_REJECT;
		}
	return fed_errf(e, "merge failed");
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
		u->scale = merge_clip_scale(u->norm, j->o->clip);
		j->scale[k] = u->scale;
	}
}

static int
reject(fed_err *e, const char *fmt, int a, int b, int c)
{
	fed_errf(e, fmt, a, b, c);
	return MERGE_REJECT;
}

/* The aggregation weights of the current act, for the rule. */
static int
plan_weights(struct job *j, fed_err *e)
{
	const struct merge_opts *o = j->o;
	uint64_t *samples;
	double *w;
	int k, r;

	if (!weighted(o->rule)) {
		j->trim = merge_trim_count(o->beta, j->na);
		return 0;
	}
	samples = xcalloc((size_t)j->na, sizeof(*samples));
	w = xcalloc((size_t)j->na, sizeof(*w));
	for (k = 0; k < j->na; k++)
		samples[k] = j->u[j->act[k]].samples;
	r = merge_weights(w, samples, j->na, o->uniform, o->max_samples);
	for (k = 0; r == 0 && k < j->na; k++) {
		j->u[j->act[k]].weight = w[k];
		/* DP: the sum of clipped updates; noise, then / k */
		j->coef[k] = o->dp_noise > 0 ? j->scale[k] :
		    w[k] * j->scale[k];
	}
	j->dpk = j->na;
	free(samples);
	free(w);
	return r < 0 ? reject(e, "no samples to weight by", 0, 0, 0) : 0;
}

static int
krum_select(struct job *j, fed_err *e)
{
	const struct merge_opts *o = j->o;
	int m = o->rule == MERGE_KRUM ? 1 : o->m, k, na = j->na;
	double *score = xcalloc((size_t)na, sizeof(*score));
	int *sel = xcalloc((size_t)na, sizeof(*sel));
	struct upd *u;

	if (merge_krum_select(j->dist, na, o->f, m, score, sel, e) < 0) {
		free(score);
		free(sel);
		return MERGE_REJECT;
	}
	for (k = 0; k < na; k++) {
		u = &j->u[j->act[k]];
		u->score = score[k];
		u->selected = sel[k];
		u->weight = sel[k] ? 1.0 / m : 0;
	}
	free(score);
	free(sel);
	set_act(j, 1);
	for (k = 0; k < j->na; k++) {
		j->scale[k] = j->u[j->act[k]].scale;
		j->coef[k] = j->scale[k] / m;
	}
	return 0;
}

/* Every pass over the updates not yet left out: 0 done, 1 to start over
 * without an update that failed (--skip-bad), or an error. */
static int
passes(struct job *j, int spool, fed_err *e)
{
	const struct merge_opts *o = j->o;
	int krum = o->rule == MERGE_KRUM || o->rule == MERGE_MULTIKRUM;
	int normed = 0, k, r;
	struct upd *u;

	set_act(j, 0);
	if (j->na == 0)
		return reject(e, "no update left to merge", 0, 0, 0);
	for (k = 0; k < j->na; k++) {
		u = &j->u[j->act[k]];
		u->sumsq = 0;
		u->scale = j->scale[k] = 1;
		u->selected = 1;
		u->weight = u->score = NAN;
	}
	if (krum && j->na < 2 * o->f + 3)
		return reject(e, "krum with f=%d needs at least %d updates, "
		    "got %d", o->f, 2 * o->f + 3, j->na);
	if (o->rule == MERGE_MULTIKRUM && o->m > j->na - o->f)
		return reject(e, "multi-krum cannot average %d of %d updates "
		    "with f=%d", o->m, j->na, o->f);
	if (o->clip > 0) {
		if (pass_do(j, PASS_NORM, 1, spool) < 0)
			goto failed;
		set_norms(j);
		normed = 1;
	}
	if (krum) {
		memset(j->dist, 0, (size_t)j->na * j->na * sizeof(*j->dist));
		j->npairs = j->na * (j->na - 1) / 2;
		if (pass_do(j, PASS_DIST, !normed, spool) < 0)
			goto failed;
		if (!normed)
			set_norms(j);
		normed = 1;
		if ((r = krum_select(j, e)) < 0)
			return r;
	} else if ((r = plan_weights(j, e)) < 0)
		return r;
	if (pass_do(j, PASS_AGG, !normed, spool) < 0)
		goto failed;
	if (!normed)
		set_norms(j);
	return 0;
failed:
	if (o->skip_bad && !j->sysfail && !j->nonfinite)
		return 1;
	return pass_error(j, e);
}

static json_t *
real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *
params_json(const struct merge_opts *o, int trim)
{
	json_t *p = json_object();

	json_object_set_new(p, "server_lr", json_real(o->lr));
	json_object_set_new(p, "clip_norm", o->clip > 0 ?
	    json_real(o->clip) : json_null());
	if (weighted(o->rule)) {
		json_object_set_new(p, "weighting",
		    json_string(o->uniform ? "uniform" : "samples"));
		json_object_set_new(p, "max_samples", o->max_samples ?
		    json_integer((json_int_t)o->max_samples) : json_null());
	}
	if (o->rule == MERGE_FEDAVGM || o->rule == MERGE_NESTEROV)
		json_object_set_new(p, "momentum", json_real(o->momentum));
	if (merge_rule_has_v(o->rule)) {
		json_object_set_new(p, "beta1", json_real(o->beta1));
		json_object_set_new(p, "beta2", json_real(o->beta2));
		json_object_set_new(p, "tau", json_real(o->tau));
	}
	if (o->rule == MERGE_TRIMMED) {
		json_object_set_new(p, "beta", json_real(o->beta));
		json_object_set_new(p, "trimmed", json_integer(trim));
	}
	if (o->rule == MERGE_KRUM || o->rule == MERGE_MULTIKRUM)
		json_object_set_new(p, "f", json_integer(o->f));
	if (o->rule == MERGE_MULTIKRUM)
		json_object_set_new(p, "m", json_integer(o->m));
	return p;
}

static json_t *
upd_json(const struct upd *u, const struct merge_opts *o)
{
	int krum = o->rule == MERGE_KRUM || o->rule == MERGE_MULTIKRUM;
	json_t *x = json_pack("{s:s,s:O,s:O,s:s,s:I,s:o,s:o,s:o,s:b}",
	    "digest", u->digest, "contributor", u->contributor,
	    "signers", u->signers ? u->signers : json_null(),
	    "encoding", encode_name(u->enc.scheme),
	    "samples", (json_int_t)u->samples, "weight", real(u->weight),
	    "norm", real(u->norm), "norm_clipped", real(u->norm * u->scale),
	    "discarded", krum && !u->selected);

	if (krum)
		json_object_set_new(x, "krum_score", real(u->score));
	return x;
}

/* The seed stays out: with it anyone could draw the noise again and
 * subtract it. */
static json_t *
dp_json(const struct job *j, const struct merge_opts *o)
{
	const struct model_in *mi = j->mi;
	double rdp[DP_NORDERS], eps;
	json_t *p = json_object(), *a = json_array();
	int k;

	memcpy(rdp, mi->rdp, sizeof(rdp));
	eps = merge_dp_account(rdp, o->dp_rate, o->dp_noise, o->dp_delta);
	for (k = 0; k < DP_NORDERS; k++)
		json_array_append_new(a, real(rdp[k]));
	json_object_set_new(p, "mechanism",
	    json_string("dp-fedavg, gaussian, uniform weights"));
	json_object_set_new(p, "unit", json_string("holder"));
	json_object_set_new(p, "clip", json_real(o->clip));
	json_object_set_new(p, "noise_multiplier", json_real(o->dp_noise));
	json_object_set_new(p, "noise_std",
	    json_real(o->dp_noise * o->clip / j->dpk));
	json_object_set_new(p, "holders", json_integer((json_int_t)j->dpk));
	json_object_set_new(p, "sample_rate", json_real(o->dp_rate));
	json_object_set_new(p, "seed", json_string("withheld"));
	json_object_set_new(p, "rounds", json_integer(mi->dp_rounds + 1));
	json_object_set_new(p, "since_round", json_integer(mi->dp_since));
	json_object_set_new(p, "delta", json_real(o->dp_delta));
	json_object_set_new(p, "epsilon", real(eps));
	json_object_set_new(p, "rdp", a);
	json_object_set_new(p, "accountant",
	    json_string(dp_accountant_name(DP_CONV_BALLE)));
	return p;
}

static json_t *
merge_manifest(const struct job *j, const struct merge_opts *o)
{
	const struct model_in *mi = j->mi;
	json_t *m = manifest_new("model", "fed-merge");
	json_t *ups = json_array(), *skip = json_array(), *mg;
	const struct upd *u;
	int i;

	for (i = 0; i < j->nu; i++) {
		u = &j->u[i];
		if (!u->bad)
			json_array_append_new(ups, upd_json(u, o));
		else
			json_array_append_new(skip, json_pack("{s:s,s:o,s:s}",
			    "file", u->path, "digest", u->digest[0] ?
			    json_string(u->digest) : json_null(),
			    "reason", u->why));
	}
	mg = json_pack("{s:s,s:o,s:o,s:o}", "rule", merge_rule_name(o->rule),
	    "params", params_json(o, j->trim), "updates", ups,
	    "skipped", skip);
	json_object_set_new(mg, "state", mi->state ?
	    json_string(mi->state) : json_null());
	json_object_set_new(m, "arch", json_string(mi->arch));
	json_object_set_new(m, "round", json_integer(mi->round + 1));
	json_object_set_new(m, "parent", json_string(mi->b.digest));
	json_object_set_new(m, "merge", mg);
	if (o->dp_noise > 0)
		json_object_set_new(m, "privacy", dp_json(j, o));
	if (j->mout != NULL)
		json_object_set_new(m, "moments", moments_json(j->mstep));
	return m;
}

/* A safetensors header for the arch's tensors, names prefixed, repeated
 * for each prefix: a new buffer of *len bytes, or NULL. */
static uint8_t *
out_header(const struct arch *a, const char *const *prefix, int np,
    size_t *len, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_spec s[2 * ARCH_MAXTENSORS];
	char names[2 * ARCH_MAXTENSORS][ST_MAXNAME];
	int i, k, n = arch_tensors(a, t);

	memset(s, 0, sizeof(s));
	for (k = 0; k < np; k++)
		for (i = 0; i < n; i++) {
			snprintf(names[k * n + i], ST_MAXNAME, "%.8s%.31s",
			    prefix[k], t[i].name);
			s[k * n + i].name = names[k * n + i];
			s[k * n + i].dtype = ST_F32;
			s[k * n + i].ndim = t[i].ndim;
			s[k * n + i].shape[0] = t[i].shape[0];
			s[k * n + i].shape[1] = t[i].shape[1];
		}
	return st_header(s, np * n, len, e);
}

/* The same written at the start of fd.  Its length, or 0. */
static uint64_t
spool_header(int fd, const struct arch *a, const char *const *prefix,
    int np, fed_err *e)
{
	uint8_t *h;
	size_t len;

	if ((h = out_header(a, prefix, np, &len, e)) == NULL)
		return 0;
	if (pwrite_all(fd, h, len, 0) < 0) {
		free(h);
		fed_errf(e, "spool: %s", strerror(errno));
		return 0;
	}
	free(h);
	return len;
}

/*
 * Buffers for the output.  The new weights of a rule without state are
 * built in memory, in place in the finished tensors.safetensors (one
 * model's worth beside the model itself): no spool to write and read back
 * twice.  The rules with state hold x, m and v of the model already, so
 * their outputs go through spool files instead.  Either way the tensors'
 * SHA-256 is computed as the chunks finish, and bundle_write is given it.
 */
static int
job_outputs(struct job *j, fed_err *e)
{
	static const char *const plain[] = { "" }, *const mv[] = { "m.", "v." };
	int nm = merge_rule_has_v(j->o->rule) ? 2 : 1;
	uint64_t np = j->mi->np;
	size_t hl;

	j->D = xcalloc(j->chunk, sizeof(*j->D));
	if (j->o->dp_noise > 0)
		j->noise = xcalloc(j->chunk, sizeof(*j->noise));
	if ((j->thead = out_header(&j->mi->a, plain, 1, &hl, e)) == NULL)
		return -1;
	j->thdr = hl;
	if (!merge_rule_has_m(j->o->rule)) {
		j->tout = xmalloc(hl + np * 4);
		memcpy(j->tout, j->thead, hl);
		return 0;
	}
	j->x = j->xbuf = xcalloc(j->chunk, sizeof(*j->x));
	if ((j->tfd = out_spool_open(e)) < 0 ||
	    pwrite_all(j->tfd, j->thead, hl, 0) < 0) {
		if (j->tfd >= 0)
			fed_errf(e, "spool: %s", strerror(errno));
		return -1;
	}
	j->m = xcalloc(j->chunk, sizeof(*j->m));
	if (nm == 2)
		j->v = xcalloc(j->chunk, sizeof(*j->v));
	if ((j->sfd = out_spool_open(e)) < 0 ||
	    (j->shdr = spool_header(j->sfd, &j->mi->a, mv, nm, e)) == 0)
		return -1;
	return 0;
}

static int
write_out(struct job *j, const struct merge_opts *o, int out, char *digest,
    fed_err *e)
{
	struct bundle_payload p[3];
	uint64_t np = j->mi->np;
	json_t *man = merge_manifest(j, o);
	uint8_t md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int n = 1, r;

	sha256_final(j->th, md);
	sha256_free(j->th);
	j->th = NULL;
	hex_encode(hex, md, SHA256_LEN);
	memset(p, 0, sizeof(p));
	p[0].name = WEIGHTS_MEMBER;
	p[0].data = j->tout;
	p[0].fd = j->tout ? -1 : j->tfd;
	p[0].size = j->thdr + np * 4;
	p[0].sha256 = hex;
	if (j->m) {
		p[1].name = STATE_MEMBER;
		p[1].fd = j->sfd;
		p[1].size = j->shdr + np * 4 * (j->v ? 2 : 1);
		n = 2;
	}
	if (j->mout) {
		p[n].name = MOMENTS_MEMBER;
		p[n].data = j->mout;
		p[n].fd = -1;
		p[n].size = j->mlen;
		n++;
	}
	r = bundle_write(out, man, p, n, digest, e);
	json_decref(man);
	return r < 0 ? MERGE_FAIL : 0;
}

/* Updates that share Adam's moments: then all of them, each at the step
 * of the model's moments plus its own steps, under a rule that averages. */
static int
moments_plan(struct job *j, fed_err *e)
{
	const struct merge_opts *o = j->o;
	char why[FED_ERRLEN];
	struct upd *u;
	int i;

	for (i = 0; i < j->nu; i++)
		if (!j->u[i].bad && j->u[i].mstep >= 0)
			j->moments = 1;
	if (!j->moments)
		return 0;
	if (!weighted(o->rule) || o->dp_noise > 0) {
		fed_errf(e, "the updates carry Adam's moments, which %s "
		    "cannot merge", o->dp_noise > 0 ? "dp-fedavg" :
		    merge_rule_name(o->rule));
		return MERGE_REJECT;
	}
	for (i = 0; i < j->nu; i++) {
		u = &j->u[i];
		if (u->bad)
			continue;
		if (u->mstep < 0)
			mark_bad(u, "%s", "carries no moments, unlike the "
			    "others");
		else if (u->mstep != j->mi->mstep + u->steps) {
			snprintf(why, sizeof(why), "moments at step %lld, not "
			    "the model's %lld plus %lld steps",
			    (long long)u->mstep, (long long)j->mi->mstep,
			    (long long)u->steps);
			mark_bad(u, "%s", why);
		}
	}
	return 0;
}

/* Operands once: their digests, sorted; duplicates and bad ones marked. */
static int
first_open(struct job *j, int spool, fed_err *e)
{
	struct upd *u = j->u;
	int i, n = j->nu;
	fed_err ue;

	for (i = 0; i < n; i++)
		if (upd_open(&u[i], j->mi, spool, &ue) < 0)
			mark_bad(&u[i], "%s", ue.msg);
	qsort(u, (size_t)n, sizeof(*u), cmp_upd);
	for (i = 1; i < n; i++)
		if (!u[i].bad && strcmp(u[i].digest, u[i - 1].digest) == 0)
			mark_bad(&u[i], "the same update as %s",
			    display_name(u[i - 1].path));
	if ((i = moments_plan(j, e)) < 0)
		return i;
	for (i = 0; i < n; i++)
		if (u[i].bad)
			upd_close(&u[i], spool);
	if (j->o->skip_bad)
		return 0;
	for (i = 0; i < n; i++) {
		int k, first = -1;

		for (k = 0; k < n; k++)
			if (u[k].bad && (first < 0 ||
			    u[k].order < u[first].order))
				first = k;
		if (first >= 0) {
			fed_errf(e, "%s: %s", display_name(u[first].path),
			    u[first].why);
			return MERGE_REJECT;
		}
	}
	return 0;
}

/* Open u again and stop at the first float of its moments. */
static int
upd_moments_open(struct upd *u, const struct model_in *mi, int spool,
    fed_err *e)
{
	const struct bundle_entry *ent;
	uint8_t lb[8];
	uint64_t hl = 0;
	int s, k, std = u->src[0] == '\0' && strcmp(u->path, "-") == 0;

	u->n = 0;
	u->r = bundle_open(u->src[0] ? u->src : u->path, std ? spool : -1, e);
	if (u->r == NULL)
		return -1;
	if (strcmp(u->digest, bundle_digest(u->r)) != 0)
		return fed_errf(e, "changed while being merged");
	while ((s = bundle_next(u->r, &ent, e)) > 0 &&
	    strcmp(ent->name, MOMENTS_MEMBER) != 0)
		;
	if (s < 0)
		return -1;
	if (s == 0)
		return fed_errf(e, "no %s", MOMENTS_MEMBER);
	if (upd_take(u, lb, 8, e) < 0)
		return -1;
	for (k = 0; k < 8; k++)
		hl |= (uint64_t)lb[k] << (8 * k);
	if (hl > ST_MAXHEADER || ent->size != 8 + hl + 2 * mi->np * 4)
		return fed_errf(e, "%s: %llu bytes do not fit %s",
		    MOMENTS_MEMBER, (unsigned long long)ent->size, mi->arch);
	return upd_take(u, NULL, (size_t)hl, e);
}

/* The end of u's moments: nothing more, and the tensors' names. */
static int
upd_moments_finish(struct upd *u, const struct arch *a, fed_err *e)
{
	const struct st_file *st;
	const void *p;
	ssize_t got;
	fed_err le;

	if (u->n != 0 || (got = bundle_read(u->r, &p, e)) > 0)
		return fed_errf(e, "%s: longer than its architecture",
		    MOMENTS_MEMBER);
	if (got < 0)
		return -1;
	if ((st = bundle_member_st(u->r)) == NULL)
		return fed_errf(e, "%s: not safetensors", MOMENTS_MEMBER);
	if (moments_layout(a, st, MOMENTS_UPDATE, &le) < 0)
		return fed_errf(e, "%s: %s", MOMENTS_MEMBER, le.msg);
	return 0;
}

/*
 * Half h of the moments of every update in act, chunk by chunk: h 0 the
 * first moments, whose weighted mean m goes to om; h 1 the spreads w,
 * and v = m^2 + their weighted mean to ov.  Weights and order are those
 * of the delta's mean, so the bytes are as deterministic.
 */
static void
moments_half(struct job *j, int h, float *om, float *ov, double *acc)
{
	uint64_t np = j->mi->np, at;
	size_t len, k;
	struct upd *u;
	fed_err ue;
	int i;
	float x;

	for (at = 0; at < np && !j->failed; at += len) {
		len = np - at < j->chunk ? (size_t)(np - at) : j->chunk;
		memset(acc, 0, len * sizeof(*acc));
		for (i = 0; i < j->na; i++) {
			u = &j->u[j->act[i]];
			if (upd_take(u, u->buf, len * 4, &ue) < 0) {
				upd_fail(j, u, ue.msg);
				return;
			}
			for (k = 0; k < len; k++) {
				x = u->buf[k];
				if (!isfinite(x) || (h && !(x >= 0))) {
					upd_fail(j, u, h ? MOMENTS_MEMBER
					    ": spread not finite and >= 0" :
					    MOMENTS_MEMBER ": moment not "
					    "finite");
					return;
				}
				acc[k] += u->weight * x;
			}
		}
		for (k = 0; k < len; k++)
			if (h == 0)
				om[at + k] = (float)acc[k];
			else
				ov[at + k] = moments_v(om[at + k], acc[k]);
	}
}

/* The updates' shared moments into j->mout: 0, 1 to start over without
 * an update that failed (--skip-bad), or an error. */
static int
moments_pass(struct job *j, int spool, fed_err *e)
{
	static const char *const mv[] = { "m.", "v." };
	uint64_t np = j->mi->np;
	uint8_t *hdr;
	double *acc;
	float *om;
	size_t hl;
	fed_err ue;
	int i, h;

	set_act(j, 0);
	j->mstep = 0;
	for (i = 0; i < j->na; i++)
		if (j->u[j->act[i]].mstep > j->mstep)
			j->mstep = j->u[j->act[i]].mstep;
	if ((hdr = out_header(&j->mi->a, mv, 2, &hl, e)) == NULL)
		return MERGE_FAIL;
	free(j->mout);
	j->mout = xmalloc(hl + 2 * np * 4);
	j->mlen = hl + 2 * np * 4;
	memcpy(j->mout, hdr, hl);
	free(hdr);
	om = (float *)(void *)(j->mout + hl);   /* hl is a multiple of 8 */
	acc = xcalloc(j->chunk, sizeof(*acc));
	for (i = 0; i < j->na; i++)
		if (upd_moments_open(&j->u[j->act[i]], j->mi, spool, &ue) < 0)
			upd_fail(j, &j->u[j->act[i]], ue.msg);
	for (h = 0; h < 2 && !j->failed; h++)
		moments_half(j, h, om, om + np, acc);
	for (i = 0; i < j->na && !j->failed; i++)
		if (upd_moments_finish(&j->u[j->act[i]], &j->mi->a, &ue) < 0)
			upd_fail(j, &j->u[j->act[i]], ue.msg);
	free(acc);
	close_all(j->u, j->nu, spool);
	if (!j->failed)
		return 0;
	j->failed = 0;
	if (j->o->skip_bad)
		return 1;
	return pass_error(j, e);
}

static size_t
chunk_for(int n)
{
	size_t c = ((size_t)1 << 22) / (size_t)n;

	c -= c % MERGE_BLOCK;
	return c < MERGE_BLOCK ? MERGE_BLOCK : c > MERGE_CHUNK ?
	    MERGE_CHUNK : c;
}

int
merge_run(const char *model, const char *const *paths, int n,
    const struct merge_opts *o, int out, char *digest, fed_err *e)
{
	struct model_in mi;
	struct job j;
	int i, r, spool = -1;
	fed_err me;

	memset(&j, 0, sizeof(j));
	j.tfd = j.sfd = -1;
	if (model_load(model, o, &mi, &me) < 0) {
		fed_errf(e, "%s: %s", display_name(model), me.msg);
		bundle_free(&mi.b);
		return MERGE_REJECT;
	}
	j.o = o;
	j.mi = &mi;
	j.nu = n;
	j.chunk = chunk_for(n);
	j.u = xcalloc((size_t)n, sizeof(*j.u));
	j.act = xcalloc((size_t)n, sizeof(*j.act));
	j.coef = xcalloc((size_t)n, sizeof(*j.coef));
	j.scale = xcalloc((size_t)n, sizeof(*j.scale));
	if (o->rule == MERGE_KRUM || o->rule == MERGE_MULTIKRUM)
		j.dist = xcalloc((size_t)n * n, sizeof(*j.dist));
	pthread_mutex_init(&j.mu, NULL);
	pthread_mutex_init(&j.gate, NULL);
	for (i = 0; i < n; i++) {
		j.u[i].path = paths[i];
		j.u[i].order = i;
		j.u[i].buf = xcalloc(j.chunk, sizeof(float));
		j.u[i].raw = xcalloc(j.chunk, 2);
		j.u[i].contributor = json_null();
		if (strcmp(paths[i], "-") == 0 && (spool = out_spool_open(e)) < 0) {
			r = MERGE_FAIL;
			goto out;
		}
	}
	if ((r = first_open(&j, spool, e)) < 0)
		goto out;
	if (job_outputs(&j, e) < 0) {
		r = MERGE_FAIL;
		goto out;
	}
	do {
		while ((r = passes(&j, spool, e)) == 1)
			;
	} while (r == 0 && j.moments && (r = moments_pass(&j, spool, e)) == 1);
	if (r == 0)
		r = write_out(&j, o, out, digest, e);
out:
	close_all(j.u, n, spool);
	for (i = 0; i < n; i++) {
		free(j.u[i].buf);
		free(j.u[i].raw);
		free(j.u[i].scales);
		free(j.u[i].idx);
		json_decref(j.u[i].contributor);
		json_decref(j.u[i].signers);
	}
	free(j.u), free(j.act), free(j.coef), free(j.scale), free(j.dist);
	free(j.D), free(j.xbuf), free(j.m), free(j.v), free(j.noise);
	free(j.tout), free(j.thead), free(j.mout);
	sha256_free(j.th);
	if (j.tfd >= 0)
		close(j.tfd);
	if (j.sfd >= 0)
		close(j.sfd);
	if (spool >= 0)
		close(spool);
	pthread_mutex_destroy(&j.mu);
	pthread_mutex_destroy(&j.gate);
	bundle_free(&mi.b);
	return r;
}
