/*
 * report: a tester's evaluation report (fed-bundle(5), Reports): the
 * figures of one model, named by digest, on data sets named by digest,
 * written as a bundle of kind "report" with no payload, for the tester to
 * sign with fed-sign like any bundle.  Also the figures a release may
 * require of a report (fed-verify --require).  The schema of a report
 * is checked where every manifest is (manifest.c); the counting of
 * testers' reports is release.h's; evaluating is eval.h's.
 */
#ifndef FED_REPORT_H
#define FED_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "eval.h"

#define REPORT_MAXREQ  8
#define REPORT_NAMELEN 16

/* The evaluated model, and what the evaluation did. */
struct report_model {
	const char *digest;
	int64_t round;
	const char *arch;           /* canonical string */
	int context;                /* gpt: the window; 0 for rows */
};

/* A new report manifest with no data yet; add each data set's figures,
 * then the total (report_finish). */
json_t *report_new(const struct report_model *m);
void    report_add(json_t *report, const char *data_digest,
    const struct eval_result *r);
void    report_finish(json_t *report, const struct eval_result *total);

/* A requirement on a figure of every report: NAME OP VALUE, NAME one of
 * loss, accuracy, bits_per_byte; OP one of >=, <=, >, <. */
struct report_req {
	char name[REPORT_NAMELEN];
	char op[3];
	double value;
};

int  report_req_parse(const char *s, struct report_req *q, fed_err *e);
/* 0 when the checked report manifest m meets q; -1 with e saying how it
 * does not (a rejection). */
int  report_req_test(const struct report_req *q, const json_t *m,
    fed_err *e);
/* figures.NAME of a checked report manifest: 0, or -1 when absent. */
int  report_figure(const json_t *m, const char *name, double *v);

#endif
