/*
 * sha256: SHA-256 over OpenSSL 3's EVP interface.  A digest that cannot
 * be initialised is a broken library, not a verdict: it exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sha256.h"

struct sha256 {
	EVP_MD_CTX *ctx;
};

struct sha256 *
sha256_new(void)
{
	struct sha256 *h = xmalloc(sizeof(*h));

	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		fputs("fed: cannot initialise SHA-256\n", stderr);
		_exit(2);
	}
	return h;
}

void
sha256_update(struct sha256 *h, const void *p, size_t n)
{
	if (n > 0)
		EVP_DigestUpdate(h->ctx, p, n);
}

void
sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
	unsigned int len = SHA256_LEN;

	EVP_DigestFinal_ex(h->ctx, out, &len);
}

void
sha256_free(struct sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void
sha256_hex(const void *p, size_t n, char out[2 * SHA256_LEN + 1])
{
	uint8_t md[SHA256_LEN];
	struct sha256 *h = sha256_new();

	sha256_update(h, p, n);
	sha256_final(h, md);
	sha256_free(h);
	hex_encode(out, md, SHA256_LEN);
}
