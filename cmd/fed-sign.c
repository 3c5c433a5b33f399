/*
 * fed-sign: make Ed25519 key pairs, and sign bundles.  A signature covers
 * the exact bytes of manifest.json, which pins every member by hash, so
 * signing appends signatures/KEYID.sig and changes nothing else.  Every
 * failure exits through fed_exit: a bundle that is not valid is 1, a key,
 * a file that cannot be read or written, a usage error 2.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "key.h"
#include "out.h"
#include "pass.h"

struct opts {
	int generate, nopass;
	const char *pub, *sec, *passfile, *out, *detached, *bundle;
};

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -G, --generate            make a key pair\n"
	"  -n, --no-passphrase       with -G: do not protect the secret key\n"
	"      --passphrase-file=FILE\n"
	"                            read the passphrase from FILE\n"
	"  -p, --public-key=PUBKEY   with -G: write the public key here\n"
	"  -s, --secret-key=SECKEY   the secret key to sign with (or to make)\n"
	"  -o, --output=OUT          write the signed bundle here\n"
	"  -x, --detached=SIGFILE    write a detached signature, not a bundle\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-sign -G [-n] [--passphrase-file file] -p pubkey "
	    "-s seckey\n"
	    "       fed-sign -s seckey [--passphrase-file file] [-o out] "
	    "[-x sigfile] [bundle]\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

/* The passphrase for a new key: none, from a file, or asked twice. */
static char *
new_pass(const struct opts *o)
{
	char why[400];
	fed_err e;
	char *p;

	if (o->nopass)
		return NULL;
	if (o->passfile && (p = pass_from_file(o->passfile, &e)) == NULL)
		fed_exit(&e);
	if (o->passfile)
		return p;
	if ((p = pass_prompt("passphrase for the new key: ", 1, &e)) == NULL) {
		snprintf(why, sizeof(why), "%.399s", e.msg);
		snprintf(e.msg, sizeof(e.msg), "%s (use -n for a key without "
		    "one, or --passphrase-file)", why);
		fed_exit(&e);
	}
	return p;
}

static int
generate(const struct opts *o)
{
	char *pass = new_pass(o);
	struct key k;
	fed_err e;

	if (key_generate(o->pub, o->sec, pass, &e) < 0)
		fed_exit(&e);
	pass_free(pass);
	if (key_load_public(o->pub, &k, &e) < 0)
		fed_exit(&e);
	fprintf(stderr, "fed-sign: key %s\n", k.id);
	key_free(&k);
	return 0;
}

static void
load_secret(const struct opts *o, struct key *k)
{
	char *pass = NULL;
	fed_err e;
	int enc = key_secret_encrypted(o->sec, &e);

	if (enc < 0)
		fed_exit(&e);
	if (enc && o->passfile)
		pass = pass_from_file(o->passfile, &e);
	else if (enc)
		pass = pass_prompt("passphrase: ", 0, &e);
	if (enc && pass == NULL) {
		fed_errprefix(&e, "%s", o->sec);
		fed_exit(&e);
	}
	if (key_load_secret(o->sec, pass, k, &e) < 0)
		fed_exit(&e);
	pass_free(pass);
}

static int
sign_detached(struct bundle_reader *r, const struct bundle_sig *s,
    const struct opts *o)
{
	struct out out;
	fed_err e;

	if (bundle_drain(r, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(o->bundle));
		fed_exit(&e);
	}
	if (out_open(&out, o->detached, &e) < 0)
		fed_exit(&e);
	if (out_write_all(out.fd, s->sig, SIG_LEN, &e) < 0 ||
	    out_commit(&out, &e) < 0) {
		out_abort(&out);
		fed_errprefix(&e, "%s", o->detached);
		fed_exit(&e);
	}
	bundle_close(r);
	return 0;
}

static int
sign(const struct opts *o)
{
	struct bundle_reader *r;
	struct bundle_sig s;
	struct key k;
	struct out out;
	const uint8_t *mb;
	size_t ml;
	fed_err e;

	load_secret(o, &k);
	if ((r = bundle_open(o->bundle, -1, &e)) == NULL) {
		fed_errprefix(&e, "%s", display_name(o->bundle));
		fed_exit(&e);
	}
	mb = bundle_manifest_bytes(r, &ml);
	memcpy(s.keyid, k.id, sizeof(s.keyid));
	if (key_sign(&k, mb, ml, s.sig, &e) < 0)
		fed_exit(&e);
	key_free(&k);
	if (o->detached)
		return sign_detached(r, &s, o);
	if (out_open(&out, o->out, &e) < 0)
		fed_exit(&e);
	if (bundle_copy(r, &out, &s, &e) < 0 || out_commit(&out, &e) < 0) {
		out_abort(&out);
		fed_exit(&e);
	}
	bundle_close(r);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "generate", no_argument, NULL, 'G' },
		{ "no-passphrase", no_argument, NULL, 'n' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "public-key", required_argument, NULL, 'p' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "detached", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "Gnp:s:o:x:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'G': o.generate = 1; break;
		case 'n': o.nopass = 1; break;
		case 'P': o.passfile = optarg; break;
		case 'p': o.pub = optarg; break;
		case 's': o.sec = optarg; break;
		case 'o': o.out = optarg; break;
		case 'x': o.detached = optarg; break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-sign " FED_VERSION); return 0;
		default: usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (o.sec == NULL)
		errx(2, "-s seckey is required");
	if (o.generate) {
		if (o.pub == NULL)
			errx(2, "-G needs -p pubkey");
		if (argc != 0 || o.out || o.detached ||
		    (o.nopass && o.passfile))
			usage(stderr, 2);
		return generate(&o);
	}
	if (o.pub != NULL || o.nopass || argc > 1 || (o.out && o.detached))
		usage(stderr, 2);
	o.bundle = argc == 1 ? argv[0] : "-";
	return sign(&o);
}
