/*
 * upd: fed-merge's reader of the bundles it merges.  An update is read
 * as a stream, never whole: opened (its manifest checked against the
 * model, once, in upd_manifest, the one place that reads it), then its
 * delta chunk by chunk in coordinate order through encode's streaming
 * decoder, then its end (hash, layout, signatures).  A file may be opened
 * again for another pass; its digest must not change.  The same member
 * stream (struct upd_src) reads the model's weights.
 *
 * Which updates are read together, and what is done with the floats, is
 * the driver's (merge.c).
 */
#ifndef FED_UPD_H
#define FED_UPD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arch.h"
#include "mopt.h"
#include "bundle.h"
#include "encode.h"
#include "roster.h"
#include "util.h"

#define UPD_MAXVOTERS 16                /* roster signers kept per update */

/* One member of a bundle, read as bytes. */
struct upd_src {
	struct bundle_reader *r;
	const uint8_t *p;               /* unread rest of the current block */
	size_t n;
};

/* Open path: a file that cannot be opened or is a directory is a system
 * failure.  spool as for bundle_open; digest, when not empty, is what
 * the bundle's must be (it is read again). */
int  upd_src_open(struct upd_src *s, const char *path, int spool,
    const char *digest, fed_err *e);
/* Go to member name and past its safetensors header: 0 with the
 * member's size and header length, or -1. */
int  upd_src_member(struct upd_src *s, const char *name, uint64_t *size,
    uint64_t *hl, fed_err *e);
/* Exactly n bytes of the member into dst (NULL: skip them). */
int  upd_src_take(struct upd_src *s, void *dst, size_t n, fed_err *e);
/* The next len floats: in the reader's block when they lie in one
 * (valid until the next read), else copied into buf. */
const float *upd_src_floats(struct upd_src *s, float *buf, size_t len,
    fed_err *e);
/* The same, but fewer than *len floats (*len set) when that saves
 * copying them: those left in the reader's block. */
const float *upd_src_upto(struct upd_src *s, float *buf, size_t *len,
    fed_err *e);
/* Nothing is left of the member: its hash and contents verified. */
int  upd_src_end(struct upd_src *s, const char *name, fed_err *e);
void upd_src_close(struct upd_src *s);

/* The tensors of st lie exactly where the flat layout of a puts them,
 * from float offset base, names prefixed. */
int  upd_layout(const struct arch *a, const struct st_file *st,
    uint64_t base, const char *prefix, fed_err *e);

/* What an update must say to be merged into a model. */
struct upd_want {
	const struct arch *a;
	const char *arch;               /* canonical */
	const char *parent;             /* the model's digest */
	int64_t round;
	uint64_t np;
};

/* One update operand. */
struct upd {
	const char *path;               /* as given */
	const struct mopt *o;           /* the roster, the quorum */
	char src[32];                   /* /dev/fd/N once stdin is spooled */
	int order;                      /* operand position */
	char digest[DIGEST_LEN + 1];
	char delta[65];                 /* its delta member's SHA-256 */
	json_t *contributor, *signers;
	uint64_t samples;               /* as declared */
	uint64_t used;                  /* as weighed: the roster's cap */
	int who[UPD_MAXVOTERS], nwho;   /* roster holders whose signature
	                                 * verified */
	int holder;                     /* its contributor; -1 unknown */
	int equivocator;                /* left out: this holder voted twice;
	                                 * -1 not */
	double admit_loss;              /* --admit: held-out loss with it */
	int admit_out;                  /* --admit: left out for it */
	int64_t steps;                  /* optimizer steps it took */
	int64_t mstep;                  /* its moments' step; -1: none */
	double sumsq, norm, scale, weight, score;
	int selected;
	int skimmed;                    /* first looked at without its
	                                 * payloads: they are unverified */
	int bad;                        /* left out; why and kind say why */
	enum fed_errkind kind;
	char why[FED_ERRLEN];
	struct upd_src s;
	struct enc enc;                 /* how its delta is encoded */
	struct encode_stream *dec;      /* while open */
	size_t chunk;                   /* most floats per upd_chunk */
	const float *cur;               /* this chunk's floats */
	float *buf;                     /* (chunk), while open */
	uint8_t *raw;                   /* (4 * chunk) encoded bytes */
};

void upd_init(struct upd *u, const char *path, int order, size_t chunk,
    const struct mopt *o);
/* Open u (again), check its manifest against w, stop at its first value. */
int  upd_open(struct upd *u, const struct upd_want *w, int spool,
    fed_err *e);
/* Coordinates [at, at + len) into u->cur. */
int  upd_chunk(struct upd *u, uint64_t at, size_t len, fed_err *e);
/* After the last chunk: the rest of the bundle, its signatures checked
 * against the roster (when the options have one) in this same read, its verified
 * signers recorded. */
int  upd_finish(struct upd *u, const struct arch *a, fed_err *e);
/* After upd_open: read the rest of u and check its signatures, so that
 * its votes are known before any arithmetic. */
int  upd_votes(struct upd *u, fed_err *e);
/* Its manifest and votes as upd_open and upd_votes find them, from a
 * first look that skips the payloads (bundle.h, BUNDLE_SKIM): 0, -1 when
 * the look failed (upd_open and upd_votes then say why), or 1 when none
 * is taken (no roster, --admit, or stdin).  Its payloads are still to
 * verify. */
int  upd_skim_votes(struct upd *u, const struct upd_want *w, fed_err *e);
/* The first look at an operand: skimmed when it can be (u->skimmed),
 * else read whole as upd_open and upd_votes read it; left out when bad. */
void upd_first_look(struct upd *u, const struct upd_want *w, int spool);
/* Read whole now, even if it was skimmed: left out when bad. */
void upd_first_whole(struct upd *u, const struct upd_want *w, int spool);
/* Open u again at its moments (2 np floats follow), and their end, with
 * the signatures as in upd_finish. */
int  upd_moments_open(struct upd *u, uint64_t np, int spool, fed_err *e);
int  upd_moments_finish(struct upd *u, const struct arch *a, fed_err *e);
/* Close; a first read of stdin is drained into its spool. */
void upd_close(struct upd *u, int spool);
/* Leave u out for e (the first reason stays). */
void upd_mark(struct upd *u, const fed_err *e);
void upd_free(struct upd *u);
/* The first of n left out, in operand order, or NULL. */
const struct upd *upd_first_bad(const struct upd *u, int n);
/* The first of n that failed for a reason of the system, not its own,
 * or NULL. */
const struct upd *upd_sys_bad(const struct upd *u, int n);
/* u's failure as e ("FILE: why", its kind): -1. */
int  upd_error(const struct upd *u, fed_err *e);
/* When all n were left out (--skip-bad): how many, the first reason. */
int  upd_none_left(const struct upd *u, int n, fed_err *e);
/* e's message (a rule that cannot work with the updates left) followed by
 * how many of the n were left out and why the first was; -1. */
int  upd_left_out(const struct upd *u, int n, fed_err *e);
/* Krum (or multi-Krum) among u[act[0..na-1]] from their pairwise
 * distances dist (na x na): sets each one's score, selected and weight
 * (1/m when selected, else 0); -1 when it cannot choose. */
int  upd_krum(struct upd *u, const int *act, int na, const double *dist,
    const struct mopt *o, fed_err *e);
/* fn(path, why) once per update of n left out, in operand order. */
void upd_each_skipped(const struct upd *u, int n,
    void (*fn)(const char *path, const char *why));
/* The merge order, qsort's: by the SHA-256 of the delta member, which
 * keys do not change (a digest changes with the parent's signers), then
 * by digest, path and operand position. */
int  upd_cmp(const void *a, const void *b);

#endif
