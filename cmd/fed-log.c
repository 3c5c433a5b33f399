/*
 * fed-log: the history of a lineage from a folder of published bundles,
 * a row a round, as a table, as JSON, or as a gnuplot script that plots
 * one figure per round.  Reading the bundles is lib/flog's; this file
 * prints.
 */
#include <sys/stat.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flog.h"

enum { OPT_JSON = 256, OPT_PLOT };

struct opts {
	int json;
	const char *plot;           /* the figure to plot, or NULL */
	const char *testers;        /* -T: names report signers */
};

/* What --plot can draw, and where a row keeps it. */
static const struct figure {
	const char *name, *label;
	int worst;                  /* in the row's "worst" object */
} figures[] = {
	{ "accuracy", "accuracy (the lowest reported)", 1 },
	{ "loss", "loss (the highest reported)", 1 },
	{ "bits_per_byte", "bits per byte (the highest reported)", 1 },
	{ "samples", "training samples merged", 0 },
	{ "contributors", "contributors", 0 },
	{ "epsilon", "privacy spent (epsilon)", 0 },
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

static const char help[] =
	"\n"
	"      --json                print the rows as JSON\n"
	"      --plot=FIGURE         print a gnuplot script plotting FIGURE per round\n"
	"  -T, --testers=TESTERS     name report signers: a roster or a folder of keys\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-log [--json | --plot figure] [-T testers] "
	    "folder-or-bundle...\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

/* A figure of a row: 0, or -1 when the row has none. */
static int
row_figure(const json_t *row, const struct figure *f, double *v)
{
	json_t *x = f->worst ? json_object_get(json_object_get(row, "worst"),
	    f->name) : json_object_get(row, f->name);

	if (strcmp(f->name, "contributors") == 0) {
		*v = (double)json_array_size(x);
		return 0;
	}
	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return 0;
}

/* Twelve hex digits of a digest, or "-". */
static const char *
short_digest(const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) == DIGEST_LEN ? s + 7 : "-";
}

/* Names from a JSON array (of strings, or of objects with name and
 * keyid), comma-joined and escaped into buf, or "-". */
static const char *
names(const json_t *a, const char *key, char *buf, size_t len)
{
	char one[FED_ESCMAX + 1];
	const char *s;
	size_t i, at = 0;
	json_t *v;

	snprintf(buf, len, "-");
	json_array_foreach(a, i, v) {
		s = key ? json_string_value(json_object_get(v, key)) :
		    json_string_value(v);
		if (s == NULL && key)
			s = json_string_value(json_object_get(v, "keyid"));
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," :
		    "", s ? fed_escape(one, sizeof(one), s) : "(unnamed)");
		if (at >= len)
			break;
	}
	return buf;
}

/* accuracy, or bits per byte when the reports give that instead. */
static const struct figure *
table_figure(const json_t *rows)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
		if (json_object_get(json_object_get(row, "worst"),
		    "bits_per_byte") != NULL)
			return &figures[2];
	return &figures[0];
}

static void
print_row(const json_t *row, const struct figure *f)
{
	char rule[FED_ESCMAX + 1], eps[32] = "-", fig[32] = "-";
	static char miss[1 << 16], who[1 << 16];
	const char *r = json_string_value(json_object_get(row, "rule"));
	json_t *e = json_object_get(row, "epsilon");
	double v;

	if (json_is_number(e))
		snprintf(eps, sizeof(eps), "%.3f", json_number_value(e));
	if (row_figure(row, f, &v) == 0)
		snprintf(fig, sizeof(fig), "%.4f", v);
	printf("%5lld  %-12.12s  %-12.12s  %-12s %8lld %8s %7zu %9s  %-10s  %s\n",
	    (long long)json_integer_value(json_object_get(row, "round")),
	    short_digest(json_object_get(row, "digest")),
	    short_digest(json_object_get(row, "parent")),
	    r ? fed_escape(rule, sizeof(rule), r) : "-",
	    (long long)json_integer_value(json_object_get(row, "samples")),
	    eps, json_array_size(json_object_get(row, "reports")), fig,
	    names(json_object_get(row, "missing"), NULL, miss, sizeof(miss)),
	    names(json_object_get(row, "contributors"), NULL, who,
	    sizeof(who)));
}

/* Below the table, a line for each report: who signed it, on what. */
static void
print_reports(const json_t *row)
{
	static char who[1 << 16];
	json_t *rep, *fg;
	char file[FED_ESCMAX + 1];
	size_t i;

	json_array_foreach(json_object_get(row, "reports"), i, rep) {
		fg = json_object_get(rep, "figures");
		printf("round %lld: report %.12s by %s: ",
		    (long long)json_integer_value(json_object_get(row, "round")),
		    short_digest(json_object_get(rep, "digest")),
		    names(json_object_get(rep, "signers"), "name", who,
		    sizeof(who)));
		if (json_object_get(fg, "accuracy"))
			printf("accuracy %.4f, ", json_number_value(
			    json_object_get(fg, "accuracy")));
		else
			printf("bits per byte %.4f, ", json_number_value(
			    json_object_get(fg, "bits_per_byte")));
		printf("loss %.4f on %lld samples (%s)\n", json_number_value(
		    json_object_get(fg, "loss")), (long long)json_integer_value(
		    json_object_get(fg, "samples")), fed_escape(file,
		    sizeof(file), json_string_value(json_object_get(rep,
		    "file"))));
	}
}

static void
print_table(const json_t *rows)
{
	const struct figure *f = table_figure(rows);
	json_t *row;
	size_t i;

	printf("%5s  %-12s  %-12s  %-12s %8s %8s %7s %9s  %-10s  %s\n",
	    "round", "model", "parent", "rule", "samples", "epsilon",
	    "reports", f == &figures[0] ? "accuracy" : "bits/byte", "missing",
	    "contributors");
	json_array_foreach(rows, i, row)
		print_row(row, f);
	json_array_foreach(rows, i, row)
		print_reports(row);
}

/* --plot: a gnuplot script, the data inline, drawing an SVG. */
static int
print_plot(const json_t *rows, const struct figure *f)
{
	json_t *row;
	size_t i, n = 0;
	double v;

	json_array_foreach(rows, i, row)
		n += row_figure(row, f, &v) == 0;
	if (n == 0)
		return -1;
	printf("# fed-log --plot %s: run it with gnuplot, e.g.\n"
	    "#   fed-log --plot %s public | gnuplot > %s.svg\n"
	    "$data << EOD\n", f->name, f->name, f->name);
	json_array_foreach(rows, i, row)
		if (row_figure(row, f, &v) == 0)
			printf("%lld %.9g\n", (long long)json_integer_value(
			    json_object_get(row, "round")), v);
	printf("EOD\n"
	    "set terminal svg size 800,400 dynamic\n"
	    "set grid\n"
	    "set xlabel 'round'\n"
	    "set ylabel '%s'\n"
	    "plot $data using 1:2 with linespoints pt 7 ps 0.5 notitle\n",
	    f->label);
	return 0;
}

/* -T: a roster bundle (not checked against a coordinator: fed-log shows,
 * fed-verify checks) or a folder of NAME.pub. */
static struct roster *
load_testers(const char *path)
{
	struct roster *r = xmalloc(sizeof(*r));
	struct stat st;
	fed_err e;

	roster_init(r);
	if ((stat(path, &st) == 0 && S_ISDIR(st.st_mode) ?
	    roster_from_dir(r, path, &e) : roster_load(r, path, NULL, &e)) < 0) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	return r;
}

/* Every operand's bundles into l; the worst status. */
static int
read_all(struct flog *l, char **args, int nargs)
{
	char **files = NULL;
	size_t n = 0, i;
	int k, status = 0;
	fed_err e;

	for (k = 0; k < nargs; k++)
		if (flog_files(args[k], &files, &n, &e) < 0)
			fed_exit(&e);
	for (i = 0; i < n; i++)
		if (flog_add(l, files[i], &e) < 0) {
			fed_errprefix(&e, "%s", display_name(files[i]));
			if (fed_status(&e) != 1)
				fed_exit(&e);
			fed_warnf("%s", e.msg);
			status = 1;
		}
	fed_freev(files, n);
	return status;
}

static int
show(const struct opts *o, char **args, int nargs)
{
	struct roster *testers = o->testers ? load_testers(o->testers) : NULL;
	const struct figure *f = NULL;
	struct flog l;
	json_t *rows;
	size_t i;
	int status;

	for (i = 0; o->plot && i < NFIGURES && !f; i++)
		if (strcmp(o->plot, figures[i].name) == 0)
			f = &figures[i];
	if (o->plot && !f)
		fed_exitf(2, "--plot %s: not accuracy, loss, bits_per_byte, "
		    "samples, contributors or epsilon", o->plot);
	flog_init(&l, testers);
	status = read_all(&l, args, nargs);
	rows = flog_rows(&l);
	if (json_array_size(rows) == 0)
		fed_exitf(1, "no model bundles found");
	if (o->json) {
		json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_SORT_KEYS |
		    JSON_REAL_PRECISION(9));
		putchar('\n');
	} else if (f && print_plot(rows, f) < 0)
		fed_exitf(1, "no round has a %s figure", f->name);
	else if (!f)
		print_table(rows);
	json_decref(rows);
	flog_free(&l);
	if (testers) {
		roster_free(testers);
		free(testers);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		errx(2, "stdout: write error");
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "plot", required_argument, NULL, OPT_PLOT },
		{ "testers", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0, NULL, NULL };
	int c;

	while ((c = getopt_long(argc, argv, "T:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: o.json = 1; break;
		case OPT_PLOT: o.plot = optarg; break;
		case 'T': o.testers = optarg; break;
		case 'h': usage(stdout, 0); break;
		case 'V': puts("fed-log " FED_VERSION); return 0;
		default: usage(stderr, 2);
		}
	}
	if (optind == argc)
		errx(2, "a folder or bundle is required");
	if (o.json && o.plot)
		errx(2, "--json and --plot: choose one");
	return show(&o, argv + optind, argc - optind);
}
