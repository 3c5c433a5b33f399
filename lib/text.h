/*
 * text: text corpora for fed-shard -f text.  Files, folders (every
 * regular file below, in byte order of their paths) and standard input
 * are read into one byte buffer; every non-empty file is a document.
 * Documents are split into shards, iid or one shard per input operand,
 * with a seeded share of each shard's documents held out for test, and
 * every part is written as a text data bundle (data.h describes it).
 * Naming the shards and writing the files is lib/textshard's.
 */
#ifndef FED_TEXT_H
#define FED_TEXT_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

#define TEXT_MAXBYTES ((uint64_t)1 << 32)   /* 4 GiB of text in all */
#define TEXT_MAXDOCS  ((uint32_t)1 << 24)
#define TEXT_MAXDEPTH 16                    /* folder nesting */
#define TEXT_MAXSRC   4096                  /* input operands */

struct text_corpus {
	uint8_t *bytes;             /* (n) */
	uint64_t n, cap;
	uint64_t *start;            /* (ndocs + 1) document offsets */
	uint32_t *src;              /* (ndocs) operand of each document */
	uint32_t ndocs, capdocs;
	uint32_t nsrc;
	char *name[TEXT_MAXSRC];    /* operand names for shard names */
	json_t *inputs;             /* [{"name", "sha256", "files"}] */
};

/* A part: the documents of one shard's train or test part. */
struct text_part {
	uint32_t shard;
	int test;
	uint32_t ndocs;
	uint32_t *docs;             /* (ndocs) corpus document indices */
	uint64_t bytes;
};

void text_init(struct text_corpus *c);
void text_free(struct text_corpus *c);
/* Add path ("-" stdin, a file or a folder) as operand c->nsrc. */
int  text_add(struct text_corpus *c, const char *path, fed_err *e);

/*
 * Split into parts, shard by shard, train before test: by_file puts
 * operand i's documents in shard i; otherwise nshards random shares of
 * the documents.  test is the fraction of each shard's documents held
 * out (0: none).  Returns the number of parts, -1 on error.
 */
int  text_split(const struct text_corpus *c, int by_file, uint32_t nshards,
    double test, uint64_t seed, struct text_part **parts, fed_err *e);
void text_parts_free(struct text_part *p, int n);

/* data.safetensors of a part (tokens, docs); a new buffer. */
uint8_t *text_payload(const struct text_corpus *c, const struct text_part *p,
    size_t *len, fed_err *e);
/* The part's manifest: kind data, modality text, samples, documents. */
json_t *text_manifest(const struct text_corpus *c, const struct text_part *p,
    uint32_t nshards, const char *name, int by_file, uint64_t seed);

#endif
