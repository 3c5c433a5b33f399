/*
 * manifest: manifest.json.  Parsing rejects duplicate keys and caps size
 * and nesting; the schema check names the first field that is wrong.
 * Fields fed does not know are allowed, so later versions can add them.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "manifest.h"
#include "sha256.h"

static int
depth(const json_t *v, int lim)
{
	const char *k;
	json_t *x;
	size_t i;
	int d, m = 0;

	if (lim < 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
			if ((d = depth(x, lim - 1)) > m)
				m = d;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if ((d = depth(x, lim - 1)) > m)
				m = d;
	} else
		return 0;
	return m + 1;
}

json_t *
manifest_parse(const uint8_t *buf, size_t n, fed_err *e)
{
	json_error_t jerr;
	json_t *m;

	if (n > MANIFEST_MAX) {
		fed_errf(e, "manifest.json: larger than %u bytes", MANIFEST_MAX);
		return NULL;
	}
	m = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (m == NULL) {
		fed_errf(e, "manifest.json: line %d: %s", jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(m)) {
		fed_errf(e, "manifest.json: not a JSON object");
	} else if (depth(m, MANIFEST_MAXDEPTH) > MANIFEST_MAXDEPTH) {
		fed_errf(e, "manifest.json: nested deeper than %d",
		    MANIFEST_MAXDEPTH);
	} else
		return m;
	json_decref(m);
	return NULL;
}

int
manifest_digest_valid(const char *s)
{
	int i;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 ||
	    strlen(s) != DIGEST_LEN)
		return -1;
	for (i = 7; i < DIGEST_LEN; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return -1;
	return 0;
}

static int
hex64(const char *s)
{
	char d[DIGEST_LEN + 1];

	if (s == NULL || strlen(s) != 64)
		return -1;
	snprintf(d, sizeof(d), "sha256:%s", s);
	return manifest_digest_valid(d);
}

static int
check_members(const json_t *ms, const struct manifest_rules *r, fed_err *e)
{
	size_t i, j;
	json_t *o;

	if (!json_is_array(ms))
		return fed_errf(e, "manifest.json: members is not an array");
	if (json_array_size(ms) > (size_t)r->maxmembers)
		return fed_errf(e, "manifest.json: more than %d members",
		    r->maxmembers);
	json_array_foreach(ms, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		json_t *sz = json_object_get(o, "size");

		if (!json_is_object(o) || json_object_size(o) != 3 || !name)
			return fed_errf(e, "manifest.json: members[%zu] wants "
			    "exactly name, size and sha256", i);
		if (!r->allowed(name))
			return fed_errf(e, "manifest.json: member name %.64s "
			    "not allowed", name);
		if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
		    (uint64_t)json_integer_value(sz) > r->maxsize)
			return fed_errf(e, "manifest.json: members[%zu].size "
			    "invalid", i);
		if (hex64(json_string_value(json_object_get(o, "sha256"))) < 0)
			return fed_errf(e, "manifest.json: members[%zu].sha256 "
			    "is not 64 lower-case hex digits", i);
		for (j = 0; j < i; j++)
			if (strcmp(name, json_string_value(json_object_get(
			    json_array_get(ms, j), "name"))) == 0)
				return fed_errf(e, "manifest.json: member %s "
				    "listed twice", name);
	}
	return 0;
}

static int
want_int(const json_t *m, const char *key, int64_t min, fed_err *e)
{
	json_t *v = json_object_get(m, key);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return fed_errf(e, "manifest.json: %s must be an integer >= %lld",
		    key, (long long)min);
	return 0;
}

/* An update's "gradient" (fed-bundle(5), "Gradient uploads"): absent;
 * true, an upload of one step without moments; or the digest of the
 * upload an update with moments was expanded from. */
static int
check_gradient(const json_t *m, fed_err *e)
{
	const json_t *g = json_object_get(m, "gradient");
	int mom = json_object_get(m, "moments") != NULL;

	if (g == NULL)
		return 0;
	if (json_is_true(g) && !mom && manifest_int(m, "steps") == 1)
		return 0;
	if (json_is_string(g) && mom &&
	    manifest_digest_valid(json_string_value(g)) == 0)
		return 0;
	return fed_errf(e, "manifest.json: gradient must be true (one step, "
	    "no moments) or the digest of an upload (with moments)");
}

static int
check_model(const json_t *m, const char *kind, fed_err *e)
{
	const char *arch = manifest_str(m, "arch");
	json_t *parent = json_object_get(m, "parent");
	json_t *base = json_object_get(m, "base");
	struct arch a;
	fed_err ae;

	if (arch == NULL)
		return fed_errf(e, "manifest.json: arch missing");
	if (arch_parse(arch, &a, &ae) < 0)
		return fed_errf(e, "manifest.json: %s", ae.msg);
	/* an adapter's frozen base: only a model of imported tensors has one */
	if (base != NULL && (a.kind != ARCH_TENSORS ||
	    strcmp(kind, "model") != 0 ||
	    manifest_digest_valid(json_string_value(base)) < 0))
		return fed_errf(e, "manifest.json: base must be a digest "
		    "sha256:<64 hex>, in a model of imported tensors");
	if (want_int(m, "round", 0, e) < 0)
		return -1;
	if (json_is_null(parent) && strcmp(kind, "model") == 0)
		return 0;
	if (manifest_digest_valid(json_string_value(parent)) < 0)
		return fed_errf(e, "manifest.json: parent must be a digest "
		    "sha256:<64 hex>%s", strcmp(kind, "model") == 0 ?
		    " or null" : "");
	if (strcmp(kind, "update") == 0)
		return want_int(m, "samples", 1, e) < 0 ? -1 :
		    want_int(m, "steps", 0, e) < 0 ? -1 : check_gradient(m, e);
	return json_object_get(m, "gradient") == NULL ? 0 :
	    fed_errf(e, "manifest.json: gradient in a %s", kind);
}

static int
check_data(const json_t *m, fed_err *e)
{
	json_t *sc = json_object_get(m, "x_scale");
	const char *mod = manifest_str(m, "modality");

	/* text: a byte stream; features, classes and scale do not apply */
	if (mod != NULL && strcmp(mod, "text") == 0)
		return want_int(m, "samples", 1, e);
	if (mod != NULL)
		return fed_errf(e, "manifest.json: modality %.32s is not text",
		    mod);
	if (want_int(m, "samples", 1, e) < 0 ||
	    want_int(m, "features", 1, e) < 0 ||
	    want_int(m, "classes", 1, e) < 0)
		return -1;
	if (!json_is_number(sc) || !isfinite(json_number_value(sc)) ||
	    json_number_value(sc) <= 0)
		return fed_errf(e, "manifest.json: x_scale must be a positive "
		    "number");
	return 0;
}

/* A roster (fed-bundle(5)): a version, its link to the previous one, a
 * list of holders and no payload.  What a holder entry must hold is the
 * roster module's to check. */
static int
check_roster(const json_t *m, fed_err *e)
{
	json_t *parent = json_object_get(m, "parent");
	json_t *h = json_object_get(m, "holders");

	if (want_int(m, "version", 1, e) < 0)
		return -1;
	if (json_array_size(json_object_get(m, "members")) != 0)
		return fed_errf(e, "manifest.json: a roster has no members");
	if (!json_is_array(h) || json_array_size(h) == 0)
		return fed_errf(e, "manifest.json: holders must be a non-empty "
		    "array");
	if (json_integer_value(json_object_get(m, "version")) == 1)
		return parent == NULL || json_is_null(parent) ? 0 :
		    fed_errf(e, "manifest.json: roster version 1 has no "
		    "parent");
	if (manifest_digest_valid(json_string_value(parent)) < 0)
		return fed_errf(e, "manifest.json: roster parent must be a "
		    "digest sha256:<64 hex>");
	return 0;
}

/*
 * A report (fed-bundle(5), Reports): a tester's figures on one model, in
 * the manifest alone.  Every figure is a finite number in its range,
 * every table bounded, each total the sum of its parts, so that readers
 * (fed-verify's release quorum, fed-log) use them without checks of
 * their own.
 */
static int
want_num(const json_t *o, const char *where, const char *key, double max,
    fed_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
	    json_number_value(v) < 0 || json_number_value(v) > max)
		return fed_errf(e, "manifest.json: %s.%s must be a number from "
		    "0 to %g", where, key, max);
	return 0;
}

/* One set of figures: samples, loss, and accuracy or bits per byte. */
static int
check_figures(const json_t *f, const char *where, int64_t *samples,
    fed_err *e)
{
	json_t *n = json_object_get(f, "samples");
	int acc = json_object_get(f, "accuracy") != NULL;

	if (!json_is_object(f))
		return fed_errf(e, "manifest.json: %s is not an object", where);
	if (!json_is_integer(n) || json_integer_value(n) < 1)
		return fed_errf(e, "manifest.json: %s.samples must be an "
		    "integer >= 1", where);
	*samples = json_integer_value(n);
	if (acc == (json_object_get(f, "bits_per_byte") != NULL))
		return fed_errf(e, "manifest.json: %s wants accuracy or "
		    "bits_per_byte, not both or neither", where);
	if (want_num(f, where, "loss", MANIFEST_MAXFIGURE, e) < 0)
		return -1;
	return acc ? want_num(f, where, "accuracy", 1, e) :
	    want_num(f, where, "bits_per_byte", MANIFEST_MAXFIGURE, e);
}

/* figures.per_class: class i at index i, its samples summing to n, an
 * accuracy for every class that has samples and null for the others. */
static int
check_classes(const json_t *pc, int64_t n, fed_err *e)
{
	int64_t sum = 0, k;
	json_t *c, *a;
	size_t i;

	if (!json_is_array(pc) || json_array_size(pc) > MANIFEST_MAXCLASSES)
		return fed_errf(e, "manifest.json: figures.per_class must be "
		    "an array of at most %d classes", MANIFEST_MAXCLASSES);
	json_array_foreach(pc, i, c) {
		k = manifest_int(c, "samples");
		a = json_object_get(c, "accuracy");
		if (!json_is_object(c) || json_object_size(c) != 3 ||
		    manifest_int(c, "class") != (int64_t)i || k < 0 ||
		    k > n - sum || (k == 0) != json_is_null(a) || (k > 0 &&
		    want_num(c, "figures.per_class[]", "accuracy", 1, e) < 0))
			return fed_errf(e, "manifest.json: figures.per_class[%zu]"
			    " wants class %zu, samples and an accuracy (null "
			    "without samples)", i, i);
		sum += k;
	}
	if (json_array_size(pc) > 0 && sum != n)
		return fed_errf(e, "manifest.json: figures.per_class counts "
		    "%lld samples, figures %lld", (long long)sum, (long long)n);
	return 0;
}

/* data: the evaluated data sets by digest, each with its figures. */
static int
check_report_data(const json_t *d, int64_t n, fed_err *e)
{
	int64_t sum = 0, k;
	char where[32];
	json_t *o;
	size_t i;

	if (!json_is_array(d) || json_array_size(d) == 0 ||
	    json_array_size(d) > MANIFEST_MAXDATA)
		return fed_errf(e, "manifest.json: data must be an array of 1 "
		    "to %d data sets", MANIFEST_MAXDATA);
	json_array_foreach(d, i, o) {
		snprintf(where, sizeof(where), "data[%zu]", i);
		if (check_figures(o, where, &k, e) < 0)
			return -1;
		if (manifest_digest_valid(manifest_str(o, "digest")) < 0)
			return fed_errf(e, "manifest.json: %s.digest must be a "
			    "digest sha256:<64 hex>", where);
		if (k > n - sum)
			break;
		sum += k;
	}
	if (sum != n)
		return fed_errf(e, "manifest.json: data counts more or fewer "
		    "samples than figures");
	return 0;
}

static int
check_report(const json_t *m, fed_err *e)
{
	const json_t *f = json_object_get(m, "figures");
	struct arch a;
	fed_err ae;
	int64_t n;

	if (json_array_size(json_object_get(m, "members")) != 0)
		return fed_errf(e, "manifest.json: a report has no members");
	if (manifest_digest_valid(manifest_str(m, "model")) < 0)
		return fed_errf(e, "manifest.json: model must be a digest "
		    "sha256:<64 hex>");
	if (want_int(m, "round", 0, e) < 0)
		return -1;
	if (manifest_str(m, "arch") == NULL)
		return fed_errf(e, "manifest.json: arch missing");
	if (arch_parse(manifest_str(m, "arch"), &a, &ae) < 0)
		return fed_errf(e, "manifest.json: %s", ae.msg);
	if (check_figures(f, "figures", &n, e) < 0)
		return -1;
	if (json_object_get(f, "accuracy") != NULL &&
	    check_classes(json_object_get(f, "per_class"), n, e) < 0)
		return -1;
	return check_report_data(json_object_get(m, "data"), n, e);
}

/* A model's download (fed-merge --download): the next model's manifest,
 * verbatim, and its digest. */
static int
check_step(const json_t *m, fed_err *e)
{
	if (check_model(m, "step", e) < 0)
		return -1;
	if (manifest_digest_valid(manifest_str(m, "model")) < 0)
		return fed_errf(e, "manifest.json: model must be a digest "
		    "sha256:<64 hex>");
	if (manifest_str(m, "manifest") == NULL)
		return fed_errf(e, "manifest.json: manifest missing");
	if (!json_is_object(json_object_get(m, "encoding")))
		return fed_errf(e, "manifest.json: encoding missing");
	return 0;
}

int
manifest_check(const json_t *m, const struct manifest_rules *r, fed_err *e)
{
	const char *fmt = manifest_str(m, "format");
	const char *kind = manifest_str(m, "kind");

	if (fmt == NULL || strcmp(fmt, MANIFEST_FORMAT) != 0)
		return fed_errf(e, "manifest.json: format is not %s",
		    MANIFEST_FORMAT);
	if (check_members(json_object_get(m, "members"), r, e) < 0)
		return -1;
	if (kind == NULL)
		return fed_errf(e, "manifest.json: kind missing");
	if (strcmp(kind, "model") == 0 || strcmp(kind, "update") == 0)
		return check_model(m, kind, e);
	if (strcmp(kind, "data") == 0)
		return check_data(m, e);
	if (strcmp(kind, "roster") == 0)
		return check_roster(m, e);
	if (strcmp(kind, "report") == 0)
		return check_report(m, e);
	if (strcmp(kind, "step") == 0)
		return check_step(m, e);
	return fed_errf(e, "manifest.json: kind %.32s is not model, update or "
	    "data", kind);
}

int64_t
manifest_moments_step(const json_t *m)
{
	const json_t *o = json_object_get(m, "moments");
	const json_t *s = json_object_get(o, "step");

	if (o == NULL)
		return -1;
	if (!json_is_object(o) || !json_is_integer(s) ||
	    json_integer_value(s) < 1)
		return 0;
	return json_integer_value(s);
}

static void
read_fields(struct manifest *m)
{
	const json_t *j = m->json, *ms = json_object_get(j, "members"), *o;
	size_t i;

	m->format = manifest_str(j, "format");
	m->kind = manifest_str(j, "kind");
	m->arch = manifest_str(j, "arch");
	m->parent = manifest_str(j, "parent");
	m->base = manifest_str(j, "base");
	m->round = manifest_int(j, "round");
	m->samples = manifest_int(j, "samples");
	m->steps = manifest_int(j, "steps");
	m->modality = manifest_str(j, "modality");
	m->features = manifest_int(j, "features");
	m->classes = manifest_int(j, "classes");
	m->documents = manifest_int(j, "documents");
	m->producer = json_string_value(json_object_get(json_object_get(j,
	    "producer"), "tool"));
	m->encoded = json_object_get(j, "encoding") != NULL;
	m->gradient = json_is_true(json_object_get(j, "gradient")) ? 1 :
	    json_object_get(j, "gradient") != NULL ? 2 : 0;
	m->moments_step = manifest_moments_step(j);
	m->nmembers = (int)json_array_size(ms);
	m->members = xcalloc(m->nmembers ? (size_t)m->nmembers : 1,
	    sizeof(*m->members));
	json_array_foreach(ms, i, o) {
		m->members[i].name = manifest_str(o, "name");
		m->members[i].size = (uint64_t)manifest_int(o, "size");
		m->members[i].sha256 = manifest_str(o, "sha256");
	}
}

int
manifest_load(struct manifest *m, const uint8_t *buf, size_t n,
    const struct manifest_rules *r, fed_err *e)
{
	memset(m, 0, sizeof(*m));
	if ((m->json = manifest_parse(buf, n, e)) == NULL)
		return -1;
	if (manifest_check(m->json, r, e) < 0) {
		manifest_free(m);
		return -1;
	}
	read_fields(m);
	return 0;
}

void
manifest_free(struct manifest *m)
{
	json_decref(m->json);
	free(m->members);
	memset(m, 0, sizeof(*m));
}

uint8_t *
manifest_dump(const json_t *m, size_t *n)
{
	char *s = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(15));
	size_t len;
	uint8_t *out;

	if (s == NULL) {
		fputs("fed: cannot encode manifest\n", stderr);
		exit(2);
	}
	len = strlen(s);
	out = xmalloc(len + 1);
	memcpy(out, s, len);
	out[len] = '\n';
	free(s);
	*n = len + 1;
	return out;
}

void
manifest_digest(const uint8_t *bytes, size_t n, char *out)
{
	memcpy(out, "sha256:", 7);
	sha256_hex(bytes, n, out + 7);
}

const char *
manifest_str(const json_t *m, const char *key)
{
	return json_string_value(json_object_get(m, key));
}

int64_t
manifest_int(const json_t *m, const char *key)
{
	json_t *v = json_object_get(m, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

json_t *
manifest_new(const char *kind, const char *tool)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s}}", "format", MANIFEST_FORMAT,
	    "kind", kind, "producer", "tool", tool, "version", FED_VERSION);
}
