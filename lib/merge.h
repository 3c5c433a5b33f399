/*
 * merge: the aggregation rules of fed-merge and the streaming driver that
 * feeds them.  The rules are pure functions over one chunk of coordinates
 * of n updates (merge_wsum, merge_median, ...); the server optimizers are
 * one pure step over a chunk (merge_step).  The driver (merge_run) reads
 * every update in lockstep, chunk by chunk, so memory grows with the chunk
 * size times the number of updates, never with the model times it.
 *
 * Determinism: updates are sorted by digest before any arithmetic; every
 * sum runs over updates in that order, in float64, and over coordinates in
 * file order; threads split coordinates (or Krum's pairs), never a sum.
 * The result is the same bytes for any operand order and thread count.
 *
 * Sign convention: an update is a delta (local minus global).  The
 * aggregate D of a round is applied as x + lr * D; the momentum and
 * adaptive rules treat -D as the pseudo-gradient, as their papers do.
 *
 * Checking signatures against a roster is fed-verify's job, not this one's;
 * merge records who signed.
 */
#ifndef FED_MERGE_H
#define FED_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MERGE_MAXUPDATES 4096
#define MERGE_CHUNK      (64 * 1024)    /* most floats per update per step */
#define MERGE_BLOCK      4096           /* floats per partial sum */
#define MERGE_MAXTHREADS 64

enum merge_rule {
	MERGE_FEDAVG, MERGE_FEDAVGM, MERGE_NESTEROV,
	MERGE_FEDADAM, MERGE_FEDYOGI, MERGE_FEDADAGRAD,
	MERGE_MEDIAN, MERGE_TRIMMED, MERGE_KRUM, MERGE_MULTIKRUM
};

/* Every option of a merge; NAN in a double means "the rule's default". */
struct merge_opts {
	enum merge_rule rule;
	double beta;            /* trimmed-mean: fraction cut at each end */
	int f;                  /* krum: Byzantine updates tolerated */
	int m;                  /* multi-krum: updates averaged */
	double clip;            /* L2 bound on every update; 0 none */
	int uniform;            /* fedavg weights 1/n instead of samples */
	uint64_t max_samples;   /* cap on claimed samples; 0 none */
	double lr;              /* server learning rate */
	double momentum;        /* fedavgm, nesterov */
	double beta1, beta2, tau;   /* fedadam, fedyogi, fedadagrad */
	int skip_bad;           /* leave out bad updates instead of failing */
	int threads;
	/* DP-FedAvg (McMahan et al. 2018): clip to clip, sum, add
	 * N(0, (dp_noise * clip)^2) once to the sum, divide by the number of
	 * updates merged.  dp_noise 0: off. */
	double dp_noise;        /* noise multiplier Z */
	double dp_delta;        /* delta of the (epsilon, delta) reported */
	double dp_rate;         /* holder sampling rate q of the round */
	uint64_t dp_seed;       /* noise seed: secret, never recorded */
	int dp_seeded;
};

/* Rule name and its parameters: "fedavg", "trimmed-mean:0.2", "krum:2",
 * "multi-krum:2:5".  Sets o->rule, beta, f, m. */
int  merge_rule_parse(const char *s, struct merge_opts *o, fed_err *e);
const char *merge_rule_name(enum merge_rule r);
/* Zero options with NAN for the rule defaults. */
void merge_opts_init(struct merge_opts *o);
/* Fill the NAN defaults for o->rule and check ranges. */
int  merge_opts_finish(struct merge_opts *o, fed_err *e);
/* Does the rule keep state (m: first moment, v: second moment)? */
int  merge_rule_has_m(enum merge_rule r);
int  merge_rule_has_v(enum merge_rule r);

/* ---- pure rules over a chunk; u[i] is update i's chunk of len floats,
 * s[i] its clipping scale (1 when unclipped); i runs in digest order ---- */

/* Sum of squares of p in float64: eight lanes of every eighth element,
 * added in a fixed order, the same bits on every machine. */
double merge_sumsq(const float *p, size_t len);
/* The same added to *acc in blocks of MERGE_BLOCK floats, so that the
 * total does not depend on how a stream was cut into chunks (chunks are
 * multiples of MERGE_BLOCK); merge_pairdist sums the same way. */
void merge_sumsq_blocks(double *acc, const float *p, size_t len);
/* Clipping scale: min(1, clip / norm); 1 when clip is 0 or norm is 0. */
double merge_clip_scale(double norm, double clip);
/* fedavg weights into w: samples (capped by max_samples when > 0)
 * normalized, or 1/n when uniform.  -1 when all weights are zero. */
int  merge_weights(double *w, const uint64_t *samples, int n, int uniform,
    uint64_t max_samples);
/* out[j] = sum_i c[i] * u[i][j]. */
void merge_wsum(double *out, const float *const *u, const double *c, int n,
    size_t len);
/* out[j] = median over i of s[i] * u[i][j] (mean of the middle two when n
 * is even).  tmp has room for n 8-byte values. */
void merge_median(double *out, const float *const *u, const double *s, int n,
    size_t len, void *tmp);
/* Mean of s[i] * u[i][j] after cutting the k smallest and k largest. */
void merge_trimmed(double *out, const float *const *u, const double *s,
    int n, int k, size_t len, void *tmp);
/* How many trimmed-mean cuts at each end for n updates. */
int  merge_trim_count(double beta, int n);
/* Add the chunk's squared distances between s[i] u[i] and s[j] u[j] to
 * d[i * n + j] for the pairs p of [p0, p1) with p = index of (i, j), i < j,
 * in row-major order of the upper triangle. */
void merge_pairdist(double *d, const float *const *u, const double *s, int n,
    size_t len, int p0, int p1);
/* Krum scores (sum of the n - f - 2 smallest distances to others) into
 * score, and the m updates with the lowest scores (ties: lower index) into
 * sel[i] = 1.  d is the full symmetric matrix (upper triangle filled). */
int  merge_krum_select(const double *d, int n, int f, int m, double *score,
    int *sel, fed_err *e);
/* One server step over a chunk: x (model), D (aggregate), m and v (state,
 * may be NULL when the rule keeps none), updated in place. */
void merge_step(const struct merge_opts *o, float *x, const double *D,
    float *m, float *v, size_t len);
/* DP-FedAvg's aggregate over a chunk: D[j] = (D[j] + noise[j]) / k,
 * D holding the sum of the clipped updates. */
void merge_dp_finish(double *D, const float *noise, double k, size_t len);
/* The cumulative RDP curve after one more round (DP_NORDERS values, added
 * in place) and its epsilon at delta. */
double merge_dp_account(double *rdp, double q, double z, double delta);
/* Initial v for the adaptive rules (Reddi et al.: v_{-1} >= tau^2). */
float merge_v0(const struct merge_opts *o);

/* ---- the driver ---- */

/* Merge the updates (paths; "-" at most once) into the next model bundle,
 * written to out; its digest goes to digest (DIGEST_LEN + 1) if not NULL.
 * Returns 0, MERGE_REJECT when an input was rejected (e names the file) or
 * MERGE_FAIL on a system failure. */
#define MERGE_REJECT (-1)
#define MERGE_FAIL   (-2)
int  merge_run(const char *model, const char *const *updates, int n,
    const struct merge_opts *o, int out, char *digest, fed_err *e);

#endif
