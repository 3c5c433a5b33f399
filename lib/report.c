/*
 * report: evaluation reports written from eval's counters, and the
 * requirements a release puts on their figures.  Figures are written as
 * fed-eval --json prints them (eval_json), so a report and a run of
 * fed-eval on the same data agree to the last digit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "report.h"

json_t *
report_new(const struct report_model *m)
{
	json_t *j = manifest_new("report", "fed-eval");

	json_object_set_new(j, "model", json_string(m->digest));
	json_object_set_new(j, "round", json_integer(m->round));
	json_object_set_new(j, "arch", json_string(m->arch));
	json_object_set_new(j, "eval", m->context ? json_pack("{s:s,s:i}",
	    "unit", "byte", "context", m->context) : json_pack("{s:s}",
	    "unit", "row"));
	json_object_set_new(j, "data", json_array());
	json_object_set_new(j, "members", json_array());
	return j;
}

void
report_add(json_t *report, const char *data_digest,
    const struct eval_result *r)
{
	json_t *d = eval_json(r, 0);

	json_object_set_new(d, "digest", json_string(data_digest));
	json_array_append_new(json_object_get(report, "data"), d);
}

void
report_finish(json_t *report, const struct eval_result *total)
{
	json_object_set_new(report, "figures", eval_json(total, 1));
}

static const char *const names[] = { "loss", "accuracy", "bits_per_byte" };
static const char *const ops[] = { ">=", "<=", ">", "<" };

int
report_req_parse(const char *s, struct report_req *q, fed_err *e)
{
	size_t i, k, n = strcspn(s, "<>=");
	const char *v;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0)
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		return fed_usagef(e, "%.32s: not NAME>=VALUE with NAME loss, "
		    "accuracy or bits_per_byte", s);
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (strncmp(s + n, ops[k], strlen(ops[k])) == 0)
			break;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return fed_usagef(e, "%.32s: the comparison is one of >=, <=, "
		    "> and <", s);
	v = s + n + strlen(ops[k]);
	if (parse_double(v, 0, MANIFEST_MAXFIGURE, &q->value) < 0)
		return fed_usagef(e, "%.32s: %.32s is not a number from 0 to "
		    "%g", s, v, MANIFEST_MAXFIGURE);
	snprintf(q->name, sizeof(q->name), "%s", names[i]);
	snprintf(q->op, sizeof(q->op), "%s", ops[k]);
	return 0;
}

int
report_figure(const json_t *m, const char *name, double *v)
{
	json_t *f = json_object_get(json_object_get(m, "figures"), name);

	if (!json_is_number(f))
		return -1;
	*v = json_number_value(f);
	return 0;
}

int
report_req_test(const struct report_req *q, const json_t *m, fed_err *e)
{
	double v;
	int ok;

	if (report_figure(m, q->name, &v) < 0)
		return fed_errf(e, "no %s figure for %s%s%g", q->name, q->name,
		    q->op, q->value);
	ok = q->op[0] == '>' ? (q->op[1] ? v >= q->value : v > q->value) :
	    (q->op[1] ? v <= q->value : v < q->value);
	if (!ok)
		return fed_errf(e, "%s %.6g misses %s%s%g", q->name, v,
		    q->name, q->op, q->value);
	return 0;
}
