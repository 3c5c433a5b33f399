/*
 * mmodel: the model a merge starts from, as fed-merge reads it: checked
 * whole once as a stream (its manifest read here, in one place, into the
 * fields below), then its weights streamed again chunk by chunk while the
 * next model is written, so that it is never held in memory.  The server
 * optimizer's state, when the rule continues it, is held whole.
 */
#ifndef FED_MMODEL_H
#define FED_MMODEL_H

#include <stdint.h>

#include "arch.h"
#include "dp.h"
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
};

/* Read and check the model at path ("-": stdin, copied to spool). */
int  mmodel_open(struct mmodel *mi, const char *path, const struct mopt *o,
    int spool, fed_err *e);
/* Start streaming its weights (again); chunks of at most chunk floats. */
int  mmodel_rewind(struct mmodel *mi, size_t chunk, fed_err *e);
/* The next len floats of its weights, or NULL. */
const float *mmodel_x(struct mmodel *mi, size_t len, fed_err *e);
/* After the last: the weights' end, their hash verified. */
int  mmodel_end(struct mmodel *mi, fed_err *e);
void mmodel_free(struct mmodel *mi);

#endif
