/*
 * fed-roster: make a roster bundle, the signed list of who may
 * contribute (fed-bundle(5)): version 1 from keys, or the next version
 * of a previous roster with holders added, rotated or removed.  The
 * roster's format and checks are lib/roster.c's; signing it is
 * fed-sign's.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "roster.h"

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -p, --previous=PREVIOUS   start from this roster, one version on\n"
	"  -P, --key-dir=KEYDIR      add a holder per public key in this folder\n"
	"  -d, --remove=NAME         remove this holder (repeatable)\n"
	"  -o, --output=OUT          write the roster here, not to standard output\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-roster [-p previous] [-P keydir] [-d name]... "
	    "[-o out]\n"
	    "                  [name=pubkey[:max-samples]]...\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

/* NAME=KEY.pub[:MAX]: holder NAME, put in place of one of that name
 * on the previous roster; given, names are not repeated. */
static void
holder_arg(struct roster *r, char *arg, char **given, int ngiven)
{
	int i;

	char *eq = strchr(arg, '='), *colon, *end;
	uint64_t max = 0;
	struct key k;
	fed_err e;

	if (eq == NULL || eq == arg || eq[1] == '\0')
		errx(2, "%s: want name=pubkey[:max-samples]", arg);
	*eq = '\0';
	for (i = 0; i < ngiven; i++)
		if (strcmp(given[i], arg) == 0)
			errx(2, "holder %s listed twice", arg);
	if ((colon = strrchr(eq + 1, ':')) != NULL &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		if (parse_u64(colon + 1, 1, INT64_MAX, &max) < 0)
			errx(2, "%s: not a positive sample count", colon + 1);
		*colon = '\0';
	}
	if (key_load_public(eq + 1, &k, &e) < 0)
		fed_exit(&e);
	end = eq + 1;
	if (roster_put(r, arg, &k, max, 1, &e) < 0)
		errx(2, "%s: %s", end, e.msg);
}

static void
previous(struct roster *r, const char *path)
{
	fed_err e;

	if (roster_load(r, path, NULL, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	memcpy(r->parent, r->digest, sizeof(r->parent));
	r->digest[0] = '\0';
	r->version++;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "previous", required_argument, NULL, 'p' },
		{ "key-dir", required_argument, NULL, 'P' },
		{ "remove", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct roster r;
	const char *prev = NULL, *dir = NULL, *outp = NULL;
	char *rm[ROSTER_MAXHOLDERS];
	int c, i, nrm = 0;
	struct out out;
	fed_err e;

	while ((c = getopt_long(argc, argv, "p:P:d:o:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'p': prev = optarg; break;
		case 'P': dir = optarg; break;
		case 'd':
			if (nrm == ROSTER_MAXHOLDERS)
				errx(2, "more than %d -d", ROSTER_MAXHOLDERS);
			rm[nrm++] = optarg;
			break;
		case 'o': outp = optarg; break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-roster " FED_VERSION); return 0;
		default: usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (prev == NULL && dir == NULL && argc == 0)
		errx(2, "a holder is required (-p, -P or name=pubkey)");
	if (prev == NULL && nrm > 0)
		errx(2, "-d needs a previous roster (-p)");
	roster_init(&r);
	r.version = 1;
	if (prev != NULL)
		previous(&r, prev);
	for (i = 0; i < nrm; i++)
		if (roster_remove(&r, rm[i], &e) < 0)
			errx(2, "-d %s: %s", rm[i], e.msg);
	if (dir != NULL && roster_from_dir(&r, dir, &e) < 0)
		fed_exit(&e);
	for (i = 0; i < argc; i++)
		holder_arg(&r, argv[i], argv, i);
	if (r.n == 0)
		errx(2, "a roster needs at least one holder");
	if (out_open(&out, outp, &e) < 0)
		fed_exit(&e);
	if (roster_write(&r, out.fd, NULL, &e) < 0 ||
	    out_commit(&out, &e) < 0) {
		out_abort(&out);
		fed_exit(&e);
	}
	roster_free(&r);
	return 0;
}
