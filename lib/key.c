#define _GNU_SOURCE
/*
 * key: Ed25519 over OpenSSL 3's EVP interface, and PEM key files.
 * Secret keys are written with O_EXCL and mode 0600 so that a key is
 * never replaced and never readable by others, even for a moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "key.h"

/*
 * A key file the operator named.  Keys are the trust the command line
 * sets up, not input under judgement: one that cannot be read, or that
 * is not a key, is the operator's to fix (exit 2), never a rejection.
 */
static uint8_t *
key_file(const char *path, size_t *n, fed_err *e)
{
	uint8_t *buf = read_file(path, KEY_MAXFILE, n, e);

	if (buf == NULL && e->kind == FED_EREJECT)
		e->kind = FED_EUSAGE;
	return buf;
}

static int
key_set_id(struct key *k, fed_err *e)
{
	unsigned char *der = NULL;
	char hex[2 * SHA256_LEN + 1];
	int n = i2d_PUBKEY(k->pkey, &der);

	if (n <= 0)
		return fed_syserrf(e, "cannot encode public key");
	sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	memcpy(k->id, hex, KEYID_HEX);
	k->id[KEYID_HEX] = '\0';
	return 0;
}

static FILE *
fopen_excl(const char *path, mode_t mode, fed_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0 && errno == EEXIST) {
		fed_usagef(e, "%s: already exists", path);
		return NULL;
	}
	if (fd < 0) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int
write_keys(EVP_PKEY *pk, const char *pubpath, const char *secpath,
    const char *pass, fed_err *e)
{
	const EVP_CIPHER *ciph = pass && *pass ? EVP_aes_256_cbc() : NULL;
	FILE *sf, *pf;
	int ok;

	if ((sf = fopen_excl(secpath, 0600, e)) == NULL)
		return -1;
	ok = PEM_write_PKCS8PrivateKey(sf, pk, ciph, NULL, 0, NULL,
	    (void *)(ciph ? pass : NULL)) == 1;
	ok = (fclose(sf) == 0) && ok;
	if (!ok) {
		unlink(secpath);
		return fed_syserrf(e, "%s: cannot write secret key", secpath);
	}
	if ((pf = fopen_excl(pubpath, 0644, e)) == NULL) {
		unlink(secpath);
		return -1;
	}
	ok = PEM_write_PUBKEY(pf, pk) == 1;
	ok = (fclose(pf) == 0) && ok;
	if (!ok) {
		unlink(secpath);
		unlink(pubpath);
		return fed_syserrf(e, "%s: cannot write public key", pubpath);
	}
	return 0;
}

int
key_generate(const char *pubpath, const char *secpath, const char *pass,
    fed_err *e)
{
	EVP_PKEY *pk;
	int r;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		return fed_syserrf(e, "cannot generate an Ed25519 key");
	r = write_keys(pk, pubpath, secpath, pass, e);
	EVP_PKEY_free(pk);
	return r;
}

static int
key_check_type(struct key *k, const char *path, fed_err *e)
{
	if (EVP_PKEY_get_id(k->pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		return fed_usagef(e, "%s: not an Ed25519 key", path);
	}
	return key_set_id(k, e);
}

int
key_load_public(const char *path, struct key *k, fed_err *e)
{
	size_t n;
	uint8_t *buf = key_file(path, &n, e);
	BIO *bio;

	memset(k, 0, sizeof(*k));
	if (buf == NULL)
		return -1;
	bio = BIO_new_mem_buf(buf, (int)n);
	k->pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(buf);
	if (k->pkey == NULL)
		return fed_usagef(e, "%s: not a PEM public key", path);
	return key_check_type(k, path, e);
}

/* OpenSSL's passphrase callback: hand over what the caller gave, or
 * nothing, which makes decryption of an encrypted key fail. */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	size_t n;

	(void)rwflag;
	if (u == NULL)
		return -1;
	n = strlen(u);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, u, n);
	return (int)n;
}

int
key_secret_encrypted(const char *path, fed_err *e)
{
	size_t n;
	uint8_t *buf = key_file(path, &n, e);
	int enc;

	if (buf == NULL)
		return -1;
	enc = memmem(buf, n, "ENCRYPTED PRIVATE KEY", 21) != NULL;
	OPENSSL_cleanse(buf, n);
	free(buf);
	return enc;
}

int
key_load_secret(const char *path, const char *pass, struct key *k,
    fed_err *e)
{
	size_t n;
	uint8_t *buf = key_file(path, &n, e);
	int enc;
	BIO *bio;

	memset(k, 0, sizeof(*k));
	if (buf == NULL)
		return -1;
	enc = memmem(buf, n, "ENCRYPTED PRIVATE KEY", 21) != NULL;
	bio = BIO_new_mem_buf(buf, (int)n);
	k->pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, pass_cb,
	    (void *)pass) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(buf, n);
	free(buf);
	if (k->pkey == NULL && enc && pass == NULL)
		return fed_usagef(e, "%s: key needs a passphrase", path);
	if (k->pkey == NULL && enc)
		return fed_usagef(e, "%s: wrong passphrase", path);
	if (k->pkey == NULL)
		return fed_usagef(e, "%s: not a PEM secret key", path);
	k->secret = 1;
	return key_check_type(k, path, e);
}

int
key_sign(const struct key *k, const uint8_t *msg, size_t n,
    uint8_t sig[SIG_LEN], fed_err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = SIG_LEN;
	int ok;

	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &len, msg, n) == 1 && len == SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : fed_syserrf(e, "signing failed");
}

int
key_verify(const struct key *k, const uint8_t *msg, size_t n,
    const uint8_t sig[SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, SIG_LEN, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void
key_free(struct key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/*
 * A public key carried as text inside a signed bundle (a roster): the
 * bytes are input under judgement, so a bad one is a rejection, and the
 * text must be the canonical PEM OpenSSL writes, so that one key has one
 * spelling and a roster's bytes are deterministic.
 */
int
key_parse_public(const char *pem, struct key *k, fed_err *e)
{
	size_t n = strlen(pem);
	char *canon;
	BIO *bio;

	memset(k, 0, sizeof(*k));
	if (n > KEY_MAXFILE)
		return fed_errf(e, "key text too long");
	bio = BIO_new_mem_buf(pem, (int)n);
	k->pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (k->pkey == NULL || EVP_PKEY_get_id(k->pkey) != EVP_PKEY_ED25519) {
		key_free(k);
		return fed_errf(e, "not an Ed25519 PEM public key");
	}
	if ((canon = key_public_pem(k)) == NULL || strcmp(canon, pem) != 0) {
		free(canon);
		key_free(k);
		return fed_errf(e, "key text is not canonical PEM");
	}
	free(canon);
	return key_set_id(k, e) < 0 ? (key_free(k), -1) : 0;
}

char *
key_public_pem(const struct key *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *s = NULL;
	long n;

	if (bio != NULL && PEM_write_bio_PUBKEY(bio, k->pkey) == 1 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0) {
		s = xmalloc((size_t)n + 1);
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(bio);
	return s;
}
