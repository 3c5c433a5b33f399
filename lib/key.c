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
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "key.h"

#define KEY_SCRYPT_N (1u << 14)
#define KEY_SCRYPT_R 8
#define KEY_SCRYPT_P 5

/*
 * The encodings of the eight points of the Ed25519 torsion subgroup, sign
 * bit cleared: y = 0, 1, -1 and the two y of the points of order 8.  A
 * public key among them lets one fixed signature (R the identity, S = 0
 * for the identity key) verify every message.
 */
static const uint8_t small_order_y[][32] = {
	{ 0 },
	{ 1 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
	  0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
	  0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
	{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
	  0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
	  0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
};

/* y >= p = 2^255 - 19, little-endian, sign bit already cleared. */
static int
y_noncanonical(const uint8_t y[32])
{
	int i;

	if (y[31] != 0x7f || y[0] < 0xed)
		return 0;
	for (i = 1; i < 31; i++)
		if (y[i] != 0xff)
			return 0;
	return 1;
}

/* A public key that is a point of small order, or not the one canonical
 * encoding of its point, is refused: the operator's roster is wrong. */
static int
key_check_point(const struct key *k, const char *path, fed_err *e)
{
	uint8_t raw[32], y[32];
	size_t n = sizeof(raw), i;

	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1 || n != 32)
		return fed_usagef(e, "%s: cannot read the public key", path);
	memcpy(y, raw, sizeof(y));
	y[31] &= 0x7f;
	if (y_noncanonical(y))
		return fed_usagef(e, "%s: public key is not canonically "
		    "encoded", path);
	for (i = 0; i < sizeof(small_order_y) / sizeof(small_order_y[0]); i++)
		if (memcmp(y, small_order_y[i], 32) == 0)
			return fed_usagef(e, "%s: public key is a point of "
			    "small order", path);
	return 0;
}

/* Open a key file without blocking on a FIFO or a device, and refuse
 * anything but a regular file; a secret key must be the owner's alone,
 * as ssh insists. */
static int
key_open(const char *path, int secret, fed_err *e)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat sb;

	if (fd < 0)
		return fed_syserrf(e, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(sb.st_mode) || !S_ISREG(sb.st_mode)) {
		fed_usagef(e, "%s: %s", path, S_ISDIR(sb.st_mode) ?
		    "is a directory" : "not a regular file");
		close(fd);
		return -1;
	}
	if (secret && (sb.st_mode & 077) != 0) {
		fed_usagef(e, "permissions %04o for '%s' are too open",
		    (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A key file the operator named.  Keys are the trust the command line
 * sets up, not input under judgement: one that cannot be read, or that
 * is not a key, is the operator's to fix (exit 2), never a rejection.
 */
static uint8_t *
key_file(const char *path, int secret, size_t *n, fed_err *e)
{
	int fd = key_open(path, secret, e);
	uint8_t *buf;

	if (fd < 0)
		return NULL;
	buf = fed_read_fd(fd, path, KEY_MAXFILE, n, e);
	close(fd);
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

/*
 * The secret key as PKCS#8, encrypted when there is a passphrase: PBES2
 * with scrypt (N = 2^14, r = 8, p = 5: OWASP's equivalent of N = 2^17 at
 * 16 MiB, inside the 32 MiB OpenSSL allows by default, so that `openssl
 * pkey` still opens it) and AES-256-CBC.  OpenSSL's own default would be
 * PBKDF2 at 2048 iterations, cheap to guess at.
 */
static int
write_secret(FILE *f, EVP_PKEY *pk, const char *pass)
{
	PKCS8_PRIV_KEY_INFO *p8;
	X509_ALGOR *alg;
	X509_SIG *enc = NULL;
	int ok;

	if (pass == NULL || *pass == '\0')
		return PEM_write_PKCS8PrivateKey(f, pk, NULL, NULL, 0, NULL,
		    NULL) == 1;
	if ((p8 = EVP_PKEY2PKCS8(pk)) == NULL)
		return 0;
	alg = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 16, NULL,
	    KEY_SCRYPT_N, KEY_SCRYPT_R, KEY_SCRYPT_P);
	if (alg != NULL && (enc = PKCS8_set0_pbe(pass, (int)strlen(pass), p8,
	    alg)) == NULL)
		X509_ALGOR_free(alg);
	ok = enc != NULL && PEM_write_PKCS8(f, enc) == 1;
	X509_SIG_free(enc);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return ok;
}

static int
write_keys(EVP_PKEY *pk, const char *pubpath, const char *secpath,
    const char *pass, fed_err *e)
{
	FILE *sf, *pf;
	int ok;

	if ((sf = fopen_excl(secpath, 0600, e)) == NULL)
		return -1;
	ok = write_secret(sf, pk, pass);
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
	uint8_t *buf = key_file(path, 0, &n, e);
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
	if (key_check_type(k, path, e) < 0)
		return -1;
	if (key_check_point(k, path, e) < 0) {
		key_free(k);
		return -1;
	}
	return 0;
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
	uint8_t *buf = key_file(path, 1, &n, e);
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
	uint8_t *buf = key_file(path, 1, &n, e);
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
	if (key_check_point(k, "roster key", e) < 0) {
		e->kind = FED_EREJECT;      /* inside a bundle: a verdict */
		key_free(k);
		return -1;
	}
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
