/*
 * mopt: the options of a merge (fed-merge(1)): the rule and its
 * parameters, clipping, weighting, the server optimizer's
 * hyperparameters, DP-FedAvg's, and the thread count.  mopt_finish fills
 * the defaults of the rule chosen and checks every range, so that what
 * uses them (rule, the driver) need not.
 */
#ifndef FED_MOPT_H
#define FED_MOPT_H

#include <stdint.h>

#include "encode.h"
#include "util.h"

#define MOPT_MAXUPDATES 4096
#define MOPT_MAXTHREADS 64

struct roster;

enum mopt_rule {
	MOPT_FEDAVG, MOPT_FEDAVGM, MOPT_NESTEROV,
	MOPT_FEDADAM, MOPT_FEDYOGI, MOPT_FEDADAGRAD,
	MOPT_MEDIAN, MOPT_TRIMMED, MOPT_KRUM, MOPT_MULTIKRUM
};

/* Every option of a merge; NAN in a double means "the rule's default". */
struct mopt {
	enum mopt_rule rule;
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
	/* told of each update left out, once the merge is written: dropped
	 * input is cmd/'s to say, whatever the verbosity; may be NULL */
	void (*skipped)(const char *path, const char *why);
	/* Who may vote: every update must be signed by quorum holders of
	 * the roster, checked as it is read; NULL only with unsigned_ok,
	 * when signatures are not looked at. */
	const struct roster *roster;
	int quorum;
	int unsigned_ok;
	/* Admission by evaluation (lib/madmit): an update without which the
	 * merge's mean loss on this data set is lower by more than margin
	 * is left out. */
	const char *admit;
	double margin;
	int threads;
	/* DP-FedAvg (McMahan et al. 2018): clip to clip, sum, add
	 * N(0, (dp_noise * clip)^2) once to the sum, divide by the number of
	 * updates merged.  dp_noise 0: off. */
	double dp_noise;        /* noise multiplier Z */
	double dp_delta;        /* delta of the (epsilon, delta) reported */
	double dp_rate;         /* holder sampling rate q of the round */
	uint64_t dp_seed;       /* noise seed: secret, never recorded */
	int dp_seeded;
	/* A compressed download (lib/mdown): the aggregate encoded with
	 * down (int8 by default) before the server step, written as a step
	 * bundle to download; its error carried in the file residual
	 * (NULL: none; int8 and topk only). */
	const char *download;
	const char *residual;
	struct enc down;
};

/* Rule name and its parameters: "fedavg", "trimmed-mean:0.2", "krum:2",
 * "multi-krum:2:5".  Sets o->rule, beta, f, m. */
int  mopt_rule_parse(const char *s, struct mopt *o, fed_err *e);
const char *mopt_rule_name(enum mopt_rule r);
/* Zero options with NAN for the rule defaults. */
void mopt_init(struct mopt *o);
/* Fill the NAN defaults for o->rule and check ranges. */
int  mopt_finish(struct mopt *o, fed_err *e);
/* Does the rule keep state (m: first moment, v: second moment)? */
int  mopt_has_m(enum mopt_rule r);
int  mopt_has_v(enum mopt_rule r);
/* --download's encoding of np weights, as recorded. */
void mopt_download_enc(const struct mopt *o, uint64_t np, struct enc *c);
/* Is its aggregate the (sample-)weighted mean (fedavg and the server
 * optimizers)? */
int  mopt_weighted(enum mopt_rule r);

#endif
