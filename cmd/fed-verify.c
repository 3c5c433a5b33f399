/*
 * fed-verify: check bundles, a line each, and exit with the worst status.
 * With -o the one bundle is passed on only once all of it has verified:
 * its bytes are spooled to a temporary file as they are checked.
 */
#include <dirent.h>
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "verify.h"

struct opts {
	struct key keys[VERIFY_MAXKEYS];
	int nkeys, quorum, quiet, json, integrity_only;
	char parent[DIGEST_LEN + 1];
	const char *out;
};

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-verify [-q] [--json] [-p pubkey]... [-P keydir] "
	    "[-k quorum]\n"
	    "                  [--parent bundle|digest] [-o out] bundle...\n"
	    "       fed-verify -n [-q] [--json] [--parent bundle|digest] "
	    "[-o out] bundle...\n",
	    f);
	exit(status);
}

static void
add_key(struct opts *o, const char *path)
{
	fed_err e;
	int i;

	if (o->nkeys == VERIFY_MAXKEYS)
		errx(2, "more than %d keys", VERIFY_MAXKEYS);
	if (key_load_public(path, &o->keys[o->nkeys], &e) < 0)
		fed_exit(&e);
	for (i = 0; i < o->nkeys; i++)
		if (strcmp(o->keys[i].id, o->keys[o->nkeys].id) == 0) {
			key_free(&o->keys[o->nkeys]);
			return;
		}
	o->nkeys++;
}

static int
is_pub(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".pub") == 0;
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
		add_key(o, path);
		free(ents[i]);
	}
	free(ents);
}

static void
set_parent(struct opts *o, const char *arg)
{
	struct verify_opts vo = { NULL, 0, 0, NULL, -1 };
	struct verify_result res;
	fed_err e;

	if (manifest_digest_valid(arg) == 0) {
		snprintf(o->parent, sizeof(o->parent), "%s", arg);
		return;
	}
	if (verify_bundle(arg, &vo, &res, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(arg));
		fed_exit(&e);
	}
	memcpy(o->parent, res.digest, sizeof(o->parent));
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
	if (o->nkeys == 0) {
		fputs(", integrity only, no keys given\n", f);
		return;
	}
	fputs(", signed by ", f);
	for (i = 0; i < r->nsigners; i++)
		fprintf(f, "%s%s", i ? "," : "", r->signers[i]);
	fprintf(f, " (%d trusted, quorum %d)\n", r->nsigners, o->quorum);
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

/* Verify path; its exit status: 0 verified, 1 rejected, 2 system
 * failure. */
static int
verify_one(const struct opts *o, const char *path, int spool_fd, FILE *rep)
{
	struct verify_opts vo = { o->keys, o->nkeys, o->quorum,
	    o->parent[0] ? o->parent : NULL, spool_fd };
	struct verify_result res;
	fed_err e;

	if (verify_bundle(path, &vo, &res, &e) < 0) {
		report_fail(o, path, e.msg);
		return fed_status(&e);
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
verify_to(const struct opts *o, const char *path)
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

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "public-key", required_argument, NULL, 'p' },
		{ "key-dir", required_argument, NULL, 'P' },
		{ "quorum", required_argument, NULL, 'k' },
		{ "parent", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "integrity-only", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts o;
	const char *parent = NULL;
	uint64_t k = 0;
	int c, i, s, worst = 0;

	while ((c = getopt_long(argc, argv, "p:P:k:o:nqh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'p': add_key(&o, optarg); break;
		case 'P': add_keydir(&o, optarg); break;
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
		default: usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (o.out && argc != 1))
		usage(stderr, 2);
	if (k > 0 && o.nkeys == 0)
		errx(2, "-k needs trusted keys (-p or -P)");
	if (k > (uint64_t)o.nkeys && o.nkeys > 0)
		errx(2, "-k %llu: only %d trusted keys given",
		    (unsigned long long)k, o.nkeys);
	/* a pipeline that forgot -p must not pass unsigned bundles */
	if (o.nkeys == 0 && !o.integrity_only)
		errx(2, "no trusted keys: give -p or -P, or -n to check "
		    "integrity only");
	if (o.nkeys > 0 && o.integrity_only)
		errx(2, "-n checks no signatures: drop it or the keys");
	o.quorum = k ? (int)k : 1;
	if (parent)
		set_parent(&o, parent);
	if (o.out)
		return verify_to(&o, argv[0]);
	for (i = 0; i < argc; i++)
		if ((s = verify_one(&o, argv[i], -1, stdout)) > worst)
			worst = s;
	if (fflush(stdout) != 0 || ferror(stdout))
		errx(2, "stdout: write error");
	return worst;
}
