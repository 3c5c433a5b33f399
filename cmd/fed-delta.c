/*
 * fed-delta: the update bundle for weights trained outside fed: trained
 * minus the model's, with the model's digest and round, the samples and
 * the trainer's own description.  The way in for holders who train with
 * their own stack.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"

enum { OPT_ENCODE = 256, OPT_META };

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -m, --model=MODEL         the model the weights were trained from\n"
	"  -n, --samples=N           training samples behind the weights\n"
	"      --encode=ENC          compress the update: fp16, bf16, int8, topk:F or topk8:F\n"
	"      --meta=FILE           the trainer's description, a JSON object\n"
	"  -o, --output=OUT          write the update here, not to standard output\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-delta -m model -n samples "
	    "[--encode fp16|bf16|int8|topk:F|topk8:F]\n"
	    "                 [--meta file.json] [-o out] trained.safetensors\n",
	    f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "samples", required_argument, NULL, 'n' },
		{ "encode", required_argument, NULL, OPT_ENCODE },
		{ "meta", required_argument, NULL, OPT_META },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct delta_opts o = { NULL, NULL, NULL, NULL, 0, NULL };
	struct enc enc;
	uint64_t n;
	fed_err e;
	int c;

	while ((c = getopt_long(argc, argv, "m:n:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model = optarg; break;
		case 'n':
			if (parse_u64(optarg, 1, INT64_MAX, &n) < 0)
				errx(2, "-n %s: not a sample count (1 to "
				    "2^63-1)", optarg);
			o.samples = (int64_t)n;
			break;
		case OPT_ENCODE:
			if (encode_parse(optarg, &enc, &e) < 0)
				errx(2, "--encode %s", e.msg);
			o.enc = &enc;
			break;
		case OPT_META: o.meta = optarg; break;
		case 'o': o.out = optarg; break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-delta " FED_VERSION); return 0;
		default: usage(stderr, 2);
		}
	}
	if (o.model == NULL || o.samples == 0)
		errx(2, "-m model and -n samples are required");
	if (argc - optind != 1)
		usage(stderr, 2);
	o.trained = argv[optind];
	if (strcmp(o.model, "-") == 0 && strcmp(o.trained, "-") == 0)
		errx(2, "the model and the trained weights cannot both be "
		    "standard input");
	if (delta_run(&o, &e) < 0)
		fed_exit(&e);
	return 0;
}
