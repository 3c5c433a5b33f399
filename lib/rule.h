/*
 * rule: the aggregation rules of fed-merge as pure functions over one
 * chunk of coordinates of n updates (rule_wsum, rule_median, ...), and the
 * server optimizers as one pure step over a chunk (rule_step).
 *
 * Determinism: every sum runs over updates in the order given (the
 * driver gives merge order, upd_cmp), in float64, and over coordinates in order;
 * a weighted sum may be taken in parts (rule_wsum_add), one group of
 * updates after another, with the same bits as in one call.
 *
 * Sign convention: an update is a delta (local minus global).  The
 * aggregate D of a round is applied as x + lr * D; the momentum and
 * adaptive rules treat -D as the pseudo-gradient, as their papers do.
 */
#ifndef FED_RULE_H
#define FED_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "mopt.h"

#define RULE_BLOCK 4096                 /* floats per partial sum */

/* ---- pure rules over a chunk; u[i] is update i's chunk of len floats,
 * s[i] its clipping scale (1 when unclipped); i runs in merge order ---- */

/* Sum of squares of p in float64: eight lanes of every eighth element,
 * added in a fixed order, the same bits on every machine. */
double rule_sumsq(const float *p, size_t len);
/* The same added to *acc in blocks of RULE_BLOCK floats, so that the
 * total does not depend on how a stream was cut into chunks (chunks are
 * multiples of RULE_BLOCK); rule_pairdist sums the same way. */
void rule_sumsq_blocks(double *acc, const float *p, size_t len);
/* Clipping scale: min(1, clip / norm); 1 when clip is 0 or norm is 0. */
double rule_clip_scale(double norm, double clip);
/* fedavg weights into w: samples (capped by max_samples when > 0)
 * normalized, or 1/n when uniform.  -1 when all weights are zero. */
int  rule_weights(double *w, const uint64_t *samples, int n, int uniform,
    uint64_t max_samples);
/* out[j] = sum_i c[i] * u[i][j]. */
void rule_wsum(double *out, const float *const *u, const double *c, int n,
    size_t len);
/* out[j] += c[0] u[0][j], then += c[1] u[1][j], ...: rule_wsum of all
 * updates is rule_wsum of the first ones, then rule_wsum_add of the
 * rest, bit for bit. */
void rule_wsum_add(double *out, const float *const *u, const double *c,
    int n, size_t len);
/* out[j] = median over i of s[i] * u[i][j] (mean of the middle two when n
 * is even).  tmp has room for n 8-byte values. */
void rule_median(double *out, const float *const *u, const double *s, int n,
    size_t len, void *tmp);
/* Mean of s[i] * u[i][j] after cutting the k smallest and k largest. */
void rule_trimmed(double *out, const float *const *u, const double *s,
    int n, int k, size_t len, void *tmp);
/* How many trimmed-mean cuts at each end for n updates. */
int  rule_trim_count(double beta, int n);
/* Add the chunk's squared distances between s[i] u[i] and s[j] u[j] to
 * d[i * n + j] for the pairs p of [p0, p1) with p = index of (i, j), i < j,
 * in row-major order of the upper triangle. */
void rule_pairdist(double *d, const float *const *u, const double *s, int n,
    size_t len, int p0, int p1);
/* Can Krum pick m of n updates when f may be Byzantine (Blanchard et
 * al.: n > 2f + 2; multi-krum averages m <= n - f)?  0, or -1 saying
 * why not. */
int  rule_krum_fits(int n, int f, int m, int multi, fed_err *e);
/* Krum scores (sum of the n - f - 2 smallest distances to others) into
 * score, and the m updates with the lowest scores (ties: lower index) into
 * sel[i] = 1.  d is the full symmetric matrix (upper triangle filled). */
int  rule_krum_select(const double *d, int n, int f, int m, double *score,
    int *sel, fed_err *e);
/* One server step over a chunk: x (model), D (aggregate), m and v (state,
 * may be NULL when the rule keeps none), updated in place. */
void rule_step(const struct mopt *o, float *x, const double *D,
    float *m, float *v, size_t len);
/* DP-FedAvg's aggregate over a chunk: D[j] = (D[j] + noise[j]) / k,
 * D holding the sum of the clipped updates. */
void rule_dp_finish(double *D, const float *noise, double k, size_t len);
/* The cumulative RDP curve after one more round (DP_NORDERS values, added
 * in place) and its epsilon at delta. */
double rule_dp_account(double *rdp, double q, double z, double delta);
/* Initial v for the adaptive rules (Reddi et al.: v_{-1} >= tau^2). */
float rule_v0(const struct mopt *o);
/* Are the n floats at p finite?  NULL is. */
int  rule_finite(const float *p, size_t n);

#endif
