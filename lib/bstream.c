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
#define BLOCKS(n) (((n) + TAR_BLOCK - 1) / TAR_BLOCK)

/* m's members: the one payload, its hash hex (64 digits). */
static uint8_t *
dump(json_t *m, const char *name, uint64_t size, const char *hex,
    size_t *len)
{
	char zero[2 * SHA256_LEN + 1];

	if (hex == NULL) {      /* the placeholder */
		memset(zero, '0', sizeof(zero) - 1);
		zero[sizeof(zero) - 1] = '\0';
		hex = zero;
	}
	json_object_set_new(m, "members", json_pack("[{s:s,s:I,s:s}]",
	    "name", name, "size", (json_int_t)size, "sha256", hex));
	return manifest_dump(m, len);
}

static int
sys(fed_err *e)
{
	e->kind = FED_ESYSTEM;
	return -1;
}

struct bundle_writer *
bstream_direct(int fd, json_t *m, const char *name, uint64_t size,
    off_t *start, size_t *ml, fed_err *e)
{
	struct bundle_writer *w;
	uint8_t *mb;

	if ((*start = lseek(fd, 0, SEEK_CUR)) < 0) {
		fed_syserrf(e, "seek: %s", strerror(errno));
		return NULL;
	}
	mb = dump(m, name, size, NULL, ml);
	if ((w = bundle_writer_open(fd, e)) != NULL &&
	    (bundle_writer_member(w, "manifest.json", *ml, e) < 0 ||
	    bundle_writer_data(w, mb, *ml, e) < 0 ||
	    bundle_writer_member(w, name, size, e) < 0)) {
		bundle_writer_close(w, NULL);
		w = NULL;
	}
	free(mb);
	return w;
}

int
bstream_direct_fits(json_t *m, const char *name, uint64_t size, size_t ml)
{
	size_t n;

	free(dump(m, name, size, NULL, &n));
	return BLOCKS(n) == BLOCKS(ml);
}

/* The manifest's ustar header at start with its size field and checksum
 * set for ml bytes, as libarchive writes them: 11 octal digits and a
 * space; 6 octal digits, a NUL and a space. */
static int
resize(int fd, off_t start, size_t ml, fed_err *e)
{
	uint8_t h[TAR_BLOCK];
	unsigned sum = 0;
	int i;

	if (pread(fd, h, TAR_BLOCK, start) != TAR_BLOCK)
		return fed_syserrf(e, "manifest.json: %s", strerror(errno));
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)ml);
	h[135] = ' ';
	memset(h + 148, ' ', 8);
	for (i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 7, "%06o", sum);
	if (pwrite(fd, h, TAR_BLOCK, start) != TAR_BLOCK)
		return fed_syserrf(e, "manifest.json: %s", strerror(errno));
	return 0;
}

int
bstream_direct_end(struct bundle_writer *w, int fd, json_t *m,
    const char *name, uint64_t size, off_t start, size_t ml0,
    const char *hex, char *digest, fed_err *e)
{
	uint8_t *mb, *pad;
	size_t ml;
	int r = bundle_writer_close(w, e);

	if (r < 0)
		return -1;
	mb = dump(m, name, size, hex, &ml);
	pad = xcalloc(BLOCKS(ml), TAR_BLOCK);
	memcpy(pad, mb, ml);
	if (BLOCKS(ml) != BLOCKS(ml0))
		r = fed_syserrf(e, "manifest.json: changed length");
	else if (ml != ml0 && resize(fd, start, ml, e) < 0)
		r = -1;
	else if (pwrite(fd, pad, BLOCKS(ml) * TAR_BLOCK, start + TAR_BLOCK) !=
	    (ssize_t)(BLOCKS(ml) * TAR_BLOCK))
		r = fed_syserrf(e, "manifest.json: %s", strerror(errno));
	if (r == 0 && digest != NULL)
		manifest_digest(mb, ml, digest);
	free(pad);
	free(mb);
	return r;
}

static int
to_writer(void *w, const void *p, size_t n, fed_err *e)
{
	return bundle_writer_data(w, p, n, e);
}

static int
to_spool(void *fd, const void *p, size_t n, fed_err *e)
{
	return out_write_all(*(int *)fd, p, n, e);
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
	if (b->o.tmp != NULL) {
		if ((b->w = bstream_direct(b->o.fd, m, name, size,
		    &b->start, &b->ml, e)) == NULL)
			return sys(e);
		b->ring = ring_start(b->h, to_writer, b->w);
	} else {
		if ((b->spool = out_spool_open(e)) < 0)
			return sys(e);
		b->ring = ring_start(b->h, to_spool, &b->spool);
	}
	return 0;
}

int
bstream_data(struct bstream *b, const void *p, size_t n, fed_err *e)
{
	b->done += n;
	return ring_put(b->ring, p, n, e) < 0 ? sys(e) : 0;
}

void *
bstream_room(struct bstream *b, size_t *n, fed_err *e)
{
	void *p = ring_room(b->ring, n, e);

	if (p == NULL)
		sys(e);
	return p;
}

void
bstream_made(struct bstream *b, size_t n)
{
	b->done += n;
	ring_made(b->ring, n);
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
	r = ring_end(b->ring, e);
	b->ring = NULL;
	if (r < 0)
		return sys(e);
	sha256_final(b->h, md);
	sha256_free(b->h);
	b->h = NULL;
	hex_encode(hex, md, SHA256_LEN);
	pl.sha256 = hex;
	r = b->w != NULL ? bstream_direct_end(b->w, b->o.fd, b->m, b->name,
	    b->size, b->start, b->ml, hex, NULL, e) :
	    bundle_write(b->o.fd, b->m, &pl, 1, NULL, e);
	b->w = NULL;
	if (r < 0 || out_commit(&b->o, e) < 0)
		return sys(e);
	b->opened = 0;
	bstream_abort(b);
	return 0;
}

void
bstream_abort(struct bstream *b)
{
	ring_end(b->ring, NULL);
	b->ring = NULL;
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
