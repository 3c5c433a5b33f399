/*
 * optstate: fed-train --opt-state, a holder's Adam moments kept in a
 * file between rounds.  A safetensors file of "arch" (U8, the canonical
 * architecture string), "step" (I64, Adam's step count), "exp_avg" and
 * "exp_avg_sq" (F32, one per parameter).  A file that does not exist
 * yet, or one of another architecture, starts from zero moments.  The
 * moments shared through bundles are moments.h's.
 */
#ifndef FED_OPTSTATE_H
#define FED_OPTSTATE_H

#include "arch.h"
#include "optim.h"

/* s gets new buffers (optstate_free): the file's moments, or zeros;
 * *other is set when the file is of another architecture. */
int  optstate_load(const char *path, const struct arch *a,
    struct optim_state *s, int *other, fed_err *e);
/* Write s whole or not at all (out.h). */
int  optstate_save(const char *path, const struct arch *a,
    const struct optim_state *s, fed_err *e);
/* Bytes to path whole or not at all (out.h); residual.h's file too. */
int  optstate_write(const char *path, const void *buf, size_t len,
    fed_err *e);
/* Reading a file that exists, or writing one, fails for system reasons
 * only: e becomes a system failure (util.h and out.h do not type theirs
 * yet); returns -1. */
int  optstate_syserr(fed_err *e);
/* Zero moments for a, in new buffers. */
void optstate_zero(struct optim_state *s, const struct arch *a);
void optstate_free(struct optim_state *s);

#endif
