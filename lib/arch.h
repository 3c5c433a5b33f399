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
#include "st.h"
#include "util.h"

#define ARCH_MAXLAYERS 16
#define ARCH_MAXDIM    (1 << 20)
#define ARCH_MAXPARAMS ((uint64_t)1 << 31)   /* 8 GiB of float32 */
#define ARCH_STRLEN    256
/* gpt: 2 embeddings, 12 tensors a block, final norm and head; an
 * imported tensor set (tset.h) may have more */
#define ARCH_MAXTENSORS 1024
#define ARCH_MAXNAME    128     /* bytes of an imported tensor's name */
#define ARCH_MAXCONTEXT 4096    /* gpt context, in bytes */

enum arch_kind { ARCH_SOFTMAX, ARCH_MLP, ARCH_GPT, ARCH_TENSORS };

/*
 * softmax:IN-OUT is one dense layer; mlp:IN-H1-...-OUT is dense layers
 * with ReLU between them.  dims[0] is the input width, dims[nlayers] the
 * class count.  gpt:LAYERS-DIM-HEADS-CONTEXT is the byte-level
 * transformer of gpt.h: nlayers is LAYERS, dims[0] DIM, dims[1] HEADS,
 * dims[2] CONTEXT.  tensors:SHA256 is a set of named tensors fed did not
 * define (tset.h): the string names the table by its digest, and the
 * table itself, which manifests carry beside the string, is loaded into
 * t by tset_load; until then nt is 0.  The table is inline, so that an
 * arch stays a value to copy and needs no freeing, at about 200 KB: a
 * tensor set bigger than ARCH_MAXTENSORS is refused.
 */

/* One named tensor of the flat parameter buffer. */
struct tensor_spec {
	char name[ARCH_MAXNAME + 1];   /* "dense.0.weight", ... */
	int ndim;
	enum st_dtype dtype;    /* as a model stores it; F32 but in tensors */
	int64_t shape[ST_MAXNDIM];     /* weight: (out, in), row-major */
	uint64_t offset;        /* in floats, into the flat buffer */
	uint64_t count;         /* elements */
	uint64_t boff;          /* in bytes, into a model's data section */
};

struct arch {
	enum arch_kind kind;
	int nlayers;
	int dims[ARCH_MAXLAYERS + 1];
	char id[65];            /* tensors: the table's SHA-256, hex */
	int nt;                 /* tensors: entries of t, sorted by name */
	struct tensor_spec t[ARCH_MAXTENSORS];
};

int      arch_parse(const char *s, struct arch *a, fed_err *e);
/* The canonical string of a (what manifests record). */
void     arch_format(const struct arch *a, char *buf, size_t len);
uint64_t arch_nparams(const struct arch *a);
/* Fill t (ARCH_MAXTENSORS entries) and return how many. */
int      arch_tensors(const struct arch *a, struct tensor_spec *t);
/* s: the safetensors spec of t under name, as type d. */
void     arch_st_spec(const struct tensor_spec *t, const char *name,
    enum st_dtype d, struct st_spec *s);
/* Draw initial weights into p (arch_nparams floats): He-normal scaled to
 * fan-in before a ReLU, LeCun-normal before the softmax, zero biases. */
void     arch_init(const struct arch *a, float *p, rng_t *r);

#endif
