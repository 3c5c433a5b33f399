/*
 * madmit: admission by evaluation, fed-merge's --admit.  The coordinator
 * holds data of its own.  The merge of every update not yet left out is
 * evaluated on it (the model plus the rule's aggregate), then the merge
 * without each update in turn; the update without which the loss is
 * lower by more than the margin is left out and recorded, and the same
 * is asked again of the rest, until no update is over the margin or the
 * rule could not merge one fewer (krum: 2f + 3).  Deterministic: the
 * order is the updates' merge order (upd_cmp), ties go to the first.
 *
 * Cost: every update read whole once more (its signatures checked in
 * that read too) and held in memory together, n times the model's
 * weights; up to n evaluations of the data per update left out.
 */
#ifndef FED_MADMIT_H
#define FED_MADMIT_H

#include "mmodel.h"
#include "mopt.h"
#include "upd.h"

struct madmit {
	double base;                    /* the model's mean loss on the data */
	double merged;                  /* the admitted merge's */
	int64_t n;                      /* predictions it was taken over */
	char digest[DIGEST_LEN + 1];    /* of the data bundle */
};

/* Judge every update not yet left out; mark those over the margin.
 * 0, or -1 when the data, the model or an update could not be read (an
 * update that fails its checks is marked as in any pass). */
int  madmit_run(struct madmit *ad, struct upd *u, int n, struct mmodel *mi,
    const struct upd_want *w, const struct mopt *o, int spool, fed_err *e);

#endif
