/*
 * Unit tests for lib/partition: every sample in exactly one shard, sizes
 * as the scheme promises, skew that grows as ALPHA shrinks, stratified
 * test parts, and the same split from the same seed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "part.h"
#include "t.h"

#define N 6000
#define C 10

static int32_t y[N];
static uint32_t key[N];

/* Mean total variation distance of the shards' label mix to the global. */
static double
mean_tv(const uint32_t *shard, uint32_t n)
{
	static uint64_t cnt[1000][C];
	uint64_t size[1000] = { 0 }, tot[C] = { 0 }, i;
	double sum = 0, tv;
	uint32_t j, c;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < N; i++) {
		cnt[shard[i]][y[i]]++;
		size[shard[i]]++;
		tot[y[i]]++;
	}
	for (j = 0; j < n; j++) {
		tv = 0;
		for (c = 0; c < C; c++)
			tv += fabs((double)cnt[j][c] / size[j] -
			    (double)tot[c] / N);
		sum += tv / 2;
	}
	return sum / n;
}

static int
all_in_range(const uint32_t *shard, uint32_t n, uint64_t *size)
{
	uint64_t i;

	memset(size, 0, n * sizeof(*size));
	for (i = 0; i < N; i++) {
		if (shard[i] >= n)
			return 0;
		size[shard[i]]++;
	}
	return 1;
}

static void
test_parse(void)
{
	struct part_spec p;
	char buf[64];
	fed_err e;

	part_init(&p);
	T_OK("parse iid", part_parse("iid", &p, &e) == 0 &&
	    p.scheme == PART_IID);
	T_OK("parse dirichlet", part_parse("dirichlet:0.5", &p, &e) == 0 &&
	    p.scheme == PART_DIRICHLET && p.alpha == 0.5);
	part_format(&p, buf, sizeof(buf));
	T_OK("format dirichlet", strcmp(buf, "dirichlet:0.5") == 0);
	T_OK("parse classes", part_parse("classes:2", &p, &e) == 0 &&
	    p.scheme == PART_CLASSES && p.k == 2);
	T_OK("parse column", part_parse("column:country", &p, &e) == 0 &&
	    p.scheme == PART_COLUMN && strcmp(p.column, "country") == 0);
	T_OK("reject dirichlet:0", part_parse("dirichlet:0", &p, &e) < 0);
	T_OK("reject dirichlet:x", part_parse("dirichlet:x", &p, &e) < 0);
	T_OK("reject classes:0", part_parse("classes:0", &p, &e) < 0);
	T_OK("reject column:", part_parse("column:", &p, &e) < 0);
	T_OK("reject unknown", part_parse("random", &p, &e) < 0);
	T_OK("a bad partition is a usage error", e.kind == FED_EUSAGE);
	T_OK("parse lognormal", part_parse_law("lognormal:1.5", &p, &e) == 0 &&
	    p.law == PART_LOGNORMAL && p.law_param == 1.5);
	T_OK("parse power", part_parse_law("power:2", &p, &e) == 0 &&
	    p.law == PART_POWER);
	T_OK("reject power:-1", part_parse_law("power:-1", &p, &e) < 0);
	T_OK("reject zipf", part_parse_law("zipf:1", &p, &e) < 0);
	T_OK("a bad quantity law is a usage error", e.kind == FED_EUSAGE);
}

static void
test_apportion(void)
{
	double w[4] = { 1, 1, 1, 0 }, v[3] = { 0.5, 0.25, 0.25 };
	uint64_t out[4];

	part_apportion(10, w, 4, out);
	T_OK("apportion ties to the lower index", out[0] == 4 &&
	    out[1] == 3 && out[2] == 3 && out[3] == 0);
	part_apportion(8, v, 3, out);
	T_OK("apportion exact", out[0] == 4 && out[1] == 2 && out[2] == 2);
	part_apportion(7, v, 3, out);
	T_OK("apportion largest remainder", out[0] == 3 && out[1] == 2 &&
	    out[2] == 2);
}

static void
test_iid(void)
{
	struct part_input in = { N, y, C, NULL, 0 };
	static uint32_t a[N], b[N];
	uint64_t size[7], lo = N, hi = 0;
	struct part_spec p;
	fed_err e;
	int j;

	part_init(&p);
	T_OK("iid assigns", part_assign(&p, &in, 7, 42, a, &e) == 0);
	T_OK("iid in range", all_in_range(a, 7, size));
	for (j = 0; j < 7; j++) {
		lo = size[j] < lo ? size[j] : lo;
		hi = size[j] > hi ? size[j] : hi;
	}
	T_OK("iid sizes equal within one", hi - lo <= 1);
	part_assign(&p, &in, 7, 42, b, &e);
	T_OK("iid same seed same split", memcmp(a, b, sizeof(a)) == 0);
	part_assign(&p, &in, 7, 43, b, &e);
	T_OK("iid other seed other split", memcmp(a, b, sizeof(a)) != 0);
	T_OK("iid mix near global", mean_tv(a, 7) < 0.05);
	T_OK("too few samples rejected",
	    part_assign(&p, &in, 7000, 1, a, &e) < 0);
}

static void
test_dirichlet(void)
{
	struct part_input in = { N, y, C, NULL, 0 };
	static uint32_t a[N], b[N];
	uint64_t size[20];
	struct part_spec p;
	double skew, even;
	fed_err e;
	int j, ok = 1;

	part_init(&p);
	part_parse("dirichlet:0.1", &p, &e);
	p.min_size = 30;
	T_OK("dirichlet 0.1 assigns", part_assign(&p, &in, 20, 7, a, &e) == 0);
	T_OK("dirichlet in range", all_in_range(a, 20, size));
	for (j = 0; j < 20; j++)
		ok &= size[j] >= 30;
	T_OK("dirichlet min size", ok);
	skew = mean_tv(a, 20);
	part_parse("dirichlet:100", &p, &e);
	part_assign(&p, &in, 20, 7, b, &e);
	even = mean_tv(b, 20);
	printf("# mean TV to global: dirichlet 0.1 %.3f, 100 %.3f\n", skew,
	    even);
	T_OK("dirichlet 0.1 skewed", skew > 0.4);
	T_OK("dirichlet 100 near global", even < 0.1);
	part_assign(&p, &in, 20, 7, a, &e);
	T_OK("dirichlet same seed same split", memcmp(a, b, sizeof(a)) == 0);
	p.min_size = N / 20 + 1;
	T_OK("impossible min size rejected",
	    part_assign(&p, &in, 20, 7, a, &e) < 0);
}

static void
test_classes(void)
{
	struct part_input in = { N, y, C, NULL, 0 };
	static uint32_t a[N];
	uint8_t has[8][C] = { { 0 } };
	uint64_t size[8], i;
	struct part_spec p;
	int j, c, ok = 1, k, covered = 1;
	fed_err e;

	part_init(&p);
	part_parse("classes:2", &p, &e);
	T_OK("classes:2 assigns", part_assign(&p, &in, 8, 3, a, &e) == 0);
	T_OK("classes in range", all_in_range(a, 8, size));
	for (i = 0; i < N; i++)
		has[a[i]][y[i]] = 1;
	for (j = 0; j < 8; j++) {
		for (k = 0, c = 0; c < C; c++)
			k += has[j][c];
		ok &= k <= 2;
	}
	for (c = 0; c < C; c++) {
		for (k = 0, j = 0; j < 8; j++)
			k += has[j][c];
		covered &= k > 0;
	}
	T_OK("classes:2 at most two per shard", ok);
	T_OK("classes:2 every class placed", covered);
	T_OK("classes:2 over 4 shards rejected",
	    part_assign(&p, &in, 4, 3, a, &e) < 0);
	part_parse("classes:11", &p, &e);
	T_OK("classes:11 of 10 rejected", part_assign(&p, &in, 8, 3, a, &e) < 0);
}

static void
test_quantity(void)
{
	struct part_input in = { N, y, C, NULL, 0 };
	static uint32_t a[N];
	uint64_t size[10], lo = N, hi = 0;
	struct part_spec p;
	fed_err e;
	int j;

	part_init(&p);
	part_parse_law("lognormal:1.5", &p, &e);
	p.min_size = 20;
	T_OK("lognormal iid assigns", part_assign(&p, &in, 10, 5, a, &e) == 0);
	T_OK("lognormal in range", all_in_range(a, 10, size));
	for (j = 0; j < 10; j++) {
		lo = size[j] < lo ? size[j] : lo;
		hi = size[j] > hi ? size[j] : hi;
	}
	printf("# lognormal:1.5 sizes %llu..%llu\n", (unsigned long long)lo,
	    (unsigned long long)hi);
	T_OK("lognormal sizes skewed", hi > 4 * lo);
	T_OK("lognormal min size", lo >= 20);
	part_parse("dirichlet:1", &p, &e);
	part_parse_law("power:1", &p, &e);
	T_OK("power dirichlet assigns", part_assign(&p, &in, 10, 5, a, &e) == 0);
	T_OK("power in range", all_in_range(a, 10, size));
}

static void
test_split(void)
{
	struct part_input in = { N, y, C, NULL, 0 };
	static uint32_t a[N];
	static uint8_t t[N], u[N];
	uint64_t size[5], held[5] = { 0 }, cls[C] = { 0 }, tot[C] = { 0 }, i;
	struct part_spec p;
	int j, ok = 1;
	fed_err e;

	part_init(&p);
	part_parse("dirichlet:0.5", &p, &e);
	p.test = 0.2;
	part_assign(&p, &in, 5, 9, a, &e);
	all_in_range(a, 5, size);
	T_OK("test split", part_test(&p, &in, 5, a, 9, t, &e) == 0);
	for (i = 0; i < N; i++) {
		held[a[i]] += t[i];
		cls[y[i]] += t[i];
		tot[y[i]]++;
	}
	for (j = 0; j < 5; j++)
		ok &= held[j] == (uint64_t)floor(0.2 * size[j] + 0.5);
	T_OK("test part is a fifth of every shard", ok);
	T_NEAR("test part stratified (class 0)", (double)cls[0] / tot[0], 0.2,
	    0.02);
	part_test(&p, &in, 5, a, 9, u, &e);
	T_OK("test same seed same split", memcmp(t, u, sizeof(t)) == 0);
}

static void
test_column(void)
{
	struct part_input in = { N, y, C, key, 3 };
	static uint32_t a[N];
	struct part_spec p;
	fed_err e;

	part_init(&p);
	part_parse("column:site", &p, &e);
	T_OK("column assigns", part_assign(&p, &in, 3, 1, a, &e) == 0);
	T_OK("column follows the key", memcmp(a, key, sizeof(a)) == 0);
	p.min_size = N;
	T_OK("column min size rejected", part_assign(&p, &in, 3, 1, a, &e) < 0);
}

int
main(void)
{
	int i;

	for (i = 0; i < N; i++) {
		y[i] = (i * 7 + i / 13) % C;
		key[i] = i % 3;
	}
	test_parse();
	test_apportion();
	test_iid();
	test_dirichlet();
	test_classes();
	test_quantity();
	test_split();
	test_column();
	T_DONE();
}
