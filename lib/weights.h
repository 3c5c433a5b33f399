/*
 * weights: a model's or an update's tensors.safetensors as one flat float
 * buffer in the layout of arch.h, and back.  Checking that a bundle's
 * tensors match its declared architecture is done here too, from the
 * safetensors header alone, so it works on a stream as well.
 */
#ifndef FED_WEIGHTS_H
#define FED_WEIGHTS_H

#include <jansson.h>

#include "bundle.h"
#include "arch.h"
#include "st.h"

#define WEIGHTS_MEMBER "tensors.safetensors"

/* The tensors of st are exactly those of a, same names, same shapes, and
 * in the types and places a model stores them (model 1), float32 as in
 * an update (model 0), or either (model -1; weights_check).  The two
 * differ only for imported F16 and BF16 tensors (tset.h). */
int weights_check(const struct arch *a, const struct st_file *st,
    fed_err *e);
int weights_check_as(const struct arch *a, const struct st_file *st,
    int model, fed_err *e);
/* The architecture a manifest declares, with its table if imported. */
int weights_meta_arch(const struct manifest *m, struct arch *a, fed_err *e);
/* The same from its json, for readers not yet on struct manifest. */
int weights_arch(const json_t *manifest, struct arch *a, fed_err *e);
/* From a loaded model or update bundle: its arch and a new flat buffer of
 * arch_nparams(a) floats. */
float *weights_load(const struct bundle *b, struct arch *a, fed_err *e);
/* Load path ("-" is stdin) as a bundle of the given kind ("model" or
 * "update") into b, and return its weights and architecture: for the
 * tools that train and evaluate, so imported tensor sets are refused.  The bundle
 * stays loaded for its manifest; the caller frees both. */
#define WEIGHTS_MAXBYTES ((uint64_t)16 << 30)
float *weights_read(const char *path, const char *kind, struct bundle *b,
    struct arch *a, fed_err *e);
/* tensors.safetensors bytes for the flat buffer p, float32. */
uint8_t *weights_encode(const struct arch *a, const float *p, size_t *len,
    fed_err *e);
/* The safetensors header of a's tensors in their stored types (stored 1,
 * a model's) or float32 (0, an update's), with __metadata__ meta (NULL:
 * none); the data follow packed. */
uint8_t *weights_header(const struct arch *a, int stored, const json_t *meta,
    size_t *len, fed_err *e);
#endif
