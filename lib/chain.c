/*
 * chain: every model is read first, in any order, then the models are
 * walked by round.  A model that does not verify is kept with its reason
 * and met in its place in the walk, so that the message names the first
 * broken link rather than the first file given.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain.h"
#include "roster.h"

/* Models in a chain, updates in a round: each is held as a verify_result
 * of about 4 KiB while the chain is walked. */
#define CHAIN_MAXFILES 20000
/* Versions of a roster: each is held whole (about 40 KiB). */
#define CHAIN_MAXROSTERS 1000

/* A published update of a round. */
struct pub {
	char *path;
	struct verify_result res;
	int bad;
	fed_err err;
};

/* The roster bundles given with the chain (-R), every version. */
struct rosters {
	const char *from;           /* the file or folder, for messages */
	struct roster *r;
	int n;
	int64_t last;               /* the version the round before used */
};

/* What a model's merge record says of its updates. */
struct record {
	json_t *updates;            /* merge.updates */
	char roster[DIGEST_LEN + 1];/* merge.roster.digest, "" when none */
	int quorum;                 /* merge.roster.quorum, at least 1 */
};

static char *
path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = xmalloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int
is_fed(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 &&
	    strcmp(d->d_name + n - 4, ".fed") == 0;
}

/* The *.fed files of dir, sorted, as new paths into *out: how many, or
 * -1.  A folder that does not exist has none when missing_ok. */
static int
list_dir(const char *dir, int missing_ok, char ***out, fed_err *e)
{
	struct dirent **ents;
	int i, n = scandir(dir, &ents, is_fed, alphasort);

	*out = NULL;
	if (n < 0 && errno == ENOENT && missing_ok)
		return 0;
	if (n < 0)
		return fed_syserrf(e, "%s: %s", dir, strerror(errno));
	if (n > CHAIN_MAXFILES) {
		for (i = 0; i < n; i++)
			free(ents[i]);
		free(ents);
		return fed_usagef(e, "%s: more than %d bundles", dir,
		    CHAIN_MAXFILES);
	}
	*out = xcalloc(n ? (size_t)n : 1, sizeof(**out));
	for (i = 0; i < n; i++) {
		(*out)[i] = path_join(dir, ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return n;
}

/* The operands as paths: one folder's bundles, or the files given. */
static int
model_paths(char *const *args, int nargs, char ***out, fed_err *e)
{
	struct stat st;
	int i;

	*out = NULL;
	for (i = 0; i < nargs; i++) {
		if (strcmp(args[i], "-") == 0)
			return fed_usagef(e, "a chain is read from files, not "
			    "standard input");
		if (stat(args[i], &st) < 0)
			return fed_syserrf(e, "%s: %s", args[i],
			    strerror(errno));
		if (S_ISDIR(st.st_mode) && nargs == 1)
			return list_dir(args[0], 0, out, e);
		if (S_ISDIR(st.st_mode))
			return fed_usagef(e, "%s: a folder among bundles; give "
			    "one folder or the bundles", args[i]);
	}
	if (nargs > CHAIN_MAXFILES)
		return fed_usagef(e, "more than %d bundles", CHAIN_MAXFILES);
	*out = xcalloc((size_t)nargs, sizeof(**out));
	for (i = 0; i < nargs; i++)
		(*out)[i] = xstrdup(args[i]);
	return nargs;
}

/* Verify every model; a rejection is kept in its link, anything else
 * ends the walk. */
static int
load_models(struct chain *c, char **paths, int n, const struct chain_opts *o,
    fed_err *e)
{
	struct verify_opts vo = { .keys = o->coord, .nkeys = o->ncoord,
	    .quorum = o->quorum, .spool_fd = -1, .parent_round = -1 };
	struct chain_link *l;
	int i;

	c->links = xcalloc(n ? (size_t)n : 1, sizeof(*c->links));
	for (i = 0; i < n; i++) {
		l = &c->links[c->n++];
		l->path = paths[i];
		paths[i] = NULL;
		l->nupdates = -1;
		l->bad = verify_bundle(l->path, &vo, &l->res, &l->err) < 0;
		/* an update among the models says so before its signers do */
		if (l->res.kind[0] && strcmp(l->res.kind, "model") != 0)
			l->bad = fed_errf(&l->err, "kind %s, not a model",
			    l->res.kind) < 0;
		if (l->bad && l->err.kind != FED_EREJECT) {
			*e = l->err;
			return fed_errprefix(e, "%s", l->path);
		}
	}
	return 0;
}

static int
by_round(const void *a, const void *b)
{
	const struct chain_link *x = a, *y = b;

	if (x->res.round != y->res.round)
		return x->res.round < y->res.round ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Link i against link i - 1: the walk's own rules. */
static int
check_link(const struct chain *c, int i, fed_err *e)
{
	const struct chain_link *l = &c->links[i], *p;
	int64_t r = l->res.round;

	if (i == 0 && r != 0)
		return fed_errf(e, "round %" PRId64 " comes first: round 0 is "
		    "missing", r);
	if (i == 0)
		return 0;
	p = &c->links[i - 1];
	if (r == p->res.round)
		return fed_errf(e, "a second model of round %" PRId64 " (the "
		    "other is %s)", r, p->path);
	if (r != p->res.round + 1)
		return fed_errf(e, "round %" PRId64 " follows round %" PRId64
		    ": round %" PRId64 " is missing", r, p->res.round,
		    p->res.round + 1);
	if (strcmp(l->res.parent, p->res.digest) != 0)
		return fed_errf(e, "round %" PRId64 ": parent %.19s... is not "
		    "%s, round %" PRId64 " %.19s...", r, l->res.parent,
		    p->path, p->res.round, p->res.digest);
	/* an adapter's base stays the one its round 0 named */
	if (strcmp(l->res.base, p->res.base) != 0)
		return fed_errf(e, "round %" PRId64 ": base %.19s... is not "
		    "round %" PRId64 "'s, %.19s...", r, l->res.base[0] ?
		    l->res.base : "none", p->res.round, p->res.base[0] ?
		    p->res.base : "none");
	return 0;
}

/* The model's merge record, read again from the file that was verified
 * (the same digest, or it changed meanwhile). */
static int
read_record(const struct chain_link *l, struct record *rec, fed_err *e)
{
	struct bundle_reader *r = bundle_open(l->path, -1, e);
	json_t *mg, *ro;
	const char *d;
	int rc = -1;

	memset(rec, 0, sizeof(*rec));
	if (r == NULL)
		return -1;
	mg = json_object_get(bundle_meta(r)->json, "merge");
	ro = json_object_get(mg, "roster");
	d = json_string_value(json_object_get(ro, "digest"));
	if (strcmp(bundle_digest(r), l->res.digest) != 0)
		fed_syserrf(e, "changed while the chain was walked");
	else if (!json_is_array(json_object_get(mg, "updates")))
		fed_errf(e, "round %" PRId64 ": no merge record of its "
		    "updates", l->res.round);
	else if (d != NULL && manifest_digest_valid(d) < 0)
		fed_errf(e, "round %" PRId64 ": merge record: a roster digest "
		    "that is not one", l->res.round);
	else {
		rec->updates = json_incref(json_object_get(mg, "updates"));
		snprintf(rec->roster, sizeof(rec->roster), "%s", d ? d : "");
		rec->quorum = (int)json_integer_value(json_object_get(ro,
		    "quorum"));
		if (rec->quorum < 1 || rec->quorum > VERIFY_MAXKEYS)
			rec->quorum = 1;
		rc = 0;
	}
	bundle_close(r);
	return rc;
}

/* Every update published for the round after p, verified as its child
 * under the roster, into *out (*np of them, to pubs_free): a rejection
 * is kept, anything else ends the walk. */
static int
load_pubs(const struct chain_link *p, const struct chain_opts *o,
    const struct roster *ro, int quorum, struct pub **out, int *np,
    fed_err *e)
{
	struct verify_opts vo = { .keys = o->roster, .nkeys = o->nroster,
	    .quorum = ro ? quorum : 1, .parent = p->res.digest,
	    .spool_fd = -1, .parent_round = p->res.round, .roster = ro };
	char dir[4096], **paths;
	struct pub *u;
	int i, n;

	*out = NULL;
	*np = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/round-%03" PRId64,
	    o->updates, p->res.round) >= sizeof(dir))
		return fed_usagef(e, "%s: path too long", o->updates);
	if ((n = list_dir(dir, 1, &paths, e)) < 0)
		return -1;
	*out = xcalloc(n ? (size_t)n : 1, sizeof(**out));
	for (i = 0; i < n; i++)
		(*out)[i].path = paths[i];
	free(paths);
	*np = n;
	for (i = 0; i < n; i++) {
		u = &(*out)[i];
		if (verify_bundle(u->path, &vo, &u->res, &u->err) == 0)
			continue;
		u->bad = 1;
		if (u->err.kind != FED_EREJECT) {
			*e = u->err;
			return fed_errprefix(e, "%s", u->path);
		}
	}
	return 0;
}

static void
pubs_free(struct pub *u, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(u[i].path);
	free(u);
}

static const struct pub *
find_pub(const struct pub *u, int n, const char *digest)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(u[i].res.digest, digest) == 0)
			return &u[i];
	return NULL;
}

/* One roster key, one vote: no key signed two of the merged updates. */
static int
one_vote(const struct pub **m, int n, fed_err *e)
{
	int a, b, i, j;

	for (a = 0; a < n; a++)
		for (b = a + 1; b < n; b++)
			for (i = 0; i < m[a]->res.nsigners; i++)
				for (j = 0; j < m[b]->res.nsigners; j++)
					if (strcmp(m[a]->res.signers[i],
					    m[b]->res.signers[j]) == 0)
						return fed_errf(e, "%s and %s "
						    "are both signed by %s",
						    m[a]->path, m[b]->path,
						    m[a]->res.signers[i]);
	return 0;
}

/* Each update the record lists, found among the published ones. */
static int
match(json_t *list, const struct pub *u, int n, const char *dir,
    const struct pub **m, fed_err *e)
{
	const struct pub *p;
	const char *d;
	json_t *x;
	size_t k, j;

	json_array_foreach(list, k, x) {
		d = json_string_value(json_object_get(x, "digest"));
		if (manifest_digest_valid(d) < 0)
			return fed_errf(e, "merge record: updates[%zu] without "
			    "a digest", k);
		if ((p = find_pub(u, n, d)) == NULL)
			return fed_errf(e, "merged update %.19s... is not in "
			    "%s", d, dir);
		if (p->bad)
			return fed_errf(e, "merged update %s: %s", p->path,
			    p->err.msg);
		if (strcmp(p->res.kind, "update") != 0)
			return fed_errf(e, "merged update %s is of kind %s",
			    p->path, p->res.kind);
		for (j = 0; j < k; j++)
			if (m[j] == p)
				return fed_errf(e, "merged update %s listed "
				    "twice", p->path);
		m[k] = p;
	}
	return one_vote(m, (int)k, e);
}

/* One roster bundle signed by one of the coordinator's keys. */
static int
roster_one(struct roster *r, const char *path, const struct chain_opts *o,
    fed_err *e)
{
	int k;

	for (k = 0; k < o->ncoord; k++) {
		if (roster_load(r, path, &o->coord[k], e) == 0)
			return 0;
		roster_free(r);
		if (e->kind != FED_EREJECT)
			break;
	}
	return fed_errprefix(e, "%s", display_name(path));
}

/* -R: a roster bundle, or every *.fed of a folder, each a roster. */
static int
rosters_load(struct rosters *rs, const struct chain_opts *o, fed_err *e)
{
	struct stat st;
	char **paths;
	int i, n, rc = 0;

	rs->from = o->rosters;
	rs->last = 0;
	if (stat(o->rosters, &st) < 0)
		return fed_syserrf(e, "%s: %s", o->rosters, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		paths = xcalloc(1, sizeof(*paths));
		paths[0] = xstrdup(o->rosters);
		n = 1;
	} else if ((n = list_dir(o->rosters, 0, &paths, e)) < 0)
		return -1;
	if (n > CHAIN_MAXROSTERS)
		rc = fed_usagef(e, "%s: more than %d rosters", o->rosters,
		    CHAIN_MAXROSTERS);
	rs->r = xcalloc(n ? (size_t)n : 1, sizeof(*rs->r));
	for (i = 0; rc == 0 && i < n; i++, rs->n++)
		rc = roster_one(&rs->r[i], paths[i], o, e);
	fed_freev(paths, n);
	return rc;
}

static void
rosters_free(struct rosters *rs)
{
	int i;

	for (i = 0; i < rs->n; i++)
		roster_free(&rs->r[i]);
	free(rs->r);
}

static const struct roster *
roster_by_digest(const struct rosters *rs, const char *digest)
{
	int i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].digest, digest) == 0)
			return &rs->r[i];
	return NULL;
}

/* The roster that digest names, and its versions back to version 1. */
static const struct roster *
roster_lineage(const struct rosters *rs, const char *digest, fed_err *e)
{
	const struct roster *r, *p;
	int k;

	if ((r = roster_by_digest(rs, digest)) == NULL) {
		fed_errf(e, "roster %.19s... is not in %s", digest, rs->from);
		return NULL;
	}
	for (p = r, k = 0; p->version > 1 && k < rs->n; k++) {
		const struct roster *q = roster_by_digest(rs, p->parent);

		if (q == NULL || q->version != p->version - 1) {
			fed_errf(e, "roster version %" PRId64 " %.19s...: its "
			    "parent %.19s... (version %" PRId64 ") is not in "
			    "%s",
			    p->version, p->digest, p->parent, p->version - 1,
			    rs->from);
			return NULL;
		}
		p = q;
	}
	if (p->version != 1 || p->parent[0]) {
		fed_errf(e, "roster %.19s...: version %" PRId64 " does not go "
		    "back to a version 1 without a parent", p->digest,
		    p->version);
		return NULL;
	}
	return r;
}

/* The roster the record names, checked; NULL with e when it is not. */
static const struct roster *
round_roster(struct rosters *rs, const struct record *rec, fed_err *e)
{
	const struct roster *r;

	if (!rec->roster[0]) {
		fed_errf(e, "merged without a roster bundle");
		return NULL;
	}
	if ((r = roster_lineage(rs, rec->roster, e)) == NULL)
		return NULL;
	if (r->version < rs->last) {
		fed_errf(e, "merged under roster version %" PRId64 ", older "
		    "than the round before's %" PRId64, r->version, rs->last);
		return NULL;
	}
	rs->last = r->version;
	return r;
}

/* The updates of link l, the child of p, under the roster its record
 * names (rs not NULL) or o's keys. */
static int
check_updates(struct chain_link *l, const struct chain_link *p,
    const struct chain_opts *o, struct rosters *rs, fed_err *e)
{
	const struct roster *ro = NULL;
	const struct pub **m;
	struct record rec;
	struct pub *u = NULL;
	char dir[4096];
	int n = 0, rc;

	if (read_record(l, &rec, e) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/round-%03" PRId64, o->updates,
	    p->res.round);
	rc = rs && (ro = round_roster(rs, &rec, e)) == NULL ?
	    -1 : load_pubs(p, o, ro, rec.quorum, &u, &n, e);
	if (rc == 0) {
		m = xcalloc(json_array_size(rec.updates) + 1, sizeof(*m));
		rc = match(rec.updates, u, n, dir, m, e);
		free(m);
	}
	if (rc < 0 && e->kind == FED_EREJECT)
		fed_errprefix(e, "round %" PRId64, l->res.round);
	if (rc == 0)
		l->nupdates = (int)json_array_size(rec.updates);
	pubs_free(u, n);
	json_decref(rec.updates);
	return rc;
}

/* Walk the links sorted by round. */
static int
walk(struct chain *c, const struct chain_opts *o, struct rosters *rs,
    fed_err *e)
{
	int i;

	for (i = 0; i < c->n; i++) {
		if (c->links[i].bad)
			*e = c->links[i].err;
		if (c->links[i].bad || check_link(c, i, e) < 0 ||
		    (i > 0 && o->updates != NULL && check_updates(&c->links[i],
		    &c->links[i - 1], o, rs, e) < 0))
			return fed_errprefix(e, "%s", c->links[i].path);
		c->nok = i + 1;
	}
	return 0;
}

int
chain_walk(struct chain *c, char *const *args, int nargs,
    const struct chain_opts *o, fed_err *e)
{
	struct rosters rs;
	char **paths;
	int i, n;

	memset(c, 0, sizeof(*c));
	if ((n = model_paths(args, nargs, &paths, e)) < 0)
		return -1;
	if (n == 0)
		free(paths);
	if (n == 0)
		return fed_usagef(e, "%s: no *.fed bundles", args[0]);
	i = load_models(c, paths, n, o, e);
	fed_freev(paths, n);
	if (i < 0)
		return -1;
	qsort(c->links, (size_t)c->n, sizeof(*c->links), by_round);
	memset(&rs, 0, sizeof(rs));
	if (o->rosters && o->updates && rosters_load(&rs, o, e) < 0)
		i = -1;
	else
		i = walk(c, o, o->rosters && o->updates ? &rs : NULL, e);
	rosters_free(&rs);
	return i;
}

void
chain_free(struct chain *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		free(c->links[i].path);
	free(c->links);
	memset(c, 0, sizeof(*c));
}
