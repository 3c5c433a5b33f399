/*
 * sha256: SHA-256 through OpenSSL 3's EVP interface, streaming and
 * one-shot.  Keys and signatures are key.h's.
 */
#ifndef FED_SHA256_H
#define FED_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SHA256_LEN 32

struct sha256;
struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *h, const void *p, size_t n);
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *h);
/* One-shot, lower-case hex into out[65]. */
void sha256_hex(const void *p, size_t n, char out[2 * SHA256_LEN + 1]);

#endif
