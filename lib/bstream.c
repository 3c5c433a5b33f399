/*
 * bstream: one payload streamed into a bundle.  The manifest's member
 * entry differs between the placeholder and the final text only in the
 * 64 hex digits of the hash, so its length, the tar header before it
 * (which holds no checksum of the data) and everything after it are the
 * same: rewriting those bytes in place gives what bundle_write would.
 * Failures here are the system's (exit 2); the caller's own verdicts
 * keep their kind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bstream.h"
#include "manifest.h"

#define TAR_BLOCK 512

/* m's members: the one payload, its hash hex (64 digits). */
static uint8_t *
dump(struct bstream *b, const char *hex, size_t *len)
{
	json_object_set_new(b->m, "members", json_pack("[{s:s,s:I,s:s}]",
	    "name", b->name, "size", (json_int_t)b->size, "sha256", hex));
	return manifest_dump(b->m, len);
}

static int
sys(fed_err *e)
{
	e->kind = FED_ESYSTEM;
	return -1;
}

/* The manifest with a placeholder hash, and the payload's tar header. */
static int
open_direct(struct bstream *b, fed_err *e)
{
	char zero[2 * SHA256_LEN + 1];
	uint8_t *mb;
	int r = -1;

	if ((b->start = lseek(b->o.fd, 0, SEEK_CUR)) < 0)
		return fed_syserrf(e, "seek: %s", strerror(errno));
	memset(zero, '0', sizeof(zero) - 1);
	zero[sizeof(zero) - 1] = '\0';
	mb = dump(b, zero, &b->ml);
	if ((b->w = bundle_writer_open(b->o.fd, e)) != NULL &&
	    bundle_writer_member(b->w, "manifest.json", b->ml, e) == 0 &&
	    bundle_writer_data(b->w, mb, b->ml, e) == 0 &&
	    bundle_writer_member(b->w, b->name, b->size, e) == 0)
		r = 0;
	free(mb);
	return r;
}

int
bstream_open(struct bstream *b, const char *out, json_t *m,
    const char *name, uint64_t size, fed_err *e)
{
	memset(b, 0, sizeof(*b));
	b->spool = -1;
	b->m = m, b->name = name, b->size = size;
	b->h = sha256_new();
	if (out_open(&b->o, out, e) < 0)
		return sys(e);
	b->opened = 1;
	if (b->o.tmp != NULL)
		return open_direct(b, e) < 0 ? sys(e) : 0;
	return (b->spool = out_spool_open(e)) < 0 ? sys(e) : 0;
}

int
bstream_data(struct bstream *b, const void *p, size_t n, fed_err *e)
{
	sha256_update(b->h, p, n);
	b->done += n;
	if ((b->w != NULL ? bundle_writer_data(b->w, p, n, e) :
	    out_write_all(b->spool, p, n, e)) < 0)
		return sys(e);
	return 0;
}

/* The manifest, final, over its placeholder. */
static int
close_direct(struct bstream *b, const char *hex, fed_err *e)
{
	uint8_t *mb;
	size_t ml;
	int r = bundle_writer_close(b->w, e);

	b->w = NULL;
	if (r < 0)
		return -1;
	mb = dump(b, hex, &ml);
	if (ml != b->ml)
		r = fed_syserrf(e, "manifest.json: changed length");
	else if (pwrite(b->o.fd, mb, ml, b->start + TAR_BLOCK) !=
	    (ssize_t)ml)
		r = fed_syserrf(e, "manifest.json: %s", strerror(errno));
	free(mb);
	return r;
}

int
bstream_close(struct bstream *b, fed_err *e)
{
	struct bundle_payload pl = { b->name, NULL, b->spool, b->size, NULL };
	uint8_t md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int r;

	if (b->done != b->size)
		return fed_syserrf(e, "%s: %llu bytes of %llu", b->name,
		    (unsigned long long)b->done, (unsigned long long)b->size);
	sha256_final(b->h, md);
	sha256_free(b->h);
	b->h = NULL;
	hex_encode(hex, md, SHA256_LEN);
	pl.sha256 = hex;
	r = b->w != NULL ? close_direct(b, hex, e) :
	    bundle_write(b->o.fd, b->m, &pl, 1, NULL, e);
	if (r < 0 || out_commit(&b->o, e) < 0)
		return sys(e);
	b->opened = 0;
	bstream_abort(b);
	return 0;
}

void
bstream_abort(struct bstream *b)
{
	bundle_writer_close(b->w, NULL);
	b->w = NULL;
	if (b->opened)
		out_abort(&b->o);
	b->opened = 0;
	if (b->spool >= 0)
		close(b->spool);
	b->spool = -1;
	if (b->h != NULL)
		sha256_free(b->h);
	b->h = NULL;
}
