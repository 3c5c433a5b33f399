/*
 * shard: fed-shard's work between reading and writing.  A data set, from
 * IDX images and labels or from CSV, in one shape (struct shard_src); its
 * split into parts, shard by train/test, by lib/partition (struct
 * shard_plan); and every part written as a data bundle, all or none.
 * Option parsing and the summary on standard error are cmd/'s.
 */
#ifndef FED_SHARD_H
#define FED_SHARD_H

#include <jansson.h>
#include <stdint.h>

#include "csv.h"
#include "idx.h"
#include "part.h"
#include "st.h"
#include "util.h"

#define SHARD_NAMEMAX 64

/* What is being sharded, whichever format it came from. */
struct shard_src {
	uint64_t n;
	uint32_t features, classes;
	enum st_dtype xtype;
	size_t rowbytes;
	const uint8_t *x;               /* (n, features) */
	int32_t *y;                     /* (n) */
	double x_scale;
	const uint32_t *key;            /* (n) column only */
	char *const *keys;
	uint32_t nkeys;
	json_t *inputs;
	struct idx img, lab;
	struct csv_data csv;
};

/* The split: parts are (shard, train|test), g = shard * nparts + part. */
struct shard_plan {
	uint32_t nshards, nparts, nout;
	uint32_t *shard;                /* (n) */
	uint8_t *test;                  /* (n) */
	uint32_t *order;                /* (n) sample indices by part */
	uint64_t *start;                /* (nout + 1) */
	uint64_t *counts;               /* (nout, classes) */
	char **names;                   /* (nshards) */
};

/* Loading fails (-1) only on bad input. */
int  shard_load_idx(struct shard_src *s, const char *images,
    const char *labels, fed_err *e);
int  shard_load_csv(struct shard_src *s, const struct csv_opts *co,
    const char *path, fed_err *e);
/* Assign every sample to a part and name the shards (zero-padded
 * numbers, or the key values under column:). */
int  shard_split(struct shard_plan *p, const struct shard_src *s,
    const struct part_spec *part, uint32_t nshards, uint64_t seed,
    fed_err *e);
/* PREFIX-NAME[.test].fed for every part; all renamed into place only once
 * all are written, none left on failure. */
int  shard_write(const struct shard_plan *p, const struct shard_src *s,
    const struct part_spec *part, uint64_t seed, const char *prefix,
    fed_err *e);
/* Samples of shard j's part q (0 train, 1 test), and of class c in j. */
uint64_t shard_part_size(const struct shard_plan *p, uint32_t j, uint32_t q);
uint64_t shard_class(const struct shard_plan *p, uint32_t classes,
    uint32_t j, uint32_t c);
/* A key value or file name as a shard name: [a-z0-9_], other runs '-'. */
char *shard_sanitise(const char *v);
void shard_src_free(struct shard_src *s);
void shard_plan_free(struct shard_plan *p);

#endif
