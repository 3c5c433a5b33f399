/*
 * crsign: the rotated-sign encoding, "rsign" (fed-bundle(5), "Encoded
 * updates"): about one bit a coordinate.  The flat delta is cut into
 * blocks of CRSIGN_BLOCK coordinates (the last one shorter); each block
 * is turned by a random rotation, a Walsh-Hadamard transform after a
 * random sign per coordinate (drawn from the encoding's seed and the
 * block's number), and sent as the signs of the turned values and one
 * float32 scale, which makes the decoded block as close to the block
 * as its signs allow (DRIVE, Vargaftik et al. 2021).  Decoding is
 * exact integer arithmetic and one rounding, so every reader gets the
 * same floats.  encode.c lays out and streams the tensors; here are the
 * blocks.
 */
#ifndef FED_CRSIGN_H
#define FED_CRSIGN_H

#include <stdint.h>

#include "util.h"

#define CRSIGN_BLOCK 4096       /* coordinates a block covers */
#define CRSIGN_MIN   64         /* the shortest transform */

/* Blocks of np coordinates. */
uint64_t crsign_blocks(uint64_t np);
/* The transform's length for block b of np: CRSIGN_BLOCK, or for a
 * shorter last block the least power of two holding it, at least
 * CRSIGN_MIN.  Its signs take len / 8 bytes. */
uint64_t crsign_len(uint64_t np, uint64_t b);
/* Bytes of the signs of blocks [0, b) of np. */
uint64_t crsign_bits_at(uint64_t np, uint64_t b);
/* x (np floats) into every block's scale and signs; x becomes what the
 * decoded blocks leave out of it. */
void     crsign_encode(float *x, uint64_t np, uint64_t seed, float *scales,
    uint8_t *signs);
/* Coordinates [at, at + len) into out from their blocks' signs (src,
 * from block at's first) and scales (every block's, checked finite and
 * >= 0): at starts a block, and at + len ends one or np.  -1 when the
 * signs under a zero scale are not all 0, which is how the encoder
 * writes a zero block. */
int      crsign_decode(const uint8_t *src, const float *scales, uint64_t np,
    uint64_t seed, uint64_t at, uint64_t len, float *out, fed_err *e);

#endif
