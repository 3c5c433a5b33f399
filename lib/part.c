/*
 * part: the split itself.  Label schemes first decide a count
 * matrix (classes, shards) and then hand every class's shuffled samples
 * out in runs of those counts; that keeps the random draws few (one per
 * class and shard, not one per sample) and the repair for --min-size a
 * matter of moving counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "part.h"
#include "rng.h"

#define TEST_STREAM 0x74657374ULL       /* "test": seeds part_test's rng */

void
part_init(struct part_spec *p)
{
	memset(p, 0, sizeof(*p));
	p->scheme = PART_IID;
	p->law = PART_EQUAL;
	p->min_size = 1;
}

int
part_parse(const char *s, struct part_spec *p, fed_err *e)
{
	const char *v = strchr(s, ':');
	uint64_t k;

	if (strcmp(s, "iid") == 0) {
		p->scheme = PART_IID;
		return 0;
	}
	if (v == NULL)
		return fed_usagef(e, "%s: unknown partition", s);
	v++;
	if (strncmp(s, "dirichlet:", 10) == 0) {
		p->scheme = PART_DIRICHLET;
		if (parse_double(v, 1e-6, 1e6, &p->alpha) < 0 || p->alpha <= 0)
			return fed_usagef(e, "%s: ALPHA must be a number in "
			    "(0, 1e6]", s);
		return 0;
	}
	if (strncmp(s, "classes:", 8) == 0) {
		p->scheme = PART_CLASSES;
		if (parse_u64(v, 1, PART_MAXCLASSES, &k) < 0)
			return fed_usagef(e, "%s: K must be an integer in "
			    "[1, %d]", s, PART_MAXCLASSES);
		p->k = (uint32_t)k;
		return 0;
	}
	if (strncmp(s, "column:", 7) == 0) {
		p->scheme = PART_COLUMN;
		if (*v == '\0' || strlen(v) >= sizeof(p->column))
			return fed_usagef(e, "%s: bad column name", s);
		memcpy(p->column, v, strlen(v) + 1);
		return 0;
	}
	return fed_usagef(e, "%s: unknown partition", s);
}

int
part_parse_law(const char *s, struct part_spec *p, fed_err *e)
{
	if (strcmp(s, "equal") == 0) {
		p->law = PART_EQUAL;
		p->law_param = 0;
		return 0;
	}
	if (strncmp(s, "lognormal:", 10) == 0) {
		p->law = PART_LOGNORMAL;
		if (parse_double(s + 10, 0, 10, &p->law_param) < 0 ||
		    p->law_param <= 0)
			return fed_usagef(e, "%s: SIGMA must be in (0, 10]", s);
		return 0;
	}
	if (strncmp(s, "power:", 6) == 0) {
		p->law = PART_POWER;
		if (parse_double(s + 6, 0, 100, &p->law_param) < 0 ||
		    p->law_param <= 0)
			return fed_usagef(e, "%s: ALPHA must be in (0, 100]", s);
		return 0;
	}
	return fed_usagef(e, "%s: unknown quantity law", s);
}

void
part_format(const struct part_spec *p, char *buf, size_t n)
{
	switch (p->scheme) {
	case PART_IID:
		snprintf(buf, n, "iid");
		break;
	case PART_DIRICHLET:
		snprintf(buf, n, "dirichlet:%g", p->alpha);
		break;
	case PART_CLASSES:
		snprintf(buf, n, "classes:%u", p->k);
		break;
	case PART_COLUMN:
		snprintf(buf, n, "column:%s", p->column);
		break;
	}
}

static const char *const scheme_names[] = {
	"iid", "dirichlet", "classes", "column"
};

json_t *
part_json(const struct part_spec *p)
{
	json_t *o = json_object(), *q = json_null();

	json_object_set_new(o, "scheme", json_string(scheme_names[p->scheme]));
	if (p->scheme == PART_DIRICHLET)
		json_object_set_new(o, "alpha", json_real(p->alpha));
	if (p->scheme == PART_CLASSES)
		json_object_set_new(o, "k", json_integer(p->k));
	if (p->scheme == PART_COLUMN)
		json_object_set_new(o, "column", json_string(p->column));
	if (p->law == PART_LOGNORMAL)
		q = json_pack("{s:s, s:f}", "law", "lognormal", "sigma",
		    p->law_param);
	else if (p->law == PART_POWER)
		q = json_pack("{s:s, s:f}", "law", "power", "alpha",
		    p->law_param);
	json_object_set_new(o, "quantity", q);
	json_object_set_new(o, "min_size", json_integer((json_int_t)p->min_size));
	json_object_set_new(o, "test_fraction", json_real(p->test));
	return o;
}

/* ---- arithmetic ---- */

struct rem {
	double r;
	uint32_t j;
};

static int
rem_cmp(const void *a, const void *b)
{
	const struct rem *x = a, *y = b;

	if (x->r != y->r)
		return x->r > y->r ? -1 : 1;
	return x->j < y->j ? -1 : x->j > y->j;
}

void
part_apportion(uint64_t total, const double *w, uint32_t n, uint64_t *out)
{
	double sum = 0, share;
	uint64_t given = 0;
	struct rem *rm;
	uint32_t j;

	for (j = 0; j < n; j++)
		sum += w[j];
	if (n == 0)
		return;
	if (!(sum > 0)) {       /* nothing to go by: equal shares */
		for (j = 0; j < n; j++)
			out[j] = total / n + (j < total % n);
		return;
	}
	rm = xcalloc(n, sizeof(*rm));
	for (j = 0; j < n; j++) {
		share = (double)total * (w[j] / sum);
		out[j] = (uint64_t)floor(share);
		if (out[j] > total)
			out[j] = total;
		given += out[j];
		rm[j].r = share - floor(share);
		rm[j].j = j;
	}
	while (given > total)   /* rounding; cannot go far */
		for (j = 0; j < n && given > total; j++)
			if (out[j] > 0) {
				out[j]--;
				given--;
			}
	qsort(rm, n, sizeof(*rm), rem_cmp);
	for (j = 0; given < total; j = (j + 1) % n, given++)
		out[rm[j].j]++;
	free(rm);
}

/* Relative shard sizes, normalised to sum 1. */
static void
law_weights(const struct part_spec *p, uint32_t n, rng_t *r, double *q)
{
	double sum = 0, u;
	uint32_t j;

	for (j = 0; j < n; j++) {
		switch (p->law) {
		case PART_LOGNORMAL:
			q[j] = exp(p->law_param * rng_normal(r));
			break;
		case PART_POWER:        /* Pareto: density ~ x^-(ALPHA+1) */
			do
				u = rng_uniform(r);
			while (u <= 0);
			q[j] = pow(u, -1.0 / p->law_param);
			break;
		default:
			q[j] = 1;
		}
		sum += q[j];
	}
	for (j = 0; j < n; j++)
		q[j] /= sum;
}

/* ---- count matrices (classes, shards) ---- */

struct cells {
	uint32_t C, n;
	uint64_t *cnt;          /* (C, n) */
	uint8_t *allowed;       /* (C, n) or NULL: every class anywhere */
	uint64_t *size;         /* (n) */
};

static void
cells_sizes(struct cells *m)
{
	uint32_t c, j;

	memset(m->size, 0, m->n * sizeof(*m->size));
	for (c = 0; c < m->C; c++)
		for (j = 0; j < m->n; j++)
			m->size[j] += m->cnt[(uint64_t)c * m->n + j];
}

/* Dir(ALPHA * n * q): mean q, and plain Dir(ALPHA) when sizes are equal. */
static void
cells_dirichlet(struct cells *m, const uint64_t *per_class, double alpha,
    const double *q, rng_t *r)
{
	double *g = xcalloc(m->n, sizeof(*g)), sum;
	uint32_t c, j;

	for (c = 0; c < m->C; c++) {
		sum = 0;
		for (j = 0; j < m->n; j++)
			sum += g[j] = rng_gamma(r, alpha * m->n * q[j]);
		if (!(sum > 0))         /* every draw underflowed */
			g[rng_below(r, m->n)] = 1;
		part_apportion(per_class[c], g, m->n, m->cnt +
		    (uint64_t)c * m->n);
	}
	free(g);
}

/*
 * classes:K: shard j holds perm[(j K + t) mod C] for t < K, so that the
 * K classes of a shard are distinct and every class has a holder when
 * n K >= C; a class goes to its holders in proportion to their q.
 */
static int
cells_classes(struct cells *m, const uint64_t *per_class, uint32_t k,
    const double *q, rng_t *r, fed_err *e)
{
	uint32_t *perm, c, j, t;
	double *w;

	if (k > m->C)
		return fed_errf(e, "classes:%u but the data has %u classes",
		    k, m->C);
	if ((uint64_t)m->n * k < m->C)
		return fed_errf(e, "classes:%u over %u shards leaves some of "
		    "the %u classes without a shard", k, m->n, m->C);
	perm = xcalloc(m->C, sizeof(*perm));
	for (c = 0; c < m->C; c++)
		perm[c] = c;
	rng_shuffle_u32(r, perm, m->C);
	m->allowed = xcalloc((uint64_t)m->C * m->n, 1);
	for (j = 0; j < m->n; j++)
		for (t = 0; t < k; t++)
			m->allowed[(uint64_t)perm[((uint64_t)j * k + t) %
			    m->C] * m->n + j] = 1;
	w = xcalloc(m->n, sizeof(*w));
	for (c = 0; c < m->C; c++) {
		for (j = 0; j < m->n; j++)
			w[j] = m->allowed[(uint64_t)c * m->n + j] ? q[j] : 0;
		part_apportion(per_class[c], w, m->n, m->cnt +
		    (uint64_t)c * m->n);
	}
	free(w);
	free(perm);
	return 0;
}

/* The largest shard that can give shard j a sample of a class j may hold
 * and stay at min; UINT32_MAX if none. */
static uint32_t
cells_donor(const struct cells *m, uint32_t j, uint64_t min)
{
	uint32_t best = UINT32_MAX, l, c;

	for (l = 0; l < m->n; l++) {
		if (l == j || m->size[l] <= min ||
		    (best != UINT32_MAX && m->size[l] <= m->size[best]))
			continue;
		for (c = 0; c < m->C; c++)
			if (m->cnt[(uint64_t)c * m->n + l] > 0 &&
			    (m->allowed == NULL ||
			    m->allowed[(uint64_t)c * m->n + j]))
				break;
		if (c < m->C)
			best = l;
	}
	return best;
}

/* Top up shards under min with samples from the largest shards, each
 * class drawn in proportion to the donor's counts. */
static int
cells_repair(struct cells *m, uint64_t min, rng_t *r, fed_err *e)
{
	uint64_t need, tot, x, mv, *cd, *cj;
	uint32_t j, l, c;

	cells_sizes(m);
	for (j = 0; j < m->n; j++)
		while (m->size[j] < min) {
			if ((l = cells_donor(m, j, min)) == UINT32_MAX)
				return fed_errf(e, "cannot give shard %u the "
				    "minimum of %llu samples", j,
				    (unsigned long long)min);
			tot = 0;
			for (c = 0; c < m->C; c++)
				if (m->allowed == NULL ||
				    m->allowed[(uint64_t)c * m->n + j])
					tot += m->cnt[(uint64_t)c * m->n + l];
			x = rng_below(r, tot);
			for (c = 0;; c++) {
				if (m->allowed != NULL &&
				    !m->allowed[(uint64_t)c * m->n + j])
					continue;
				if (x < m->cnt[(uint64_t)c * m->n + l])
					break;
				x -= m->cnt[(uint64_t)c * m->n + l];
			}
			cd = &m->cnt[(uint64_t)c * m->n + l];
			cj = &m->cnt[(uint64_t)c * m->n + j];
			need = min - m->size[j];
			mv = 1 + need / 16;
			mv = mv < *cd ? mv : *cd;
			mv = mv < m->size[l] - min ? mv : m->size[l] - min;
			*cd -= mv;
			*cj += mv;
			m->size[l] -= mv;
			m->size[j] += mv;
		}
	return 0;
}

/* Samples of every class, in input order: idx[start[c] .. start[c+1]). */
static void
by_class(const struct part_input *in, uint64_t *start, uint32_t *idx)
{
	uint64_t i, *pos = xcalloc(in->classes + 1, sizeof(*pos));
	uint32_t c;

	memset(start, 0, (in->classes + 1) * sizeof(*start));
	for (i = 0; i < in->n; i++)
		start[in->y[i] + 1]++;
	for (c = 0; c < in->classes; c++)
		start[c + 1] += start[c];
	memcpy(pos, start, (in->classes + 1) * sizeof(*pos));
	for (i = 0; i < in->n; i++)
		idx[pos[in->y[i]]++] = (uint32_t)i;
	free(pos);
}

/* Shuffle each class and deal it out in runs of the counts. */
static void
cells_deal(const struct cells *m, const struct part_input *in, rng_t *r,
    uint32_t *shard)
{
	uint64_t *start = xcalloc(in->classes + 1, sizeof(*start)), o, t;
	uint32_t *idx = xcalloc(in->n, sizeof(*idx)), c, j;

	by_class(in, start, idx);
	for (c = 0; c < m->C; c++) {
		o = start[c];
		rng_shuffle_u32(r, idx + o, start[c + 1] - o);
		for (j = 0; j < m->n; j++)
			for (t = 0; t < m->cnt[(uint64_t)c * m->n + j]; t++)
				shard[idx[o++]] = j;
	}
	free(idx);
	free(start);
}

static int
assign_labels(const struct part_spec *p, const struct part_input *in,
    uint32_t n, const double *q, rng_t *r, uint32_t *shard, fed_err *e)
{
	struct cells m = { in->classes, n, NULL, NULL, NULL };
	uint64_t *per_class = xcalloc(in->classes, sizeof(*per_class)), i;
	int rc = -1;

	for (i = 0; i < in->n; i++)
		per_class[in->y[i]]++;
	m.cnt = xcalloc((uint64_t)m.C * n, sizeof(*m.cnt));
	m.size = xcalloc(n, sizeof(*m.size));
	if (p->scheme == PART_DIRICHLET)
		cells_dirichlet(&m, per_class, p->alpha, q, r);
	else if (cells_classes(&m, per_class, p->k, q, r, e) < 0)
		goto done;
	if (cells_repair(&m, p->min_size, r, e) < 0)
		goto done;
	cells_deal(&m, in, r, shard);
	rc = 0;
done:
	free(m.cnt);
	free(m.allowed);
	free(m.size);
	free(per_class);
	return rc;
}

/* A random permutation cut into pieces: min_size each, the rest by q. */
static void
assign_iid(const struct part_spec *p, const struct part_input *in,
    uint32_t n, const double *q, rng_t *r, uint32_t *shard)
{
	uint32_t *perm = xcalloc(in->n, sizeof(*perm)), j;
	uint64_t *size = xcalloc(n, sizeof(*size)), i, t, o = 0;

	for (i = 0; i < in->n; i++)
		perm[i] = (uint32_t)i;
	rng_shuffle_u32(r, perm, in->n);
	part_apportion(in->n - (uint64_t)n * p->min_size, q, n, size);
	for (j = 0; j < n; j++)
		for (t = 0; t < size[j] + p->min_size; t++)
			shard[perm[o++]] = j;
	free(size);
	free(perm);
}

static int
assign_column(const struct part_spec *p, const struct part_input *in,
    uint32_t *shard, fed_err *e)
{
	uint64_t *size = xcalloc(in->nkeys, sizeof(*size)), i;
	uint32_t j;

	for (i = 0; i < in->n; i++)
		size[shard[i] = in->key[i]]++;
	for (j = 0; j < in->nkeys; j++)
		if (size[j] < p->min_size) {
			fed_errf(e, "shard %u of column %s has %llu samples, "
			    "fewer than the minimum %llu", j, p->column,
			    (unsigned long long)size[j],
			    (unsigned long long)p->min_size);
			free(size);
			return -1;
		}
	free(size);
	return 0;
}

int
part_assign(const struct part_spec *p, const struct part_input *in,
    uint32_t nshards, uint64_t seed, uint32_t *shard, fed_err *e)
{
	double *q;
	rng_t r;
	int rc = 0;

	if (p->scheme == PART_COLUMN)
		return assign_column(p, in, shard, e);
	if (nshards == 0 || nshards > PART_MAXSHARDS)
		return fed_errf(e, "bad shard count %u", nshards);
	if ((uint64_t)nshards * in->classes > PART_MAXCELLS)
		return fed_errf(e, "%u shards of %u classes are too many",
		    nshards, in->classes);
	if (in->n < (uint64_t)nshards * p->min_size)
		return fed_errf(e, "%llu samples cannot give %u shards %llu "
		    "each", (unsigned long long)in->n, nshards,
		    (unsigned long long)p->min_size);
	rng_seed(&r, seed);
	q = xcalloc(nshards, sizeof(*q));
	law_weights(p, nshards, &r, q);
	if (p->scheme == PART_IID)
		assign_iid(p, in, nshards, q, &r, shard);
	else
		rc = assign_labels(p, in, nshards, q, &r, shard, e);
	free(q);
	return rc;
}

/* How many of a shard's samples of each class are held out: at least
 * one, and never all, so that both parts are data sets. */
static int
test_counts(double frac, const uint64_t *cnt, uint32_t C, uint32_t j,
    uint64_t *out, fed_err *e)
{
	uint64_t size = 0, total;
	double *w;
	uint32_t c;

	for (c = 0; c < C; c++)
		size += cnt[c];
	if (size < 2)
		return fed_errf(e, "shard %u has %llu samples, too few for a "
		    "test part", j, (unsigned long long)size);
	total = (uint64_t)floor(frac * (double)size + 0.5);
	total = total < 1 ? 1 : total > size - 1 ? size - 1 : total;
	w = xcalloc(C, sizeof(*w));
	for (c = 0; c < C; c++)
		w[c] = (double)cnt[c];
	part_apportion(total, w, C, out);
	free(w);
	return 0;
}

/* Samples grouped by (shard, class), in input order: idx[start[g] ..
 * start[g+1]) for g = shard * classes + class. */
static void
by_cell(const struct part_input *in, const uint32_t *shard, uint64_t cells,
    uint64_t *start, uint32_t *idx)
{
	uint64_t *pos = xcalloc(cells, sizeof(*pos)), i, g;

	for (i = 0; i < in->n; i++)
		start[(uint64_t)shard[i] * in->classes + in->y[i] + 1]++;
	for (g = 0; g < cells; g++)
		start[g + 1] += start[g];
	memcpy(pos, start, cells * sizeof(*pos));
	for (i = 0; i < in->n; i++)
		idx[pos[(uint64_t)shard[i] * in->classes + in->y[i]]++] =
		    (uint32_t)i;
	free(pos);
}

/* Mark k random members of a[0..m) by a partial Fisher-Yates. */
static void
pick(rng_t *r, uint32_t *a, uint64_t m, uint64_t k, uint8_t *test)
{
	uint64_t t, j;
	uint32_t s;

	for (t = 0; t < k; t++) {
		j = t + rng_below(r, m - t);
		s = a[t];
		a[t] = a[j];
		a[j] = s;
		test[a[t]] = 1;
	}
}

int
part_test(const struct part_spec *p, const struct part_input *in,
    uint32_t nshards, const uint32_t *shard, uint64_t seed, uint8_t *test,
    fed_err *e)
{
	uint64_t cells = (uint64_t)nshards * in->classes, g, *start, *take;
	uint32_t *idx, j, c;
	int rc = -1;
	rng_t r;

	if (cells > PART_MAXCELLS)
		return fed_errf(e, "%u shards of %u classes are too many",
		    nshards, in->classes);
	memset(test, 0, in->n);
	if (p->test <= 0)
		return 0;
	rng_seed(&r, seed ^ (TEST_STREAM << 32));
	start = xcalloc(cells + 1, sizeof(*start));
	take = xcalloc(cells, sizeof(*take));
	idx = xcalloc(in->n ? in->n : 1, sizeof(*idx));
	by_cell(in, shard, cells, start, idx);
	for (j = 0; j < nshards; j++) {
		uint64_t *cnt = xcalloc(in->classes, sizeof(*cnt));

		for (c = 0; c < in->classes; c++) {
			g = (uint64_t)j * in->classes + c;
			cnt[c] = start[g + 1] - start[g];
		}
		rc = test_counts(p->test, cnt, in->classes, j,
		    take + (uint64_t)j * in->classes, e);
		free(cnt);
		if (rc < 0)
			goto done;
	}
	for (g = 0; g < cells; g++)
		pick(&r, idx + start[g], start[g + 1] - start[g], take[g], test);
	rc = 0;
done:
	free(idx);
	free(take);
	free(start);
	return rc;
}
