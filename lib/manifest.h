/*
 * manifest: manifest.json, parsed strictly (duplicate keys rejected, size
 * and depth capped), checked against the schema of fed-bundle(5), and
 * written deterministically.  Which payloads exist, how many a bundle may
 * carry and how large they may be are the container's rules, handed in by
 * bundle (struct manifest_rules); what the payloads must contain is
 * verify's business.  This module knows fields.
 *
 * A manifest is parsed and checked once, at the edge, into struct
 * manifest; the rest of the program reads that.  The json_t stays inside
 * for the few fields that only one reader needs (a merge record, privacy
 * accounting, encoding parameters, a contributor).
 */
#ifndef FED_MANIFEST_H
#define FED_MANIFEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MANIFEST_MAX      (1u << 20)
#define MANIFEST_MAXDEPTH 32
#define MANIFEST_FORMAT   "fed-bundle/1"
#define DIGEST_LEN        (7 + 64)    /* "sha256:" + hex */

/* A report's tables (fed-bundle(5), Reports): data sets, classes, and
 * the largest loss or bits per byte it may state. */
#define MANIFEST_MAXDATA    256
#define MANIFEST_MAXCLASSES 4096
#define MANIFEST_MAXFIGURE  1e9

/* What the container allows in "members"; given by its owner. */
struct manifest_rules {
	int maxmembers;
	uint64_t maxsize;                   /* of one member, in bytes */
	int (*allowed)(const char *name);   /* a payload name it accepts */
};

/* A payload as the manifest lists it; strings point into the json. */
struct manifest_member {
	const char *name;
	uint64_t size;
	const char *sha256;                 /* 64 lower-case hex digits */
};

/* A checked manifest.  Strings point into json and live as long as it. */
struct manifest {
	json_t *json;               /* the whole object, owned */
	const char *format;         /* MANIFEST_FORMAT */
	const char *kind;           /* "model", "update", "data", "roster"
	                             * or "report" */
	const char *arch;           /* architecture string; NULL for data */
	const char *parent;         /* digest, or NULL when none */
	const char *base;           /* an adapter's frozen base model's
	                             * digest, or NULL when none */
	int64_t round;              /* -1 when absent (data) */
	int64_t samples;            /* -1 when absent */
	int64_t steps;              /* -1 when absent */
	const char *modality;       /* NULL, or "text" for a text data set */
	int64_t features, classes;  /* -1 when absent */
	int64_t documents;          /* -1 when absent */
	const char *producer;       /* producer.tool, or NULL */
	int encoded;                /* it has an "encoding" object */
	int gradient;               /* "gradient": 1 true (an upload), 2 a
	                             * digest (its expansion), 0 absent */
	int64_t moments_step;       /* moments.step; -1 when there is no
	                             * moments object, 0 when it is malformed
	                             * (moments_step() says how) */
	struct manifest_member *members;
	int nmembers;
};

json_t  *manifest_parse(const uint8_t *buf, size_t n, fed_err *e);
/* The schema: one message naming the first violation. */
int      manifest_check(const json_t *m, const struct manifest_rules *r,
    fed_err *e);
/* Parse, check and read buf into *m, once; m->json owned by m. */
int      manifest_load(struct manifest *m, const uint8_t *buf, size_t n,
    const struct manifest_rules *r, fed_err *e);
void     manifest_free(struct manifest *m);
/* Deterministic bytes: sorted keys, two-space indent, final newline. */
uint8_t *manifest_dump(const json_t *m, size_t *n);
/* "sha256:" + hex of the manifest's bytes, into out[DIGEST_LEN + 1]. */
void     manifest_digest(const uint8_t *bytes, size_t n, char *out);
/* 0 when s is a well-formed digest string. */
int      manifest_digest_valid(const char *s);

/* Typed getters over a checked manifest; NULL/-1 when absent. */
const char *manifest_str(const json_t *m, const char *key);
int64_t     manifest_int(const json_t *m, const char *key);
/* moments.step: -1 without a moments object, 0 when it is malformed. */
int64_t     manifest_moments_step(const json_t *m);

/* A new manifest with format, kind and the producer (tool, version). */
json_t  *manifest_new(const char *kind, const char *tool);

#endif
