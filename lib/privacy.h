/*
 * privacy: fed-train --dp before and after training.  Before: the noise
 * for a target epsilon or the epsilon of a given noise (dp.h's
 * accountant), and the holder's ledger's consent to spend it
 * (ledger.h).  After: the spend written down, and what the update's
 * manifest says about it.  The gradient step itself is dpsgd.h's.
 */
#ifndef FED_PRIVACY_H
#define FED_PRIVACY_H

#include <jansson.h>
#include <stdint.h>

#include "dp.h"
#include "dpsgd.h"
#include "ledger.h"
#include "train.h"

struct privacy {
	int on;
	double noise, epsilon, delta, budget;   /* 0: not given */
	const char *ledger;
	struct dpsgd_opts sgd;                  /* sgd.clip: as given */
	double q, eps, rdp[DP_NORDERS];         /* this run's */
	int64_t steps;
	struct ledger l;
};

/* Before training model a on d with t: sigma, epsilon, the ledger's
 * consent; t->dp is set, t's clip (the per-example norm) cleared. */
int  privacy_prepare(struct privacy *p, struct train_opts *t,
    const struct arch *a, const struct dataset *d, fed_err *e);
/* After training, before the update leaves: the spend is recorded. */
int  privacy_record(struct privacy *p, const char *parent, int64_t round,
    fed_err *e);
/* The manifest's "privacy" object. */
json_t *privacy_json(const struct privacy *p);
void privacy_close(struct privacy *p);

#endif
