/*
 * schedule: the learning rate over a run, the one schedule every model
 * trains with.  A linear warmup of warmup steps (lr (s + 1) / warmup),
 * then over the remaining steps a constant rate, or a decay to 0 along
 * a half cosine or a line.  The arithmetic is fixed: updates written by
 * earlier versions are reproduced bit for bit.
 */
#ifndef FED_SCHEDULE_H
#define FED_SCHEDULE_H

#include <stdint.h>

enum schedule_kind { SCHEDULE_CONSTANT, SCHEDULE_COSINE, SCHEDULE_LINEAR };

struct schedule_opts {
	enum schedule_kind kind;
	double lr;                  /* the peak rate */
	int64_t warmup;             /* steps of linear warmup, 0 none */
};

const char *schedule_name(enum schedule_kind k);
/* 0, or -1 when s names no schedule. */
int  schedule_parse(const char *s, enum schedule_kind *k);
/* The rate of step (from 0) of total; warmup < total. */
double schedule_lr(const struct schedule_opts *o, int64_t step, int64_t total);

#endif
