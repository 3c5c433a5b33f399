/*
 * stfile: a safetensors file a user hands fed (fed-init --from, fed-delta):
 * read whole, mapped when it is a regular file, and checked strictly by st
 * (header, tiling, finite values), then as a tensor set (tset.h).  What
 * its tensors are for is the caller's.
 */
#ifndef FED_STFILE_H
#define FED_STFILE_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "st.h"

#define STFILE_MAXBYTES ((uint64_t)16 << 30)

struct stfile {
	uint8_t *buf;
	size_t len;
	int mapped;
	struct st_file st;
	struct arch a;          /* its table, canonical (tset_from_st) */
};

/* Read path ("-": standard input).  A file that cannot be read is a
 * system failure; content that is not a tensor set fed imports, a
 * rejection, one line naming what is wrong. */
int  stfile_read(const char *path, struct stfile *f, fed_err *e);
/* The data of canonical tensor i (of f->a). */
const uint8_t *stfile_data(const struct stfile *f, int i);
/* The round-0 model of f's tensors, its __metadata__ kept in the
 * manifest, to out (NULL or "-": standard output).  base, when not NULL,
 * is the digest of the frozen model the tensors adapt (an adapter's). */
int  stfile_model(const struct stfile *f, const char *out, const char *base,
    fed_err *e);
void stfile_close(struct stfile *f);

#endif
