/*
 * fed-verify: check bundles, a line each, and exit with the worst status.
 * With -o the one bundle is passed on only once all of it has verified:
 * its bytes are spooled to a temporary file as they are checked.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "export.h"
#include "out.h"
#include "release.h"
#include "verify.h"

/* Where a key came from: in a chain, -p keys sign models and -P keys
 * (the roster) sign updates. */
#define FROM_P 1
#define FROM_DIR 2

enum { OPT_CHAIN = 256, OPT_UPDATES, OPT_MIN_ROUND, OPT_LINEAGE };
enum { OPT_TESTERS = 320, OPT_REPORTS, OPT_RELEASE, OPT_REQUIRE,
    OPT_WEIGHTS };
enum { OPT_BASE = 340 };

#define MAXREPORTS 4096

/* --release-quorum: the testers, their reports, what a report must
 * show, and the testers counted for the model last verified. */
struct rel {
	const char *testers_path;
	struct roster *testers;
	char *reports[MAXREPORTS];
	int nreports, given;                /* given: --reports was */
	struct report_req req[REPORT_MAXREQ];
	int nreq;
	uint64_t quorum;
	struct release_result last;
};

struct opts {
	struct key keys[VERIFY_MAXKEYS];
	int nkeys, quorum, quiet, json, integrity_only;
	char parent[DIGEST_LEN + 1];
	const char *out;
	const char *weights;        /* --weights: the model's weights here */
	char base[DIGEST_LEN + 1];  /* --base: the adapter's base, or "" */
	unsigned char from[VERIFY_MAXKEYS];     /* FROM_* of each key */
	int64_t parent_round;                   /* -1: a digest was given */
	int chain;
	const char *updates;
	int64_t min_round;
	const char *lineage;                    /* the state file, or NULL */
	struct lineage_state seen;
	int accepted;                           /* seen moved on */
	struct roster *roster;      /* -R: the key set, checked with -p */
	const char *rosters;        /* --chain -R: each round's roster */
	struct ballot *votes;       /* every update's signers so far */
	int nvotes;
	struct rel rel;             /* --release-quorum */
};

/* One roster key's signature on one update: one key, one vote. */
struct ballot {
	char keyid[KEYID_HEX + 1];
	char digest[DIGEST_LEN + 1];
	char parent[DIGEST_LEN + 1];
	const char *path;
};

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -p, --public-key=PUBKEY   trust signatures by this key (repeatable)\n"
	"  -P, --key-dir=KEYDIR      trust the public keys in this folder\n"
	"  -R, --roster=ROSTER       trust the keys of this roster\n"
	"  -n, --integrity-only      check digests only, no signatures\n"
	"  -k, --quorum=QUORUM       signatures a bundle needs\n"
	"      --parent=P            the bundle must descend from this bundle or digest\n"
	"      --base=BASE           the adapter's frozen base is this bundle or digest\n"
	"      --min-round=N         refuse bundles of an earlier round\n"
	"      --lineage=FILE        keep the newest accepted model here; refuse older\n"
	"      --chain               verify a chain of models, round after round\n"
	"      --updates=DIR         with --chain: check each merge's updates in DIR\n"
	"      --release-quorum=K    a model needs reports by K testers\n"
	"      --testers=ROSTER      the testers: a roster bundle or a folder of keys\n"
	"      --reports=REPORTS     report bundles, or a folder of them (repeatable)\n"
	"      --require=EXPR        every report meets this, e.g. 'accuracy>=0.85'\n"
	"  -o, --output=OUT          copy the verified bundle here (- for stdout)\n"
	"      --weights=OUT         write the verified model's weights as safetensors\n"
	"  -q, --quiet               print nothing on success\n"
	"      --json                print the verdicts as JSON\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-verify [-q] [--json] [-p pubkey]... [-P keydir] "
	    "[-R roster] [-k quorum]\n"
	    "                  [--parent bundle|digest] [--base bundle|digest]\n"
	    "                  [-o out] [--min-round n]\n"
	    "                  [--lineage file] [--release-quorum k --testers roster\n"
	    "                  --reports reports... [--require expr]...] bundle...\n"
	    "       fed-verify -n [-q] [--json] [--parent bundle|digest] "
	    "[-o out] bundle...\n"
	    "       fed-verify --chain [-q] [--json] -p pubkey... [-k quorum]\n"
	    "                  [-P keydir | -R rosters] [--updates dir] [--min-round n]\n"
	    "                  [--lineage file] folder | model...\n"
	    "       fed-verify [-p pubkey... | -n] [--parent bundle|digest]\n"
	    "                  --weights out model\n",
	    f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

static void
add_key(struct opts *o, const char *path, int from)
{
	fed_err e;
	int i;

	if (o->nkeys == VERIFY_MAXKEYS)
		errx(2, "more than %d keys", VERIFY_MAXKEYS);
	if (key_load_public(path, &o->keys[o->nkeys], &e) < 0)
		fed_exit(&e);
	for (i = 0; i < o->nkeys; i++)
		if (strcmp(o->keys[i].id, o->keys[o->nkeys].id) == 0) {
			o->from[i] |= from;
			key_free(&o->keys[o->nkeys]);
			return;
		}
	o->from[o->nkeys++] = from;
}

static int
is_pub(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".pub") == 0;
}

static int
is_fed(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".fed") == 0;
}

static void
add_keydir(struct opts *o, const char *dir)
{
	struct dirent **ents;
	char path[4096];
	int i, n = scandir(dir, &ents, is_pub, alphasort);

	if (n < 0)
		err(2, "%s", dir);
	if (n == 0)
		fed_exitf(2, "%s: no *.pub keys", dir);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    ents[i]->d_name) >= sizeof(path))
			fed_exitf(2, "%s: path too long", dir);
		add_key(o, path, FROM_DIR);
		free(ents[i]);
	}
	free(ents);
}

/* A digest given as itself or as a bundle that has it, into digest;
 * the bundle's round, or -1. */
static int64_t
digest_arg(const char *arg, char *digest)
{
	struct verify_opts vo = { .spool_fd = -1, .parent_round = -1 };
	struct verify_result res;
	fed_err e;

	if (manifest_digest_valid(arg) == 0) {
		snprintf(digest, DIGEST_LEN + 1, "%s", arg);
		return -1;
	}
	if (verify_bundle(arg, &vo, &res, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(arg));
		fed_exit(&e);
	}
	memcpy(digest, res.digest, DIGEST_LEN + 1);
	return res.round;
}

static void
set_parent(struct opts *o, const char *arg)
{
	o->parent_round = digest_arg(arg, o->parent);
}

/* The testers whose reports released the model last verified. */
static json_t *
testers_json(const struct opts *o)
{
	const struct rel *rl = &o->rel;
	json_t *a = json_array();
	int i;

	for (i = 0; i < rl->last.n; i++)
		json_array_append_new(a, json_string(
		    rl->testers->h[rl->last.who[i]].name));
	return a;
}

static void
released_line(const struct opts *o, const char *path, FILE *f)
{
	const struct rel *rl = &o->rel;
	char name[FED_ESCMAX + 1];
	int i;

	fprintf(f, "%s: released: reports by ", fed_escape(name,
	    sizeof(name), display_name(path)));
	for (i = 0; i < rl->last.n; i++)
		fprintf(f, "%s%s", i ? "," : "",
		    rl->testers->h[rl->last.who[i]].name);
	fprintf(f, " (%d testers, release quorum %llu)\n", rl->last.n,
	    (unsigned long long)rl->quorum);
}

static void
report(const struct opts *o, const char *path, const struct verify_result *r,
    FILE *f)
{
	char name[FED_ESCMAX + 1];
	json_t *j, *s;
	char *line;
	int i;

	if (o->json) {
		s = json_array();
		for (i = 0; i < r->nsigners; i++)
			json_array_append_new(s, json_string(r->signers[i]));
		j = json_pack("{s:s,s:b,s:s,s:s,s:o,s:o,s:o,s:i}", "file",
		    display_name(path), "ok", 1, "digest", r->digest, "kind",
		    r->kind, "round", r->round >= 0 ?
		    json_integer(r->round) : json_null(), "parent",
		    r->parent[0] ? json_string(r->parent) : json_null(),
		    "signers", s, "signatures", r->nsigs);
		if (r->contributor >= 0)
			json_object_set_new(j, "contributor", json_string(
			    o->roster->h[r->contributor].name));
		if (r->base[0])
			json_object_set_new(j, "base", json_string(r->base));
		if (o->rel.quorum > 0)
			json_object_set_new(j, "testers", testers_json(o));
		line = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(f, "%s\n", line);
		free(line);
		json_decref(j);
		return;
	}
	fprintf(f, "%s: OK %s %s", fed_escape(name, sizeof(name),
	    display_name(path)), r->digest, r->kind);
	if (r->round >= 0)
		fprintf(f, " round %lld", (long long)r->round);
	if (r->base[0])
		fprintf(f, " of base %s", r->base);
	if (o->nkeys == 0) {
		fputs(", integrity only, no keys given\n", f);
		return;
	}
	fputs(", signed by ", f);
	for (i = 0; i < r->nsigners; i++)
		fprintf(f, "%s%s", i ? "," : "", r->signers[i]);
	if (r->contributor >= 0)
		fprintf(f, " as contributor %s",
		    o->roster->h[r->contributor].name);
	fprintf(f, " (%d trusted, quorum %d)\n", r->nsigners, o->quorum);
	if (o->rel.quorum > 0)
		released_line(o, path, f);
}

static void
report_fail(const struct opts *o, const char *path, const char *msg)
{
	json_t *j;
	char *line;

	fed_warnf("%s: %s", display_name(path), msg);
	if (!o->json)
		return;
	j = json_pack("{s:s,s:b,s:s}", "file", display_name(path), "ok", 0,
	    "error", msg);
	line = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", line);
	free(line);
	json_decref(j);
}

/* A signer's name, with -R. */
static const char *
holder_of(const struct opts *o, const char *keyid)
{
	int h = o->roster ? roster_find(o->roster, keyid) : -1;

	return h >= 0 ? o->roster->h[h].name : "not on a roster";
}

/* Two different updates of one round (one parent) signed by one key,
 * among the bundles of this call, are refused: a key has one vote. */
static int
one_vote(struct opts *o, const char *path, const struct verify_result *r,
    fed_err *e)
{
	struct ballot *b;
	int i, k;

	if (strcmp(r->kind, "update") != 0)
		return 0;
	for (i = 0; i < r->nsigners; i++)
		for (k = 0; k < o->nvotes; k++) {
			b = &o->votes[k];
			if (strcmp(b->keyid, r->signers[i]) == 0 &&
			    strcmp(b->parent, r->parent) == 0 &&
			    strcmp(b->digest, r->digest) != 0)
				return fed_errf(e, "equivocation: key %s (%s) "
				    "also signed %s", b->keyid, holder_of(o,
				    b->keyid), display_name(b->path));
		}
	o->votes = xreallocarray(o->votes, (size_t)(o->nvotes +
	    r->nsigners), sizeof(*o->votes));
	for (i = 0; i < r->nsigners; i++) {
		b = &o->votes[o->nvotes++];
		memcpy(b->keyid, r->signers[i], sizeof(b->keyid));
		memcpy(b->digest, r->digest, sizeof(b->digest));
		memcpy(b->parent, r->parent, sizeof(b->parent));
		b->path = path;
	}
	return 0;
}

/* --release-quorum: a verified model, and its testers' reports. */
static int
release(struct opts *o, const struct verify_result *r, fed_err *e)
{
	struct rel *rl = &o->rel;
	struct release_opts ro = { rl->testers, (int)rl->quorum, rl->req,
	    rl->nreq, rl->reports, rl->nreports };

	if (rl->quorum == 0)
		return 0;
	if (strcmp(r->kind, "model") != 0)
		return fed_errf(e, "a release quorum is of models, not of a %s",
		    r->kind);
	return release_check(r->digest, &ro, &rl->last, e);
}

/* Verify path; its exit status: 0 verified, 1 rejected, 2 system
 * failure. */
static int
verify_one(struct opts *o, const char *path, int spool_fd, FILE *rep)
{
	struct verify_opts vo = { .keys = o->keys, .nkeys = o->nkeys,
	    .quorum = o->quorum, .parent = o->parent[0] ? o->parent : NULL,
	    .base = o->base[0] ? o->base : NULL,
	    .spool_fd = spool_fd, .parent_round = o->parent_round,
	    .min_round = o->min_round, .seen = o->lineage ? &o->seen : NULL,
	    .roster = o->roster };
	struct verify_result res;
	fed_err e;

	if (verify_bundle(path, &vo, &res, &e) < 0 ||
	    one_vote(o, path, &res, &e) < 0 || release(o, &res, &e) < 0) {
		report_fail(o, path, e.msg);
		return fed_status(&e);
	}
	if (o->lineage && res.round > o->seen.round) {
		lineage_state_accept(&o->seen, res.round, res.digest);
		o->accepted = 1;
	}
	if (!o->quiet)
		report(o, path, &res, rep);
	return 0;
}

/* Copy the spooled, verified bundle to standard output. */
static int
pass_on(int spool, struct out *out, fed_err *e)
{
	static char buf[1 << 16];
	ssize_t n;

	if (lseek(spool, 0, SEEK_SET) < 0)
		return fed_syserrf(e, "spool: seek failed");
	while ((n = read(spool, buf, sizeof(buf))) > 0)
		if (out_write_all(out->fd, buf, (size_t)n, e) < 0)
			return -1;
	return n < 0 ? fed_syserrf(e, "spool: read failed") : 0;
}

static int
verify_to(struct opts *o, const char *path)
{
	int spool, s;
	struct out out;
	fed_err e;

	if (out_open(&out, o->out, &e) < 0)
		fed_exit(&e);
	/* a temporary file beside out takes the bytes as they are checked;
	 * stdout, a FIFO or a device gets them only once all verified */
	if (out.tmp != NULL) {
		if ((s = verify_one(o, path, out.fd, stdout)) != 0)
			out_abort(&out);
		else if (out_commit(&out, &e) < 0)
			fed_exit(&e);
		return s;
	}
	if ((spool = out_spool_open(&e)) < 0)
		fed_exit(&e);
	if ((s = verify_one(o, path, spool, stderr)) != 0)
		return s;
	if (pass_on(spool, &out, &e) < 0 || out_commit(&out, &e) < 0) {
		fed_errprefix(&e, "%s", out.path ? out.path : "stdout");
		fed_exit(&e);
	}
	close(spool);
	return 0;
}

/* --weights: the model verified into a spool, then its weights out. */
static int
verify_weights(struct opts *o, const char *path)
{
	char src[32];
	int spool, s;
	fed_err e;

	if ((spool = out_spool_open(&e)) < 0)
		fed_exit(&e);
	if ((s = verify_one(o, path, spool, strcmp(o->weights, "-") == 0 ?
	    stderr : stdout)) != 0)
		return s;
	snprintf(src, sizeof(src), "/dev/fd/%d", spool);
	if (export_weights(src, o->weights, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	close(spool);
	return 0;
}

/* Write the lineage state when a model moved it on; status passed. */
static int
save_state(const struct opts *o, int status)
{
	fed_err e;

	if (o->accepted && lineage_state_save(o->lineage, &o->seen, &e) < 0)
		fed_exit(&e);
	return status;
}

/* In a chain, the keys given by one way (FROM_*), into out. */
static int
keys_from(const struct opts *o, int from, struct key *out)
{
	int i, n = 0;

	for (i = 0; i < o->nkeys; i++)
		if (o->from[i] & from)
			out[n++] = o->keys[i];
	return n;
}

static void
report_link(const struct opts *o, const struct chain_link *l, int i)
{
	const struct verify_result *r = &l->res;
	int k;

	if (o->quiet || o->json) {
		if (o->json && !o->quiet)
			report(o, l->path, r, stdout);
		return;
	}
	printf("round %lld: %s %s signed by ", (long long)r->round, l->path,
	    r->digest);
	for (k = 0; k < r->nsigners; k++)
		printf("%s%s", k ? "," : "", r->signers[k]);
	if (i == 0)
		fputs(", no parent", stdout);
	else
		printf(", parent round %lld", (long long)r->round - 1);
	if (l->nupdates >= 0)
		printf(", %d merged update%s found and signed by the roster",
		    l->nupdates, l->nupdates == 1 ? "" : "s");
	putchar('\n');
}

/* --min-round and --lineage against a whole chain: its head. */
static int
chain_state(struct opts *o, const struct chain *c, fed_err *e)
{
	const struct chain_link *h = &c->links[c->n - 1], *at = h;

	if (h->res.round < o->min_round)
		return fed_errf(e, "%s: model at round %lld, below the "
		    "minimum round %lld", h->path, (long long)h->res.round,
		    (long long)o->min_round);
	if (o->lineage == NULL)
		return 0;
	if (o->seen.round >= 0 && o->seen.round <= h->res.round)
		at = &c->links[o->seen.round];
	if (lineage_state_check(&o->seen, at->res.round, at->res.digest,
	    at->res.parent[0] ? at->res.parent : NULL, e) < 0)
		return fed_errprefix(e, "%s", at->path);
	lineage_state_accept(&o->seen, h->res.round, h->res.digest);
	o->accepted = 1;
	return 0;
}

/* The last line: the head when c is whole, else msg (c NULL). */
static void
chain_verdict(const struct opts *o, const struct chain *c, const char *msg)
{
	const struct chain_link *h = c ? &c->links[c->n - 1] : NULL;
	json_t *j;
	char *line;

	if (msg)
		warnx("%s", msg);
	if (o->json && (msg || !o->quiet)) {
		j = h ? json_pack("{s:b,s:b,s:s,s:s,s:I}", "chain", 1, "ok", 1,
		    "file", h->path, "digest", h->res.digest, "round",
		    (json_int_t)h->res.round) : json_pack("{s:b,s:b,s:s}",
		    "chain", 1, "ok", 0, "error", msg);
		line = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", line);
		free(line);
		json_decref(j);
	} else if (h && !o->quiet)
		printf("chain verified: rounds 0 to %lld, head %s %s\n",
		    (long long)h->res.round, h->path, h->res.digest);
}

/* --chain: the models given, walked from round 0; the exit status. */
static int
verify_chain(struct opts *o, char **args, int nargs)
{
	static struct key coord[VERIFY_MAXKEYS], roster[VERIFY_MAXKEYS];
	struct chain_opts co = { coord, 0, o->quorum, roster, 0, o->updates,
	    o->rosters };
	struct chain c;
	fed_err e;
	int i, rc;

	co.ncoord = keys_from(o, FROM_P, coord);
	co.nroster = keys_from(o, FROM_DIR, roster);
	if (co.quorum > co.ncoord)
		errx(2, "-k %d: only %d coordinator keys given", co.quorum,
		    co.ncoord);
	rc = chain_walk(&c, args, nargs, &co, &e);
	for (i = 0; i < c.nok; i++)
		report_link(o, &c.links[i], i);
	if (rc == 0 && (rc = chain_state(o, &c, &e)) == 0)
		chain_verdict(o, &c, NULL);
	chain_free(&c);
	if (rc < 0 && e.kind != FED_EREJECT)
		fed_exit(&e);
	if (rc < 0)
		chain_verdict(o, NULL, e.msg);
	if (fflush(stdout) != 0 || ferror(stdout))
		errx(2, "stdout: write error");
	return rc < 0 ? 1 : 0;
}

/* The options of the lineage, and of a chain, used as they must be. */
static void
check_lineage_opts(struct opts *o, const char *parent)
{
	fed_err e;
	int i, p = 0, dir = 0;

	for (i = 0; i < o->nkeys; i++) {
		p |= o->from[i] & FROM_P;
		dir |= o->from[i] & FROM_DIR;
	}
	if (o->updates && !o->chain)
		errx(2, "--updates needs --chain");
	if (o->chain && (o->out || parent))
		errx(2, "--chain walks the parents itself: no -o or --parent");
	if (o->chain && !p)
		errx(2, "--chain needs the coordinator's key (-p)");
	if (o->chain && dir && !o->updates)
		errx(2, "--chain: -P is the roster of --updates; give --updates");
	if (o->rosters && !o->updates)
		errx(2, "--chain: -R is the rosters of --updates; give --updates");
	if (o->rosters && dir)
		errx(2, "--chain: the roster is -P keydir or -R rosters, not both");
	if (o->updates && !dir && !o->rosters)
		errx(2, "--updates needs the roster (-P or -R)");
	if (o->lineage && strcmp(o->lineage, "-") == 0)
		errx(2, "--lineage: a file, not standard input");
	if (o->lineage && lineage_state_load(o->lineage, &o->seen, &e) < 0)
		fed_exit(&e);
}

/* -R: the roster, signed by a key given with -p, becomes the key set;
 * returns the quorum checked against its size. */
static uint64_t
load_roster(struct opts *o, const char *path, uint64_t k)
{
	fed_err e;
	int i;

	if (o->nkeys == 0)
		errx(2, "-R needs the coordinator's key (-p) to check the "
		    "roster");
	o->roster = xmalloc(sizeof(*o->roster));
	for (i = 0; i < o->nkeys; i++)
		if (roster_load(o->roster, path, &o->keys[i], &e) == 0)
			break;
	if (i == o->nkeys) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	if (k > (uint64_t)o->roster->n)
		errx(2, "-k %llu: the roster has %d holders",
		    (unsigned long long)k, o->roster->n);
	return k;
}

/* --reports: a report bundle, or every *.fed in a folder. */
static void
add_reports(struct rel *rl, const char *path)
{
	struct dirent **ents;
	char p[4096];
	int i, n;

	if ((n = scandir(path, &ents, is_fed, alphasort)) < 0 &&
	    errno != ENOTDIR)
		err(2, "%s", path);
	if (n < 0) {
		n = 0;
		ents = NULL;
		if (rl->nreports < MAXREPORTS)
			rl->reports[rl->nreports++] = xstrdup(path);
	}
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", path,
		    ents[i]->d_name) >= sizeof(p))
			fed_exitf(2, "%s: path too long", path);
		if (rl->nreports < MAXREPORTS)
			rl->reports[rl->nreports++] = xstrdup(p);
		free(ents[i]);
	}
	free(ents);
	if (rl->nreports == MAXREPORTS)
		errx(2, "--reports: more than %d reports", MAXREPORTS - 1);
}

/* --testers: a folder of NAME.pub, or a roster bundle signed by a key
 * given with -p. */
static void
load_testers(struct opts *o, const char *path)
{
	struct rel *rl = &o->rel;
	struct stat st;
	fed_err e;
	int i, rc = -1;

	rl->testers = xmalloc(sizeof(*rl->testers));
	roster_init(rl->testers);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = roster_from_dir(rl->testers, path, &e);
	else if (o->nkeys == 0)
		errx(2, "--testers: a roster bundle is checked against the "
		    "coordinator's key (-p)");
	for (i = 0; rc < 0 && i < o->nkeys; i++)
		rc = roster_load(rl->testers, path, &o->keys[i], &e);
	if (rc < 0) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
}

/* The release quorum's options, used together and as they must be. */
static void
check_release(struct opts *o)
{
	struct rel *rl = &o->rel;
	int any = rl->testers_path || rl->given || rl->nreq;

	if (any && rl->quorum == 0)
		errx(2, "--testers, --reports and --require go with "
		    "--release-quorum");
	if (rl->quorum == 0)
		return;
	if (!rl->testers_path || !rl->given)
		errx(2, "--release-quorum needs --testers and --reports");
	if (o->chain || o->integrity_only)
		errx(2, "--release-quorum: verify the model itself, without "
		    "--chain or -n");
	load_testers(o, rl->testers_path);
	if (rl->quorum > (uint64_t)rl->testers->n)
		errx(2, "--release-quorum %llu: the testers are %d",
		    (unsigned long long)rl->quorum, rl->testers->n);
}

/* A --release-quorum option: 1 when c was one. */
static int
parse_release(struct rel *rl, int c, const char *arg)
{
	fed_err e;

	switch (c) {
	case OPT_TESTERS: rl->testers_path = arg; return 1;
	case OPT_REPORTS: add_reports(rl, arg); rl->given = 1; return 1;
	case OPT_RELEASE:
		if (parse_u64(arg, 1, ROSTER_MAXHOLDERS, &rl->quorum) < 0)
			errx(2, "--release-quorum %s: not a number of testers "
			    "(1 to %d)", arg, ROSTER_MAXHOLDERS);
		return 1;
	case OPT_REQUIRE:
		if (rl->nreq == REPORT_MAXREQ)
			errx(2, "more than %d --require", REPORT_MAXREQ);
		if (report_req_parse(arg, &rl->req[rl->nreq++], &e) < 0) {
			fed_errprefix(&e, "--require");
			fed_exit(&e);
		}
		return 1;
	}
	return 0;
}

/* The key set: -p/-P keys or a roster, a quorum that fits, or -n. */
static void
check_keys(struct opts *o, const char *roster, uint64_t k)
{
	if (roster && o->chain)
		o->rosters = roster;
	else if (roster)
		k = load_roster(o, roster, k);
	else if (k > 0 && o->nkeys == 0)
		errx(2, "-k needs trusted keys (-p or -P)");
	if (!roster && k > (uint64_t)o->nkeys && o->nkeys > 0)
		errx(2, "-k %llu: only %d trusted keys given",
		    (unsigned long long)k, o->nkeys);
	/* a pipeline that forgot -p must not pass unsigned bundles */
	if (o->nkeys == 0 && !o->integrity_only)
		errx(2, "no trusted keys: give -p or -P, or -n to check "
		    "integrity only");
	if (o->nkeys > 0 && o->integrity_only)
		errx(2, "-n checks no signatures: drop it or the keys");
	o->quorum = k ? (int)k : 1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "public-key", required_argument, NULL, 'p' },
		{ "key-dir", required_argument, NULL, 'P' },
		{ "roster", required_argument, NULL, 'R' },
		{ "quorum", required_argument, NULL, 'k' },
		{ "parent", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "integrity-only", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "chain", no_argument, NULL, OPT_CHAIN },
		{ "updates", required_argument, NULL, OPT_UPDATES },
		{ "min-round", required_argument, NULL, OPT_MIN_ROUND },
		{ "lineage", required_argument, NULL, OPT_LINEAGE },
		{ "testers", required_argument, NULL, OPT_TESTERS },
		{ "reports", required_argument, NULL, OPT_REPORTS },
		{ "release-quorum", required_argument, NULL, OPT_RELEASE },
		{ "require", required_argument, NULL, OPT_REQUIRE },
		{ "weights", required_argument, NULL, OPT_WEIGHTS },
		{ "base", required_argument, NULL, OPT_BASE },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts o;
	const char *parent = NULL, *roster = NULL, *base = NULL;
	uint64_t k = 0, mr;
	int c, i, s, worst = 0;

	while ((c = getopt_long(argc, argv, "p:P:R:k:o:nqh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'p': add_key(&o, optarg, FROM_P); break;
		case 'P': add_keydir(&o, optarg); break;
		case 'R': roster = optarg; break;
		case 'k':
			if (parse_u64(optarg, 1, VERIFY_MAXKEYS, &k) < 0)
				errx(2, "-k %s: not a quorum (1 to %d)", optarg,
				    VERIFY_MAXKEYS);
			break;
		case 'r': parent = optarg; break;
		case 'o': o.out = optarg; break;
		case 'q': o.quiet = 1; break;
		case 'j': o.json = 1; break;
		case 'n': o.integrity_only = 1; break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-verify " FED_VERSION); return 0;
		case OPT_CHAIN: o.chain = 1; break;
		case OPT_UPDATES: o.updates = optarg; break;
		case OPT_MIN_ROUND:
			if (parse_u64(optarg, 0, LINEAGE_MAXROUND, &mr) < 0)
				errx(2, "--min-round %s: not a round (0 to "
				    "%lld)", optarg, (long long)LINEAGE_MAXROUND);
			o.min_round = (int64_t)mr;
			break;
		case OPT_LINEAGE: o.lineage = optarg; break;
		case OPT_WEIGHTS: o.weights = optarg; break;
		case OPT_BASE: base = optarg; break;
		default:
			if (!parse_release(&o.rel, c, optarg))
				usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		errx(2, "a bundle is required");
	if (o.out && argc != 1)
		usage(stderr, 2);
	check_keys(&o, roster, k);
	check_lineage_opts(&o, parent);
	check_release(&o);
	if (base && o.chain)
		errx(2, "--chain checks that every round keeps round 0's base: "
		    "no --base");
	if (base)
		digest_arg(base, o.base);
	if (o.chain)
		return save_state(&o, verify_chain(&o, argv, argc));
	if (parent)
		set_parent(&o, parent);
	if (o.weights && (argc != 1 || o.out || o.chain))
		errx(2, "--weights takes one model, and no -o or --chain");
	if (o.weights)
		return save_state(&o, verify_weights(&o, argv[0]));
	if (o.out)
		return save_state(&o, verify_to(&o, argv[0]));
	for (i = 0; i < argc; i++)
		if ((s = verify_one(&o, argv[i], -1, stdout)) > worst)
			worst = s;
	if (fflush(stdout) != 0 || ferror(stdout))
		errx(2, "stdout: write error");
	return save_state(&o, worst);
}
