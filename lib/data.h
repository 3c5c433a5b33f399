/*
 * data: a data bundle (kind "data", member data.safetensors with "x" and
 * "y") as a validated in-memory data set.  The rows of x stay in the
 * loaded bundle, as U8 or F32, and are converted to float only a batch at
 * a time, so a data set of bytes costs bytes.  Making data bundles
 * (import, partition) is shard's business.
 */
#ifndef FED_DATA_H
#define FED_DATA_H

#include <stdint.h>

#include "bundle.h"
#include "st.h"

#define DATA_MEMBER   "data.safetensors"
#define DATA_MAXBYTES ((uint64_t)8 << 30)
#define DATA_MAXROWS  ((int64_t)INT32_MAX)

struct dataset {
	struct bundle b;            /* owns the bytes x points into */
	struct st_file st;
	int64_t n;                  /* samples */
	int features;
	int classes;
	double x_scale;             /* value = x * x_scale */
	enum st_dtype xtype;        /* ST_U8 or ST_F32 */
	const uint8_t *x;           /* (n, features), little-endian */
	int32_t *y;                 /* (n), in [0, classes); owned copy */
	int64_t *count;             /* (classes) samples per class */
	/* modality "text": n is the byte count, x, y and count stay NULL */
	int text;
	const uint8_t *tokens;      /* (n) bytes, in the loaded bundle */
	int64_t ndocs;              /* documents, starts checked at load */
};

/*
 * A text data bundle: manifest "modality": "text", "samples" (bytes) and
 * "documents"; data.safetensors with "tokens" (U8, (samples)) and "docs"
 * (I64, (documents): the offset where each document starts, the first 0,
 * strictly increasing, each below samples).
 */
#define DATA_TEXT_MAXDOCS ((int64_t)1 << 28)

/* Load path ("-" is stdin) and validate it as a data set. */
int  data_load(const char *path, struct dataset *d, fed_err *e);
/* Validate an already loaded bundle; d takes it over (also on failure,
 * where data_free releases it). */
int  data_from_bundle(struct dataset *d, struct bundle *b, fed_err *e);
void data_free(struct dataset *d);

/* Rows idx[start..start+B) (start..start+B when idx is NULL) as scaled
 * floats into dst (B, features), their labels into y (B) if not NULL. */
void data_batch(const struct dataset *d, float *dst, int32_t *y,
    const uint32_t *idx, int64_t start, int B);

#endif
