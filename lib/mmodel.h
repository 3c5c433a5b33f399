/*
 * mmodel: the model a merge starts from, as fed-merge reads it: its
 * manifest read here, in one place, into the fields below, then its
 * weights streamed chunk by chunk while the next model is written, so
 * that it is never held in memory.  A file is verified as its weights are
 * first streamed (mmodel_end); stdin, or a model whose server state is
 * continued, is checked whole at open.  The server
 * optimizer's state, when the rule continues it, is held whole.
 */
#ifndef FED_MMODEL_H
#define FED_MMODEL_H

#include <stdint.h>

#include <jansson.h>

#include "arch.h"
#include "dp.h"
#include "sha256.h"
#include "mopt.h"
#include "upd.h"

#define MMODEL_STATE "state.safetensors"

struct mmodel {
	const char *path;
	char src[32];                   /* /dev/fd/N once stdin is spooled */
	char digest[DIGEST_LEN + 1];
	struct arch a;
	char arch[ARCH_STRLEN];
	uint64_t np;
	int64_t round;
	int64_t mstep;                  /* its shared moments' step, or 0 */
	const char *state;              /* "fresh", "continued" or NULL */
	uint8_t *sbuf;                  /* the state member, whole */
	const uint8_t *m, *v;           /* np floats each in sbuf, unaligned;
	                                 * NULL when there is no state */
	double rdp[DP_NORDERS];         /* DP: the parent's cumulative curve */
	int64_t dp_rounds;              /* DP rounds in it */
	int64_t dp_since;               /* the round accounting starts at */
	struct upd_src s;               /* its weights, while streamed */
	float *buf;
	json_t *keep;                   /* imported: its "tensors" and
	                                 * "metadata", for the next model */
	uint64_t nbytes;                /* its weights' data section */
	int half;                       /* some tensors are F16 or BF16 */
	uint8_t *hbuf;                  /* (4 * chunk) bytes, with half */
	uint64_t at;                    /* the next coordinate streamed */
	const struct tensor_spec *over; /* merged values overflowed it */
	int unread;                     /* checked from its manifest only:
	                                 * its first whole stream verifies */
};

/* Read and check the model at path ("-": stdin, copied to spool). */
int  mmodel_open(struct mmodel *mi, const char *path, const struct mopt *o,
    int spool, fed_err *e);
/* For a single pass (fed-delta): open the model at path ("-": stdin),
 * its manifest read, and stop at its first weight; mmodel_x then gives
 * them, and mmodel_stream_end checks what was read (hash, layout, the
 * rest of the bundle).  Nothing read may be trusted before that. */
int  mmodel_stream(struct mmodel *mi, const char *path, size_t chunk,
    fed_err *e);
int  mmodel_stream_end(struct mmodel *mi, fed_err *e);
/* Start streaming its weights (again); chunks of at most chunk floats. */
int  mmodel_rewind(struct mmodel *mi, size_t chunk, fed_err *e);
/* The next len floats of its weights, or NULL. */
const float *mmodel_x(struct mmodel *mi, size_t len, fed_err *e);
/* As many of the next *len floats as come without a copy (*len set). */
const float *mmodel_upto(struct mmodel *mi, size_t *len, fed_err *e);
/* The next len floats copied into dst, once. */
int  mmodel_read(struct mmodel *mi, float *dst, size_t len, fed_err *e);
/* The next model's floats x, coordinates [at, at + len), in the types
 * the model stores (F16 and BF16 rounded to nearest even), written by
 * wr(arg, bytes, n, their offset in the data section), in order; -1
 * with errno set.  A value too large for its type fails
 * mmodel_end. */
typedef int mmodel_write(void *arg, const void *p, size_t n, uint64_t off);
int  mmodel_put(struct mmodel *mi, const float *x, size_t len, uint64_t at,
    mmodel_write *wr, void *arg);
/* After the last: the weights' end, their hash verified. */
int  mmodel_end(struct mmodel *mi, fed_err *e);
void mmodel_free(struct mmodel *mi);

#endif
