/*
 * fed-init: the round-0 model bundle for an architecture, from a seed, or
 * of the tensors of a safetensors file (--from), which may adapt a frozen
 * base model named by its digest (--base: a LoRA adapter's).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "arch.h"
#include "out.h"
#include "stfile.h"
#include "verify.h"
#include "weights.h"

enum { OPT_BASE = 256 };

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -a, --arch=ARCH           softmax:IN-OUT, mlp:IN-H1-...-OUT or gpt:L-D-H-T\n"
	"  -f, --from=FILE           import the tensors of a safetensors file\n"
	"      --base=BASE           with --from: the tensors adapt this frozen model\n"
	"  -s, --seed=SEED           seed of the initial weights (0 to 2^63-1)\n"
	"  -o, --output=OUT          write the model here, not to standard output\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-init -a arch [-s seed] [-o out]\n"
	    "       fed-init -f file.safetensors [--base base] [-o out]\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

static int
init_model(const struct arch *a, uint64_t seed, const char *outpath)
{
	char arch[ARCH_STRLEN];
	float *p = xcalloc(arch_nparams(a), sizeof(float));
	struct bundle_payload pl = { WEIGHTS_MEMBER, NULL, -1, 0, NULL };
	json_t *m;
	struct out o;
	size_t len;
	uint8_t *st;
	rng_t r;
	fed_err e;

	rng_seed(&r, seed);
	arch_init(a, p, &r);
	if ((st = weights_encode(a, p, &len, &e)) == NULL)
		errx(2, "%s", e.msg);
	free(p);
	pl.data = st;
	pl.size = len;
	arch_format(a, arch, sizeof(arch));
	m = manifest_new("model", "fed-init");
	json_object_set_new(m, "arch", json_string(arch));
	json_object_set_new(m, "round", json_integer(0));
	json_object_set_new(m, "parent", json_null());
	json_object_set_new(m, "init", json_pack("{s:I,s:s,s:s}", "seed",
	    (json_int_t)seed, "rng", "xoshiro256**", "scheme",
	    a->kind == ARCH_GPT ? "gpt-2: normal 0.02, residual projections "
	    "0.02/sqrt(2 layers), zero bias, unit layer-norm gain" :
	    "he-normal hidden, lecun-normal output, zero bias"));
	if (out_open(&o, outpath, &e) < 0)
		errx(2, "%s", e.msg);
	if (bundle_write(o.fd, m, &pl, 1, NULL, &e) < 0 ||
	    out_commit(&o, &e) < 0) {
		out_abort(&o);
		fed_exitf(2, "%s: %s", outpath ? outpath : "stdout", e.msg);
	}
	json_decref(m);
	free(st);
	return 0;
}

/* --base: the digest of the model bundle at path, checked whole (its
 * signatures are for fed-verify to check, as for any model). */
static void
base_digest(const char *path, char *digest)
{
	struct verify_opts vo = { .spool_fd = -1, .parent_round = -1 };
	struct verify_result res;
	fed_err e;

	if (verify_bundle(path, &vo, &res, &e) < 0) {
		fed_errprefix(&e, "--base %s", display_name(path));
		fed_exit(&e);
	}
	if (strcmp(res.kind, "model") != 0)
		errx(1, "--base %s: a %s bundle, not a model",
		    display_name(path), res.kind);
	memcpy(digest, res.digest, DIGEST_LEN + 1);
}

static int
init_from(const char *path, const char *base, const char *outpath)
{
	static struct stfile f;
	char digest[DIGEST_LEN + 1];
	fed_err e;
	int rc;

	if (base != NULL)
		base_digest(base, digest);
	if (stfile_read(path, &f, &e) < 0)
		fed_exit(&e);
	rc = stfile_model(&f, outpath, base ? digest : NULL, &e);
	stfile_close(&f);
	if (rc < 0)
		fed_exit(&e);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "from", required_argument, NULL, 'f' },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "seed", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *archstr = NULL, *outpath = NULL, *from = NULL;
	const char *base = NULL;
	uint64_t seed = 0;
	int seeded = 0;
	struct arch a;
	fed_err e;
	int c;

	while ((c = getopt_long(argc, argv, "a:f:s:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			archstr = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case OPT_BASE:
			base = optarg;
			break;
		case 's':
			if (parse_u64(optarg, 0, INT64_MAX, &seed) < 0)
				errx(2, "-s %s: not a seed (0 to 2^63-1)",
				    optarg);
			seeded = 1;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			puts("fed-init " FED_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (from != NULL && (archstr != NULL || seeded))
		errx(2, "--from takes its architecture and weights from the "
		    "file: no -a or -s");
	if (base != NULL && from == NULL)
		errx(2, "--base names the model that --from's tensors adapt: "
		    "give --from");
	if (base != NULL && strcmp(base, "-") == 0 && strcmp(from, "-") == 0)
		errx(2, "--base and --from cannot both be standard input");
	if (from != NULL)
		return init_from(from, base, outpath);
	if (archstr == NULL)
		errx(2, "-a arch is required");
	if (arch_parse(archstr, &a, &e) < 0)
		errx(2, "%s", e.msg);
	if (a.kind == ARCH_TENSORS)
		errx(2, "-a %.16s...: a tensor set is imported with --from",
		    archstr);
	return init_model(&a, seed, outpath);
}
