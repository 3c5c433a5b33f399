/*
 * key: Ed25519 through OpenSSL 3's EVP interface, and the
 * PEM key files of DESIGN.md (NAME.pub SPKI, NAME.sec PKCS#8, optionally
 * encrypted with a passphrase).  Asking for a passphrase is cmd/'s job.
 * A key file that cannot be read, or is not such a key, or a passphrase
 * that does not open it, is the operator's to fix: FED_EUSAGE or
 * FED_ESYSTEM (exit 2), never a rejection.
 */
#ifndef FED_KEY_H
#define FED_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"
#include "util.h"

#define SIG_LEN    64
#define KEYID_HEX  16
#define KEY_MAXFILE (64 * 1024)

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
/* A key from PEM text found inside a bundle: canonical SPKI PEM of an
 * Ed25519 key, or a rejection (FED_EREJECT). */
int  key_parse_public(const char *pem, struct key *k, fed_err *e);
/* The canonical SPKI PEM text of k: a new string, or NULL. */
char *key_public_pem(const struct key *k);

#endif
