/*
 * fed-eval: loss and accuracy of a model (optionally with an update
 * applied) on data bundles, per bundle, in total and per class, as a
 * table or as JSON; of a gpt model, bits per byte.  With --report, the
 * same figures as a report bundle (lib/report) for a tester to sign.
 * The arithmetic is lib/eval's eval_run; this file loads, applies and
 * prints.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "data.h"
#include "eval.h"
#include "model.h"
#include "nn.h"
#include "out.h"
#include "report.h"
#include "weights.h"

#define EVAL_MAXDATA   4096

struct opts {
	const char *model, *update;
	const char *data[EVAL_MAXDATA];
	int ndata;
	int json;
	int report;                 /* --report: write a report bundle */
	const char *out;            /* its -o, or NULL for stdout */
};

/* The evaluated model: its digest, round and architecture string. */
struct evaluated {
	char digest[DIGEST_LEN + 1], udigest[DIGEST_LEN + 1];
	int64_t round;
	char arch[256];
};

/* -h: what each option does, one line each, after the usage. */
static const char help[] =
	"\n"
	"  -m, --model=MODEL         the model bundle to evaluate (- for standard input)\n"
	"  -u, --update=UPDATE       apply this update to the model first\n"
	"  -d, --data=DATA           a data bundle to evaluate on (repeatable)\n"
	"      --json                print the results as JSON\n"
	"      --report              write a report bundle of the results\n"
	"  -o, --output=OUT          write the report here, not to standard output\n"
	"  -h, --help                print this help and exit\n"
	"      --version             print the version and exit\n";

static void
usage(FILE *f, int status)
{
	fputs("usage: fed-eval -m model [-u update] [--json] [-d data ...] "
	    "[data ...]\n"
	    "       fed-eval --report -m model [-o out] [-d data ...] "
	    "[data ...]\n", f);
	if (status == 0)
		fputs(help, f);
	exit(status);
}

/* A loaded bundle of kind want, its weights and architecture. */
static float *
load_weights(const char *path, const char *want, struct arch *a,
    struct bundle *b)
{
	fed_err e;
	float *w;

	if ((w = weights_read(path, want, b, a, &e)) == NULL) {
		fed_errprefix(&e, "%s", display_name(path));
		fed_exit(&e);
	}
	return w;
}

/* The model, with the update added when there is one. */
static float *
load_model(const struct opts *o, struct arch *a, struct evaluated *ev)
{
	char *digest = ev->digest, *udigest = ev->udigest;
	struct bundle mb, ub;
	struct arch ua;
	const char *parent, *bad;
	float *w, *d;
	uint64_t i, np;

	w = load_weights(o->model, "model", a, &mb);
	memcpy(digest, mb.digest, DIGEST_LEN + 1);
	ev->round = mb.meta.round;
	snprintf(ev->arch, sizeof(ev->arch), "%s", mb.meta.arch);
	bundle_free(&mb);
	*udigest = '\0';
	if (o->update == NULL)
		return w;
	d = load_weights(o->update, "update", &ua, &ub);
	parent = manifest_str(ub.manifest, "parent");
	bad = parent == NULL || strcmp(parent, digest) != 0 ? "parent is not "
	    "the model" : memcmp(&ua, a, sizeof(ua)) != 0 ? "architecture "
	    "differs from the model's" : NULL;
	if (bad != NULL) {
		/* freed before exiting so that leak checkers stay quiet */
		free(w);
		free(d);
		bundle_free(&ub);
		fed_exitf(1, "%s: update's %s", display_name(o->update), bad);
	}
	memcpy(udigest, ub.digest, DIGEST_LEN + 1);
	bundle_free(&ub);
	np = arch_nparams(a);
	for (i = 0; i < np; i++)
		w[i] += d[i];
	free(d);
	return w;
}

static json_t *
result_json(const char *name, const char *digest,
    const struct eval_result *r)
{
	json_t *j = json_object(), *f = eval_json(r, 1);

	if (name != NULL)
		json_object_set_new(j, "name", json_string(name));
	if (digest != NULL)
		json_object_set_new(j, "digest", json_string(digest));
	json_object_update(j, f);
	json_decref(f);
	return j;
}

/* A row of the table: accuracy, or bits per byte. */
static void
print_row(const char *name, const struct eval_result *r)
{
	printf("%-32s %9lld %9.4f %9.4f\n", name, (long long)r->n,
	    r->loss_sum / r->n, r->classes == 0 ? r->loss_sum / r->n / M_LN2 :
	    (double)r->correct / r->n);
}

static void
print_classes(const struct eval_result *r)
{
	int c;

	printf("\n%-8s %9s %9s\n", "class", "samples", "accuracy");
	for (c = 0; c < r->classes; c++) {
		if (r->class_n[c] == 0) {
			printf("%-8d %9d %9s\n", c, 0, "-");
			continue;
		}
		printf("%-8d %9lld %9.4f\n", c, (long long)r->class_n[c],
		    (double)r->class_correct[c] / r->class_n[c]);
	}
}

/* Evaluate one data bundle; 0, or 1 when it was rejected. */
static int
eval_one(const struct opts *o, const char *path, const struct arch *a,
    const float *w, struct eval_result *total, json_t *list)
{
	struct eval_result r;
	struct dataset d;
	fed_err e;

	if (data_load(path, &d, &e) < 0 || model_fit(a, &d, &e) < 0) {
		fed_errprefix(&e, "%s", display_name(path));
		if (fed_status(&e) != 1)
			fed_exit(&e);
		warnx("%s", e.msg);
		data_free(&d);
		return 1;
	}
	eval_init(&r, eval_classes(a));
	if (eval_run(a, w, &d, &r, &e) < 0)
		fed_exitf(2, "%s: %s", display_name(path), e.msg);
	if (o->report)
		report_add(list, d.b.digest, &r);
	else if (o->json)
		json_array_append_new(list, result_json(display_name(path),
		    d.b.digest, &r));
	else
		print_row(display_name(path), &r);
	eval_add(total, &r);
	eval_free(&r);
	data_free(&d);
	return 0;
}

/* The table's or the JSON's end: the total, and the classes. */
static void
print_total(const struct opts *o, const struct eval_result *t,
    const char *digest, const char *udigest, json_t *list)
{
	json_t *j;

	if (t->n > 0 && o->json) {
		j = json_pack("{s:s,s:o,s:o,s:o}", "model", digest, "update",
		    *udigest ? json_string(udigest) : json_null(), "data", list,
		    "total", result_json(NULL, NULL, t));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
		putchar('\n');
		json_decref(j);
		return;
	}
	if (t->n > 0 && (t->classes > 0 || o->ndata > 1))
		print_row("total", t);
	if (t->n > 0 && t->classes > 0)
		print_classes(t);
	json_decref(list);
}

/* --report: the report bundle, whole or not at all, only when every
 * data bundle was evaluated. */
static void
write_report(const struct opts *o, json_t *rep, const struct eval_result *t)
{
	struct out out;
	fed_err e;

	report_finish(rep, t);
	if (out_open(&out, o->out, &e) < 0)
		fed_exit(&e);
	if (bundle_write(out.fd, rep, NULL, 0, NULL, &e) < 0 ||
	    out_commit(&out, &e) < 0) {
		out_abort(&out);
		fed_errprefix(&e, "%s", o->out ? display_name(o->out) :
		    "stdout");
		fed_exit(&e);
	}
	json_decref(rep);
}

static json_t *
start_report(const struct evaluated *ev, const struct arch *a)
{
	struct report_model rm = { ev->digest, ev->round, ev->arch,
	    a->kind == ARCH_GPT ? a->dims[2] : 0 };

	return report_new(&rm);
}

static int
evaluate(const struct opts *o)
{
	struct evaluated ev;
	struct eval_result total;
	struct arch a;
	json_t *list;
	float *w;
	int i, status = 0;

	w = load_model(o, &a, &ev);
	list = o->report ? start_report(&ev, &a) : json_array();
	eval_init(&total, eval_classes(&a));
	if (!o->json && !o->report)
		printf("%-32s %9s %9s %9s\n", "data", total.classes ?
		    "samples" : "bytes", "loss", total.classes ? "accuracy" :
		    "bits/byte");
	for (i = 0; i < o->ndata; i++)
		status |= eval_one(o, o->data[i], &a, w, &total, list);
	if (o->report && status == 0)
		write_report(o, list, &total);
	else if (o->report)
		json_decref(list);
	else
		print_total(o, &total, ev.digest, ev.udigest, list);
	eval_free(&total);
	free(w);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(2, "stdout");
	return status;
}

/* A report is of one model as published: no update, no table. */
static void
check_report_opts(const struct opts *o)
{
	if (o->out && !o->report)
		errx(2, "-o writes a report: give --report");
	if (o->report && o->json)
		errx(2, "--report and --json: choose one");
	if (o->report && o->update)
		errx(2, "--report is of a published model: no -u");
}

static void
add_data(struct opts *o, const char *path)
{
	if (o->ndata == EVAL_MAXDATA)
		errx(2, "more than %d data bundles", EVAL_MAXDATA);
	o->data[o->ndata++] = path;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "update", required_argument, NULL, 'u' },
		{ "data", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "report", no_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts o;
	int c, i, stdins = 0;

	while ((c = getopt_long(argc, argv, "m:u:d:o:h", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'm':
			o.model = optarg;
			break;
		case 'u':
			o.update = optarg;
			break;
		case 'd':
			add_data(&o, optarg);
			break;
		case 'j':
			o.json = 1;
			break;
		case 'R':
			o.report = 1;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			puts("fed-eval " FED_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	for (i = optind; i < argc; i++)
		add_data(&o, argv[i]);
	if (o.model == NULL)
		errx(2, "-m model is required");
	if (o.ndata == 0)
		errx(2, "-d data is required");
	check_report_opts(&o);
	stdins = strcmp(o.model, "-") == 0 ||
	    (o.update != NULL && strcmp(o.update, "-") == 0);
	for (i = 0; i < o.ndata; i++)
		stdins += strcmp(o.data[i], "-") == 0;
	if (stdins > 1 || (o.update && strcmp(o.model, "-") == 0 &&
	    strcmp(o.update, "-") == 0))
		errx(2, "standard input can be read only once");
	nn_blas_reexec(argv);
	return evaluate(&o);
}
