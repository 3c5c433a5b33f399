/*
 * mrec: what fed-merge records: the merge record of the next model's
 * manifest (fed-bundle(5), "merge" and "privacy"), made from what the
 * driver found, and the headers of the members it writes.
 */
#ifndef FED_MREC_H
#define FED_MREC_H

#include <jansson.h>

#include "madmit.h"
#include "mmodel.h"
#include "mopt.h"
#include "upd.h"

struct mrec {
	const struct mopt *o;
	const struct mmodel *mi;
	const struct upd *u;            /* every operand, in merge order */
	int nu;
	int trim;                       /* trimmed-mean: cuts at each end */
	double dpk;                     /* DP: updates merged */
	int moments;                    /* the moments member is written */
	int64_t mstep;                  /* its step */
	const struct madmit *admit;     /* --admit, or NULL */
};

/* The next model's manifest, members not yet set. */
json_t *mrec_manifest(const struct mrec *r);

/* A safetensors header for the arch's tensors, F32, names prefixed,
 * repeated for each of the np prefixes: a new buffer of *len bytes. */
uint8_t *mrec_header(const struct arch *a, const char *const *prefix,
    int np, size_t *len, fed_err *e);
/* All n bytes at offset off of fd: 0, or -1 with errno. */
int  mrec_pwrite(int fd, const void *p, size_t n, uint64_t off);
/* A new spool file holding the header h (len bytes): the spool, or -1
 * (a system failure). */
int  mrec_spool(const uint8_t *h, size_t len, fed_err *e);

#endif
