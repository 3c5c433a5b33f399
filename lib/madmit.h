/*
 * madmit: admission by evaluation, fed-merge's --admit.  The coordinator
 * holds data of its own; every update is added alone to the model and
 * evaluated on it, and one that makes the loss worse by more than the
 * margin is left out and recorded.  Each update is read whole for this,
 * its signatures checked in the same read as in every other pass.
 *
 * Memory: the model's weights twice (the model, and the model plus one
 * update), plus the data set.
 */
#ifndef FED_MADMIT_H
#define FED_MADMIT_H

#include "mmodel.h"
#include "mopt.h"
#include "upd.h"

struct madmit {
	double base;                    /* the model's mean loss on the data */
	int64_t n;                      /* predictions it was taken over */
	char digest[DIGEST_LEN + 1];    /* of the data bundle */
};

/* Evaluate every update not yet left out; mark those over the margin.
 * 0, or -1 when the data, the model or an update could not be read (an
 * update that fails its checks is marked as in any pass). */
int  madmit_run(struct madmit *ad, struct upd *u, int n, struct mmodel *mi,
    const struct upd_want *w, const struct mopt *o, int spool, fed_err *e);

#endif
