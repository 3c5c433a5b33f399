/*
 * st: the safetensors format, read strictly and written deterministically.
 * A file is an 8-byte little-endian header length N, N bytes of JSON
 * header (padded with spaces to a multiple of 8), then the data section.
 * Reading checks everything DESIGN.md asks: a capped header, known dtypes,
 * shapes whose sizes match the offsets, offsets that tile the data section
 * exactly, no duplicate names, and finite floating-point values.
 * Validation can run over a stream (st_check_*) so that huge members never
 * need to sit in memory; st_parse is the same check over a buffer.
 * What the tensors mean (which names an architecture needs) is model's.
 */
#ifndef FED_ST_H
#define FED_ST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

#define ST_MAXHEADER  (1u << 20)   /* bytes of JSON header */
#define ST_MAXTENSORS 4096
#define ST_MAXNDIM    4
#define ST_MAXNAME    160   /* an imported name (ARCH_MAXNAME) and a prefix */

enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_I8, ST_U8, ST_I32, ST_I64 };

struct st_tensor {
	char name[ST_MAXNAME];
	enum st_dtype dtype;
	int ndim;
	int64_t shape[ST_MAXNDIM];
	uint64_t begin, end;        /* byte offsets into the data section */
	const void *data;           /* set by st_parse; NULL when streaming */
};

struct st_file {
	int n;
	struct st_tensor *t;        /* in header order, n entries */
	uint64_t data_start;        /* 8 + N: where the data section begins */
	json_t *meta;               /* __metadata__, or NULL */
};

/* Streaming validation of a member of known total size. */
struct st_check;
struct st_check *st_check_new(uint64_t size);
int  st_check_feed(struct st_check *c, const uint8_t *p, size_t n, fed_err *e);
/* Call once every byte is fed; checks nothing is missing. */
int  st_check_end(struct st_check *c, fed_err *e);
/* The parsed header, once st_check_end succeeded (owned by c). */
const struct st_file *st_check_file(const struct st_check *c);
void st_check_free(struct st_check *c);

/* The same checks over a whole buffer; tensors' data point into buf. */
int  st_parse(const uint8_t *buf, size_t len, struct st_file *f, fed_err *e);
void st_file_free(struct st_file *f);
const struct st_tensor *st_find(const struct st_file *f, const char *name);
uint64_t st_elements(const struct st_tensor *t);
size_t   st_dtype_size(enum st_dtype d);
const char *st_dtype_name(enum st_dtype d);

/* Writing: the header for tensors whose data follow in the given order,
 * packed with no gaps.  Returns a new buffer of 8 + N bytes. */
struct st_spec {
	const char *name;
	enum st_dtype dtype;
	int ndim;
	int64_t shape[ST_MAXNDIM];
	const void *data;           /* used by st_write only */
};
uint8_t *st_header(const struct st_spec *s, int n, size_t *len, fed_err *e);
/* The same with __metadata__ meta (an object, or NULL) first. */
uint8_t *st_header_meta(const struct st_spec *s, int n, const json_t *meta,
    size_t *len, fed_err *e);
/* Header and data in one new buffer. */
uint8_t *st_write(const struct st_spec *s, int n, size_t *len, fed_err *e);

#endif
