/*
 * mdown: the compressed download of fed-merge --download (fed-bundle(5),
 * "Downloads").  The merge encodes its aggregate (the mean delta the rule
 * steps with) as fed-train --encode does a delta (--download-encode: int8
 * blocks by default, or top-k, fp16, bf16), with the encoding's error
 * carried to the next round in a file of the coordinator's (--residual:
 * error feedback on the server), and takes its server step with the
 * decoded aggregate.  The download is a bundle of kind "step": that
 * encoded aggregate, the next model's manifest verbatim,
 * and its moments member when it has one.  Whoever holds the previous
 * model rebuilds the next one from it and the download (mdown_apply)
 * with the same decoder and the same server step (rule_step), byte for
 * byte: the same manifest, hence the same digest, and every member
 * checked against it.
 *
 * What it leaves to others: the merge's passes (merge.c), the encoding
 * (encode.c), the rule's arithmetic (rule.c), the record (mrec.c).
 * Memory: the coordinator holds the aggregate as floats, the residual and
 * the encoded step (about 10 bytes a weight besides merge's own); the
 * holder both models whole.
 */
#ifndef FED_MDOWN_H
#define FED_MDOWN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arch.h"
#include "encode.h"
#include "mopt.h"
#include "util.h"

struct mdown {
	struct enc c;                   /* the download's encoding */
	const char *residual;           /* its file, or NULL: no feedback */
	float *r0;                      /* (np) as read; NULL without */
	float *r;                       /* (np) after this merge's step */
	uint8_t *step;                  /* tensors.safetensors of the step */
	size_t slen;
};

/* For the model of arch a (F32 weights of fed's own layout): the
 * residual read, or zeros when its file does not exist yet. */
int  mdown_open(struct mdown *d, const struct arch *a, const struct mopt *o,
    fed_err *e);
/* acc (np doubles, the aggregate) quantized with the residual; acc then
 * holds the dequantized values the server steps with.  May run again
 * (--skip-bad starts over): it always starts from the residual read. */
int  mdown_quantize(struct mdown *d, const struct arch *a, double *acc,
    fed_err *e);
/* Once the next model is written from man (its members set): the
 * download (o->download) and the residual, each whole or not at all.
 * parent, round: the model merged from; moments: the next model's
 * moments member, or NULL. */
int  mdown_write(struct mdown *d, const struct mopt *o, const char *arch,
    const char *parent, int64_t round, const json_t *man,
    const uint8_t *moments, size_t mlen, fed_err *e);
void mdown_free(struct mdown *d);

/* The holder's side: the next model from the model at prev and the
 * download at step, written to out as a bundle; its digest checked
 * against the one the download names.  A download of another model, or
 * one that does not rebuild what it names, is rejected (FED_EREJECT). */
int  mdown_apply(const char *prev, const char *step, int out, fed_err *e);

#endif
