/*
 * merge: fed-merge's driver.  It reads the model (mmodel) and the updates
 * (upd), sorts the updates by digest, and runs the passes a rule needs on
 * a pool of threads (pool), feeding the pure rules (rule) chunk by chunk,
 * then writes the next model with its record (mrec) and, when the updates
 * carry them, the merged moments (mmom).
 *
 * Memory: the linear rules (fedavg, the server optimizers, DP-FedAvg and
 * Krum's final mean) add the updates into one float64 accumulator of the
 * model's size, a few updates at a time in merge order (upd_cmp), then stream the
 * model through the server step: memory does not grow with the number of
 * updates.  When one window holds them all (and no moments are merged),
 * there is no accumulator: a chunk's sums and its server step are taken
 * at once (PASS_ONE), the same sums in the same order.  The robust rules (median, trimmed mean, Krum's distances)
 * need every update's value of a coordinate at once, and read all of
 * them in lockstep, chunk by chunk: memory grows with the chunk times
 * the number of updates, never with the model times it.
 *
 * Determinism: updates are sorted by digest before any arithmetic; every
 * sum runs over updates in that order, in float64, and over coordinates
 * in file order; threads split coordinates (or Krum's pairs), never a
 * sum.  The result is the same bytes for any operand order and thread
 * count.
 *
 * Trust: given a roster (o->roster), every update's signatures are
 * checked at the end of every read of it, the read that hashes the bytes
 * merged; each holder has one vote per round (two different updates
 * signed by one holder are refused); the contributor is the roster's
 * name for the signer; the samples weighed are capped by the roster's
 * max_samples (else --max-samples).  Nothing is written before every
 * check passed: the output is spooled and the bundle written last.
 */
#ifndef FED_MERGE_H
#define FED_MERGE_H

#include "mopt.h"
#include "util.h"

#define MERGE_CHUNK (1024 * 1024)       /* most floats per update per step */
#define MERGE_WINDOW 8                  /* fewest updates a linear pass reads at once */
#define MERGE_MAXWINDOW 64              /* most */

/* Merge the updates (paths; "-" at most once, model included) into the
 * next model bundle, written to out; its digest goes to digest
 * (DIGEST_LEN + 1) if not NULL.  0, or -1 with e naming the file: kind
 * FED_EREJECT when an input was rejected, FED_ESYSTEM when a file could
 * not be read or the output not written. */
int  merge_run(const char *model, const char *const *updates, int n,
    const struct mopt *o, int out, char *digest, fed_err *e);

#endif
