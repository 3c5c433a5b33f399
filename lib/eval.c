/*
 * eval: the evaluation pass.  Batches of EVAL_ROWS rows, or of
 * EVAL_WINDOWS windows of text; the model's buffers are allocated once
 * per call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "model.h"

#define EVAL_ROWS    256
#define EVAL_WINDOWS 16

void
eval_init(struct eval_result *r, int classes)
{
	memset(r, 0, sizeof(*r));
	r->classes = classes;
	r->class_n = xcalloc((size_t)classes + 1, sizeof(int64_t));
	r->class_correct = xcalloc((size_t)classes + 1, sizeof(int64_t));
}

void
eval_free(struct eval_result *r)
{
	free(r->class_n);
	free(r->class_correct);
	memset(r, 0, sizeof(*r));
}

int
eval_classes(const struct arch *a)
{
	return a->kind == ARCH_GPT ? 0 : a->dims[a->nlayers];
}

void
eval_add(struct eval_result *t, const struct eval_result *r)
{
	int c;

	t->n += r->n;
	t->loss_sum += r->loss_sum;
	t->correct += r->correct;
	for (c = 0; c < t->classes; c++) {
		t->class_n[c] += r->class_n[c];
		t->class_correct[c] += r->class_correct[c];
	}
}

static void
eval_rows(struct model *m, const float *w, const struct dataset *d,
    struct eval_result *r)
{
	struct batch b = { 0, 0, NULL, 0, NULL };
	int k;

	for (b.start = 0; b.start < d->n; b.start += b.n) {
		b.n = d->n - b.start < EVAL_ROWS ? (int)(d->n - b.start) :
		    EVAL_ROWS;
		r->loss_sum += model_forward(m, w, d, &b);
		for (k = 0; k < b.n; k++) {
			r->class_n[m->y[k]]++;
			r->class_correct[m->y[k]] += m->pred[k] == m->y[k];
			r->correct += m->pred[k] == m->y[k];
		}
	}
	r->n += d->n;
}

/* Windows of T + 1 bytes overlapping by one; a shorter one at the end. */
static void
eval_text(struct model *m, const float *w, const struct dataset *d,
    struct eval_result *r)
{
	int64_t at[EVAL_WINDOWS], pos = 0, left;
	struct batch b = { 0, 0, NULL, 0, at };
	int T = m->a.dims[2], k;

	while ((left = d->n - 1 - pos) > 0) {
		b.T = left >= T ? T : (int)left;
		b.n = left / b.T < EVAL_WINDOWS ? (int)(left / b.T) :
		    EVAL_WINDOWS;
		for (k = 0; k < b.n; k++)
			at[k] = pos + (int64_t)k * b.T;
		r->loss_sum += model_forward(m, w, d, &b);
		pos += (int64_t)b.n * b.T;
		r->n += (int64_t)b.n * b.T;
	}
}

int
eval_run(const struct arch *a, const float *params, const struct dataset *d,
    struct eval_result *r, fed_err *e)
{
	struct model m;

	if (model_fit(a, d, e) < 0)
		return -1;
	if (r->classes != eval_classes(a))
		return fed_errf(e, "data has %d classes, want %d",
		    eval_classes(a), r->classes);
	if (model_init(&m, a, a->kind == ARCH_GPT ? EVAL_WINDOWS : EVAL_ROWS,
	    e) < 0)
		return -1;
	if (m.text)
		eval_text(&m, params, d, r);
	else
		eval_rows(&m, params, d, r);
	model_free(&m);
	return 0;
}

json_t *
eval_json(const struct eval_result *r, int classes)
{
	json_t *j = json_object(), *pc;
	int c;

	json_object_set_new(j, "samples", json_integer(r->n));
	json_object_set_new(j, "loss", json_real(r->loss_sum / r->n));
	if (r->classes == 0) {
		/* gpt on text: mean loss per byte in nats and in bits */
		json_object_set_new(j, "bits_per_byte",
		    json_real(r->loss_sum / r->n / M_LN2));
		return j;
	}
	json_object_set_new(j, "accuracy",
	    json_real((double)r->correct / r->n));
	if (!classes)
		return j;
	pc = json_array();
	for (c = 0; c < r->classes; c++)
		json_array_append_new(pc, json_pack("{s:i,s:I,s:o}", "class",
		    c, "samples", (json_int_t)r->class_n[c], "accuracy",
		    r->class_n[c] ? json_real((double)r->class_correct[c] /
		    r->class_n[c]) : json_null()));
	json_object_set_new(j, "per_class", pc);
	return j;
}
