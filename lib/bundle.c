/*
 * bundle: the tar layer.  Reading streams the archive through libarchive
 * from our own read callback, so we see every raw byte: that lets us tee
 * the input to a spool file and check what lies after the end-of-archive
 * marker, which libarchive itself ignores.  Nothing is ever extracted.
 *
 * Members are checked against manifest.json as they stream: name, order,
 * size, SHA-256, and (for *.safetensors) the st checker.  The caller sees
 * a member's bytes before its hash is known to match; bundle_read returns
 * 0 only once it does, and a consumer must not act on data before then.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "out.h"

/* Two blocks per open reader: fed-merge holds a reader per update. */
#define RD_BLOCK     (256u * 1024)
#define TRAILING_MAX (64u * 1024)

static const char *const payload_names[] = {
	"tensors.safetensors", "data.safetensors", "state.safetensors",
	"moments.safetensors",
};

struct bundle_reader {
	struct archive *a;
	int fd, spool_fd;
	char *name;                     /* for messages */
	uint8_t *buf[2];
	size_t len[2];
	uint64_t start[2];              /* input offset of each buffer */
	int cur;
	uint64_t delivered;
	int input_eof;
	char cberr[FED_ERRLEN];

	json_t *manifest;
	uint8_t *mbytes;
	size_t mlen;
	char digest[DIGEST_LEN + 1];
	struct bundle_entry ents[BUNDLE_MAXMEMBERS];
	int nents, next;

	const struct bundle_entry *ent; /* current member, NULL between */
	uint64_t got;
	struct sha256 *h;
	struct st_check *st, *last_st;
	int64_t end_of_data;            /* filter position after last data */

	struct bundle_sig *sigs;
	int nsigs, done;
};

int
bundle_payload_allowed(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(payload_names) / sizeof(payload_names[0]); i++)
		if (strcmp(name, payload_names[i]) == 0)
			return 1;
	return 0;
}

/* signatures/<16 lower-case hex>.sig, keyid copied out. */
static int
sig_name(const char *name, char *keyid)
{
	int i;

	if (strncmp(name, "signatures/", 11) != 0 || strlen(name) != 11 + 16 + 4 ||
	    strcmp(name + 27, ".sig") != 0)
		return 0;
	for (i = 11; i < 27; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	memcpy(keyid, name + 11, 16);
	keyid[16] = '\0';
	return 1;
}

static ssize_t
read_cb(struct archive *a, void *arg, const void **out)
{
	struct bundle_reader *r = arg;
	int b = r->cur ^ 1;
	ssize_t n;
	fed_err e;

	do
		n = read(r->fd, r->buf[b], RD_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(r->cberr, sizeof(r->cberr), "read: %s", strerror(errno));
		archive_set_error(a, errno, "%s", r->cberr);
		return -1;
	}
	if (n > 0 && r->spool_fd >= 0 &&
	    out_write_all(r->spool_fd, r->buf[b], (size_t)n, &e) < 0) {
		snprintf(r->cberr, sizeof(r->cberr), "spool: %.400s", e.msg);
		archive_set_error(a, EIO, "%s", r->cberr);
		return -1;
	}
	if (n == 0)
		r->input_eof = 1;
	r->cur = b;
	r->len[b] = (size_t)n;
	r->start[b] = r->delivered;
	r->delivered += (uint64_t)n;
	*out = r->buf[b];
	return n;
}

/* A failure inside libarchive, with our callback's reason when it had one. */
static int
arc_err(struct bundle_reader *r, fed_err *e)
{
	const char *s = archive_error_string(r->a);

	if (r->cberr[0])    /* read or spool failed: the system's fault */
		return fed_syserrf(e, "%s", r->cberr);
	return fed_errf(e, "not a valid bundle: %s", s ? s : "unreadable tar");
}

/* The raw input byte at offset off, if still in our buffers. */
static int
raw_byte(const struct bundle_reader *r, uint64_t off, uint8_t *c)
{
	int b;

	for (b = 0; b < 2; b++)
		if (off >= r->start[b] && off < r->start[b] + r->len[b]) {
			*c = r->buf[b][off - r->start[b]];
			return 0;
		}
	return -1;
}

/*
 * libarchive folds pax, GNU and old-style headers into one entry and does
 * not say which it saw.  fed-bundle/1 values always fit ustar, so a
 * member's own header must be a plain regular file: typeflag '0' or NUL.
 * That also shuts out GNU sparse members with an empty map, which other
 * tar programs would extract differently from what was hashed here.
 */
static int
check_typeflag(const struct bundle_reader *r, const char *p, fed_err *e)
{
	la_int64_t h = archive_read_header_position(r->a);
	uint8_t t;

	if (h < 0 || raw_byte(r, (uint64_t)h + 156, &t) < 0)
		return fed_errf(e, "member %.64s: cannot check its header", p);
	if (t != '0' && t != '\0')
		return fed_errf(e, "member %.64s: tar type '%c' is not a plain "
		    "ustar file", p, t >= 32 && t < 127 ? t : '?');
	return 0;
}

static int
check_entry(struct bundle_reader *r, struct archive_entry *ae, fed_err *e)
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
	    (uint64_t)archive_entry_size(ae) > BUNDLE_MAXMEMBER)
		return fed_errf(e, "member %.64s: size missing or over %llu",
		    p, (unsigned long long)BUNDLE_MAXMEMBER);
	return check_typeflag(r, p, e);
}

/* Next tar header: 1 with *ae, 0 at the end marker, -1 error. */
static int
next_header(struct bundle_reader *r, struct archive_entry **ae, fed_err *e)
{
	int s = archive_read_next_header(r->a, ae);

	if (s == ARCHIVE_EOF)
		return 0;
	if (s != ARCHIVE_OK)
		return arc_err(r, e);
	return check_entry(r, *ae, e) < 0 ? -1 : 1;
}

/* Read one small member whole (manifest, signature). */
static int
read_small(struct bundle_reader *r, uint8_t *dst, size_t n, fed_err *e)
{
	size_t got = 0;
	la_ssize_t k;

	while (got < n) {
		k = archive_read_data(r->a, dst + got, n - got);
		if (k < 0)
			return arc_err(r, e);
		if (k == 0)
			return fed_errf(e, "truncated member");
		got += (size_t)k;
	}
	/* reach the member's end so libarchive consumes it and its padding */
	if ((k = archive_read_data(r->a, dst, 1)) != 0)
		return k < 0 ? arc_err(r, e) : fed_errf(e, "member too long");
	r->end_of_data = archive_filter_bytes(r->a, 0);
	return 0;
}

static int
load_entries(struct bundle_reader *r, fed_err *e)
{
	json_t *ms = json_object_get(r->manifest, "members"), *o;
	size_t i;

	json_array_foreach(ms, i, o) {
		struct bundle_entry *b = &r->ents[i];

		snprintf(b->name, sizeof(b->name), "%s",
		    json_string_value(json_object_get(o, "name")));
		b->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
		snprintf(b->sha256, sizeof(b->sha256), "%s",
		    json_string_value(json_object_get(o, "sha256")));
	}
	r->nents = (int)i;
	(void)e;
	return 0;
}

static int
read_manifest(struct bundle_reader *r, fed_err *e)
{
	struct archive_entry *ae;
	int s = next_header(r, &ae, e);

	if (s == 0)
		return fed_errf(e, "empty archive, no manifest.json");
	if (s < 0)
		return -1;
	if (strcmp(archive_entry_pathname(ae), "manifest.json") != 0)
		return fed_errf(e, "first member is %.64s, not manifest.json",
		    archive_entry_pathname(ae));
	if ((uint64_t)archive_entry_size(ae) > MANIFEST_MAX)
		return fed_errf(e, "manifest.json: larger than %u bytes",
		    MANIFEST_MAX);
	r->mlen = (size_t)archive_entry_size(ae);
	r->mbytes = xmalloc(r->mlen + 1);
	if (read_small(r, r->mbytes, r->mlen, e) < 0)
		return -1;
	if ((r->manifest = manifest_parse(r->mbytes, r->mlen, e)) == NULL ||
	    manifest_check(r->manifest, e) < 0)
		return -1;
	manifest_digest(r->mbytes, r->mlen, r->digest);
	return load_entries(r, e);
}

struct bundle_reader *
bundle_open(const char *path, int spool_fd, fed_err *e)
{
	struct bundle_reader *r = xcalloc(1, sizeof(*r));
	int stdin_ = strcmp(path, "-") == 0;

	r->name = xstrdup(display_name(path));
	r->spool_fd = spool_fd;
	r->end_of_data = -1;
	r->fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		fed_syserrf(e, "%s", strerror(errno));
		goto fail;
	}
	r->buf[0] = xmalloc(RD_BLOCK);
	r->buf[1] = xmalloc(RD_BLOCK);
	r->a = archive_read_new();
	archive_read_support_format_tar(r->a);
	if (archive_read_open(r->a, r, NULL, read_cb, NULL) != ARCHIVE_OK) {
		arc_err(r, e);
		goto fail;
	}
	if (read_manifest(r, e) < 0)
		goto fail;
	return r;
fail:
	bundle_close(r);
	return NULL;
}

void
bundle_close(struct bundle_reader *r)
{
	if (r == NULL)
		return;
	if (r->a)
		archive_read_free(r->a);
	if (r->fd > 0)
		close(r->fd);
	json_decref(r->manifest);
	free(r->mbytes);
	free(r->buf[0]);
	free(r->buf[1]);
	sha256_free(r->h);
	st_check_free(r->st);
	st_check_free(r->last_st);
	free(r->sigs);
	free(r->name);
	free(r);
}

const json_t *
bundle_manifest(const struct bundle_reader *r)
{
	return r->manifest;
}

const uint8_t *
bundle_manifest_bytes(const struct bundle_reader *r, size_t *n)
{
	*n = r->mlen;
	return r->mbytes;
}

const char *
bundle_digest(const struct bundle_reader *r)
{
	return r->digest;
}

int
bundle_entries(const struct bundle_reader *r, const struct bundle_entry **ents)
{
	*ents = r->ents;
	return r->nents;
}

uint64_t
bundle_bytes(const struct bundle_reader *r)
{
	return r->delivered;
}

int
bundle_sigs(const struct bundle_reader *r, const struct bundle_sig **sigs)
{
	*sigs = r->sigs;
	return r->nsigs;
}

const struct st_file *
bundle_member_st(const struct bundle_reader *r)
{
	return r->last_st ? st_check_file(r->last_st) : NULL;
}

static int
member_end(struct bundle_reader *r, fed_err *e)
{
	uint8_t md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	const struct bundle_entry *b = r->ent;

	if (r->got != b->size)
		return fed_errf(e, "%s: truncated member", b->name);
	sha256_final(r->h, md);
	hex_encode(hex, md, SHA256_LEN);
	sha256_free(r->h);
	r->h = NULL;
	if (strcmp(hex, b->sha256) != 0)
		return fed_errf(e, "%s: SHA-256 does not match the manifest",
		    b->name);
	if (r->st && st_check_end(r->st, e) < 0)
		return fed_errprefix(e, "%s", b->name);
	r->last_st = r->st;
	r->st = NULL;
	r->ent = NULL;
	r->end_of_data = archive_filter_bytes(r->a, 0);
	return 0;
}

ssize_t
bundle_read(struct bundle_reader *r, const void **p, fed_err *e)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int s;
	fed_err se;

	if (r->ent == NULL)
		return 0;
	s = archive_read_data_block(r->a, &buf, &n, &off);
	if (s == ARCHIVE_EOF)
		return member_end(r, e) < 0 ? -1 : 0;
	if (s != ARCHIVE_OK)
		return arc_err(r, e);
	if ((uint64_t)off != r->got || n > r->ent->size - r->got)
		return fed_errf(e, "%s: holes or excess data", r->ent->name);
	sha256_update(r->h, buf, n);
	if (r->st && st_check_feed(r->st, buf, n, &se) < 0)
		return fed_errf(e, "%s: %s", r->ent->name, se.msg);
	r->got += n;
	if (n == 0)
		return bundle_read(r, p, e);
	*p = buf;
	return (ssize_t)n;
}

static int
drain_member(struct bundle_reader *r, fed_err *e)
{
	const void *p;
	ssize_t n;

	while ((n = bundle_read(r, &p, e)) > 0)
		;
	return n < 0 ? -1 : 0;
}

static int
start_member(struct bundle_reader *r, struct archive_entry *ae, fed_err *e)
{
	const char *name = archive_entry_pathname(ae);
	const struct bundle_entry *b;
	size_t nl = strlen(name);

	if (r->next >= r->nents)
		return fed_errf(e, "member %.64s: not listed in the manifest",
		    name);
	b = &r->ents[r->next];
	if (strcmp(name, b->name) != 0)
		return fed_errf(e, "member %.64s: expected %s here", name,
		    b->name);
	if ((uint64_t)archive_entry_size(ae) != b->size)
		return fed_errf(e, "%s: size %lld, manifest says %llu", name,
		    (long long)archive_entry_size(ae),
		    (unsigned long long)b->size);
	r->next++;
	r->ent = b;
	r->got = 0;
	r->h = sha256_new();
	st_check_free(r->last_st);
	r->last_st = NULL;
	if (nl > 12 && strcmp(name + nl - 12, ".safetensors") == 0)
		r->st = st_check_new(b->size);
	return 0;
}

static int
read_sig(struct bundle_reader *r, struct archive_entry *ae, fed_err *e)
{
	const char *name = archive_entry_pathname(ae);
	struct bundle_sig s;

	if (bundle_payload_allowed(name) || strcmp(name, "manifest.json") == 0)
		return fed_errf(e, "member %s: repeated, or not listed in the "
		    "manifest", name);
	if (!sig_name(name, s.keyid))
		return fed_errf(e, "member %.64s: name not allowed", name);
	if (archive_entry_size(ae) != SIG_LEN)
		return fed_errf(e, "%s: not %d bytes", name, SIG_LEN);
	if (r->nsigs > 0 && strcmp(s.keyid, r->sigs[r->nsigs - 1].keyid) <= 0)
		return fed_errf(e, "%s: duplicate or out of order", name);
	if (r->nsigs == BUNDLE_MAXSIGS)
		return fed_errf(e, "more than %d signatures", BUNDLE_MAXSIGS);
	if (read_small(r, s.sig, SIG_LEN, e) < 0)
		return -1;
	r->sigs = xreallocarray(r->sigs, (size_t)r->nsigs + 1, sizeof(s));
	r->sigs[r->nsigs++] = s;
	return 0;
}

/* Bytes [from, delivered) already handed to libarchive must be zero; they
 * lie in our last two buffers.  Then read the input to its end. */
static int
check_trailing(struct bundle_reader *r, uint64_t from, fed_err *e)
{
	uint64_t at = from, total;
	int b, k;
	uint8_t *p;
	ssize_t n;

	for (k = 0; k < 2 && at < r->delivered; k++) {
		b = k == 0 ? r->cur ^ 1 : r->cur;
		if (at < r->start[b] || at >= r->start[b] + r->len[b])
			continue;
		for (p = r->buf[b] + (at - r->start[b]);
		    p < r->buf[b] + r->len[b]; p++, at++)
			if (*p)
				return fed_errf(e, "data after the end of the "
				    "archive");
	}
	if (at < r->delivered)
		return fed_errf(e, "data after the end of the archive");
	while (!r->input_eof) {
		if (r->delivered - from > TRAILING_MAX)
			return fed_errf(e, "more than %u bytes after the end "
			    "of the archive", TRAILING_MAX);
		if (read_cb(r->a, r, (const void **)&p) < 0)
			return fed_errf(e, "%s", r->cberr);
		for (n = 0; n < (ssize_t)r->len[r->cur]; n++)
			if (p[n])
				return fed_errf(e, "data after the end of the "
				    "archive");
	}
	total = r->delivered - from;
	if (total % 512 != 0)
		return fed_errf(e, "archive does not end on a 512-byte block");
	return 0;
}

/* After the last member: an end marker of two zero blocks, then only
 * zero blocks. */
static int
read_end(struct bundle_reader *r, fed_err *e)
{
	int64_t marker = (r->end_of_data + 511) / 512 * 512;
	int64_t pos = archive_filter_bytes(r->a, 0);

	if (pos - marker < 1024)
		return fed_errf(e, "archive lacks its end-of-archive marker");
	r->done = 1;
	return check_trailing(r, (uint64_t)pos, e);
}

int
bundle_next(struct bundle_reader *r, const struct bundle_entry **ent,
    fed_err *e)
{
	struct archive_entry *ae;
	int s;

	if (r->done)
		return 0;
	if (r->ent && drain_member(r, e) < 0)
		return -1;
	for (;;) {
		if ((s = next_header(r, &ae, e)) < 0)
			return -1;
		if (s == 0)
			break;
		if (r->next < r->nents) {
			if (start_member(r, ae, e) < 0)
				return -1;
			*ent = r->ent;
			return 1;
		}
		if (read_sig(r, ae, e) < 0)
			return -1;
	}
	if (r->next < r->nents)
		return fed_errf(e, "%s: listed in the manifest but missing",
		    r->ents[r->next].name);
	return read_end(r, e) < 0 ? -1 : 0;
}

int
bundle_drain(struct bundle_reader *r, fed_err *e)
{
	const struct bundle_entry *ent;
	int s;

	while ((s = bundle_next(r, &ent, e)) > 0)
		;
	return s;
}

/* ---- whole bundles in memory ---- */

static int
load_member(struct bundle_reader *r, struct bundle *b,
    const struct bundle_entry *ent, uint64_t *budget, fed_err *e)
{
	const void *p;
	ssize_t n;
	uint64_t at = 0;

	if (ent->size > *budget)
		return fed_errf(e, "%s: payload larger than %llu bytes",
		    ent->name, (unsigned long long)*budget);
	*budget -= ent->size;
	snprintf(b->m[b->n].name, sizeof(b->m[b->n].name), "%s", ent->name);
	b->m[b->n].size = ent->size;
	b->m[b->n].data = xmalloc(ent->size);
	b->n++;
	while ((n = bundle_read(r, &p, e)) > 0) {
		memcpy(b->m[b->n - 1].data + at, p, (size_t)n);
		at += (uint64_t)n;
	}
	return n < 0 ? -1 : 0;
}

int
bundle_load(const char *path, uint64_t max, struct bundle *b, fed_err *e)
{
	struct bundle_reader *r;
	const struct bundle_entry *ent;
	const struct bundle_sig *sigs;
	int s;

	memset(b, 0, sizeof(*b));
	if ((r = bundle_open(path, -1, e)) == NULL)
		return -1;
	while ((s = bundle_next(r, &ent, e)) > 0)
		if (load_member(r, b, ent, &max, e) < 0) {
			s = -1;
			break;
		}
	if (s < 0) {
		bundle_close(r);
		bundle_free(b);
		return -1;
	}
	b->manifest = json_incref(r->manifest);
	b->mbytes = r->mbytes;
	b->mlen = r->mlen;
	r->mbytes = NULL;
	memcpy(b->digest, r->digest, sizeof(b->digest));
	b->nsigs = bundle_sigs(r, &sigs);
	b->sigs = xcalloc((size_t)b->nsigs, sizeof(*sigs));
	if (b->nsigs > 0)
		memcpy(b->sigs, sigs, (size_t)b->nsigs * sizeof(*sigs));
	bundle_close(r);
	return 0;
}

const uint8_t *
bundle_get(const struct bundle *b, const char *name, uint64_t *size)
{
	int i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->m[i].name, name) == 0) {
			if (size)
				*size = b->m[i].size;
			return b->m[i].data;
		}
	return NULL;
}

void
bundle_free(struct bundle *b)
{
	int i;

	json_decref(b->manifest);
	free(b->mbytes);
	for (i = 0; i < b->n; i++)
		free(b->m[i].data);
	free(b->sigs);
	memset(b, 0, sizeof(*b));
}

/* ---- writer ---- */

struct bundle_writer {
	struct archive *a;
	int fd;
	time_t mtime;
	char err[FED_ERRLEN];
};

static la_ssize_t
write_cb(struct archive *a, void *arg, const void *p, size_t n)
{
	struct bundle_writer *w = arg;
	fed_err e;

	if (out_write_all(w->fd, p, n, &e) < 0) {
		snprintf(w->err, sizeof(w->err), "%s", e.msg);
		archive_set_error(a, EIO, "%s", e.msg);
		return -1;
	}
	return (la_ssize_t)n;
}

static int
wr_err(struct bundle_writer *w, fed_err *e)
{
	const char *s = archive_error_string(w->a);

	return fed_errf(e, "%s", w->err[0] ? w->err : s ? s : "tar write "
	    "failed");
}

struct bundle_writer *
bundle_writer_open(int fd, fed_err *e)
{
	struct bundle_writer *w = xcalloc(1, sizeof(*w));
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t t;

	w->fd = fd;
	if (sde != NULL && parse_u64(sde, 0, (uint64_t)1 << 33, &t) == 0)
		w->mtime = (time_t)t;
	w->a = archive_write_new();
	archive_write_set_format_ustar(w->a);
	/* big writes; the archive ends right after its two zero blocks, not
	 * padded to a 10240-byte record: small updates (top-k) on thin
	 * links should not carry kilobytes of zeros */
	archive_write_set_bytes_per_block(w->a, 1 << 20);
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK) {
		wr_err(w, e);
		archive_write_free(w->a);
		free(w);
		return NULL;
	}
	return w;
}

int
bundle_writer_member(struct bundle_writer *w, const char *name,
    uint64_t size, fed_err *e)
{
	struct archive_entry *ae = archive_entry_new();
	int s;

	archive_entry_set_pathname(ae, name);
	archive_entry_set_size(ae, (la_int64_t)size);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, w->mtime, 0);
	s = archive_write_header(w->a, ae);
	archive_entry_free(ae);
	return s == ARCHIVE_OK ? 0 : wr_err(w, e);
}

int
bundle_writer_data(struct bundle_writer *w, const void *p, size_t n,
    fed_err *e)
{
	const uint8_t *b = p;
	la_ssize_t k;

	while (n > 0) {
		k = archive_write_data(w->a, b, n);
		if (k <= 0)
			return wr_err(w, e);
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

int
bundle_writer_close(struct bundle_writer *w, fed_err *e)
{
	int r = 0;

	if (w == NULL)
		return 0;
	if (e != NULL && archive_write_close(w->a) != ARCHIVE_OK)
		r = wr_err(w, e);
	archive_write_free(w->a);
	free(w);
	return r;
}

/* SHA-256 of a payload, reading an fd payload from its start. */
static int
payload_hash(const struct bundle_payload *p, char *hex, fed_err *e)
{
	uint8_t md[SHA256_LEN], *buf;
	struct sha256 *h;
	uint64_t left = p->size;
	ssize_t n;

	if (p->sha256 != NULL) {
		snprintf(hex, 2 * SHA256_LEN + 1, "%s", p->sha256);
		return 0;
	}
	if (p->fd < 0) {
		sha256_hex(p->data, p->size, hex);
		return 0;
	}
	if (lseek(p->fd, 0, SEEK_SET) < 0)
		return fed_errf(e, "%s: seek: %s", p->name, strerror(errno));
	h = sha256_new();
	buf = xmalloc(RD_BLOCK);
	while (left > 0) {
		n = read(p->fd, buf, left < RD_BLOCK ? left : RD_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			sha256_free(h);
			return fed_errf(e, "%s: spool read failed", p->name);
		}
		sha256_update(h, buf, (size_t)n);
		left -= (uint64_t)n;
	}
	free(buf);
	sha256_final(h, md);
	sha256_free(h);
	hex_encode(hex, md, SHA256_LEN);
	return 0;
}

static int
payload_copy(struct bundle_writer *w, const struct bundle_payload *p,
    fed_err *e)
{
	uint64_t left = p->size;
	uint8_t *buf;
	ssize_t n;
	int r = 0;

	if (bundle_writer_member(w, p->name, p->size, e) < 0)
		return -1;
	if (p->fd < 0)
		return bundle_writer_data(w, p->data, p->size, e);
	if (lseek(p->fd, 0, SEEK_SET) < 0)
		return fed_errf(e, "%s: seek: %s", p->name, strerror(errno));
	buf = xmalloc(RD_BLOCK);
	while (left > 0 && r == 0) {
		n = read(p->fd, buf, left < RD_BLOCK ? left : RD_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = fed_errf(e, "%s: spool read failed", p->name);
		else {
			r = bundle_writer_data(w, buf, (size_t)n, e);
			left -= (uint64_t)n;
		}
	}
	free(buf);
	return r;
}

int
bundle_write(int fd, json_t *manifest, const struct bundle_payload *p,
    int np, char *digest, fed_err *e)
{
	json_t *ms = json_array();
	char hex[2 * SHA256_LEN + 1];
	struct bundle_writer *w;
	uint8_t *mb;
	size_t ml;
	int i, r = -1;

	for (i = 0; i < np; i++) {
		if (payload_hash(&p[i], hex, e) < 0) {
			json_decref(ms);
			return -1;
		}
		json_array_append_new(ms, json_pack("{s:s,s:I,s:s}", "name",
		    p[i].name, "size", (json_int_t)p[i].size, "sha256", hex));
	}
	json_object_set_new(manifest, "members", ms);
	mb = manifest_dump(manifest, &ml);
	if (digest)
		manifest_digest(mb, ml, digest);
	if ((w = bundle_writer_open(fd, e)) == NULL)
		goto out;
	if (bundle_writer_member(w, "manifest.json", ml, e) < 0 ||
	    bundle_writer_data(w, mb, ml, e) < 0)
		goto out;
	for (i = 0; i < np; i++)
		if (payload_copy(w, &p[i], e) < 0)
			goto out;
	r = bundle_writer_close(w, e);
	w = NULL;
out:
	bundle_writer_close(w, NULL);
	free(mb);
	return r;
}

static int
write_sigs(struct bundle_writer *w, const struct bundle_sig *old, int nold,
    const struct bundle_sig *add, fed_err *e)
{
	char name[BUNDLE_NAMELEN];
	int i, added = add == NULL;

	for (i = 0; i <= nold; i++) {
		const struct bundle_sig *s = i < nold ? &old[i] : NULL;
		int c = s == NULL ? 1 : added ? -1 : strcmp(s->keyid, add->keyid);

		if (c >= 0 && !added) {
			snprintf(name, sizeof(name), "signatures/%s.sig",
			    add->keyid);
			if (bundle_writer_member(w, name, SIG_LEN, e) < 0 ||
			    bundle_writer_data(w, add->sig, SIG_LEN, e) < 0)
				return -1;
			added = 1;
		}
		if (s == NULL || c == 0)
			continue;
		snprintf(name, sizeof(name), "signatures/%s.sig", s->keyid);
		if (bundle_writer_member(w, name, SIG_LEN, e) < 0 ||
		    bundle_writer_data(w, s->sig, SIG_LEN, e) < 0)
			return -1;
	}
	return 0;
}

/* Reader failures set *rejected: the input is bad.  Writer failures
 * leave it 0: the output could not be written. */
static int
copy_members(struct bundle_reader *r, struct bundle_writer *w,
    const struct bundle_sig *add, int *rejected, fed_err *e)
{
	const struct bundle_entry *ent;
	const struct bundle_sig *sigs;
	const void *p;
	ssize_t n = 0;
	int s, nsigs;

	if (bundle_writer_member(w, "manifest.json", r->mlen, e) < 0 ||
	    bundle_writer_data(w, r->mbytes, r->mlen, e) < 0)
		return -1;
	while ((s = bundle_next(r, &ent, e)) > 0) {
		if (bundle_writer_member(w, ent->name, ent->size, e) < 0)
			return -1;
		while ((n = bundle_read(r, &p, e)) > 0)
			if (bundle_writer_data(w, p, (size_t)n, e) < 0)
				return -1;
		if (n < 0)
			break;
	}
	if (s < 0 || n < 0) {
		*rejected = r->cberr[0] == '\0';
		return -1;
	}
	nsigs = bundle_sigs(r, &sigs);
	return write_sigs(w, sigs, nsigs, add, e);
}

int
bundle_copy(struct bundle_reader *r, int fd, const struct bundle_sig *add,
    int *rejected, fed_err *e)
{
	struct bundle_writer *w = bundle_writer_open(fd, e);

	*rejected = 0;
	if (w == NULL)
		return -1;
	if (copy_members(r, w, add, rejected, e) < 0) {
		bundle_writer_close(w, NULL);
		return -1;
	}
	return bundle_writer_close(w, e);
}
