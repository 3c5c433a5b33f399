/*
 * eval: a model's loss on a data set, through model.h, and for models of
 * rows with labels its accuracy, in all and per class.  Rows are taken
 * in order; text as windows of the context overlapping by one byte, so
 * that every byte after the first is predicted exactly once.  Printing
 * is cmd/'s.
 */
#ifndef FED_EVAL_H
#define FED_EVAL_H

#include <jansson.h>
#include <stdint.h>

#include "arch.h"
#include "data.h"

struct eval_result {
	int64_t n;                  /* predictions: rows, or bytes */
	double loss_sum;            /* sum over them, in nats */
	int64_t correct;
	int classes;                /* 0 for text */
	int64_t *class_n;           /* (classes) */
	int64_t *class_correct;     /* (classes) */
};

/* Zeroed counters for c classes (0: text); eval_free releases them. */
void eval_init(struct eval_result *r, int classes);
void eval_free(struct eval_result *r);
/* The classes a's results count: its outputs, or 0 for text. */
int  eval_classes(const struct arch *a);
/* Add the model's loss (and accuracy) on d to r. */
int  eval_run(const struct arch *a, const float *params,
    const struct dataset *d, struct eval_result *r, fed_err *e);
/* Add r's counters to t's (same classes). */
void eval_add(struct eval_result *t, const struct eval_result *r);
/* r's figures as fed-eval --json prints them: samples, loss, and
 * accuracy (with per_class when classes is set) or bits_per_byte. */
json_t *eval_json(const struct eval_result *r, int classes);

#endif
