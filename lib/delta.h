/*
 * delta: fed-delta's work: the update that takes a model to weights
 * trained elsewhere (a safetensors file from the holder's own stack).
 * The delta is trained minus the model's weights, float32, as fed-train's
 * updates are (update.h); the tensor set must match the model's exactly
 * (names, dtypes, shapes) and every value be finite.  The trainer's own
 * description (--meta, a JSON object) goes into the manifest as "trainer".
 */
#ifndef FED_DELTA_H
#define FED_DELTA_H

#include <stdint.h>

#include "encode.h"
#include "util.h"

#define DELTA_MAXMETA 65536     /* bytes of --meta */
#define DELTA_CHUNK   ((size_t)1 << 20)  /* floats made at a time */

struct delta_opts {
	const char *model;          /* model bundle ("-": stdin) */
	const char *trained;        /* safetensors file ("-": stdin) */
	const char *meta;           /* JSON file, or NULL */
	const char *out;            /* NULL or "-": stdout */
	int64_t samples;
	const struct enc *enc;      /* NULL: float32 */
};

int delta_run(const struct delta_opts *o, fed_err *e);

#endif
