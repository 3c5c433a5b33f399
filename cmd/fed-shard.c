/*
 * fed-shard: import a data set (IDX images and labels, CSV, or text) and
 * write it as data bundles, one per shard.  Loading, splitting and writing
 * are lib/shard's (and lib/text's and lib/textshard's); this is options,
 * messages and the summary on standard error.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "shard.h"
#include "text.h"
#include "textshard.h"

#define MAXSEED ((uint64_t)INT64_MAX)

struct opts {
	const char *format;             /* "idx", "csv", "text" or NULL */
	int by_file;                    /* text: -p file */
	uint32_t nshards;               /* 0: not given */
	struct part_spec part;
	int min_given;
	uint64_t seed;
	const char *label, *key;
	int skip_bad, quiet;
	const char *prefix;
};

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -f, --format=FORMAT       input format: idx, csv or text\n"
	"  -n, --shards=SHARDS       number of shards\n"
	"  -p, --partition=PART      the partition (default iid); see fed-shard(1)\n"
	"  -s, --seed=SEED           seed of the partition\n"
	"  -t, --test=FRACTION       hold this fraction out as a test set\n"
	"  -o, --output=PREFIX       write PREFIX-000.fed, PREFIX-001.fed, ...\n"
	"      --label=NAME          csv: the label column\n"
	"      --key=NAME            csv: the column that names each row's holder\n"
	"      --skip-bad            csv: leave out bad rows, and say how many\n"
	"      --min-size=N          at least N examples per shard\n"
	"      --quantity=LAW        shard sizes: lognormal:SIGMA or power:ALPHA\n"
	"  -q, --quiet               print no summary\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void __attribute__((noreturn))
usage(FILE *f, int status)
{
	fputs("usage: fed-shard [-q] [-f idx|csv] [-n shards] [-p partition] "
	    "[-s seed] [-t test-fraction] [--label name] [--key name] "
	    "[--skip-bad] [--min-size n] [--quantity law] -o prefix input "
	    "[labels]\n"
	    "       fed-shard [-q] -f text [-n shards] [-p iid|file] [-s seed] "
	    "[-t test-fraction] -o prefix input ...\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

/* A usage error: one line, exit 2. */
static void __attribute__((noreturn))
usage_err(const char *fmt, const char *arg)
{
	warnx(fmt, arg);
	exit(2);
}

#define BARMAX 64

/* One row per shard: sizes, the total variation distance of its label
 * mix to the whole set's, and a bar of its classes. */
static void
summary_row(const struct shard_plan *p, const struct shard_src *s, const uint64_t *tot,
    uint32_t j, int w)
{
	static const char ramp[] = " .:-=+*#%@";
	uint64_t n = shard_part_size(p, j, 0) + shard_part_size(p, j, 1), most = 0, k;
	char bar[BARMAX + 1] = "", name[FED_ESCMAX + 1];
	double tv = 0;
	uint32_t c;

	for (c = 0; c < s->classes; c++) {
		k = shard_class(p, s->classes, j, c);
		most = k > most ? k : most;
		tv += fabs((double)k / n - (double)tot[c] / s->n);
	}
	for (c = 0; s->classes <= BARMAX && c < s->classes; c++) {
		k = shard_class(p, s->classes, j, c);
		bar[c] = k == 0 ? ' ' : ramp[1 + k * 8 / most];
		bar[c + 1] = '\0';
	}
	fprintf(stderr, "%-*.*s %8llu %7llu %5.2f  %s\n", w, w,
	    fed_escape(name, sizeof(name), p->names[j]),
	    (unsigned long long)shard_part_size(p, j, 0),
	    (unsigned long long)shard_part_size(p, j, 1), tv / 2, bar);
}

static void
summary(const struct shard_plan *p, const struct shard_src *s, const struct opts *o)
{
	uint64_t *tot = xcalloc(s->classes, sizeof(*tot)), i;
	char spec[PART_NAMELEN + 32];
	int w = 5;
	uint32_t j;

	for (j = 0; j < p->nshards; j++)
		if ((int)strlen(p->names[j]) > w)
			w = strlen(p->names[j]) > 24 ? 24 :
			    (int)strlen(p->names[j]);
	for (i = 0; i < s->n; i++)
		tot[s->y[i]]++;
	part_format(&o->part, spec, sizeof(spec));
	fprintf(stderr, "fed-shard: %llu samples, %u features, %u classes; "
	    "%s, %u shards, seed %llu\n", (unsigned long long)s->n,
	    s->features, s->classes, spec, p->nshards,
	    (unsigned long long)o->seed);
	fprintf(stderr, "%-*s %8s %7s %5s  %.*s\n", w, "shard", "train",
	    "test", "skew", s->classes <= 10 ? (int)s->classes : 0,
	    "0123456789");
	for (j = 0; j < p->nshards; j++)
		summary_row(p, s, tot, j, w);
	free(tot);
}

/* IDX images and labels, or one CSV file. */
static void
load(struct shard_src *s, const struct opts *o, int argc, char *argv[])
{
	struct csv_opts co = { o->label, o->key, o->skip_bad };
	fed_err e;

	if (argc == 2) {
		if (shard_load_idx(s, argv[0], argv[1], &e) < 0)
			fed_exit(&e);
		return;
	}
	if (o->part.scheme == PART_COLUMN)
		co.key = o->part.column;
	if (shard_load_csv(s, &co, argv[0], &e) < 0)
		fed_exit(&e);
	if (s->csv.skipped > 0)
		fed_warnf("%s: skipped %llu bad rows (the first on line %llu)",
		    display_name(argv[0]), (unsigned long long)s->csv.skipped,
		    (unsigned long long)s->csv.first_bad);
}

/* Every part stays open until all are written. */
static void
want_files(uint32_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		err(2, "getrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 32) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)n + 32)
			errx(2, "%u output files exceed the limit of open "
			    "files (%llu)", n, (unsigned long long)rl.rlim_max);
		rl.rlim_cur = (rlim_t)n + 32;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			err(2, "setrlimit");
	}
}

static void
parse_opt(struct opts *o, int c, const char *arg, const char *opt)
{
	uint64_t v;
	fed_err e;

	switch (c) {
	case 'f':
		if (strcmp(arg, "idx") != 0 && strcmp(arg, "csv") != 0 &&
		    strcmp(arg, "text") != 0)
			usage_err("-f %s: format must be idx, csv or text", arg);
		o->format = arg;
		break;
	case 'n':
		if (parse_u64(arg, 1, PART_MAXSHARDS, &v) < 0)
			usage_err("-n %s: shards must be in 1..100000", arg);
		o->nshards = (uint32_t)v;
		break;
	case 'p':
		o->by_file = strcmp(arg, "file") == 0;
		if (o->by_file)
			break;
		if (part_parse(arg, &o->part, &e) < 0)
			fed_exit(&e);
		break;
	case 's':
		if (parse_u64(arg, 0, MAXSEED, &o->seed) < 0)
			usage_err("-s %s: seed must be an integer in "
			    "0..9223372036854775807", arg);
		break;
	case 't':
		if (parse_double(arg, 0, 1, &o->part.test) < 0 ||
		    o->part.test <= 0 || o->part.test >= 1)
			usage_err("-t %s: test fraction must be in (0, 1)", arg);
		break;
	case 'L': o->label = arg; break;
	case 'K': o->key = arg; break;
	case 'B': o->skip_bad = 1; break;
	case 'q': o->quiet = 1; break;
	case 'o': o->prefix = arg; break;
	case 'M':
		if (parse_u64(arg, 1, PART_MAXSAMPLES, &o->part.min_size) < 0)
			usage_err("--min-size %s: must be a positive integer",
			    arg);
		o->min_given = 1;
		break;
	case 'Q':
		if (part_parse_law(arg, &o->part, &e) < 0)
			fed_exit(&e);
		break;
	case 'h': usage(stdout, 0); break;
	case 'V': puts("fed-shard " FED_VERSION); exit(0);
	case ':': usage_err("%s needs a value", opt);
	default: usage_err("unknown option %s", opt);
	}
}

/* -f text: iid or file partitions, any number of inputs. */
static void
check_text_opts(struct opts *o, int nargs)
{
	if (nargs < 1)
		usage_err("%s", "text takes one or more input files or folders");
	if (o->label || o->key || o->skip_bad || o->min_given || o->part.law)
		usage_err("%s", "--label, --key, --skip-bad, --min-size and "
		    "--quantity are not for text input");
	if (!o->by_file && o->part.scheme != PART_IID)
		usage_err("%s", "text partitions are iid or file");
	if (o->by_file && o->nshards)
		usage_err("%s", "-p file makes one shard per input, not -n");
	if (o->nshards == 0)
		o->nshards = 1;
}

/* fed-shard -f text: documents from every operand, split and written. */
static int
shard_text(const struct opts *o, int argc, char *argv[])
{
	struct text_corpus c;
	struct textshard_plan p;
	const struct text_part *t;
	int i;
	fed_err e;

	text_init(&c);
	for (i = 0; i < argc; i++)
		if (text_add(&c, argv[i], &e) < 0)
			fed_exit(&e);
	if (textshard_plan(&p, &c, o->by_file, o->nshards, o->part.test,
	    o->seed, &e) < 0)
		fed_exit(&e);
	want_files((uint32_t)p.nparts);
	if (textshard_write(&p, &c, o->seed, o->prefix, &e) < 0)
		fed_exit(&e);
	if (!o->quiet) {
		fprintf(stderr, "fed-shard: %llu bytes in %u documents; %s, "
		    "%u shards, seed %llu\n", (unsigned long long)c.n, c.ndocs,
		    o->by_file ? "file" : "iid", p.nshards,
		    (unsigned long long)o->seed);
		for (t = p.parts; t < p.parts + p.nparts; t++)
			fprintf(stderr, "%-24s %-5s %10llu bytes %7u documents\n",
			    p.names[t->shard], t->test ? "test" : "train",
			    (unsigned long long)t->bytes, t->ndocs);
	}
	textshard_free(&p);
	text_free(&c);
	return 0;
}

/* Combinations that cannot mean anything. */
static void
check_opts(struct opts *o, int nargs)
{
	int csv;

	if (o->prefix == NULL)
		usage_err("%s", "-o prefix is required");
	if (o->format != NULL && strcmp(o->format, "text") == 0) {
		check_text_opts(o, nargs);
		return;
	}
	if (o->by_file)
		usage_err("%s", "-p file is for text input");
	if (nargs < 1 || nargs > 2)
		usage_err("%s", "want an input file, or images and labels");
	if (o->format == NULL)
		o->format = nargs == 2 ? "idx" : "csv";
	csv = strcmp(o->format, "csv") == 0;
	if (nargs != (csv ? 1 : 2))
		usage_err("%s", csv ? "csv takes one input file" :
		    "idx takes an images file and a labels file");
	if (!csv && (o->label || o->key || o->skip_bad ||
	    o->part.scheme == PART_COLUMN))
		usage_err("%s", "--label, --key, --skip-bad and column: are "
		    "for csv input");
	if (o->part.scheme == PART_COLUMN && (o->nshards || o->part.law))
		usage_err("%s", "column: takes its shards from the column, "
		    "not from -n or --quantity");
	if (o->part.scheme == PART_COLUMN && o->key &&
	    strcmp(o->key, o->part.column) != 0)
		usage_err("--key %s differs from the partition column", o->key);
	if (o->nshards == 0)
		o->nshards = 1;
	if (o->part.test > 0 && !o->min_given)
		o->part.min_size = 2;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "shards", required_argument, NULL, 'n' },
		{ "partition", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "test", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, 'L' },
		{ "key", required_argument, NULL, 'K' },
		{ "skip-bad", no_argument, NULL, 'B' },
		{ "min-size", required_argument, NULL, 'M' },
		{ "quantity", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct shard_src s = { 0 };
	struct shard_plan p = { 0 };
	fed_err e;
	int c;

	part_init(&o.part);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:n:p:s:t:o:qh", longopts,
	    NULL)) != -1)
		parse_opt(&o, c, optarg, argv[optind - 1]);
	argc -= optind;
	argv += optind;
	check_opts(&o, argc);
	if (strcmp(o.format, "text") == 0)
		return shard_text(&o, argc, argv);
	if (argc == 2 && strcmp(argv[0], "-") == 0 && strcmp(argv[1], "-") == 0)
		usage_err("%s", "only one input can be standard input");
	load(&s, &o, argc, argv);
	if (shard_split(&p, &s, &o.part, o.nshards, o.seed, &e) < 0)
		fed_exit(&e);
	want_files(p.nout);
	if (shard_write(&p, &s, &o.part, o.seed, o.prefix, &e) < 0)
		fed_exit(&e);
	if (!o.quiet)
		summary(&p, &s, &o);
	shard_plan_free(&p);
	shard_src_free(&s);
	return 0;
}
