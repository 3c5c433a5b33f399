/*
 * ctopk: the compact top-k encoding, "topk8" (fed-bundle(5), "Encoded
 * updates"): the same entries as top-k, about 2 bytes each instead of 8.
 * The flat delta is cut into spans of CTOPK_SPAN coordinates; a byte per
 * span counts its entries, a byte per entry is its offset in the span,
 * and the values are int8 with a float32 scale per CTOPK_BLOCK entries.
 * encode.c chooses the entries and makes and streams the values (int8
 * blocks, as int8's own: CTOPK_BLOCK is ENC_BLOCK); here the entries'
 * places are packed, and the prefix is unpacked into indices and
 * scales, checked.
 */
#ifndef FED_CTOPK_H
#define FED_CTOPK_H

#include <stdint.h>

#include "util.h"

#define CTOPK_SPAN  128         /* coordinates a count byte covers */
#define CTOPK_BLOCK 256         /* entries a scale covers */

/* ceil(np / CTOPK_SPAN) and ceil(k / CTOPK_BLOCK). */
uint64_t ctopk_spans(uint64_t np);
uint64_t ctopk_blocks(uint64_t k);
/* The k entries idx (ascending) of np coordinates into counts (spans)
 * and offsets (k). */
void ctopk_pack(const int32_t *idx, uint64_t k, uint64_t np,
    uint8_t *counts, uint8_t *offs);
/* The prefix (counts, offsets, scales, as packed) into ix (k) and sc
 * (blocks): counts summing to k, each at most its span's length;
 * offsets ascending within a span and inside it; scales finite, >= 0. */
int  ctopk_unpack(const uint8_t *prefix, uint64_t np, uint64_t k,
    int32_t *ix, float *sc, fed_err *e);

#endif
