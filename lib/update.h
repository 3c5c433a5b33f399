/*
 * update: the update bundle fed-train writes: its manifest (parent,
 * round, samples, every hyperparameter, the losses or, under DP, the
 * privacy record), the weight delta as tensors.safetensors, plain or
 * encoded (encode.h, with top-k's residual), and with shared moments
 * their moments.safetensors (moments.h).
 */
#ifndef FED_UPDATE_H
#define FED_UPDATE_H

#include <jansson.h>
#include <stdint.h>

#include "encode.h"
#include "privacy.h"
#include "train.h"

/* What an update records besides its delta. */
struct update {
	struct arch a;
	char parent[DIGEST_LEN + 1];
	int64_t round;
	int64_t samples;
	const char *name;                   /* contributor, or NULL */
	const struct train_opts *t;
	const struct train_stats *st;
	const struct privacy *dp;           /* NULL: no DP */
	const struct optim_state *moments;  /* shared moments, or NULL */
	const struct enc *enc;              /* NULL: plain float32 */
};

json_t *update_manifest(const struct update *u);
/* The bundle for delta (np floats) to out; with an encoding that feeds
 * back, residual (np) is used and updated.  m gets the encoding. */
int  update_write(const struct update *u, json_t *m, const float *delta,
    float *residual, const char *out, fed_err *e);

#endif
