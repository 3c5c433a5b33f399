/*
 * fed-merge: the next global model from the current one and the round's
 * update bundles.  Option parsing and the output file only; the rules and
 * the streaming over the updates are lib/merge.c's.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "merge.h"
#include "out.h"

enum {
	OPT_CLIP = 256, OPT_UNIFORM, OPT_MAXSAMPLES, OPT_LR, OPT_MOMENTUM,
	OPT_BETA1, OPT_BETA2, OPT_TAU, OPT_SKIPBAD, OPT_VERSION,
	OPT_DPNOISE, OPT_DPDELTA, OPT_DPRATE,
};

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-merge -m model [-r rule] [-o out] [-j threads] "
	    "[--clip-norm C]\n"
	    "                 [--uniform] [--max-samples N] [--server-lr LR] "
	    "[--momentum B]\n"
	    "                 [--beta1 B1] [--beta2 B2] [--tau T] "
	    "[--skip-bad]\n"
	    "                 [--dp-noise Z -s seed [--dp-delta D] "
	    "[--dp-sample-rate Q]]\n"
	    "                 update ...\n", f);
	exit(status);
}

static double
num(const char *opt, const char *s, double min, double max)
{
	double v;

	if (parse_double(s, min, max, &v) < 0 || !isfinite(v))
		errx(2, "%s %s: not a number in [%g, %g]", opt, s, min, max);
	return v;
}

static int
default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

static int
merge(const char *model, char **upd, int n, const struct merge_opts *o,
    const char *outpath)
{
	struct out out;
	fed_err e;
	int r;

	if (out_open(&out, outpath, &e) < 0)
		errx(2, "%s", e.msg);
	r = merge_run(model, (const char *const *)upd, n, o, out.fd, NULL, &e);
	if (r == 0 && out_commit(&out, &e) < 0)
		r = MERGE_FAIL;
	if (r != 0) {
		out_abort(&out);
		errx(r == MERGE_REJECT ? 1 : 2, "%s", e.msg);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "rule", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 'j' },
		{ "clip-norm", required_argument, NULL, OPT_CLIP },
		{ "uniform", no_argument, NULL, OPT_UNIFORM },
		{ "max-samples", required_argument, NULL, OPT_MAXSAMPLES },
		{ "server-lr", required_argument, NULL, OPT_LR },
		{ "momentum", required_argument, NULL, OPT_MOMENTUM },
		{ "beta1", required_argument, NULL, OPT_BETA1 },
		{ "beta2", required_argument, NULL, OPT_BETA2 },
		{ "tau", required_argument, NULL, OPT_TAU },
		{ "skip-bad", no_argument, NULL, OPT_SKIPBAD },
		{ "dp-noise", required_argument, NULL, OPT_DPNOISE },
		{ "dp-delta", required_argument, NULL, OPT_DPDELTA },
		{ "dp-sample-rate", required_argument, NULL, OPT_DPRATE },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *outpath = NULL;
	struct merge_opts o;
	uint64_t v;
	fed_err e;
	int c, i, stdins = 0;

	merge_opts_init(&o);
	o.threads = default_threads();
	while ((c = getopt_long(argc, argv, "m:r:o:j:s:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm':
			model = optarg;
			break;
		case 'r':
			if (merge_rule_parse(optarg, &o, &e) < 0)
				errx(2, "%s", e.msg);
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'j':
			if (parse_u64(optarg, 1, MERGE_MAXTHREADS, &v) < 0)
				errx(2, "-j %s: not a thread count (1 to %d)",
				    optarg, MERGE_MAXTHREADS);
			o.threads = (int)v;
			break;
		case OPT_CLIP:
			o.clip = num("--clip-norm", optarg, 1e-30, 1e30);
			break;
		case OPT_UNIFORM:
			o.uniform = 1;
			break;
		case OPT_MAXSAMPLES:
			if (parse_u64(optarg, 1, INT64_MAX, &o.max_samples) < 0)
				errx(2, "--max-samples %s: not a positive count",
				    optarg);
			break;
		case OPT_LR:
			o.lr = num("--server-lr", optarg, 1e-30, 1e30);
			break;
		case OPT_MOMENTUM:
			o.momentum = num("--momentum", optarg, 0, 1);
			break;
		case OPT_BETA1:
			o.beta1 = num("--beta1", optarg, 0, 1);
			break;
		case OPT_BETA2:
			o.beta2 = num("--beta2", optarg, 0, 1);
			break;
		case OPT_TAU:
			o.tau = num("--tau", optarg, 1e-30, 1e30);
			break;
		case OPT_SKIPBAD:
			o.skip_bad = 1;
			break;
		case OPT_DPNOISE:
			o.dp_noise = num("--dp-noise", optarg, 1e-3, 1e6);
			break;
		case OPT_DPDELTA:
			o.dp_delta = num("--dp-delta", optarg, 1e-300, 1);
			break;
		case OPT_DPRATE:
			o.dp_rate = num("--dp-sample-rate", optarg, 1e-9, 1);
			break;
		case 's':
			if (parse_u64(optarg, 0, UINT64_MAX, &o.dp_seed) < 0)
				errx(2, "-s %s: not a seed", optarg);
			o.dp_seeded = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case OPT_VERSION:
			puts("fed-merge " FED_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	if (model == NULL || optind == argc)
		usage(stderr, 2);
	if (argc - optind > MERGE_MAXUPDATES)
		errx(2, "more than %d updates", MERGE_MAXUPDATES);
	for (i = optind; i < argc; i++)
		stdins += strcmp(argv[i], "-") == 0;
	if (stdins + (strcmp(model, "-") == 0) > 1)
		errx(2, "standard input can be read only once");
	if (merge_opts_finish(&o, &e) < 0)
		errx(2, "%s", e.msg);
	return merge(model, argv + optind, argc - optind, &o, outpath);
}
