/*
 * moments: Adam's moments shared through the bundles (fed-bundle(5),
 * "Shared moments").  A holder's update carries its first moment m and
 * its spread w = max(v - m^2, 0) after training; fed-merge averages both
 * with the merge weights and gives the next model m' = sum c_k m_k and
 * v' = m'^2 + sum c_k w_k, from which every holder's next round starts.
 * The second moment so rebuilt keeps each holder's own noise but not the
 * spread between the holders' first moments, which plain averaging of v
 * would count as noise.  fed-train --slices applies the same rule to the
 * slices of one batch.
 */
#ifndef FED_MOMENTS_H
#define FED_MOMENTS_H

#include <jansson.h>

#include "bundle.h"
#include "arch.h"
#include "st.h"

#define MOMENTS_MEMBER "moments.safetensors"

/* What follows m. in the member: "w." in updates, "v." in models. */
enum moments_kind { MOMENTS_UPDATE, MOMENTS_MODEL };

/* The manifest's moments object: its step (at least 1) into *step, or
 * -1 when there is none; an error when it is malformed. */
int  moments_step(const json_t *m, int64_t *step, fed_err *e);
/* The same, from a parsed manifest. */
int  moments_meta_step(const struct manifest *m, int64_t *step, fed_err *e);
/* {"step": step} */
json_t *moments_json(int64_t step);
/* The member's tensors: m.NAME for every tensor of a, then w.NAME (or
 * v.NAME), F32, in the architecture's order and shapes, nothing else. */
int  moments_layout(const struct arch *a, const struct st_file *st,
    enum moments_kind k, fed_err *e);
/* The second half's values (n floats, maybe unaligned): finite and not
 * negative. */
int  moments_values(const void *s, uint64_t n, fed_err *e);
/* A parsed member (st_parse'd, data set) checked whole. */
int  moments_check(const struct arch *a, const struct st_file *st,
    enum moments_kind k, fed_err *e);
/* The member's bytes for m and s, arch_nparams(a) floats each. */
uint8_t *moments_encode(const struct arch *a, const float *m, const float *s,
    enum moments_kind k, size_t *len, fed_err *e);
/* A loaded model's moments into new buffers m and v, its step into
 * *step; 0 with *m NULL and *step 0 when it has none. */
int  moments_load(const struct bundle *b, const struct arch *a, float **m,
    float **v, int64_t *step, fed_err *e);

/* The spread of one holder's moments. */
static inline float
moments_spread(float m, float v)
{
	float w = v - m * m;

	return w > 0 ? w : 0;
}

/* The second moment from the merged m and the weighted sum of spreads. */
static inline float
moments_v(float m, double wsum)
{
	return (float)((double)m * m + wsum);
}

#endif
