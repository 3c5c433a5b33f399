/*
 * idx: the input stream (plain or gzip, hashed as read) and the strict
 * IDX reader.  Decompression is libarchive's (raw format, gzip filter), so
 * fed needs no zlib of its own; the hash is taken in the read callback, on
 * the bytes exactly as they came from the file.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "idx.h"

#define IN_BUFSZ (1u << 20)

struct idx_in {
	int fd;
	char *name;
	struct archive *a;
	struct sha256 *h;
	uint8_t *buf;           /* raw bytes, IN_BUFSZ */
	int started;            /* header read, data may follow */
	int ended;              /* all data delivered */
	int compressed;
	uint64_t raw;           /* bytes read from the file */
	int rderr;              /* errno of a failed read */
};

static la_ssize_t
in_read_cb(struct archive *a, void *cd, const void **p)
{
	struct idx_in *in = cd;
	ssize_t r;

	do
		r = read(in->fd, in->buf, IN_BUFSZ);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		in->rderr = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	if (r > 0)
		sha256_update(in->h, in->buf, (size_t)r);
	in->raw += (uint64_t)r;
	*p = in->buf;
	return r;
}

/* The reader's error: a failed read is the system's, anything else
 * (a corrupt gzip stream) is the input's. */
static int
in_err(struct idx_in *in, fed_err *e)
{
	const char *s = archive_error_string(in->a);

	if (in->rderr)
		return fed_syserrf(e, "%s: %s", in->name, strerror(in->rderr));
	return fed_errf(e, "%s: %s", in->name, s != NULL ? s : "read error");
}

struct idx_in *
idx_in_open(const char *path, fed_err *e)
{
	struct idx_in *in;
	int fd = 0;

	if (strcmp(path, "-") != 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		return NULL;
	}
	in = xcalloc(1, sizeof(*in));
	in->fd = fd;
	in->name = xstrdup(display_name(path));
	in->buf = xmalloc(IN_BUFSZ);
	in->h = sha256_new();
	in->a = archive_read_new();
	if (in->a == NULL || in->h == NULL)
		goto fail;
	if (archive_read_support_filter_gzip(in->a) != ARCHIVE_OK ||
	    archive_read_support_format_raw(in->a) != ARCHIVE_OK ||
	    archive_read_open2(in->a, in, NULL, in_read_cb, NULL, NULL) !=
	    ARCHIVE_OK) {
		if (in->raw == 0 && !in->rderr) {   /* empty file */
			in->started = in->ended = 1;
			return in;
		}
		in_err(in, e);
		idx_in_close(in);
		return NULL;
	}
	return in;
fail:
	fed_syserrf(e, "%s: cannot set up the reader", in->name);
	idx_in_close(in);
	return NULL;
}

static int
in_start(struct idx_in *in, fed_err *e)
{
	struct archive_entry *ent;
	int r;

	in->started = 1;
	r = archive_read_next_header(in->a, &ent);
	if (r == ARCHIVE_EOF || (r != ARCHIVE_OK && in->raw == 0 &&
	    !in->rderr)) {
		/* an empty file: no bytes to tell a format by */
		in->ended = 1;
		return 0;
	}
	if (r != ARCHIVE_OK)
		return in_err(in, e);
	in->compressed = archive_filter_code(in->a, 0) == ARCHIVE_FILTER_GZIP;
	return 0;
}

ssize_t
idx_in_read(struct idx_in *in, void *buf, size_t n, fed_err *e)
{
	la_ssize_t r;

	if (!in->started && in_start(in, e) < 0)
		return -1;
	if (in->ended || n == 0)
		return 0;
	r = archive_read_data(in->a, buf, n);
	if (r < 0)
		return in_err(in, e);
	if (r == 0)
		in->ended = 1;
	return r;
}

int
idx_in_full(struct idx_in *in, void *buf, size_t n, const char *what,
    fed_err *e)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = idx_in_read(in, (uint8_t *)buf + got, n - got, e);
		if (r < 0)
			return -1;
		if (r == 0)
			return fed_errf(e, "%s: truncated %s (%zu of %zu bytes)",
			    in->name, what, got, n);
		got += (size_t)r;
	}
	return 0;
}

int
idx_in_finish(struct idx_in *in, char hex[65], fed_err *e)
{
	uint8_t md[SHA256_LEN];
	ssize_t r;

	for (;;) {
		r = read(in->fd, in->buf, IN_BUFSZ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fed_syserrf(e, "%s: %s", in->name,
			    strerror(errno));
		if (r == 0)
			break;
		sha256_update(in->h, in->buf, (size_t)r);
	}
	sha256_final(in->h, md);
	hex_encode(hex, md, SHA256_LEN);
	return 0;
}

int
idx_in_compressed(const struct idx_in *in)
{
	return in->compressed;
}

const char *
idx_in_name(const struct idx_in *in)
{
	return in->name;
}

void
idx_in_close(struct idx_in *in)
{
	if (in == NULL)
		return;
	if (in->a != NULL)
		archive_read_free(in->a);
	if (in->h != NULL)
		sha256_free(in->h);
	if (in->fd > 0)
		close(in->fd);
	free(in->buf);
	free(in->name);
	free(in);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Magic and dimensions, checked and capped before any allocation. */
static int
idx_header(struct idx_in *in, uint64_t maxbytes, struct idx *x, fed_err *e)
{
	uint8_t h[4 + 4 * IDX_MAXNDIM];
	int i;

	if (idx_in_full(in, h, 4, "header", e) < 0)
		return -1;
	if (h[0] != 0 || h[1] != 0)
		return fed_errf(e, "%s: not an IDX file (bad magic)", in->name);
	if (h[2] != IDX_TYPE_U8)
		return fed_errf(e, "%s: IDX type 0x%02x not supported "
		    "(only unsigned bytes, 0x08)", in->name, h[2]);
	if (h[3] < 1 || h[3] > IDX_MAXNDIM)
		return fed_errf(e, "%s: IDX with %d dimensions (1 to %d "
		    "supported)", in->name, h[3], IDX_MAXNDIM);
	x->ndim = h[3];
	if (idx_in_full(in, h + 4, 4 * (size_t)x->ndim, "header", e) < 0)
		return -1;
	x->width = 1;
	for (i = 0; i < x->ndim; i++) {
		x->dim[i] = be32(h + 4 + 4 * i);
		if (x->dim[i] == 0)
			return fed_errf(e, "%s: dimension %d is zero",
			    in->name, i);
		if (i > 0)
			x->width *= x->dim[i];
		if (x->width > IDX_MAXWIDTH)
			return fed_errf(e, "%s: items larger than %llu bytes",
			    in->name, (unsigned long long)IDX_MAXWIDTH);
	}
	x->count = x->dim[0];
	if (x->count * x->width > maxbytes)
		return fed_errf(e, "%s: larger than %llu bytes", in->name,
		    (unsigned long long)maxbytes);
	return 0;
}

int
idx_load(const char *path, uint64_t maxbytes, struct idx *x, fed_err *e)
{
	struct idx_in *in;
	uint8_t extra;
	ssize_t r;

	memset(x, 0, sizeof(*x));
	if ((in = idx_in_open(path, e)) == NULL)
		return -1;
	if (idx_header(in, maxbytes, x, e) < 0)
		goto fail;
	x->data = xmalloc(x->count * x->width);
	if (idx_in_full(in, x->data, x->count * x->width, "items", e) < 0)
		goto fail;
	if ((r = idx_in_read(in, &extra, 1, e)) < 0)
		goto fail;
	if (r > 0) {
		fed_errf(e, "%s: trailing bytes after %llu items", in->name,
		    (unsigned long long)x->count);
		goto fail;
	}
	x->compressed = in->compressed;
	if (idx_in_finish(in, x->sha256, e) < 0)
		goto fail;
	idx_in_close(in);
	return 0;
fail:
	idx_in_close(in);
	idx_free(x);
	return -1;
}

void
idx_free(struct idx *x)
{
	free(x->data);
	x->data = NULL;
}
