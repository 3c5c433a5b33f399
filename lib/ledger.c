/*
 * ledger: reading, verifying and extending a holder's privacy ledger.
 * The file is parsed strictly and checked whole at open: the hash chain
 * of its entries, their RDP curves adding up to the totals recorded, and
 * totals that never fall.  Writing goes through out.h so the file is
 * replaced whole; the lock on FILE.lock keeps writers in turn.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sha256.h"
#include "ledger.h"
#include "out.h"

#define CONVERSION DP_CONV_BALLE

/*
 * The ledger's own path, symbolic links resolved: a ledger reached
 * through a link and by its name must take one lock, and an update must
 * replace the file, not the link.  A ledger that does not exist yet
 * resolves its folder; a dangling link is refused.
 */
/* A ledger not made yet: its folder resolved, its own name kept. */
static char *
resolve_new(const char *path, fed_err *e)
{
	const char *base = strrchr(path, '/');
	char *dir = xstrdup(path), *r, *full;
	size_t n;

	if (base == NULL)
		snprintf(dir, strlen(path) + 1, ".");
	else
		dir[base == path ? 1 : base - path] = '\0';
	base = base == NULL ? path : base + 1;
	r = realpath(dir, NULL);
	free(dir);
	if (r == NULL) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		return NULL;
	}
	n = strlen(r) + strlen(base) + 2;
	full = xmalloc(n);
	snprintf(full, n, "%s/%s", strcmp(r, "/") == 0 ? "" : r, base);
	free(r);
	return full;
}

/*
 * The ledger's own path, symbolic links resolved: a ledger reached
 * through a link and by its name must take one lock, and an update must
 * replace the file, not the link.  A dangling link is refused.
 */
static char *
resolve(const char *path, fed_err *e)
{
	char *r = realpath(path, NULL);
	struct stat sb;

	if (r != NULL)
		return r;
	if (errno != ENOENT) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (lstat(path, &sb) == 0) {
		fed_usagef(e, "%s: a link to a missing file", path);
		return NULL;
	}
	return resolve_new(path, e);
}

static int
lock(struct ledger *l, fed_err *e)
{
	char lp[4096];
	int n = snprintf(lp, sizeof(lp), "%s.lock", l->real);

	if (n < 0 || (size_t)n >= sizeof(lp))
		return fed_usagef(e, "%s: path too long", l->path);
	if ((l->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return fed_syserrf(e, "%s: %s", lp, strerror(errno));
	while (flock(l->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return fed_syserrf(e, "%s: lock: %s", lp, strerror(errno));
	return 0;
}

/* "sha256:<hex>" of an entry's canonical form. */
static void
entry_hash(const json_t *ent, char *out)
{
	char *s = json_dumps(ent, JSON_COMPACT | JSON_SORT_KEYS);
	char hex[2 * SHA256_LEN + 1];

	if (s == NULL)
		abort();
	sha256_hex(s, strlen(s), hex);
	snprintf(out, LEDGER_HASHLEN + 1, "sha256:%s", hex);
	free(s);
}

static int
number(const json_t *o, const char *k, double min, double max, double *v)
{
	json_t *j = json_object_get(o, k);

	if (!json_is_number(j))
		return -1;
	*v = json_number_value(j);
	return isfinite(*v) && *v >= min && *v <= max ? 0 : -1;
}

/* rdp: DP_NORDERS finite values >= 0, added into sum. */
static int
rdp_array(const json_t *a, double *sum)
{
	size_t i;
	double v;

	if (!json_is_array(a) || json_array_size(a) != DP_NORDERS)
		return -1;
	for (i = 0; i < DP_NORDERS; i++) {
		json_t *x = json_array_get(a, i);

		if (!json_is_number(x))
			return -1;
		v = json_number_value(x);
		if (!isfinite(v) || v < 0)
			return -1;
		sum[i] += v;
	}
	return 0;
}

static int
check_orders(const json_t *a)
{
	const double *o = dp_orders();
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != DP_NORDERS)
		return -1;
	for (i = 0; i < DP_NORDERS; i++)
		if (!json_is_number(json_array_get(a, i)) ||
		    json_number_value(json_array_get(a, i)) != o[i])
			return -1;
	return 0;
}

/* One entry, number i (from 1), after the chain so far. */
static int
check_entry(struct ledger *l, const json_t *ent, int64_t i, fed_err *e)
{
	json_t *prev = json_object_get(ent, "prev");
	json_t *seq = json_object_get(ent, "seq");
	double eps, dl, spent, want;

	if (!json_is_object(ent) || !json_is_integer(seq) ||
	    json_integer_value(seq) != i)
		return fed_errf(e, "entry %lld: missing or out of sequence",
		    (long long)i);
	if (i == 1 ? !json_is_null(prev) : (!json_is_string(prev) ||
	    strcmp(json_string_value(prev), l->head) != 0))
		return fed_errf(e, "entry %lld: hash chain broken (an entry "
		    "before it was removed or changed)", (long long)i);
	if (number(ent, "epsilon", 0, 1e6, &eps) < 0 ||
	    number(ent, "delta", 0, 1, &dl) < 0 || dl != l->delta ||
	    number(ent, "spent", 0, 1e9, &spent) < 0 ||
	    !json_is_integer(json_object_get(ent, "round")) ||
	    !json_is_string(json_object_get(ent, "parent")) ||
	    !json_is_string(json_object_get(ent, "mechanism")) ||
	    rdp_array(json_object_get(ent, "rdp"), l->rdp) < 0)
		return fed_errf(e, "entry %lld: malformed", (long long)i);
	want = dp_epsilon(dp_orders(), l->rdp, DP_NORDERS, l->delta,
	    CONVERSION, NULL);
	if (spent < l->spent || fabs(spent - want) > 1e-9 * fmax(1, want))
		return fed_errf(e, "entry %lld: total spent %g does not "
		    "follow from the entries (%g)", (long long)i, spent, want);
	l->spent = spent;
	entry_hash(ent, l->head);
	return 0;
}

static int
verify(struct ledger *l, const json_t *doc, fed_err *e)
{
	json_t *ents = json_object_get(doc, "entries");
	json_t *head = json_object_get(doc, "head");
	const char *fmt = json_string_value(json_object_get(doc, "format"));
	double spent;
	size_t i;

	if (fmt == NULL || strcmp(fmt, LEDGER_FORMAT) != 0)
		return fed_errf(e, "not a %s file", LEDGER_FORMAT);
	if (number(doc, "budget", 1e-12, 1e6, &l->budget) < 0 ||
	    number(doc, "delta", 1e-300, 0.5, &l->delta) < 0 ||
	    number(doc, "spent", 0, 1e9, &spent) < 0 ||
	    check_orders(json_object_get(doc, "orders")) < 0 ||
	    !json_is_array(ents) ||
	    json_array_size(ents) > LEDGER_MAXENTRIES)
		return fed_errf(e, "malformed (budget, delta, spent, orders "
		    "or entries)");
	for (i = 0; i < json_array_size(ents); i++)
		if (check_entry(l, json_array_get(ents, i), (int64_t)i + 1,
		    e) < 0)
			return -1;
	l->entries = (int64_t)i;
	if (i == 0 ? !json_is_null(head) : (!json_is_string(head) ||
	    strcmp(json_string_value(head), l->head) != 0))
		return fed_errf(e, "head does not match the last entry (the "
		    "ledger was cut short or changed)");
	if (spent != l->spent)
		return fed_errf(e, "spent %g does not match the entries (%g)",
		    spent, l->spent);
	if (l->spent > l->budget * (1 + 1e-12))
		return fed_errf(e, "spent %g is past the budget %g", l->spent,
		    l->budget);
	return 0;
}

static json_t *
new_doc(double budget, double delta)
{
	json_t *o = json_array();
	int i;

	for (i = 0; i < DP_NORDERS; i++)
		json_array_append_new(o, json_real(dp_orders()[i]));
	return json_pack("{s:s,s:f,s:f,s:s,s:o,s:f,s:[],s:n}", "format",
	    LEDGER_FORMAT, "budget", budget, "delta", delta, "accountant",
	    dp_accountant_name(CONVERSION), "orders", o, "spent", 0.0,
	    "entries", "head");
}

static int
load(struct ledger *l, double budget, double delta, fed_err *e)
{
	struct stat sb;
	json_error_t je;
	uint8_t *buf;
	size_t len;

	if (stat(l->real, &sb) < 0 && errno == ENOENT) {
		if (!(budget > 0) || !(delta > 0))
			return fed_errf(e, "no such ledger; give a budget to "
			    "start one");
		l->budget = budget;
		l->delta = delta;
		l->doc = new_doc(budget, delta);
		return 0;
	}
	if ((buf = read_file(l->real, LEDGER_MAXBYTES, &len, e)) == NULL)
		return -1;
	l->doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &je);
	free(buf);
	if (l->doc == NULL)
		return fed_errf(e, "not valid JSON: %s (line %d)", je.text,
		    je.line);
	l->exists = 1;
	if (verify(l, l->doc, e) < 0)
		return -1;
	if (budget > 0 && budget != l->budget)
		return fed_errf(e, "its budget is %g, not %g (a ledger's "
		    "budget is fixed when it starts)", l->budget, budget);
	if (delta > 0 && delta != l->delta)
		return fed_errf(e, "its delta is %g, not %g (a ledger's delta "
		    "is fixed when it starts)", l->delta, delta);
	return 0;
}

int
ledger_open(struct ledger *l, const char *path, double budget, double delta,
    fed_err *e)
{
	memset(l, 0, sizeof(*l));
	l->lockfd = -1;
	l->path = xstrdup(path);
	if ((l->real = resolve(path, e)) == NULL || lock(l, e) < 0 ||
	    load(l, budget, delta, e) < 0) {
		ledger_close(l);
		return -1;
	}
	return 0;
}

int
ledger_check(const struct ledger *l, const double *rdp, double *after,
    fed_err *e)
{
	double sum[DP_NORDERS], alone;
	int i;

	for (i = 0; i < DP_NORDERS; i++)
		sum[i] = l->rdp[i] + rdp[i];
	*after = dp_epsilon(dp_orders(), sum, DP_NORDERS, l->delta,
	    CONVERSION, NULL);
	if (*after <= l->budget)
		return 0;
	alone = dp_epsilon(dp_orders(), rdp, DP_NORDERS, l->delta, CONVERSION,
	    NULL);
	return fed_errf(e, "this update would spend epsilon %.4g and take "
	    "the total from %.4g to %.4g, past the budget %.4g; %.4g left",
	    alone, l->spent, *after, l->budget, l->budget - l->spent);
}

static int
save(struct ledger *l, fed_err *e)
{
	struct out o;
	char *s;
	int rc;

	if ((s = json_dumps(l->doc, JSON_INDENT(1))) == NULL)
		return fed_syserrf(e, "%s: cannot encode", l->path);
	if (out_open(&o, l->real, e) < 0) {
		free(s);
		e->kind = FED_ESYSTEM;
		return -1;
	}
	(void)fchmod(o.fd, 0600);
	rc = out_write_all(o.fd, s, strlen(s), e);
	if (rc == 0)
		rc = out_write_all(o.fd, "\n", 1, e);
	if (rc == 0)
		rc = fsync(o.fd) < 0 ? fed_syserrf(e, "%s: %s", l->path,
		    strerror(errno)) : 0;
	if (rc == 0)
		rc = out_commit(&o, e);
	if (rc < 0) {
		out_abort(&o);
		e->kind = FED_ESYSTEM;  /* out.h's errors carry no kind yet */
	}
	free(s);
	return rc;
}

int
ledger_record(struct ledger *l, const char *parent, int64_t round,
    const char *mechanism, double epsilon, const double *rdp, fed_err *e)
{
	json_t *doc = l->doc, *r = json_array(), *ent;
	double after;
	int i;

	if (ledger_check(l, rdp, &after, e) < 0)
		return -1;
	for (i = 0; i < DP_NORDERS; i++) {
		json_array_append_new(r, json_real(rdp[i]));
		l->rdp[i] += rdp[i];
	}
	ent = json_pack("{s:I,s:I,s:s,s:s,s:f,s:f,s:o,s:f}", "seq",
	    (json_int_t)l->entries + 1, "round", (json_int_t)round, "parent",
	    parent, "mechanism", mechanism, "epsilon", epsilon, "delta",
	    l->delta, "rdp", r, "spent", after);
	json_object_set_new(ent, "prev", l->entries == 0 ? json_null() :
	    json_string(l->head));
	entry_hash(ent, l->head);
	json_array_append_new(json_object_get(doc, "entries"), ent);
	json_object_set_new(doc, "spent", json_real(after));
	json_object_set_new(doc, "head", json_string(l->head));
	l->entries++;
	l->spent = after;
	return save(l, e);
}

void
ledger_close(struct ledger *l)
{
	if (l->lockfd >= 0)
		close(l->lockfd);
	json_decref(l->doc);
	free(l->path);
	free(l->real);
	memset(l, 0, sizeof(*l));
	l->lockfd = -1;
}
