/*
 * chain: a lineage walked whole, from round 0 to its head.  Every model is
 * verified under the coordinator's keys, the models are put in the order
 * of their rounds, and each is checked against the one before by
 * lineage.h's rules (round 0 first with no parent, each next round the
 * child of the one before).  When the published updates are given, every
 * update a model's merge record lists must be there, with the digest
 * recorded, trained from the model before, signed by a roster key (of the
 * roster bundle that round's merge names, when rosters are given), and no
 * roster key may have signed two of them.  It returns one link per round;
 * printing them is cmd/'s business.
 */
#ifndef FED_CHAIN_H
#define FED_CHAIN_H

#include "verify.h"

struct chain_opts {
	const struct key *coord;    /* the coordinator's keys: models */
	int ncoord;
	int quorum;                 /* of coord, on every model */
	const struct key *roster;   /* who may sign an update */
	int nroster;
	const char *updates;        /* DIR/round-NNN/ *.fed, or NULL */
	/* A roster bundle, or a folder of them (every version), or NULL:
	 * each round's updates are then checked against the roster its
	 * merge record names (merge.roster.digest), not against roster[],
	 * and that roster's versions back to version 1 must all be there,
	 * each signed by a coordinator key, each the child of the one
	 * before; a round may not use an older version than the round
	 * before it. */
	const char *rosters;
};

struct chain_link {
	char *path;
	struct verify_result res;
	int nupdates;               /* merged updates checked; -1 when not */
	int bad;                    /* 1: the model itself did not verify */
	fed_err err;                /* why, when bad */
};

struct chain {
	struct chain_link *links;   /* sorted by round */
	int n;
	int nok;                    /* links verified, from round 0 */
};

/*
 * Walk the models at paths (files, or one folder of *.fed).  0 when the
 * whole chain holds; -1 with e naming the first broken link (its file
 * first) and c->nok the links before it, or FED_ESYSTEM/FED_EUSAGE when
 * the walk could not be made.  c is filled either way; chain_free it.
 */
int  chain_walk(struct chain *c, char *const *paths, int npaths,
    const struct chain_opts *o, fed_err *e);
void chain_free(struct chain *c);

#endif
