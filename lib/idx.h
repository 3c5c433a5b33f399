/*
 * idx: raw data files as fed-shard reads them.  Two layers:
 *
 * idx_in, an input byte stream: a file or standard input ("-"), plain or
 * gzip-compressed (detected from its first bytes, decompressed through
 * libarchive's raw format and gzip filter), that also hashes the bytes as
 * they were read, before decompression, so a manifest can name the exact
 * file.  csv uses it too.
 *
 * idx_load, the IDX format of MNIST and Fashion-MNIST: a big-endian
 * header (two zero bytes, a type byte, a dimension count, the dimensions)
 * and the items, read strictly: magic, type (unsigned bytes only), sizes
 * capped before anything is allocated, truncation and trailing bytes
 * rejected.  What the items mean (images, labels) is the caller's.
 */
#ifndef FED_IDX_H
#define FED_IDX_H

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define IDX_MAXNDIM     4
#define IDX_MAXWIDTH    ((uint64_t)1 << 24)     /* elements per item */
#define IDX_MAXBYTES    ((uint64_t)16 << 30)    /* whole payload */
#define IDX_TYPE_U8     0x08

/* ---- input stream ---- */

struct idx_in;

/* A file that cannot be opened or read (missing, a directory) is a system
 * failure (FED_ESYSTEM); bytes that are not what they should be (a corrupt
 * gzip stream, a bad header) are rejected input (FED_EREJECT). */
struct idx_in *idx_in_open(const char *path, fed_err *e);
/* Up to n decompressed bytes into buf: > 0, 0 at the end, -1 on error. */
ssize_t idx_in_read(struct idx_in *in, void *buf, size_t n, fed_err *e);
/* Exactly n bytes, or -1 with "truncated" (or the read error). */
int     idx_in_full(struct idx_in *in, void *buf, size_t n, const char *what,
    fed_err *e);
/* Read whatever raw bytes are left (so the hash covers the whole file),
 * then the hex SHA-256 of every byte read into hex[65]. */
int     idx_in_finish(struct idx_in *in, char hex[65], fed_err *e);
/* 1 when the input was gzip-compressed (known after the first read). */
int     idx_in_compressed(const struct idx_in *in);
/* "stdin" or the path, for messages. */
const char *idx_in_name(const struct idx_in *in);
void    idx_in_close(struct idx_in *in);

/* ---- IDX files ---- */

struct idx {
	int ndim;
	uint32_t dim[IDX_MAXNDIM];
	uint64_t count;         /* dim[0]: items */
	uint64_t width;         /* bytes per item: product of dim[1..] */
	uint8_t *data;          /* (count, width), row-major */
	int compressed;
	char sha256[65];        /* of the file as read */
};

/* Load path ("-" is stdin), at most maxbytes of items. */
int  idx_load(const char *path, uint64_t maxbytes, struct idx *x, fed_err *e);
void idx_free(struct idx *x);

#endif
