/*
 * encode: compact encodings of an update's delta (fed-bundle(5),
 * "Encoded updates"): fp16, bf16, int8 with a float32 scale per block of
 * ENC_BLOCK values, rotated signs (crsign.h) and top-k over the flat
 * delta.  Here: the canonical tensors of each scheme, encoding, strict
 * checks, and the one decoder, streaming (fed-merge feeds it chunk by
 * chunk; encode_decode feeds it a whole member).  Reading the bytes of
 * a bundle is the caller's; choosing to encode is fed-train's.
 */
#ifndef FED_ENCODE_H
#define FED_ENCODE_H

#include <stdint.h>

#include <jansson.h>

#include "arch.h"
#include "st.h"

#define ENC_BLOCK 256                   /* int8: values per scale */
#define ENC_MAXTENSORS (2 * ARCH_MAXTENSORS)

/* the top-k schemes last: scheme >= ENC_TOPK counts entries, k */
enum encode_scheme { ENC_F32, ENC_F16, ENC_BF16, ENC_INT8, ENC_RSIGN,
	ENC_TOPK, ENC_TOPK8 };

struct enc {
	enum encode_scheme scheme;
	double fraction;        /* topk, topk8: share of entries kept */
	uint64_t k;             /* topk, topk8: entries kept */
	int stochastic;         /* int8: stochastic rounding */
	int feedback;           /* int8, topk: residual carried (recorded) */
	uint64_t seed;          /* rsign: the rotations' */
};

/* "fp16", "bf16", "int8", "rsign", "topk:FRACTION" or "topk8:FRACTION"
 * (0 < FRACTION <= 1). */
int  encode_parse(const char *s, struct enc *c, fed_err *e);
/* The "encoding" of an update manifest (absent: float32), checked
 * against np parameters. */
int  encode_manifest(const json_t *m, uint64_t np, struct enc *c, fed_err *e);
json_t *encode_json(const struct enc *c);
const char *encode_name(enum encode_scheme s);
/* ceil(fraction * np), at least 1, at most np. */
uint64_t encode_topk_count(double fraction, uint64_t np);

/* The scheme's tensors in data order; names go into names. */
int  encode_specs(const struct arch *a, const struct enc *c, struct st_spec *s,
    char (*names)[ST_MAXNAME]);
/* Bytes of the data section. */
uint64_t encode_data_size(const struct arch *a, const struct enc *c);
/* st holds exactly the scheme's tensors, names, dtypes, shapes, in the
 * canonical data order. */
int  encode_check_layout(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e);
/* The values of a parsed st (layout already checked): scales finite and
 * >= 0, int8 in [-127, 127] and 0 where the scale is 0, indices ascending,
 * unique, in range. */
int  encode_check_values(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e);
/* tensors.safetensors for delta (np floats).  int8, topk: residual (np floats,
 * or NULL) is added first and left holding what was not sent.  seed:
 * stochastic rounding. */
uint8_t *encode_encode(const struct arch *a, const struct enc *c,
    const float *delta, float *residual, uint64_t seed, size_t *len,
    fed_err *e);
/* The flat delta of a checked st: a new buffer of np floats. */
float *encode_decode(const struct arch *a, const struct enc *c,
    const struct st_file *st, fed_err *e);

/*
 * The streaming decoder.  The data section of an encoded delta is a
 * prefix read whole (int8: every block's scale; topk: the k indices),
 * then values in coordinate order.  Init, fill encode_stream_prefix()
 * with encode_stream_prefix_bytes() bytes, check it, then for each chunk
 * [at, at + len) in order take encode_stream_bytes() bytes of values and
 * decode them.  ENC_F32 works too (no prefix, 4 bytes a value).
 */
struct encode_stream {
	struct enc c;
	uint64_t np;
	int nt;
	struct tensor_spec t[ARCH_MAXTENSORS];
	uint64_t sbase[ARCH_MAXTENSORS];/* int8: tensor's first block */
	uint64_t nblocks;               /* int8: blocks of all tensors */
	void *prefix;                   /* float scales or int32 indices */
	uint64_t pidx;                  /* topk: the next index */
	int32_t *ix;                    /* topk8: indices, unpacked */
	float *ksc;                     /* topk8: scales, unpacked */
};
void encode_stream_init(struct encode_stream *s, const struct arch *a,
    const struct enc *c);
uint64_t encode_stream_prefix_bytes(const struct encode_stream *s);
void *encode_stream_prefix(struct encode_stream *s);
/* Scales finite and >= 0; indices ascending, unique, below np. */
int  encode_stream_check(struct encode_stream *s, fed_err *e);
uint64_t encode_stream_bytes(const struct encode_stream *s, uint64_t at,
    size_t len);
/* Those bytes (src) into out[0, len): finite values, int8 in range. */
int  encode_stream_decode(struct encode_stream *s, const uint8_t *src,
    uint64_t at, size_t len, float *out, fed_err *e);
void encode_stream_free(struct encode_stream *s);

/* int8: the scale of a block, and one value. */
float    encode_int8_scale(const float *x, size_t n);

#endif
