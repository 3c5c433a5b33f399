/*
 * lineage: the round rules of a lineage (fed-bundle(5), "Rounds") and a
 * holder's memory of the newest model it accepted, so that an old model
 * served again is refused.  It knows rounds and digests only: reading the
 * bundles of a whole chain is chain's job, checking one bundle verify's.
 *
 * The rules: round 0 is the only round without a parent; a model is one
 * round past the model it was merged from; an update has the round of
 * the model it was trained from; no round exceeds LINEAGE_MAXROUND, so
 * that the next round is always computed without overflow and every
 * round is exact as a JSON number in any reader (2^53).
 */
#ifndef FED_LINEAGE_H
#define FED_LINEAGE_H

#include <stdint.h>

#include "manifest.h"
#include "util.h"

#define LINEAGE_MAXROUND ((int64_t)1 << 53)

/* A bundle on its own: its round in range; a model has a parent exactly
 * when its round is above 0.  Data (round -1) passes. */
int lineage_check_self(const char *kind, int64_t round, const char *parent,
    fed_err *e);
/* A bundle against the round of the model it names as parent. */
int lineage_check_child(const char *kind, int64_t round, int64_t
    parent_round, fed_err *e);
/* The round after round into *next; refused past LINEAGE_MAXROUND. */
int lineage_next(int64_t round, int64_t *next, fed_err *e);

/* What a holder accepted last: round -1 when nothing yet. */
struct lineage_state {
	int64_t round;
	char digest[DIGEST_LEN + 1];
};

/* The state file at path, one line "ROUND DIGEST"; a missing file is a
 * fresh state.  A file that is not such a line is FED_EUSAGE. */
int lineage_state_load(const char *path, struct lineage_state *s,
    fed_err *e);
/* A model (round, digest, parent) may follow what s accepted: not an
 * older round, not another model of the same round, and a model of the
 * next round must be the child of the one accepted. */
int lineage_state_check(const struct lineage_state *s, int64_t round,
    const char *digest, const char *parent, fed_err *e);
/* Move s to (round, digest) when that is newer. */
void lineage_state_accept(struct lineage_state *s, int64_t round,
    const char *digest);
/* Write s to path whole (a temporary file renamed into place). */
int lineage_state_save(const char *path, const struct lineage_state *s,
    fed_err *e);

#endif
