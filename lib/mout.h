/*
 * mout: fed-merge's output as it is made.  The next model's weights (and
 * the server state, for the rules that keep one) go chunk by chunk to
 * spools, the weights hashed as they go, and the bundle is written from
 * them once the record is known.  When the output is a file of its own
 * and nothing but the weights follows the record, whose length is then
 * known before the weights are made (the linear rules without server
 * state or moments), the weights go straight into the output instead,
 * after the record with a placeholder hash, which is written in place at
 * the end (as bstream does): they are written once, not twice.  Either
 * way the bytes are bundle_write's, and the weights are hashed and
 * written by a thread of their own (ring.h) while the next are made.
 */
#ifndef FED_MOUT_H
#define FED_MOUT_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "arch.h"
#include "bundle.h"
#include "ring.h"
#include "sha256.h"
#include "util.h"

struct mout {
	int out;                        /* the output */
	int direct;                     /* the weights straight into out */
	struct bundle_writer *w;        /* direct, while they are made */
	off_t start;                    /* where the bundle begins in out */
	size_t ml;                      /* the placeholder record's length */
	uint64_t next;                  /* the next offset due */
	uint64_t wat;                   /* the spool's, as written */
	struct sha256 *th;              /* hash of tensors.safetensors */
	struct ring *ring;              /* hashes and writes the weights */
	uint8_t *thead;                 /* its header */
	uint64_t thdr, tsize;           /* its length; the member's size */
	int tfd, sfd;                   /* spools: tensors, state (or -1) */
	uint64_t shdr, ssize;           /* the state's header; its size */
};

/* The members of arch a's next model (nbytes of weights): the tensors,
 * the state when nstate (1: m, 2: m and v) > 0; direct asks that the
 * weights go straight into out when it is a file of its own. */
int  mout_open(struct mout *m, int out, int direct, const struct arch *a,
    uint64_t nbytes, uint64_t np, int nstate, fed_err *e);
/* Before the weights are made (again): their hash restarted; direct,
 * the record man (members not set) written first. */
int  mout_begin(struct mout *m, json_t *man, fed_err *e);
/* Direct: would the final record man take the bytes of the one
 * mout_begin wrote (the same tar blocks)?  mout_finish needs it to. */
int  mout_fits(const struct mout *m, json_t *man);
/* Bytes of the weights at data offset off (mmodel_put's writer: they
 * are hashed here), and of the state: 0, or -1 with errno set. */
int  mout_weights(void *m, const void *p, size_t n, uint64_t off);
int  mout_state(struct mout *m, const void *p, size_t n, uint64_t off);
/* The bundle, with the final record man and moments (mlen bytes, or
 * NULL): its digest into digest when not NULL. */
int  mout_finish(struct mout *m, json_t *man, const uint8_t *moments,
    size_t mlen, char *digest, fed_err *e);
void mout_free(struct mout *m);

#endif
