/*
 * test_merge: every aggregation rule and server step of lib/merge.c on
 * small vectors, against values worked out by hand (the arithmetic is in
 * the comments).  Tolerance 1e-12 for float64 results, 1e-7 relative for
 * results stored as float32.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

#include "rule.h"
#include "rng.h"
#include "t.h"

/* Five updates of three coordinates. */
static const float U[5][3] = {
	{ 1, 2, -3 }, { 3, 0, 1 }, { -2, 4, 5 }, { 10, -10, 0 }, { 0, 1, 2 },
};
static const float *const UP[5] = { U[0], U[1], U[2], U[3], U[4] };
static const double ONES[5] = { 1, 1, 1, 1, 1 };

static void
test_parse(void)
{
	struct mopt o;
	fed_err e;

	mopt_init(&o);
	T_OK("parse trimmed-mean:0.2",
	    mopt_rule_parse("trimmed-mean:0.2", &o, &e) == 0 &&
	    o.rule == MOPT_TRIMMED && o.beta == 0.2);
	T_OK("parse krum:2", mopt_rule_parse("krum:2", &o, &e) == 0 &&
	    o.rule == MOPT_KRUM && o.f == 2);
	T_OK("parse multi-krum:1:3",
	    mopt_rule_parse("multi-krum:1:3", &o, &e) == 0 &&
	    o.rule == MOPT_MULTIKRUM && o.f == 1 && o.m == 3);
	T_OK("reject trimmed-mean:0.5",
	    mopt_rule_parse("trimmed-mean:0.5", &o, &e) < 0);
	T_OK("reject krum", mopt_rule_parse("krum", &o, &e) < 0);
	T_OK("reject median:1", mopt_rule_parse("median:1", &o, &e) < 0);
	T_OK("reject multi-krum:1:0",
	    mopt_rule_parse("multi-krum:1:0", &o, &e) < 0);
	T_OK("reject bogus", mopt_rule_parse("fedsgd", &o, &e) < 0);

	mopt_init(&o);
	mopt_rule_parse("nesterov", &o, &e);
	T_OK("nesterov defaults (DiLoCo: lr 0.7, momentum 0.9)",
	    mopt_finish(&o, &e) == 0 && o.lr == 0.7 &&
	    o.momentum == 0.9);
	mopt_init(&o);
	mopt_rule_parse("fedadam", &o, &e);
	T_OK("fedadam defaults (Reddi et al.: 0.9, 0.99, 1e-3)",
	    mopt_finish(&o, &e) == 0 && o.beta1 == 0.9 &&
	    o.beta2 == 0.99 && o.tau == 1e-3 && o.lr == 0.01);
	mopt_init(&o);
	mopt_rule_parse("fedavg", &o, &e);
	T_OK("fedavg server lr 1", mopt_finish(&o, &e) == 0 &&
	    o.lr == 1);
	mopt_init(&o);
	mopt_rule_parse("fedadam", &o, &e);
	o.momentum = 0.5;
	T_OK("momentum refused for fedadam", mopt_finish(&o, &e) < 0);
	mopt_init(&o);
	mopt_rule_parse("median", &o, &e);
	o.uniform = 1;
	T_OK("uniform refused for median", mopt_finish(&o, &e) < 0);
}

static void
test_weights(void)
{
	uint64_t s1[2] = { 1, 3 }, s2[3] = { 100, 10, 10 }, z[2] = { 0, 0 };
	double w[3];

	/* 1/(1+3), 3/(1+3) */
	rule_weights(w, s1, 2, 0, 0);
	T_NEAR("weights by samples 0", w[0], 0.25, 1e-15);
	T_NEAR("weights by samples 1", w[1], 0.75, 1e-15);
	/* cap 20: 20, 10, 10 of 40 */
	rule_weights(w, s2, 3, 0, 20);
	T_NEAR("capped weight 0", w[0], 0.5, 1e-15);
	T_NEAR("capped weight 2", w[2], 0.25, 1e-15);
	rule_weights(w, s2, 3, 1, 0);
	T_NEAR("uniform weight", w[1], 1.0 / 3, 1e-15);
	T_OK("no samples refused", rule_weights(w, z, 2, 0, 0) < 0);
}

static void
test_fedavg_clip(void)
{
	double c[2] = { 0.25, 0.75 }, out[3];

	/* 0.25 u0 + 0.75 u1 = (0.25 + 2.25, 0.5 + 0, -0.75 + 0.75) */
	rule_wsum(out, UP, c, 2, 3);
	T_NEAR("fedavg 0", out[0], 2.5, 1e-12);
	T_NEAR("fedavg 1", out[1], 0.5, 1e-12);
	T_NEAR("fedavg 2", out[2], 0.0, 1e-12);
	/* |u0|^2 = 1 + 4 + 9; |u3| = sqrt(200), clipped to 5 */
	T_NEAR("sumsq", rule_sumsq(U[0], 3), 14, 1e-12);
	T_NEAR("clip scale", rule_clip_scale(sqrt(200), 5),
	    0.35355339059327373, 1e-12);
	T_NEAR("no clip under the bound", rule_clip_scale(3, 5), 1, 0);
	T_NEAR("no clip when off", rule_clip_scale(300, 0), 1, 0);
}

static void
test_median_trimmed(void)
{
	double out[3], tmp[5], s[4] = { 1, 1, 1, 0.1 };
	const float *const rev[5] = { U[4], U[3], U[2], U[1], U[0] };

	/* u0..u2: {1,3,-2} -> 1, {2,0,4} -> 2, {-3,1,5} -> 1 */
	rule_median(out, UP, ONES, 3, 3, tmp);
	T_OK("median odd", out[0] == 1 && out[1] == 2 && out[2] == 1);
	/* u0..u3: -2,1,3,10 -> 2; -10,0,2,4 -> 1; -3,0,1,5 -> 0.5 */
	rule_median(out, UP, ONES, 4, 3, tmp);
	T_OK("median even", out[0] == 2 && out[1] == 1 && out[2] == 0.5);
	/* u3 scaled by 0.1: {1,3,-2,1} -> 1; {2,0,4,-1} -> 1; {-3,1,5,0} */
	rule_median(out, UP, s, 4, 3, tmp);
	T_OK("median clipped", out[0] == 1 && out[1] == 1 && out[2] == 0.5);
	/* n = 5, k = 1: -2,[0,1,3],10 -> 4/3; -10,[0,1,2],4 -> 1;
	 * -3,[0,1,2],5 -> 1 */
	T_OK("trim count 0.2 of 5", rule_trim_count(0.2, 5) == 1);
	T_OK("trim count 0.2 of 10", rule_trim_count(0.2, 10) == 2);
	T_OK("trim count 0.1 of 4", rule_trim_count(0.1, 4) == 0);
	T_OK("trim count 0.49 of 2", rule_trim_count(0.49, 2) == 0);
	rule_trimmed(out, UP, ONES, 5, 1, 3, tmp);
	T_NEAR("trimmed 0", out[0], 4.0 / 3, 1e-12);
	T_NEAR("trimmed 1", out[1], 1, 1e-12);
	T_NEAR("trimmed 2", out[2], 1, 1e-12);
	rule_trimmed(out, rev, ONES, 5, 1, 3, tmp);
	T_NEAR("trimmed does not depend on order", out[0], 4.0 / 3, 0);
	/* k = 0 is the plain mean: (1+3-2+10+0)/5 */
	rule_trimmed(out, UP, ONES, 5, 0, 3, tmp);
	T_NEAR("trimmed k=0 is the mean", out[0], 2.4, 1e-12);
}

static void
test_krum(void)
{
	/* Points 0, 1, 2, 10, -30 on a line: squared distances
	 * a-b 1, a-c 4, a-d 100, a-e 900, b-c 1, b-d 81, b-e 961,
	 * c-d 64, c-e 1024, d-e 1600.  f = 1 keeps n - f - 2 = 2 nearest:
	 * a 1+4=5, b 1+1=2, c 1+4=5, d 64+81=145, e 900+961=1861. */
	static const float P[5][1] = { { 0 }, { 1 }, { 2 }, { 10 }, { -30 } };
	const float *const pp[5] = { P[0], P[1], P[2], P[3], P[4] };
	double d[25] = { 0 }, d2[25] = { 0 }, score[5], one[4] = { 0 };
	int sel[5];
	fed_err e;

	rule_pairdist(d, pp, ONES, 5, 1, 0, 10);
	rule_pairdist(d2, pp, ONES, 5, 1, 0, 4);       /* two threads' */
	rule_pairdist(d2, pp, ONES, 5, 1, 4, 10);      /* shares */
	T_OK("pair split", memcmp(d, d2, sizeof(d)) == 0);
	T_NEAR("dist a-e", d[0 * 5 + 4], 900, 0);
	T_NEAR("dist d-e", d[3 * 5 + 4], 1600, 0);
	T_OK("krum select", rule_krum_select(d, 5, 1, 1, score, sel, &e) ==
	    0 && sel[1] && !sel[0] && !sel[2] && !sel[3] && !sel[4]);
	T_NEAR("krum score a", score[0], 5, 0);
	T_NEAR("krum score b", score[1], 2, 0);
	T_NEAR("krum score d", score[3], 145, 0);
	T_NEAR("krum score e", score[4], 1861, 0);
	/* m = 3: b, then the tie a/c at 5 both fit */
	T_OK("multi-krum select",
	    rule_krum_select(d, 5, 1, 3, score, sel, &e) == 0 &&
	    sel[0] && sel[1] && sel[2] && !sel[3] && !sel[4]);
	/* m = 2: b, then the lower index of the tie, a */
	T_OK("multi-krum tie by digest order",
	    rule_krum_select(d, 5, 1, 2, score, sel, &e) == 0 &&
	    sel[0] && sel[1] && !sel[2]);
	T_OK("krum needs 2f+3",
	    rule_krum_select(d, 5, 2, 1, score, sel, &e) < 0);
	/* |u0 - u1|^2 = 4 + 4 + 16, with u1 halved: |(1,2,-3)-(1.5,0,.5)|^2
	 * = 0.25 + 4 + 12.25 */
	rule_pairdist(one, UP, ONES, 2, 3, 0, 1);
	T_NEAR("dist 3-d", one[1], 24, 0);
	one[1] = 0;
	rule_pairdist(one, UP, (const double[]){ 1, 0.5 }, 2, 3, 0, 1);
	T_NEAR("dist clipped", one[1], 16.5, 0);
}

static void
step(const char *rule, float *x, float *m, float *v, const double *D)
{
	struct mopt o;
	fed_err e;

	mopt_init(&o);
	mopt_rule_parse(rule, &o, &e);
	mopt_finish(&o, &e);
	rule_step(&o, x, D, m, v, 2);
}

static void
test_steps(void)
{
	const double D[2] = { 1, -2 };
	float x[2], m[2], v[2];

	x[0] = x[1] = 0.5;
	step("fedavg", x, NULL, NULL, D);
	T_OK("fedavg step", x[0] == 1.5f && x[1] == -1.5f);
	/* b = 0.9 * 0.2 + 1 = 1.18; x = 0.5 + 1.18 */
	x[0] = x[1] = 0.5, m[0] = 0.2f, m[1] = 0;
	step("fedavgm", x, m, NULL, D);
	T_NEAR("fedavgm x", x[0], 1.68, 1e-7);
	T_NEAR("fedavgm m", m[0], 1.18, 1e-7);
	T_NEAR("fedavgm x1", x[1], -1.5, 1e-7);
	/* b = 1.18; x = 0.5 + 0.7 (1 + 0.9 * 1.18) = 1.9434;
	 * b = -2; x = 0.5 + 0.7 (-2 - 1.8) = -2.16 */
	x[0] = x[1] = 0.5, m[0] = 0.2f, m[1] = 0;
	step("nesterov", x, m, NULL, D);
	T_NEAR("nesterov x", x[0], 1.9434, 1e-7);
	T_NEAR("nesterov x1", x[1], -2.16, 1e-7);
	/* fresh fedadam: m = 0.1, v = 0.99e-6 + 0.01 = 0.01000099,
	 * x = 0.5 + 0.01 * 0.1 / (0.1000049 + 0.001) = 0.50990051;
	 * second coordinate: m = -0.2, v = 0.04000099 -> 0.490049869 */
	x[0] = x[1] = 0.5, m[0] = m[1] = 0, v[0] = v[1] = 1e-6f;
	step("fedadam", x, m, v, D);
	T_NEAR("fedadam x", x[0], 0.50990051, 1e-7);
	T_NEAR("fedadam x1", x[1], 0.490049869, 1e-7);
	T_NEAR("fedadam m", m[0], 0.1, 1e-7);
	T_NEAR("fedadam v", v[0], 0.01000099, 1e-7);
	/* From v = 4, D = 1: adam v = 0.99*4 + 0.01 = 3.97,
	 * yogi v = 4 - 0.01 * sign(4 - 1) = 3.99, adagrad v = 5;
	 * x = 0.5 + 0.01 * 0.1 / (sqrt(v) + 0.001) */
	x[0] = x[1] = 0.5, m[0] = m[1] = 0, v[0] = v[1] = 4;
	step("fedadam", x, m, v, D);
	T_NEAR("fedadam v from 4", v[0], 3.97, 1e-7);
	T_NEAR("fedadam x from 4", x[0], 0.5 + 0.001 / (sqrt(3.97) + 0.001),
	    1e-7);
	x[0] = x[1] = 0.5, m[0] = m[1] = 0, v[0] = v[1] = 4;
	step("fedyogi", x, m, v, D);
	T_NEAR("fedyogi v from 4", v[0], 3.99, 1e-7);
	T_NEAR("fedyogi x from 4", x[0], 0.500500376, 1e-7);
	x[0] = x[1] = 0.5, m[0] = m[1] = 0, v[0] = v[1] = 4;
	step("fedadagrad", x, m, v, D);
	T_NEAR("fedadagrad v from 4", v[0], 5, 1e-7);
	T_NEAR("fedadagrad x from 4", x[0], 0.5 + 0.001 / (sqrt(5) + 0.001),
	    1e-7);
	/* yogi grows v when v < D^2: 1e-6 + 0.01 * 1 */
	x[0] = x[1] = 0.5, m[0] = m[1] = 0, v[0] = v[1] = 1e-6f;
	step("fedyogi", x, m, v, D);
	T_NEAR("fedyogi v grows", v[0], 0.010001, 1e-7);
}

static void
test_signed_zero(void)
{
	static const float z[3][1] = { { -0.0f }, { 0.0f }, { 0.0f } };
	const float *const a[3] = { z[0], z[1], z[2] };
	const float *const b[3] = { z[1], z[2], z[0] };
	double oa, ob, tmp[3];

	/* sorted -0, +0, +0 either way: the median is +0 */
	rule_median(&oa, a, ONES, 3, 1, tmp);
	rule_median(&ob, b, ONES, 3, 1, tmp);
	T_OK("median of signed zeros does not depend on order",
	    memcmp(&oa, &ob, sizeof(oa)) == 0 && !signbit(oa));
}

/* The order the rules sort by: -0 before +0. */
static int
cmp_before(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	if (a < b || (a == b && signbit(a) && !signbit(b)))
		return -1;
	if (b < a || (a == b && signbit(b) && !signbit(a)))
		return 1;
	return 0;
}

/* Selection and the integer keys against qsort, for every n from 1 to
 * 100, on values with many ties, signed zeros and sorted or reversed
 * runs (the inputs that break a careless quickselect). */
static void
test_select_vs_sort(void)
{
	enum { MAXN = 100, COLS = 7 };
	static float col[MAXN][COLS];
	const float *u[MAXN];
	double s[MAXN], out[COLS], out2[COLS], v[MAXN], tmp[MAXN], want, sum;
	int n, i, c, k, bad = 0, badt = 0;
	rng_t r;

	rng_seed(&r, 7);
	for (n = 1; n <= MAXN; n++) {
		for (i = 0; i < n; i++) {
			u[i] = col[i];
			s[i] = i % 5 == 0 ? 0.5 : 1;
			col[i][0] = (float)(rng_u64(&r) % 7) - 3;
			col[i][1] = rng_u64(&r) % 2 ? -0.0f : 0.0f;
			col[i][2] = (float)i;
			col[i][3] = (float)(n - i);
			col[i][4] = (float)((double)(rng_u64(&r) >> 11) /
			    9007199254740992.0 - 0.5);
			col[i][5] = i % 2 ? 1e30f : -1e30f;
			col[i][6] = 42;
		}
		rule_median(out, u, s, n, COLS, tmp);
		k = rule_trim_count(0.2, n);
		rule_trimmed(out2, u, s, n, k, COLS, tmp);
		for (c = 0; c < COLS; c++) {
			for (i = 0; i < n; i++)
				v[i] = s[i] * col[i][c];
			qsort(v, (size_t)n, sizeof(v[0]), cmp_before);
			want = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
			bad += memcmp(&want, &out[c], sizeof(want)) != 0;
			for (sum = 0, i = k; i < n - k; i++)
				sum += v[i];
			want = sum / (n - 2 * k);
			badt += memcmp(&want, &out2[c], sizeof(want)) != 0;
		}
	}
	T_OK("median by selection is the sorted median, bit for bit", !bad);
	T_OK("trimmed mean adds in sorted order, bit for bit", !badt);
}

/* A stream's sum of squares does not depend on where it is cut, so long
 * as the cuts fall on RULE_BLOCK boundaries. */
static void
test_sumsq_chunks(void)
{
	enum { LEN = 5 * RULE_BLOCK + 123 };
	static float p[LEN];
	double whole = 0, cut = 0;
	size_t at, k, cuts[] = { RULE_BLOCK, 3 * RULE_BLOCK, LEN };
	rng_t r;
	int i;

	rng_seed(&r, 3);
	for (i = 0; i < LEN; i++)
		p[i] = (float)((double)(rng_u64(&r) >> 11) /
		    9007199254740992.0 - 0.5);
	rule_sumsq_blocks(&whole, p, LEN);
	for (at = 0, i = 0; at < LEN; at = cuts[i++]) {
		k = cuts[i] - at;
		rule_sumsq_blocks(&cut, p + at, k);
	}
	T_OK("sum of squares independent of chunking",
	    memcmp(&whole, &cut, sizeof(whole)) == 0);
	T_NEAR("sum of squares of 1..10", rule_sumsq((const float[]){ 1, 2,
	    3, 4, 5, 6, 7, 8, 9, 10 }, 10), 385, 0);
}

/* DP-FedAvg: option rules, the noisy mean, and the accountant.  One round
 * at q = 1 is the Gaussian mechanism: RDP alpha / (2 Z^2) at every order. */
static void
test_dp(void)
{
	double D[3] = { 3, -6, 0 }, rdp[DP_NORDERS], e1, e2;
	const float noise[3] = { 1, 2, -3 };
	struct mopt o;
	fed_err e;
	int k, ok = 1;

	mopt_init(&o);
	o.dp_noise = 1, o.clip = 1, o.dp_seeded = 1;
	T_OK("dp with fedavg", mopt_finish(&o, &e) == 0 && o.uniform &&
	    o.dp_delta == 1e-5 && o.dp_rate == 1);
	mopt_init(&o);
	o.dp_noise = 1, o.clip = 1;
	T_OK("dp needs a seed", mopt_finish(&o, &e) < 0);
	mopt_init(&o);
	o.dp_noise = 1, o.dp_seeded = 1;
	T_OK("dp needs a clip norm", mopt_finish(&o, &e) < 0);
	mopt_init(&o);
	o.dp_seeded = 1;
	T_OK("a seed needs dp", mopt_finish(&o, &e) < 0);
	mopt_init(&o);
	o.dp_noise = 1, o.clip = 1, o.dp_seeded = 1;
	o.max_samples = 10;
	T_OK("dp refuses --max-samples", mopt_finish(&o, &e) < 0);
	for (k = 0; k < 3; k++) {
		static const char *const robust[] = { "median",
		    "trimmed-mean:0.1", "krum:1" };

		mopt_init(&o);
		mopt_rule_parse(robust[k], &o, &e);
		o.dp_noise = 1, o.clip = 1, o.dp_seeded = 1;
		T_OK("dp refuses a robust rule", mopt_finish(&o, &e) < 0);
	}
	rule_dp_finish(D, noise, 4, 3);
	T_NEAR("dp mean 0", D[0], 1, 0);
	T_NEAR("dp mean 1", D[1], -1, 0);
	T_NEAR("dp mean 2", D[2], -0.75, 0);
	memset(rdp, 0, sizeof(rdp));
	e1 = rule_dp_account(rdp, 1, 2, 1e-5);
	for (k = 0; k < DP_NORDERS; k++)
		ok &= fabs(rdp[k] - dp_orders()[k] / 8) <=
		    1e-9 * dp_orders()[k];
	T_OK("one round is the gaussian mechanism", ok);
	e2 = rule_dp_account(rdp, 1, 2, 1e-5);
	T_NEAR("two rounds: rdp doubles", rdp[3], 2 * dp_orders()[3] / 8,
	    1e-9);
	T_OK("epsilon grows over rounds", e1 > 0 && e2 > e1 && isfinite(e2));
}

/* A weighted sum taken in windows of updates (rule_wsum_add), as the
 * linear rules do, has the bits of the sum in one call. */
static void
test_wsum_parts(void)
{
	enum { N = 7, LEN = 1003 };
	static float u[N][LEN];
	const float *up[N];
	double c[N], whole[LEN], part[LEN];
	rng_t r;
	int i, j, w;

	rng_seed(&r, 3);
	for (i = 0; i < N; i++) {
		for (j = 0; j < LEN; j++)
			u[i][j] = (float)rng_normal(&r);
		up[i] = u[i];
		c[i] = rng_uniform(&r) / 3;
	}
	rule_wsum(whole, up, c, N, LEN);
	for (w = 1; w <= N; w++) {
		memset(part, 0, sizeof(part));
		for (i = 0; i < N; i += w)
			rule_wsum_add(part, up + i, c + i, N - i < w ? N - i : w,
			    LEN);
		T_OK("wsum in windows: the same bits",
		    memcmp(whole, part, sizeof(part)) == 0);
	}
}

int
main(void)
{
	test_parse();
	test_weights();
	test_fedavg_clip();
	test_wsum_parts();
	test_median_trimmed();
	test_krum();
	test_steps();
	test_signed_zero();
	test_select_vs_sort();
	test_sumsq_chunks();
	test_dp();
	T_DONE();
}
