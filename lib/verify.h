/*
 * verify: everything fed-verify checks of one bundle, as a library call:
 * the archive and manifest rules (bundle), the payloads against the kind
 * (tensors against the architecture, data tensors against the counts),
 * signatures against trusted keys, a quorum, and lineage.
 */
#ifndef FED_VERIFY_H
#define FED_VERIFY_H

#include <stdint.h>

#include "bundle.h"
#include "key.h"
#include "lineage.h"
#include "roster.h"

#define VERIFY_MAXKEYS 256

struct verify_opts {
	const struct key *keys;     /* trusted keys, distinct ids */
	int nkeys;
	int quorum;                 /* distinct trusted signers wanted */
	const char *parent;         /* digest the bundle must name, or NULL */
	const char *base;           /* digest of the frozen base model the
	                             * bundle (an adapter) must name, or NULL */
	int spool_fd;               /* tee the raw input here, or -1 */
	/* lineage (lineage.h): the parent's round when known, else -1; the
	 * lowest round accepted; what a holder accepted before, or NULL */
	int64_t parent_round;
	int64_t min_round;
	const struct lineage_state *seen;
	/* A roster instead of keys: its holders are the trusted keys, and
	 * an update's contributor must be its signer's roster name. */
	const struct roster *roster;
};

struct verify_result {
	char digest[DIGEST_LEN + 1];
	char kind[8];
	int64_t round;              /* -1 for data */
	char parent[DIGEST_LEN + 1];/* "" when none */
	char base[DIGEST_LEN + 1];  /* an adapter's base; "" when none */
	int nsigs;                  /* signatures present */
	int nsigners;               /* trusted keys whose signature verified */
	char signers[VERIFY_MAXKEYS][KEYID_HEX + 1];
	/* With a roster: the holders who signed, and an update's
	 * contributor among them (-1 for other kinds). */
	int who[VERIFY_MAXKEYS];
	int contributor;
};

/* 0 when the bundle verified; -1 with e set: FED_EREJECT when the bundle
 * is not valid, FED_ESYSTEM when it could not be read. */
int verify_bundle(const char *path, const struct verify_opts *o,
    struct verify_result *res, fed_err *e);
/* The payloads a kind must carry are present: called by verify and by
 * anything that loads a bundle of an expected kind. */
int verify_payload(const struct manifest *m, const char *member,
    const struct st_file *st, fed_err *e);

#endif
