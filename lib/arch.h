/*
 * arch: architecture strings and the parameter layout they imply.
 * All parameters of a model live in one contiguous float buffer carved
 * into named tensors, in the order arch_tensors() lists them; that order
 * is also the order of tensors in tensors.safetensors.  The layers'
 * arithmetic lives in nn; this module only names and shapes things.
 */
#ifndef FED_ARCH_H
#define FED_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "util.h"

#define ARCH_MAXLAYERS 16
#define ARCH_MAXDIM    (1 << 20)
#define ARCH_MAXPARAMS ((uint64_t)1 << 31)   /* 8 GiB of float32 */
#define ARCH_STRLEN    256
/* gpt: 2 embeddings, 12 tensors a block, final norm and head */
#define ARCH_MAXTENSORS (16 + 12 * ARCH_MAXLAYERS)
#define ARCH_MAXCONTEXT 4096    /* gpt context, in bytes */

enum arch_kind { ARCH_SOFTMAX, ARCH_MLP, ARCH_GPT };

/*
 * softmax:IN-OUT is one dense layer; mlp:IN-H1-...-OUT is dense layers
 * with ReLU between them.  dims[0] is the input width, dims[nlayers] the
 * class count.  gpt:LAYERS-DIM-HEADS-CONTEXT is the byte-level
 * transformer of gpt.h: nlayers is LAYERS, dims[0] DIM, dims[1] HEADS,
 * dims[2] CONTEXT.
 */
struct arch {
	enum arch_kind kind;
	int nlayers;
	int dims[ARCH_MAXLAYERS + 1];
};

/* One named tensor of the flat parameter buffer. */
struct tensor_spec {
	char name[32];      /* "dense.0.weight", "dense.0.bias", ... */
	int ndim;
	int64_t shape[2];   /* weight: (out, in), row-major; bias: (out) */
	uint64_t offset;    /* in floats, into the flat buffer */
	uint64_t count;     /* elements */
};

int      arch_parse(const char *s, struct arch *a, fed_err *e);
/* The canonical string of a (what manifests record). */
void     arch_format(const struct arch *a, char *buf, size_t len);
uint64_t arch_nparams(const struct arch *a);
/* Fill t (ARCH_MAXTENSORS entries) and return how many. */
int      arch_tensors(const struct arch *a, struct tensor_spec *t);
/* Draw initial weights into p (arch_nparams floats): He-normal scaled to
 * fan-in before a ReLU, LeCun-normal before the softmax, zero biases. */
void     arch_init(const struct arch *a, float *p, rng_t *r);

#endif
