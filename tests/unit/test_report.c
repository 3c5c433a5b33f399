/*
 * test_report: a report's manifest from eval's counters passes the
 * schema, and each broken field fails it; the requirements a release
 * puts on figures parse strictly and compare at their bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "report.h"
#include "t.h"

static const char model[] = "sha256:"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* A report of 3 classes over 4 rows of one data set: 3 right. */
static json_t *
sample(void)
{
	struct report_model m = { model, 7, "softmax:2-3", 0 };
	struct eval_result r;
	json_t *j = report_new(&m);

	eval_init(&r, 3);
	r.n = 4;
	r.loss_sum = 2.0;
	r.correct = 3;
	r.class_n[0] = 2;
	r.class_correct[0] = 2;
	r.class_n[2] = 2;
	r.class_correct[2] = 1;
	report_add(j, model, &r);
	report_finish(j, &r);
	eval_free(&r);
	return j;
}

/* Does the sample, edited by path = v, pass the schema? */
static int
passes_with(const char *key, const char *sub, json_t *v)
{
	json_t *j = sample(), *o = sub ? json_object_get(j, sub) : j;
	fed_err e;
	int ok;

	if (v != NULL)
		json_object_set_new(o, key, v);
	else
		json_object_del(o, key);
	ok = manifest_check(j, &bundle_rules, &e) == 0;
	json_decref(j);
	return ok;
}

static void
schema(void)
{
	json_t *j = sample();
	fed_err e;

	T_OK("report: the sample passes", manifest_check(j, &bundle_rules,
	    &e) == 0);
	T_OK("report: accuracy 3/4", json_real_value(json_object_get(
	    json_object_get(j, "figures"), "accuracy")) == 0.75);
	json_decref(j);
	T_OK("report: no model", !passes_with("model", NULL, NULL));
	T_OK("report: model not a digest", !passes_with("model", NULL,
	    json_string("sha256:00")));
	T_OK("report: negative round", !passes_with("round", NULL,
	    json_integer(-1)));
	T_OK("report: accuracy above 1", !passes_with("accuracy", "figures",
	    json_real(1.01)));
	T_OK("report: accuracy a string", !passes_with("accuracy", "figures",
	    json_string("0.5")));
	T_OK("report: loss null", !passes_with("loss", "figures",
	    json_null()));
	T_OK("report: loss too large", !passes_with("loss", "figures",
	    json_real(2e9)));
	T_OK("report: samples 0", !passes_with("samples", "figures",
	    json_integer(0)));
	T_OK("report: both figures", !passes_with("bits_per_byte", "figures",
	    json_real(1)));
	T_OK("report: per_class not an array", !passes_with("per_class",
	    "figures", json_object()));
	T_OK("report: no data", !passes_with("data", NULL, json_array()));
	T_OK("report: members", !passes_with("members", NULL, json_pack(
	    "[{s:s,s:i,s:s}]", "name", "tensors.safetensors", "size", 0,
	    "sha256", model + 7)));
}

static void
requirements(void)
{
	struct report_req q;
	json_t *j = sample();
	fed_err e;

	T_OK("req: accuracy>=0.75 parses", report_req_parse("accuracy>=0.75",
	    &q, &e) == 0 && strcmp(q.op, ">=") == 0 && q.value == 0.75);
	T_OK("req: at the bound, >= holds", report_req_test(&q, j, &e) == 0);
	report_req_parse("accuracy>0.75", &q, &e);
	T_OK("req: at the bound, > fails", report_req_test(&q, j, &e) < 0);
	report_req_parse("loss<=0.5", &q, &e);
	T_OK("req: loss 0.5 <= 0.5", report_req_test(&q, j, &e) == 0);
	report_req_parse("loss<0.5", &q, &e);
	T_OK("req: loss 0.5 < 0.5 fails", report_req_test(&q, j, &e) < 0);
	report_req_parse("bits_per_byte<=9", &q, &e);
	T_OK("req: a figure the report lacks fails",
	    report_req_test(&q, j, &e) < 0);
	T_OK("req: no comparison", report_req_parse("accuracy", &q, &e) < 0);
	T_OK("req: = alone", report_req_parse("accuracy=1", &q, &e) < 0);
	T_OK("req: unknown figure", report_req_parse("speed>1", &q, &e) < 0);
	T_OK("req: a prefix of a figure", report_req_parse("acc>1", &q,
	    &e) < 0);
	T_OK("req: no number", report_req_parse("loss<", &q, &e) < 0);
	T_OK("req: not a number", report_req_parse("loss<1x", &q, &e) < 0);
	T_OK("req: negative", report_req_parse("loss<-1", &q, &e) < 0);
	T_OK("req: nan", report_req_parse("loss<nan", &q, &e) < 0);
	T_OK("req: a usage error", e.kind == FED_EUSAGE);
	json_decref(j);
}

int
main(void)
{
	schema();
	requirements();
	T_DONE();
}
