/*
 * mvote: how fed-merge counts the votes of a round once every update's
 * signatures are known (upd checks them): one key, one vote, and the
 * samples each update is weighed by under the roster's ceilings.  Reading
 * the updates is upd's, the arithmetic rule's, the record mrec's.
 */
#ifndef FED_MVOTE_H
#define FED_MVOTE_H

#include "mopt.h"
#include "upd.h"

/* Does u[i] share a signer with another of the n not left out?  Such
 * updates are read whole before the votes are counted, so that which
 * one counts does not depend on a payload not yet verified. */
int  mvote_shared(const struct upd *u, int n, int i);
/* Two different updates signed by one holder: -1 naming the key, its
 * holder and both files (in operand order); with o->skip_bad, 0 and
 * every update of that holder marked, its equivocator set.  Updates
 * already bad for another reason (a duplicate) are not counted. */
int  mvote_check(struct upd *u, int n, const struct mopt *o, fed_err *e);
/* Each update's used samples: what it declares, at most its holder's
 * max_samples on the roster, else o->max_samples. */
void mvote_weigh(struct upd *u, int n, const struct mopt *o);

#endif
