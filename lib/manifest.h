/*
 * manifest: manifest.json, parsed strictly (duplicate keys rejected, size
 * and depth capped), checked against the schema of fed-bundle(5), and
 * written deterministically.  Which payloads a kind carries and what they
 * must contain is checked in bundle and check; this module knows fields.
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

json_t  *manifest_parse(const uint8_t *buf, size_t n, fed_err *e);
/* The schema: one message naming the first violation. */
int      manifest_check(const json_t *m, fed_err *e);
/* Deterministic bytes: sorted keys, two-space indent, final newline. */
uint8_t *manifest_dump(const json_t *m, size_t *n);
/* "sha256:" + hex of the manifest's bytes, into out[DIGEST_LEN + 1]. */
void     manifest_digest(const uint8_t *bytes, size_t n, char *out);
/* 0 when s is a well-formed digest string. */
int      manifest_digest_valid(const char *s);

/* Typed getters over a checked manifest; NULL/-1 when absent. */
const char *manifest_str(const json_t *m, const char *key);
int64_t     manifest_int(const json_t *m, const char *key);

/* A new manifest with format, kind and the producer (tool, version). */
json_t  *manifest_new(const char *kind, const char *tool);

#endif
