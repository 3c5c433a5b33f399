/*
 * textshard: a text corpus split and written as data bundles, the
 * -f text half of fed-shard, as lib/shard is the half for IDX and CSV.
 * The plan names each shard (001, 002, ... or, one shard per input, the
 * input's last path component made safe for a file name) and holds the
 * parts of lib/text's split; writing puts every part in
 * PREFIX-NAME[.test].fed, all of them or none.  Reading the corpus is
 * lib/text's; options and the summary on standard error are cmd/'s.
 */
#ifndef FED_TEXTSHARD_H
#define FED_TEXTSHARD_H

#include <stdint.h>

#include "text.h"
#include "util.h"

struct textshard_plan {
	struct text_part *parts;        /* (nparts) train, test, by shard */
	int nparts;
	char **names;                   /* (nshards) */
	uint32_t nshards;
	int by_file;                    /* a shard per input operand */
};

/* Split c (see text_split) and name the shards; -1 when the corpus cannot
 * be split or two inputs give one name (rejected). */
int  textshard_plan(struct textshard_plan *p, const struct text_corpus *c,
    int by_file, uint32_t nshards, double test, uint64_t seed, fed_err *e);
/* Every part to a temporary file; then all renamed, or none. */
int  textshard_write(const struct textshard_plan *p,
    const struct text_corpus *c, uint64_t seed, const char *prefix,
    fed_err *e);
void textshard_free(struct textshard_plan *p);

#endif
