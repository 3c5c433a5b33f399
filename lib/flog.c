/*
 * flog: folders walked in name order, manifests read once, rows built as
 * JSON objects keyed by digest (a bundle found twice is one row), sorted
 * at the end.  Every string a row carries came from an untrusted
 * manifest: whoever prints it escapes it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "flog.h"

#define MISSING_MAX (ROSTER_MAXHOLDERS * (ROSTER_NAMELEN + 1))

void
flog_init(struct flog *l, const struct roster *testers)
{
	l->models = json_object();
	l->reports = json_object();
	l->testers = testers;
}

void
flog_free(struct flog *l)
{
	json_decref(l->models);
	json_decref(l->reports);
	memset(l, 0, sizeof(*l));
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
push(char ***files, size_t *n, const char *path, fed_err *e)
{
	if (*n >= FLOG_MAXFILES)
		return fed_usagef(e, "more than %d bundles", FLOG_MAXFILES);
	*files = xreallocarray(*files, *n + 1, sizeof(**files));
	(*files)[(*n)++] = xstrdup(path);
	return 0;
}

static int
walk(const char *dir, int depth, char ***files, size_t *n, fed_err *e);

/* One name of a folder: a *.fed file, or a folder to walk. */
static int
visit(const char *path, const char *name, int depth, char ***files,
    size_t *n, fed_err *e)
{
	struct stat st;
	size_t len = strlen(name);

	if (name[0] == '.' || lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return walk(path, depth + 1, files, n, e);
	if (S_ISREG(st.st_mode) && len > 4 && strcmp(name + len - 4,
	    ".fed") == 0)
		return push(files, n, path, e);
	return 0;
}

static int
walk(const char *dir, int depth, char ***files, size_t *n, fed_err *e)
{
	struct dirent **ents;
	char path[4096];
	int i, k, rc = 0;

	if (depth > FLOG_MAXDEPTH)
		return 0;
	if ((k = scandir(dir, &ents, NULL, alphasort)) < 0)
		return fed_syserrf(e, "%s: %s", dir, strerror(errno));
	for (i = 0; i < k; i++) {
		if (rc == 0 && (size_t)snprintf(path, sizeof(path), "%s/%s",
		    dir, ents[i]->d_name) >= sizeof(path))
			rc = fed_syserrf(e, "%s: path too long", dir);
		if (rc == 0)
			rc = visit(path, ents[i]->d_name, depth, files, n, e);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
flog_files(const char *path, char ***files, size_t *n, fed_err *e)
{
	struct stat st;
	size_t from = *n;

	if (strcmp(path, "-") == 0)
		return fed_usagef(e, "-: fed-log reads files and folders");
	if (stat(path, &st) < 0)
		return fed_syserrf(e, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return push(files, n, path, e);
	if (walk(path, 0, files, n, e) < 0)
		return -1;
	qsort(*files + from, *n - from, sizeof(**files), by_name);
	return 0;
}

/* NAME.missing beside NAME.fed: a roster name a line; *out NULL when
 * there is no such file. */
static int
missing_file(const char *path, json_t **out, fed_err *e)
{
	char side[4096], *s, *line, *save = NULL;
	size_t len = strlen(path), n;
	uint8_t *buf;
	int rc = 0;

	*out = NULL;
	if (len < 4 || strcmp(path + len - 4, ".fed") != 0 ||
	    (size_t)snprintf(side, sizeof(side), "%.*s.missing",
	    (int)(len - 4), path) >= sizeof(side) || access(side, F_OK) != 0)
		return 0;
	if ((buf = read_file(side, MISSING_MAX, &n, e)) == NULL)
		return fed_errprefix(e, "%s", display_name(side));
	if (memchr(buf, '\0', n) != NULL) {
		free(buf);
		return fed_errf(e, "%s: not a roster name a line",
		    display_name(side));
	}
	s = xmalloc(n + 1);
	memcpy(s, buf, n);
	s[n] = '\0';
	free(buf);
	*out = json_array();
	for (line = strtok_r(s, "\n", &save); line != NULL && rc == 0;
	    line = strtok_r(NULL, "\n", &save))
		if (roster_check_name(line, e) < 0 ||
		    json_array_append_new(*out, json_string(line)) < 0)
			rc = fed_errf(e, "%s: not a roster name a line",
			    display_name(side));
	free(s);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* merge.missing when the merge recorded it, else the side file. */
static int
missing(const char *path, const json_t *merge, json_t **out, fed_err *e)
{
	json_t *a = json_object_get(merge, "missing"), *v;
	fed_err ne;
	size_t i;

	if (a == NULL)
		return missing_file(path, out, e);
	if (!json_is_array(a) || json_array_size(a) > ROSTER_MAXHOLDERS)
		return fed_errf(e, "merge.missing is not an array of names");
	json_array_foreach(a, i, v)
		if (!json_is_string(v) || roster_check_name(json_string_value(v),
		    &ne) < 0)
			return fed_errf(e, "merge.missing[%zu] is not a roster "
			    "name", i);
	*out = json_incref(a);
	return 0;
}

/* Names before nulls, in byte order. */
static int
by_string(const void *a, const void *b)
{
	const char *x = json_string_value(*(json_t *const *)a);
	const char *y = json_string_value(*(json_t *const *)b);

	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	return strcmp(x, y);
}

/* The merged updates: who contributed, by name, and how many samples. */
static json_t *
contributors(const json_t *merge, int64_t *samples)
{
	const json_t *ups = json_object_get(merge, "updates");
	size_t i, n = json_array_size(ups);
	json_t **v = xcalloc(n ? n : 1, sizeof(*v)), *who, *u, *k;

	*samples = 0;
	json_array_foreach(ups, i, u) {
		v[i] = json_object_get(u, "contributor");
		k = json_object_get(u, "samples");
		if (json_is_integer(k) && json_integer_value(k) > 0 &&
		    json_integer_value(k) <= INT64_MAX / 2 - *samples)
			*samples += json_integer_value(k);
	}
	qsort(v, n, sizeof(*v), by_string);
	who = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(who, json_is_string(v[i]) ?
		    json_copy(v[i]) : json_null());
	free(v);
	return who;
}

static int
add_model(struct flog *l, const char *path, const struct manifest *m,
    const char *digest, fed_err *e)
{
	json_t *mg = json_object_get(m->json, "merge"), *miss, *eps, *row;
	const char *rule = manifest_str(mg, "rule");
	int64_t samples;

	if (missing(path, mg, &miss, e) < 0)
		return -1;
	eps = json_object_get(json_object_get(m->json, "privacy"), "epsilon");
	row = json_pack("{s:I,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "round",
	    (json_int_t)m->round, "digest", digest, "parent", m->parent ?
	    json_string(m->parent) : json_null(), "file", path, "rule",
	    rule ? json_string(rule) : json_null(), "contributors",
	    contributors(mg, &samples), "missing", miss ? miss : json_null(),
	    "epsilon", json_is_number(eps) ? json_copy(eps) : json_null(),
	    "reports", json_array());
	json_object_set_new(row, "samples", json_integer(samples));
	json_object_set_new(l->models, digest, row);
	return 0;
}

/* Who signed a report: tester roster names when there is one (their
 * signatures checked), else every KEYID, unchecked. */
static json_t *
signers(const struct flog *l, struct bundle_reader *r, fed_err *e)
{
	int who[ROSTER_MAXHOLDERS], i, n;
	const struct bundle_sig *sigs;
	const uint8_t *mb;
	json_t *a;
	size_t ml;

	n = bundle_sigs(r, &sigs);
	mb = bundle_manifest_bytes(r, &ml);
	a = json_array();
	if (l->testers == NULL) {
		for (i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:s,s:n}",
			    "keyid", sigs[i].keyid, "name"));
		return a;
	}
	if ((n = roster_signers(l->testers, mb, ml, sigs, n, who, e)) < 0) {
		json_decref(a);
		return NULL;
	}
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "keyid",
		    l->testers->h[who[i]].key.id, "name",
		    l->testers->h[who[i]].name));
	return a;
}

/* The same report found again (signed by others, as a copy): its
 * signers joined to those known. */
static void
more_signers(json_t *known, json_t *who)
{
	json_t *s, *k;
	size_t i, j;

	json_array_foreach(who, i, s) {
		json_array_foreach(known, j, k)
			if (json_equal(json_object_get(k, "keyid"),
			    json_object_get(s, "keyid")))
				break;
		if (j == json_array_size(known))
			json_array_append(known, s);
	}
	json_decref(who);
}

static int
add_report(struct flog *l, const char *path, struct bundle_reader *r,
    fed_err *e)
{
	const json_t *m = bundle_manifest(r), *d;
	json_t *data, *who, *had;
	size_t i;

	if (bundle_drain(r, e) < 0 || (who = signers(l, r, e)) == NULL)
		return -1;
	if ((had = json_object_get(l->reports, bundle_digest(r))) != NULL) {
		more_signers(json_object_get(had, "signers"), who);
		return 0;
	}
	data = json_array();
	json_array_foreach(json_object_get(m, "data"), i, d)
		json_array_append(data, json_object_get(d, "digest"));
	json_object_set_new(l->reports, bundle_digest(r), json_pack(
	    "{s:s,s:s,s:s,s:o,s:O,s:o}", "file", path, "digest",
	    bundle_digest(r), "model", manifest_str(m, "model"), "signers",
	    who, "figures", json_object_get(m, "figures"), "data", data));
	return 0;
}

int
flog_add(struct flog *l, const char *path, fed_err *e)
{
	struct bundle_reader *r;
	const struct manifest *m;
	int rc = 0;

	if ((r = bundle_open(path, -1, e)) == NULL)
		return -1;
	m = bundle_meta(r);
	if (strcmp(m->kind, "model") == 0 &&
	    json_object_get(l->models, bundle_digest(r)) == NULL)
		rc = add_model(l, path, m, bundle_digest(r), e);
	else if (strcmp(m->kind, "report") == 0)
		rc = add_report(l, path, r, e);
	bundle_close(r);
	return rc;
}

static int
by_round(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t rx = json_integer_value(json_object_get(x, "round"));
	json_int_t ry = json_integer_value(json_object_get(y, "round"));

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(manifest_str(x, "digest"), manifest_str(y, "digest"));
}

/* The worst of each figure over a row's reports: the lowest accuracy,
 * the highest loss and bits per byte. */
static void
worst(json_t *row)
{
	static const char *const f[] = { "accuracy", "loss", "bits_per_byte" };
	json_t *w = json_object(), *rep, *v, *have;
	size_t i, k;

	json_array_foreach(json_object_get(row, "reports"), i, rep)
		for (k = 0; k < 3; k++) {
			v = json_object_get(json_object_get(rep, "figures"), f[k]);
			have = json_object_get(w, f[k]);
			if (v != NULL && (have == NULL || (k == 0) ==
			    (json_number_value(v) < json_number_value(have))))
				json_object_set(w, f[k], v);
		}
	json_object_set_new(row, "worst", w);
}

json_t *
flog_rows(const struct flog *l)
{
	size_t n = json_object_size(l->models), i = 0;
	json_t **v = xcalloc(n ? n : 1, sizeof(*v)), *rows, *x, *row;
	const char *k;

	json_object_foreach(l->models, k, x)
		v[i++] = x;
	qsort(v, n, sizeof(*v), by_round);
	json_object_foreach(l->reports, k, x)
		if ((row = json_object_get(l->models, manifest_str(x,
		    "model"))) != NULL)
			json_array_append(json_object_get(row, "reports"), x);
	rows = json_array();
	for (i = 0; i < n; i++) {
		worst(v[i]);
		json_array_append(rows, v[i]);
	}
	free(v);
	return rows;
}
