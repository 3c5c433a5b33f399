/*
 * fed-merge: the next global model from the current one and the round's
 * update bundles.  Option parsing, messages and the output file only;
 * the options' defaults and ranges are lib/mopt.c's, the merge
 * lib/merge.c's.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "mdown.h"
#include "merge.h"
#include "out.h"
#include "roster.h"

enum {
	OPT_CLIP = 256, OPT_UNIFORM, OPT_MAXSAMPLES, OPT_LR, OPT_MOMENTUM,
	OPT_BETA1, OPT_BETA2, OPT_TAU, OPT_SKIPBAD, OPT_VERSION,
	OPT_DPNOISE, OPT_DPDELTA, OPT_DPRATE, OPT_UNSIGNED, OPT_ADMIT,
	OPT_MARGIN, OPT_DOWNLOAD, OPT_DOWNENC, OPT_RESIDUAL, OPT_APPLY,
};

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
	{ "roster", required_argument, NULL, 'R' },
	{ "public-key", required_argument, NULL, 'p' },
	{ "key-dir", required_argument, NULL, 'P' },
	{ "quorum", required_argument, NULL, 'k' },
	{ "unsigned", no_argument, NULL, OPT_UNSIGNED },
	{ "admit", required_argument, NULL, OPT_ADMIT },
	{ "margin", required_argument, NULL, OPT_MARGIN },
	{ "download", required_argument, NULL, OPT_DOWNLOAD },
	{ "download-encode", required_argument, NULL, OPT_DOWNENC },
	{ "residual", required_argument, NULL, OPT_RESIDUAL },
	{ "apply", required_argument, NULL, OPT_APPLY },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* The options that take a real number: where it goes and its range. */
static const struct {
	int opt;
	const char *name;
	size_t off;
	double min, max;
} reals[] = {
	{ OPT_CLIP, "--clip-norm", offsetof(struct mopt, clip), 1e-30, 1e30 },
	{ OPT_LR, "--server-lr", offsetof(struct mopt, lr), 1e-30, 1e30 },
	{ OPT_MOMENTUM, "--momentum", offsetof(struct mopt, momentum), 0, 1 },
	{ OPT_BETA1, "--beta1", offsetof(struct mopt, beta1), 0, 1 },
	{ OPT_BETA2, "--beta2", offsetof(struct mopt, beta2), 0, 1 },
	{ OPT_TAU, "--tau", offsetof(struct mopt, tau), 1e-30, 1e30 },
	{ OPT_DPNOISE, "--dp-noise", offsetof(struct mopt, dp_noise), 1e-3, 1e6 },
	{ OPT_DPDELTA, "--dp-delta", offsetof(struct mopt, dp_delta), 1e-300, 1 },
	{ OPT_MARGIN, "--margin", offsetof(struct mopt, margin), 0, 1e30 },
	{ OPT_DPRATE, "--dp-sample-rate", offsetof(struct mopt, dp_rate), 1e-9,
	    1 },
};

struct args {
	const char *model, *out;
	const char *apply;
	const char *roster, *coord, *keydir;
	uint64_t quorum;
	struct mopt o;
};

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -m, --model=MODEL         the model the updates were trained from\n"
	"  -R, --roster=ROSTER       the roster of key holders whose votes count\n"
	"  -p, --public-key=PUBKEY   the coordinator's key, which signed the roster\n"
	"  -P, --key-dir=KEYDIR      holders: the NAME.pub keys in this folder\n"
	"  -k, --quorum=QUORUM       holders that must sign each update (default 1)\n"
	"      --unsigned            merge updates without checking signatures\n"
	"  -r, --rule=RULE           fedavg, median, trimmed-mean:B, krum:F, fedadam...\n"
	"  -o, --output=OUT          write the new model here, not to standard output\n"
	"  -j, --threads=THREADS     worker threads\n"
	"      --clip-norm=C         scale each update to an L2 norm of at most C\n"
	"      --uniform             weigh updates equally, not by samples\n"
	"      --max-samples=N       count at most N samples per update\n"
	"      --server-lr=LR        server learning rate of the stateful rules\n"
	"      --momentum=B          server momentum (fedavgm, nesterov)\n"
	"      --beta1=B1            first moment decay (fedadam, fedyogi)\n"
	"      --beta2=B2            second moment decay (fedadam, fedyogi)\n"
	"      --tau=T               adaptivity (fedadam, fedyogi, fedadagrad)\n"
	"      --skip-bad            leave out bad updates, with a warning each\n"
	"      --dp-noise=Z          central DP: Gaussian noise of Z times the clip\n"
	"  -s, --seed=SEED           seed of the DP noise\n"
	"      --dp-delta=D          DP delta for the epsilon reported\n"
	"      --dp-sample-rate=Q    fraction of clients sampled per round\n"
	"      --admit=DATA          admit only updates that do not hurt loss on DATA\n"
	"      --margin=M            loss margin of --admit\n"
	"      --download=STEP       also write the step as a small download\n"
	"      --download-encode=E   int8 (default), topk:F, topk8:F, fp16 or bf16\n"
	"      --residual=FILE       carry the download's error in FILE\n"
	"      --apply=STEP          rebuild the next model from MODEL and STEP\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-merge -m model (-R roster -p pubkey | -P keydir | "
	    "--unsigned)\n"
	    "                 [-k quorum] [-r rule] [-o out] [-j threads] "
	    "[--clip-norm C]\n"
	    "                 [--uniform] [--max-samples N] [--server-lr LR] "
	    "[--momentum B]\n"
	    "                 [--beta1 B1] [--beta2 B2] [--tau T] "
	    "[--skip-bad]\n"
	    "                 [--dp-noise Z -s seed [--dp-delta D] "
	    "[--dp-sample-rate Q]]\n"
	    "                 [--admit data [--margin M]]\n"
	    "                 [--download step [--download-encode E] "
	    "[--residual file]]\n"
	    "                 update ...\n"
	    "       fed-merge -m model --apply step [-o out]\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

/* An option that takes a real number: 1 when c is one. */
static int
real_opt(int c, const char *s, struct mopt *o)
{
	size_t i;
	double v;

	for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		if (reals[i].opt != c)
			continue;
		if (parse_double(s, reals[i].min, reals[i].max, &v) < 0 ||
		    !isfinite(v))
			errx(2, "%s %s: not a number in [%g, %g]",
			    reals[i].name, s, reals[i].min, reals[i].max);
		*(double *)(void *)((char *)o + reals[i].off) = v;
		return 1;
	}
	return 0;
}

/* The options that say which updates count: 1 when c is one. */
static int
trust_opt(int c, const char *arg, struct args *a)
{
	switch (c) {
	case 'R':
		a->roster = arg;
		return 1;
	case 'p':
		a->coord = arg;
		return 1;
	case 'P':
		a->keydir = arg;
		return 1;
	case 'k':
		if (parse_u64(arg, 1, ROSTER_MAXHOLDERS, &a->quorum) < 0)
			errx(2, "-k %s: not a quorum (1 to %d)", arg,
			    ROSTER_MAXHOLDERS);
		return 1;
	case OPT_UNSIGNED:
		a->o.unsigned_ok = 1;
		return 1;
	case OPT_ADMIT:
		a->o.admit = arg;
		return 1;
	}
	return 0;
}

/* The options of the download (lib/mdown): 1 when c is one. */
static int
down_opt(int c, const char *arg, struct args *a)
{
	fed_err e;

	switch (c) {
	case OPT_DOWNLOAD:
		a->o.download = arg;
		return 1;
	case OPT_DOWNENC:
		if (encode_parse(arg, &a->o.down, &e) < 0)
			errx(2, "--download-encode: %s", e.msg);
		return 1;
	case OPT_RESIDUAL:
		a->o.residual = arg;
		return 1;
	case OPT_APPLY:
		a->apply = arg;
		return 1;
	}
	return 0;
}

static void
option(int c, const char *arg, struct args *a)
{
	uint64_t v;
	fed_err e;

	if (real_opt(c, arg, &a->o) || trust_opt(c, arg, a) ||
	    down_opt(c, arg, a))
		return;
	switch (c) {
	case 'm':
		a->model = arg;
		break;
	case 'r':
		if (mopt_rule_parse(arg, &a->o, &e) < 0)
			errx(2, "%s", e.msg);
		break;
	case 'o':
		a->out = arg;
		break;
	case 'j':
		if (parse_u64(arg, 1, MOPT_MAXTHREADS, &v) < 0)
			errx(2, "-j %s: not a thread count (1 to %d)", arg,
			    MOPT_MAXTHREADS);
		a->o.threads = (int)v;
		break;
	case OPT_UNIFORM:
		a->o.uniform = 1;
		break;
	case OPT_MAXSAMPLES:
		if (parse_u64(arg, 1, INT64_MAX, &a->o.max_samples) < 0)
			errx(2, "--max-samples %s: not a positive count", arg);
		break;
	case OPT_SKIPBAD:
		a->o.skip_bad = 1;
		break;
	case 's':
		if (parse_u64(arg, 0, UINT64_MAX, &a->o.dp_seed) < 0)
			errx(2, "-s %s: not a seed", arg);
		a->o.dp_seeded = 1;
		break;
	case 'h':
		usage(stdout, 0);
		break;
	case OPT_VERSION:
		puts("fed-merge " FED_VERSION);
		exit(0);
	default:
		usage(stderr, 2);
	}
}

static int
default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* The operands: some, not too many, stdin at most once. */
static void
operands(const struct args *a, char **upd, int n)
{
	int i, stdins = strcmp(a->model, "-") == 0;

	if (n > MOPT_MAXUPDATES)
		errx(2, "more than %d updates", MOPT_MAXUPDATES);
	for (i = 0; i < n; i++)
		stdins += strcmp(upd[i], "-") == 0;
	if (stdins > 1)
		errx(2, "standard input can be read only once");
}

/* Who may vote: a roster the coordinator signed, a directory of keys,
 * or, asked for by name, nobody checked at all. */
static void
voters(struct args *a, struct roster *ro)
{
	struct key ck;
	fed_err e;
	int r;

	if ((a->roster != NULL) + (a->keydir != NULL) + a->o.unsigned_ok != 1)
		errx(2, "give one of -R roster, -P keydir or --unsigned");
	if ((a->coord != NULL) != (a->roster != NULL))
		errx(2, "-R and -p (the coordinator's key) go together");
	if (a->o.unsigned_ok && a->quorum)
		errx(2, "-k needs -R or -P");
	if (a->o.unsigned_ok)
		return;
	if (a->roster && key_load_public(a->coord, &ck, &e) < 0)
		fed_exit(&e);
	r = a->roster ? roster_load(ro, a->roster, &ck, &e) :
	    roster_from_dir(ro, a->keydir, &e);
	if (a->roster)
		key_free(&ck);
	if (r < 0) {
		fed_errprefix(&e, "%s", display_name(a->roster ? a->roster :
		    a->keydir));
		fed_exit(&e);
	}
	if (a->quorum > (uint64_t)ro->n)
		errx(2, "-k %llu: the roster has %d holders",
		    (unsigned long long)a->quorum, ro->n);
	a->o.roster = ro;
	a->o.quorum = a->quorum ? (int)a->quorum : 1;
}

/* --skip-bad left an update out: said on standard error, one line. */
static void
warn_skipped(const char *path, const char *why)
{
	fed_warnf("skipped %s: %s", display_name(path), why);
}

/* --apply: the next model rebuilt from the model and a download. */
static void
apply(const struct args *a, int argc)
{
	struct out out;
	fed_err e;

	if (argc > 0)
		errx(2, "--apply takes no updates");
	if (strcmp(a->model, "-") == 0 && strcmp(a->apply, "-") == 0)
		errx(2, "standard input can be read only once");
	if (out_open(&out, a->out, &e) < 0)
		errx(2, "%s", e.msg);
	if (mdown_apply(a->model, a->apply, out.fd, &e) < 0) {
		out_abort(&out);
		fed_exit(&e);
	}
	if (out_commit(&out, &e) < 0) {
		out_abort(&out);
		errx(2, "%s", e.msg);
	}
	exit(0);
}

int
main(int argc, char *argv[])
{
	static struct roster ro;
	struct args a = { NULL, NULL, NULL, NULL, NULL, NULL, 0, { 0 } };
	struct out out;
	fed_err e;
	int c;

	mopt_init(&a.o);
	a.o.threads = default_threads();
	a.o.skipped = warn_skipped;
	while ((c = getopt_long(argc, argv, "m:r:o:j:s:R:p:P:k:h", longopts,
	    NULL)) != -1)
		option(c, optarg, &a);
	if (a.model == NULL)
		errx(2, "-m model is required");
	if (a.apply != NULL)
		apply(&a, argc - optind);
	if (optind == argc)
		errx(2, "an update is required");
	if (a.o.download != NULL && strcmp(a.o.download, "-") == 0 &&
	    (a.out == NULL || strcmp(a.out, "-") == 0))
		errx(2, "--download -: the model goes to standard output");
	operands(&a, argv + optind, argc - optind);
	voters(&a, &ro);
	if (mopt_finish(&a.o, &e) < 0)
		errx(2, "%s", e.msg);
	if (out_open(&out, a.out, &e) < 0)
		errx(2, "%s", e.msg);
	if (merge_run(a.model, (const char *const *)argv + optind,
	    argc - optind, &a.o, out.fd, NULL, &e) < 0) {
		out_abort(&out);
		fed_exit(&e);
	}
	if (out_commit(&out, &e) < 0) {
		out_abort(&out);
		errx(2, "%s", e.msg);
	}
	return 0;
}
