/*
 * tar: a ustar archive read as a stream.  libarchive parses the headers
 * from our read callback, which keeps the last two blocks of raw input:
 * enough to look at a member's own header and at the bytes after the end
 * marker that libarchive has already taken in.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "tar.h"

/* Two blocks per open reader: fed-merge holds a reader per update. */
#define RD_BLOCK     (256u * 1024)
#define TRAILING_MAX (64u * 1024)

struct tar_reader {
	struct archive *a;
	int fd, spool_fd;
	uint64_t maxsize;
	uint8_t *buf[2];
	size_t len[2];
	uint64_t start[2];              /* input offset of each buffer */
	int cur;
	uint64_t delivered;
	int input_eof;
	char cberr[FED_ERRLEN];         /* why the callback failed */
	int64_t end_of_data;            /* filter position after last data */
	int skim;                       /* TAR_SKIM: skip data by seeking */
};

static ssize_t
read_cb(struct archive *a, void *arg, const void **out)
{
	struct tar_reader *t = arg;
	int b = t->cur ^ 1;
	ssize_t n;
	fed_err e;

	do
		n = read(t->fd, t->buf[b], RD_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(t->cberr, sizeof(t->cberr), "read: %s", strerror(errno));
		archive_set_error(a, errno, "%s", t->cberr);
		return -1;
	}
	if (n > 0 && t->spool_fd >= 0 &&
	    out_write_all(t->spool_fd, t->buf[b], (size_t)n, &e) < 0) {
		snprintf(t->cberr, sizeof(t->cberr), "spool: %.400s", e.msg);
		archive_set_error(a, EIO, "%s", t->cberr);
		return -1;
	}
	if (n == 0)
		t->input_eof = 1;
	t->cur = b;
	t->len[b] = (size_t)n;
	t->start[b] = t->delivered;
	t->delivered += (uint64_t)n;
	*out = t->buf[b];
	return n;
}

static int raw_byte(const struct tar_reader *, uint64_t, uint8_t *);

/* TAR_SKIM: data left unread is skipped by seeking, in a regular file
 * and within it only: past its end it is read, and fails as a full read
 * does. */
static la_int64_t
skip_cb(struct archive *a, void *arg, la_int64_t request)
{
	struct tar_reader *t = arg;
	struct stat sb;
	off_t at;
	la_int64_t n = request;

	(void)a;
	if (!t->skim || fstat(t->fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (at = lseek(t->fd, 0, SEEK_CUR)) < 0 || at > sb.st_size)
		return 0;
	if (n > sb.st_size - at)
		n = sb.st_size - at;
	if (n <= 0 || lseek(t->fd, (off_t)n, SEEK_CUR) < 0)
		return 0;
	t->delivered += (uint64_t)n;
	return n;
}

/* The compressor whose magic opens the input, if one does. */
static const char *
compressed(const struct tar_reader *t, const char **undo)
{
	static const struct {
		const char *name, *undo;
		uint8_t magic[6];
		int n;
	} z[] = {
		{ "gzip", "gzip -d", { 0x1f, 0x8b }, 2 },
		{ "zstd", "zstd -d", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
		{ "xz", "xz -d", { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6 },
		{ "bzip2", "bzip2 -d", { 'B', 'Z', 'h' }, 3 },
	};
	size_t i;
	uint8_t c;
	int j;

	for (i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		for (j = 0; j < z[i].n; j++)
			if (raw_byte(t, (uint64_t)j, &c) < 0 ||
			    c != z[i].magic[j])
				break;
		if (j == z[i].n) {
			*undo = z[i].undo;
			return z[i].name;
		}
	}
	return NULL;
}

/* A failure inside libarchive: our callback's (the system's) when it had
 * one, else the archive is not valid; before the first member, say so
 * plainly when the input is empty or compressed. */
static int
arc_err(struct tar_reader *t, fed_err *e)
{
	const char *s = archive_error_string(t->a), *z, *undo;
	struct stat st;

	if (t->cberr[0])
		return fed_syserrf(e, "%s", t->cberr);
	if (archive_file_count(t->a) == 0 && t->delivered == 0)
		return fed_errf(e, "empty input%s", fstat(t->fd, &st) == 0 &&
		    !S_ISREG(st.st_mode) ? " (did the command before it "
		    "fail?)" : "");
	if (archive_file_count(t->a) == 0 && (z = compressed(t, &undo)))
		return fed_errf(e, "not a bundle: %s-compressed data "
		    "(decompress it first: %s)", z, undo);
	return fed_errf(e, "not a valid bundle: %s", s ? s : "unreadable tar");
}

struct tar_reader *
tar_open(int fd, int spool_fd, uint64_t maxsize, fed_err *e)
{
	struct tar_reader *t = xcalloc(1, sizeof(*t));

	t->fd = fd;
	t->skim = spool_fd == TAR_SKIM;
	t->spool_fd = t->skim ? -1 : spool_fd;
	t->maxsize = maxsize;
	t->end_of_data = -1;
	t->buf[0] = xmalloc(RD_BLOCK);
	t->buf[1] = xmalloc(RD_BLOCK);
	t->a = archive_read_new();
	archive_read_support_format_tar(t->a);
	archive_read_set_skip_callback(t->a, skip_cb);
	if (archive_read_open(t->a, t, NULL, read_cb, NULL) != ARCHIVE_OK) {
		arc_err(t, e);
		tar_close(t);
		return NULL;
	}
	return t;
}

void
tar_close(struct tar_reader *t)
{
	if (t == NULL)
		return;
	archive_read_free(t->a);
	free(t->buf[0]);
	free(t->buf[1]);
	free(t);
}

int
tar_skims(const struct tar_reader *t)
{
	return t->skim;
}

uint64_t
tar_bytes(const struct tar_reader *t)
{
	return t->delivered;
}

/* The raw input byte at offset off, if still in our buffers. */
static int
raw_byte(const struct tar_reader *t, uint64_t off, uint8_t *c)
{
	int b;

	for (b = 0; b < 2; b++)
		if (off >= t->start[b] && off < t->start[b] + t->len[b]) {
			*c = t->buf[b][off - t->start[b]];
			return 0;
		}
	return -1;
}

/*
 * POSIX ustar says "ustar\0" then version "00" at offset 257.  GNU tar
 * writes "ustar  \0" and its own extensions; a v7 header has no magic at
 * all.  libarchive reads all three, fed-bundle(5) promises ustar only.
 */
static int
check_magic(const struct tar_reader *t, uint64_t h, const char *p, fed_err *e)
{
	static const uint8_t want[8] = { 'u', 's', 't', 'a', 'r', 0, '0', '0' };
	uint8_t c;
	int i;

	for (i = 0; i < 8; i++) {
		if (raw_byte(t, h + 257 + (uint64_t)i, &c) < 0)
			return fed_errf(e, "member %.64s: cannot check its "
			    "header", p);
		if (c != want[i] && i == 5 && c == ' ')
			return fed_errf(e, "member %.64s: GNU tar header, not "
			    "POSIX ustar", p);
		if (c != want[i])
			return fed_errf(e, "member %.64s: no ustar magic (a v7 "
			    "or unknown tar header)", p);
	}
	return 0;
}

/*
 * libarchive folds pax, GNU and old-style headers into one entry and does
 * not say which it saw.  fed-bundle/1 values always fit ustar, so a
 * member's own header must be a plain regular file: typeflag '0' or NUL.
 * That also shuts out GNU sparse members with an empty map, which other
 * tar programs would extract differently from what was hashed here.
 */
static int
check_typeflag(const struct tar_reader *t, const char *p, fed_err *e)
{
	la_int64_t h = archive_read_header_position(t->a);
	uint8_t c;

	if (h < 0 || raw_byte(t, (uint64_t)h + 156, &c) < 0)
		return fed_errf(e, "member %.64s: cannot check its header", p);
	if (c != '0' && c != '\0')
		return fed_errf(e, "member %.64s: tar type '%c' is not a plain "
		    "ustar file", p, c >= 32 && c < 127 ? c : '?');
	return check_magic(t, (uint64_t)h, p, e);
}

static int
check_entry(struct tar_reader *t, struct archive_entry *ae, fed_err *e)
{
	const char *p = archive_entry_pathname(ae);

	if (p == NULL)
		return fed_errf(e, "member without a name");
	if (p[0] == '/' || strstr(p, "..") != NULL)
		return fed_errf(e, "member %.64s: absolute or .. path", p);
	if (archive_entry_hardlink(ae) != NULL ||
	    archive_entry_symlink(ae) != NULL)
		return fed_errf(e, "member %.64s: links are not allowed", p);
	if (archive_entry_filetype(ae) != AE_IFREG)
		return fed_errf(e, "member %.64s: not a regular file", p);
	if (archive_entry_sparse_count(ae) > 0)
		return fed_errf(e, "member %.64s: sparse files are not allowed",
		    p);
	if (!archive_entry_size_is_set(ae) || archive_entry_size(ae) < 0 ||
	    (uint64_t)archive_entry_size(ae) > t->maxsize)
		return fed_errf(e, "member %.64s: size missing or over %llu",
		    p, (unsigned long long)t->maxsize);
	return check_typeflag(t, p, e);
}

int
tar_next(struct tar_reader *t, const char **name, uint64_t *size,
    fed_err *e)
{
	struct archive_entry *ae;
	int s = archive_read_next_header(t->a, &ae);

	if (s == ARCHIVE_EOF)
		return 0;
	if (s != ARCHIVE_OK)
		return arc_err(t, e);
	if (check_entry(t, ae, e) < 0)
		return -1;
	*name = archive_entry_pathname(ae);
	*size = (uint64_t)archive_entry_size(ae);
	return 1;
}

int
tar_read_all(struct tar_reader *t, void *dst, size_t n, fed_err *e)
{
	uint8_t *d = dst;
	size_t got = 0;
	la_ssize_t k;

	while (got < n) {
		k = archive_read_data(t->a, d + got, n - got);
		if (k < 0)
			return arc_err(t, e);
		if (k == 0)
			return fed_errf(e, "truncated member");
		got += (size_t)k;
	}
	/* reach the member's end so libarchive consumes it and its padding */
	if ((k = archive_read_data(t->a, d, 1)) != 0)
		return k < 0 ? arc_err(t, e) : fed_errf(e, "member too long");
	t->end_of_data = archive_filter_bytes(t->a, 0);
	return 0;
}

int
tar_read_block(struct tar_reader *t, const void **p, size_t *n,
    uint64_t *off, fed_err *e)
{
	la_int64_t o;
	int s = archive_read_data_block(t->a, p, n, &o);

	if (s == ARCHIVE_EOF) {
		t->end_of_data = archive_filter_bytes(t->a, 0);
		return 0;
	}
	if (s != ARCHIVE_OK)
		return arc_err(t, e);
	*off = (uint64_t)o;
	return 1;
}

/* Is the input from at to what libarchive holds all zero? */
static int
zero_held(const struct tar_reader *t, uint64_t at)
{
	const uint8_t *p;
	int b, k;

	for (k = 0; k < 2 && at < t->delivered; k++) {
		b = k == 0 ? t->cur ^ 1 : t->cur;
		if (at < t->start[b] || at >= t->start[b] + t->len[b])
			continue;
		for (p = t->buf[b] + (at - t->start[b]);
		    p < t->buf[b] + t->len[b]; p++, at++)
			if (*p)
				return 0;
	}
	return at >= t->delivered;
}

/* Bytes [from, delivered) already handed to libarchive must be zero; they
 * lie in our last two buffers.  Then read the input to its end. */
static int
check_trailing(struct tar_reader *t, uint64_t from, fed_err *e)
{
	const void *v;
	const uint8_t *p;
	size_t i;

	if (!zero_held(t, from))
		return fed_errf(e, "data after the end of the archive");
	while (!t->input_eof) {
		if (t->delivered - from > TRAILING_MAX)
			return fed_errf(e, "more than %u bytes after the end "
			    "of the archive", TRAILING_MAX);
		if (read_cb(t->a, t, &v) < 0)
			return fed_syserrf(e, "%s", t->cberr);
		for (p = v, i = 0; i < t->len[t->cur]; i++)
			if (p[i])
				return fed_errf(e, "data after the end of the "
				    "archive");
	}
	if ((t->delivered - from) % 512 != 0)
		return fed_errf(e, "archive does not end on a 512-byte block");
	return 0;
}

int
tar_end(struct tar_reader *t, fed_err *e)
{
	int64_t marker = (t->end_of_data + 511) / 512 * 512;
	int64_t pos = archive_filter_bytes(t->a, 0);

	if (pos - marker < 1024)
		return fed_errf(e, "archive lacks its end-of-archive marker");
	return check_trailing(t, (uint64_t)pos, e);
}
