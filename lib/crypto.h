/*
 * crypto: SHA-256 and Ed25519 through OpenSSL 3's EVP interface, and the
 * PEM key files of DESIGN.md (NAME.pub SPKI, NAME.sec PKCS#8, optionally
 * encrypted with a passphrase).  Asking for a passphrase is cmd/'s job.
 */
#ifndef FED_CRYPTO_H
#define FED_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SHA256_LEN 32
#define SIG_LEN    64
#define KEYID_HEX  16
#define KEY_MAXFILE (64 * 1024)

struct sha256;
struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *h, const void *p, size_t n);
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *h);
/* One-shot, lower-case hex into out[65]. */
void sha256_hex(const void *p, size_t n, char out[2 * SHA256_LEN + 1]);

struct key {
	void *pkey;                 /* EVP_PKEY */
	char id[KEYID_HEX + 1];     /* first 16 hex digits of SHA-256(DER SPKI) */
	int secret;
};

/* Create NAME.pub and NAME.sec; sec exclusively, mode 0600, never
 * replacing a file.  pass NULL or "" leaves the secret key unencrypted. */
int  key_generate(const char *pubpath, const char *secpath, const char *pass,
    fed_err *e);
int  key_load_public(const char *path, struct key *k, fed_err *e);
/* pass may be NULL; an encrypted key then fails with "needs a passphrase". */
int  key_load_secret(const char *path, const char *pass, struct key *k,
    fed_err *e);
/* 1 when the secret key file is passphrase-protected, 0 not, -1 error. */
int  key_secret_encrypted(const char *path, fed_err *e);
int  key_sign(const struct key *k, const uint8_t *msg, size_t n,
    uint8_t sig[SIG_LEN], fed_err *e);
/* 1 valid, 0 not. */
int  key_verify(const struct key *k, const uint8_t *msg, size_t n,
    const uint8_t sig[SIG_LEN]);
void key_free(struct key *k);

#endif
