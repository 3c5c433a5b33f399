/*
 * release: the release quorum (fed-verify --release-quorum): a model is
 * released when testers of a tester roster, at least k distinct keys,
 * each signed an evaluation report (report.h) bound to its digest, and
 * every such report meets the figures required of it.  One key, one
 * vote: a tester's second report is not counted again.  Reports that do
 * not count (another model's, a key off the roster, one that does not
 * verify) are passed over, so that no one can hold a release back by
 * publishing junk beside it; only a tester's own report that misses a
 * requirement refuses the model outright.
 */
#ifndef FED_RELEASE_H
#define FED_RELEASE_H

#include "report.h"
#include "roster.h"

struct release_opts {
	const struct roster *testers;
	int quorum;                         /* testers wanted, >= 1 */
	const struct report_req *req;       /* every report meets these */
	int nreq;
	char *const *reports;               /* report bundles' paths */
	int nreports;
};

struct release_result {
	int n;                              /* testers counted */
	int who[ROSTER_MAXHOLDERS];         /* their roster indices */
};

/* 0 when the model of that digest is released; -1 with e saying, in one
 * line, what it lacks (a rejection) or which report could not be read
 * (a system failure). */
int release_check(const char *model, const struct release_opts *o,
    struct release_result *res, fed_err *e);

#endif
