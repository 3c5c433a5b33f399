/*
 * dp: differential privacy arithmetic.  The accountant is the Rényi DP of
 * the sampled Gaussian mechanism (Mironov, Talwar and Zhang 2019, "Rényi
 * Differential Privacy of the Sampled Gaussian Mechanism"): Poisson
 * sampling with rate q, sensitivity-1 sums, noise multiplier sigma.  RDP
 * adds up over steps and rounds; the sum is turned into (epsilon, delta)
 * at the end.  Also here: the central-DP primitives of DP-FedAvg
 * (McMahan et al. 2018), clipping a flat vector and adding noise.
 * Training (dpsgd) and the holder's ledger (ledger) are other modules.
 */
#ifndef FED_DP_H
#define FED_DP_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/*
 * The orders alpha the accountant evaluates, documented in fed-train(1):
 * 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.5, 4, 4.5, then every integer
 * 5..64, then 128 and 256.
 */
#define DP_NORDERS 73

/* How RDP becomes (epsilon, delta). */
enum dp_conversion {
	/* Mironov 2017, Prop. 3: eps = rdp + log(1/delta) / (alpha - 1) */
	DP_CONV_STANDARD,
	/* Balle et al. 2020, Thm 21 (Canonne, Kamath, Steinke 2020):
	 * eps = rdp + log((alpha-1)/alpha) - (log delta + log alpha)/(alpha-1) */
	DP_CONV_BALLE
};

/* The documented orders (DP_NORDERS of them). */
const double *dp_orders(void);
/* "rdp, orders 1.25,...,256; conversion ..." for manifests. */
const char *dp_accountant_name(enum dp_conversion c);

/*
 * RDP at order alpha > 1 of one step of the sampled Gaussian mechanism
 * with rate q in [0, 1] and noise multiplier sigma > 0: log(A_alpha) /
 * (alpha - 1).  Integer orders by the finite binomial sum, fractional
 * ones by the series of Mironov et al. 2019, Sec. 3.3.  INFINITY when it
 * overflows (tiny sigma).
 */
double dp_rdp_step(double q, double sigma, double alpha);
/* rdp[k] += steps * dp_rdp_step(q, sigma, orders[k]) for k < n. */
void   dp_rdp_add(double *rdp, const double *orders, int n, double q,
    double sigma, int64_t steps);
/* Smallest epsilon over the orders for delta in (0, 1); the order that
 * gave it into *order if not NULL. */
double dp_epsilon(const double *orders, const double *rdp, int n,
    double delta, enum dp_conversion c, double *order);
/* Epsilon of steps steps at (q, sigma) over the documented orders. */
double dp_sgm_epsilon(double q, double sigma, int64_t steps, double delta,
    enum dp_conversion c);
/*
 * The smallest noise multiplier (to a relative 1e-4, rounded up) whose
 * epsilon after steps steps at rate q is at most eps; -1 when none up to
 * 1e4 is.
 */
double dp_sigma_for_epsilon(double eps, double delta, double q,
    int64_t steps, enum dp_conversion c);

/*
 * DP-FedAvg.  dp_clip_vector scales v (n floats) to L2 norm at most c
 * and returns its norm before clipping (double sums).
 * dp_gaussian_noise adds independent N(0, std^2) to each of v's n
 * floats, from r.
 */
double dp_clip_vector(float *v, size_t n, double c);
void   dp_gaussian_noise(float *v, size_t n, double std, rng_t *r);

#endif
