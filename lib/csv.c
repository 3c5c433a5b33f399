/*
 * csv: line reader, field splitter and the table they fill.  Every row is
 * validated completely before it is stored, so a skipped row leaves no
 * trace.  Key values are interned in a small hash table and numbered in
 * sorted order at the end, so shard numbering does not depend on row order.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "idx.h"

#define RD_CHUNK (1u << 16)

/* ---- lines ---- */

struct lines {
	struct idx_in *in;
	char *buf;              /* CSV_MAXLINE + RD_CHUNK + 1 */
	size_t start, end;
	int eof;
	uint64_t no;            /* number of the line last returned */
};

/* The next line, NUL-terminated, CR stripped: 1, 0 at the end, -1. */
static int
lines_next(struct lines *l, char **line, size_t *len, fed_err *e)
{
	char *nl;
	ssize_t r;

	for (;;) {
		nl = memchr(l->buf + l->start, '\n', l->end - l->start);
		if (nl != NULL || (l->eof && l->end > l->start))
			break;
		if (l->eof)
			return 0;
		if (l->end - l->start > CSV_MAXLINE)
			return fed_errf(e, "%s: line %llu: longer than %u bytes",
			    idx_in_name(l->in), (unsigned long long)l->no + 1,
			    CSV_MAXLINE);
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
		if ((r = idx_in_read(l->in, l->buf + l->end, RD_CHUNK, e)) < 0)
			return -1;
		l->end += (size_t)r;
		l->eof = r == 0;
	}
	if (nl == NULL)
		nl = l->buf + l->end;
	*line = l->buf + l->start;
	*len = (size_t)(nl - *line);
	if (*len > CSV_MAXLINE)
		return fed_errf(e, "%s: line %llu: longer than %u bytes",
		    idx_in_name(l->in), (unsigned long long)l->no + 1,
		    CSV_MAXLINE);
	l->start = (size_t)(nl - l->buf) + (nl < l->buf + l->end);
	*nl = '\0';
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*line)[--*len] = '\0';
	l->no++;
	return 1;
}

/* ---- fields ---- */

struct fields {
	char **f;
	uint32_t n, cap;
};

static const char *
field_quoted(char **pp, char **out)
{
	char *p = *pp + 1, *w = p;

	*out = w;
	for (;;) {
		if (*p == '\0')
			return "unterminated quote";
		if (*p == '"' && p[1] == '"') {
			*w++ = '"';
			p += 2;
		} else if (*p == '"') {
			p++;
			break;
		} else
			*w++ = *p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ',' && *p != '\0')
		return "text after a closing quote";
	*w = '\0';
	*pp = p;
	return NULL;
}

/* Split line in place; NULL, or what is wrong with it. */
static const char *
fields_split(struct fields *fs, char *line, size_t len)
{
	char *p = line, *f, *end;
	const char *why;
	int more;

	if (strlen(line) != len)
		return "NUL byte";
	for (fs->n = 0;; fs->n++) {
		if (fs->n == CSV_MAXCOLS)
			return "too many fields";
		if (fs->n == fs->cap) {
			fs->cap = fs->cap ? 2 * fs->cap : 64;
			fs->f = xreallocarray(fs->f, fs->cap, sizeof(*fs->f));
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			if ((why = field_quoted(&p, &f)) != NULL)
				return why;
			end = NULL;
		} else {
			f = p;
			p += strcspn(p, ",\"");
			if (*p == '"')
				return "quote inside a field";
			for (end = p; end > f && (end[-1] == ' ' ||
			    end[-1] == '\t'); end--)
				;
		}
		more = *p == ',';
		if (end != NULL)
			*end = '\0';
		fs->f[fs->n] = f;
		if (!more) {
			fs->n++;
			return NULL;
		}
		p++;
	}
}

/* ---- key values ---- */

struct keyset {
	char **v;               /* (n) in order of first appearance */
	uint32_t n;
	uint32_t *slot;         /* (cap) id + 1, 0 empty */
	uint32_t cap;
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

static void
keyset_grow(struct keyset *k)
{
	uint32_t cap = k->cap ? 2 * k->cap : 256, i, s;

	free(k->slot);
	k->slot = xcalloc(cap, sizeof(*k->slot));
	k->cap = cap;
	for (i = 0; i < k->n; i++) {
		for (s = fnv1a(k->v[i]) & (cap - 1); k->slot[s];
		    s = (s + 1) & (cap - 1))
			;
		k->slot[s] = i + 1;
	}
}

/* The id of s (added if new), or -1 when there are too many. */
static int64_t
keyset_id(struct keyset *k, const char *s)
{
	uint32_t i;

	if (2 * (uint64_t)(k->n + 1) > k->cap)
		keyset_grow(k);
	for (i = fnv1a(s) & (k->cap - 1); k->slot[i]; i = (i + 1) & (k->cap - 1))
		if (strcmp(k->v[k->slot[i] - 1], s) == 0)
			return k->slot[i] - 1;
	if (k->n == CSV_MAXKEYS)
		return -1;
	k->v = xreallocarray(k->v, k->n + 1, sizeof(*k->v));
	k->v[k->n] = xstrdup(s);
	k->slot[i] = ++k->n;
	return k->n - 1;
}

struct named {
	const char *s;
	uint32_t id;
};

static int
named_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->s,
	    ((const struct named *)b)->s);
}

/* Renumber keys in sorted order; the table takes the strings. */
static void
keyset_finish(struct keyset *k, struct csv_data *d)
{
	struct named *order = xcalloc(k->n, sizeof(*order));
	uint32_t *rank = xcalloc(k->n, sizeof(*rank)), i;
	uint64_t r;

	for (i = 0; i < k->n; i++) {
		order[i].s = k->v[i];
		order[i].id = i;
	}
	qsort(order, k->n, sizeof(*order), named_cmp);
	d->keys = xcalloc(k->n, sizeof(*d->keys));
	for (i = 0; i < k->n; i++) {
		rank[order[i].id] = i;
		d->keys[i] = k->v[order[i].id];
	}
	for (r = 0; r < d->rows; r++)
		d->key[r] = rank[d->key[r]];
	d->nkeys = k->n;
	free(k->v);
	k->v = NULL;
	k->n = 0;
	free(rank);
	free(order);
}

static void
keyset_free(struct keyset *k)
{
	uint32_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	free(k->slot);
}

/* ---- the table ---- */

struct table {
	const char *name;       /* file, for messages */
	uint32_t ncols;
	uint32_t label;         /* column index */
	uint32_t keycol;        /* column index, UINT32_MAX when none */
	char **cols;            /* (ncols) header names */
	struct fields fs;
	struct keyset ks;
	uint64_t cap;           /* rows allocated */
	float *row;             /* (features) the row being checked */
};

static int
table_header(struct table *t, const struct csv_opts *o, struct csv_data *d,
    fed_err *e)
{
	const char *lab = o->label != NULL ? o->label : "label";
	uint32_t i, j;

	t->ncols = t->fs.n;
	t->cols = xcalloc(t->ncols, sizeof(*t->cols));
	t->label = t->keycol = UINT32_MAX;
	for (i = 0; i < t->ncols; i++) {
		t->cols[i] = xstrdup(t->fs.f[i]);
		for (j = 0; j < i; j++)
			if (strcmp(t->cols[i], t->cols[j]) == 0)
				return fed_errf(e, "%s: line 1: column %s "
				    "appears twice", t->name, t->cols[i]);
		if (strcmp(t->cols[i], lab) == 0)
			t->label = i;
		if (o->key != NULL && strcmp(t->cols[i], o->key) == 0)
			t->keycol = i;
	}
	if (t->label == UINT32_MAX)
		return fed_errf(e, "%s: no column %s", t->name, lab);
	if (o->key != NULL && t->keycol == UINT32_MAX)
		return fed_errf(e, "%s: no column %s", t->name, o->key);
	if (t->keycol == t->label)
		return fed_errf(e, "%s: column %s cannot be label and key",
		    t->name, lab);
	d->features = t->ncols - 1 - (o->key != NULL);
	if (d->features == 0)
		return fed_errf(e, "%s: no feature columns", t->name);
	t->row = xcalloc(d->features, sizeof(*t->row));
	return 0;
}

static int
num_parse(const char *s, float *out)
{
	char *end;
	double v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v) || fabs(v) > FLT_MAX)
		return -1;
	*out = (float)v;
	return 0;
}

/* Check the split row into t->row, *label; NULL or what is wrong. */
static const char *
table_check(struct table *t, uint32_t *label, char *why, size_t n)
{
	uint32_t i, f = 0;
	uint64_t v;

	if (t->fs.n != t->ncols) {
		snprintf(why, n, "%u fields, the header has %u", t->fs.n,
		    t->ncols);
		return why;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *s = t->fs.f[i];

		if (i == t->keycol) {
			if (*s == '\0') {
				snprintf(why, n, "empty key %s", t->cols[i]);
				return why;
			}
		} else if (i == t->label) {
			if (parse_u64(s, 0, CSV_MAXCLASSES - 1, &v) < 0) {
				snprintf(why, n, "label %.40s is not an integer "
				    "in [0, %d)", s, CSV_MAXCLASSES);
				return why;
			}
			*label = (uint32_t)v;
		} else if (num_parse(s, &t->row[f++]) < 0) {
			snprintf(why, n, "column %.60s: %.40s%s is not a "
			    "number", t->cols[i], *s ? s : "(empty)",
			    strlen(s) > 40 ? "..." : "");
			return why;
		}
	}
	return NULL;
}

static int
table_add(struct table *t, struct csv_data *d, uint32_t label, fed_err *e)
{
	int64_t id = 0;

	if (t->keycol != UINT32_MAX &&
	    (id = keyset_id(&t->ks, t->fs.f[t->keycol])) < 0)
		return fed_errf(e, "%s: more than %d distinct values of %s",
		    t->name, CSV_MAXKEYS, t->cols[t->keycol]);
	if (d->rows == CSV_MAXROWS ||
	    (d->rows + 1) * d->features > CSV_MAXCELLS)
		return fed_errf(e, "%s: more than %llu rows", t->name,
		    (unsigned long long)d->rows);
	if (d->rows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		d->x = xreallocarray(d->x, t->cap, d->features * sizeof(float));
		d->y = xreallocarray(d->y, t->cap, sizeof(*d->y));
		if (t->keycol != UINT32_MAX)
			d->key = xreallocarray(d->key, t->cap, sizeof(*d->key));
	}
	memcpy(d->x + d->rows * d->features, t->row,
	    d->features * sizeof(float));
	d->y[d->rows] = (int32_t)label;
	if (d->key != NULL)
		d->key[d->rows] = (uint32_t)id;
	if (label + 1 > d->classes)
		d->classes = label + 1;
	d->rows++;
	return 0;
}

static void
table_free(struct table *t)
{
	uint32_t i;

	for (i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->fs.f);
	free(t->row);
	keyset_free(&t->ks);
}

/* Header, then every row. */
static int
csv_rows(struct lines *l, struct table *t, const struct csv_opts *o,
    struct csv_data *d, fed_err *e)
{
	const char *bad;
	char *line = NULL, why[256];
	size_t len = 0;
	uint32_t label = 0;
	int r, header = 1;

	while ((r = lines_next(l, &line, &len, e)) > 0) {
		if (len == 0)
			continue;
		bad = fields_split(&t->fs, line, len);
		if (bad == NULL && header) {
			if (table_header(t, o, d, e) < 0)
				return -1;
			header = 0;
			continue;
		}
		if (bad == NULL)
			bad = table_check(t, &label, why, sizeof(why));
		if (bad != NULL && (header || !o->skip_bad))
			return fed_errf(e, "%s: line %llu: %s", t->name,
			    (unsigned long long)l->no, bad);
		if (bad != NULL) {
			if (d->skipped++ == 0)
				d->first_bad = l->no;
			continue;
		}
		if (table_add(t, d, label, e) < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	if (header)
		return fed_errf(e, "%s: no header row", t->name);
	if (d->rows == 0)
		return fed_errf(e, "%s: no data rows", t->name);
	return 0;
}

int
csv_load(const char *path, const struct csv_opts *o, struct csv_data *d,
    fed_err *e)
{
	struct lines l = { 0 };
	struct table t = { 0 };
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if ((l.in = idx_in_open(path, e)) == NULL)
		return -1;
	l.buf = xmalloc(CSV_MAXLINE + RD_CHUNK + 1);
	t.name = idx_in_name(l.in);
	if (csv_rows(&l, &t, o, d, e) < 0 ||
	    idx_in_finish(l.in, d->sha256, e) < 0)
		goto done;
	d->compressed = idx_in_compressed(l.in);
	if (t.keycol != UINT32_MAX)
		keyset_finish(&t.ks, d);
	rc = 0;
done:
	table_free(&t);
	free(l.buf);
	idx_in_close(l.in);
	if (rc < 0)
		csv_free(d);
	return rc;
}

void
csv_free(struct csv_data *d)
{
	uint32_t i;

	for (i = 0; i < d->nkeys; i++)
		free(d->keys[i]);
	free(d->keys);
	free(d->x);
	free(d->y);
	free(d->key);
	memset(d, 0, sizeof(*d));
}
