/*
 * bundle: the archive rules over the tar layer (tar.c).  Members are
 * checked against manifest.json as they stream: name, order, size,
 * SHA-256, and (for *.safetensors) the st checker.  The caller sees a
 * member's bytes before its hash is known to match; bundle_read returns 0
 * only once it does, and a consumer must not act on data before then.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "dio.h"
#include "out.h"
#include "sha256.h"
#include "tar.h"

#define CP_BLOCK (256u * 1024)    /* copying a spooled payload */
_Static_assert(BUNDLE_SKIM == TAR_SKIM, "bundle_open passes it to tar");

static const char *const payload_names[] = {
	"tensors.safetensors", "data.safetensors", "state.safetensors",
	"moments.safetensors",
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

const struct manifest_rules bundle_rules = {
	BUNDLE_MAXMEMBERS, BUNDLE_MAXMEMBER, bundle_payload_allowed,
};

struct bundle_reader {
	struct tar_reader *t;
	int fd;
	char *name;                     /* for messages */

	struct manifest mf;
	uint8_t *mbytes;
	size_t mlen;
	char digest[DIGEST_LEN + 1];
	struct bundle_entry ents[BUNDLE_MAXMEMBERS];
	int nents, next;

	const struct bundle_entry *ent; /* current member, NULL between */
	uint64_t got;
	struct sha256 *h;
	struct st_check *st, *last_st;

	struct bundle_sig *sigs;
	int nsigs, done;
};

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

static void
load_entries(struct bundle_reader *r)
{
	int i;

	for (i = 0; i < r->mf.nmembers; i++) {
		struct bundle_entry *b = &r->ents[i];

		snprintf(b->name, sizeof(b->name), "%s", r->mf.members[i].name);
		b->size = r->mf.members[i].size;
		snprintf(b->sha256, sizeof(b->sha256), "%s",
		    r->mf.members[i].sha256);
	}
	r->nents = r->mf.nmembers;
}

static int
read_manifest(struct bundle_reader *r, fed_err *e)
{
	const char *name;
	uint64_t size;
	int s = tar_next(r->t, &name, &size, e);

	if (s == 0)
		return fed_errf(e, "empty archive, no manifest.json");
	if (s < 0)
		return -1;
	if (strcmp(name, "manifest.json") != 0)
		return fed_errf(e, "first member is %.64s, not manifest.json",
		    name);
	if (size > MANIFEST_MAX)
		return fed_errf(e, "manifest.json: larger than %u bytes",
		    MANIFEST_MAX);
	r->mlen = (size_t)size;
	r->mbytes = xmalloc(r->mlen + 1);
	if (tar_read_all(r->t, r->mbytes, r->mlen, e) < 0 ||
	    manifest_load(&r->mf, r->mbytes, r->mlen, &bundle_rules, e) < 0)
		return -1;
	manifest_digest(r->mbytes, r->mlen, r->digest);
	load_entries(r);
	return 0;
}

/* path opened for reading: a system failure when it cannot be, or is a
 * directory (whose read(2) would only say EISDIR later). */
static int
open_input(struct bundle_reader *r, const char *path, fed_err *e)
{
	struct stat sb;

	r->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return fed_syserrf(e, "%s", strerror(errno));
	/* a forgotten operand or redirection would wait for typing */
	if (r->fd == 0 && isatty(0))
		return fed_usagef(e, "will not read a bundle from a terminal; "
		    "name a file or use a pipe");
	if (fstat(r->fd, &sb) < 0)
		return fed_syserrf(e, "%s", strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return fed_syserrf(e, "is a directory");
	return 0;
}

struct bundle_reader *
bundle_open(const char *path, int spool_fd, fed_err *e)
{
	struct bundle_reader *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(display_name(path));
	if (open_input(r, path, e) < 0 ||
	    (r->t = tar_open(r->fd, spool_fd, BUNDLE_MAXMEMBER, e)) == NULL ||
	    read_manifest(r, e) < 0) {
		bundle_close(r);
		return NULL;
	}
	return r;
}

void
bundle_close(struct bundle_reader *r)
{
	if (r == NULL)
		return;
	tar_close(r->t);
	if (r->fd > 0)
		close(r->fd);
	manifest_free(&r->mf);
	free(r->mbytes);
	sha256_free(r->h);
	st_check_free(r->st);
	st_check_free(r->last_st);
	free(r->sigs);
	free(r->name);
	free(r);
}

const struct manifest *
bundle_meta(const struct bundle_reader *r)
{
	return &r->mf;
}

const json_t *
bundle_manifest(const struct bundle_reader *r)
{
	return r->mf.json;
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
	return 0;
}

ssize_t
bundle_read(struct bundle_reader *r, const void **p, fed_err *e)
{
	const void *buf;
	size_t n;
	uint64_t off;
	int s;
	fed_err se;

	if (r->ent == NULL)
		return 0;
	if ((s = tar_read_block(r->t, &buf, &n, &off, e)) <= 0)
		return s < 0 || member_end(r, e) < 0 ? -1 : 0;
	if (off != r->got || n > r->ent->size - r->got)
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
start_member(struct bundle_reader *r, const char *name, uint64_t size,
    fed_err *e)
{
	const struct bundle_entry *b;
	size_t nl = strlen(name);

	if (r->next >= r->nents)
		return fed_errf(e, "member %.64s: not listed in the manifest",
		    name);
	b = &r->ents[r->next];
	if (strcmp(name, b->name) != 0)
		return fed_errf(e, "member %.64s: expected %s here", name,
		    b->name);
	if (size != b->size)
		return fed_errf(e, "%s: size %llu, manifest says %llu", name,
		    (unsigned long long)size, (unsigned long long)b->size);
	r->next++;
	r->ent = b;
	r->got = 0;
	sha256_free(r->h);              /* a skimmed member's */
	r->h = sha256_new();
	st_check_free(r->last_st);
	st_check_free(r->st);
	r->last_st = NULL;
	r->st = nl > 12 && strcmp(name + nl - 12, ".safetensors") == 0 ?
	    st_check_new(b->size) : NULL;
	return 0;
}

static int
read_sig(struct bundle_reader *r, const char *name, uint64_t size, fed_err *e)
{
	struct bundle_sig s;

	if (bundle_payload_allowed(name) || strcmp(name, "manifest.json") == 0)
		return fed_errf(e, "member %s: repeated, or not listed in the "
		    "manifest", name);
	if (!sig_name(name, s.keyid))
		return fed_errf(e, "member %.64s: name not allowed", name);
	if (size != SIG_LEN)
		return fed_errf(e, "%s: not %d bytes", name, SIG_LEN);
	if (r->nsigs > 0 && strcmp(s.keyid, r->sigs[r->nsigs - 1].keyid) <= 0)
		return fed_errf(e, "%s: duplicate or out of order", name);
	if (r->nsigs == BUNDLE_MAXSIGS)
		return fed_errf(e, "more than %d signatures", BUNDLE_MAXSIGS);
	if (tar_read_all(r->t, s.sig, SIG_LEN, e) < 0)
		return -1;
	r->sigs = xreallocarray(r->sigs, (size_t)r->nsigs + 1, sizeof(s));
	r->sigs[r->nsigs++] = s;
	return 0;
}

int
bundle_next(struct bundle_reader *r, const struct bundle_entry **ent,
    fed_err *e)
{
	const char *name;
	uint64_t size;
	int s;

	if (r->done)
		return 0;
	if (r->ent && !tar_skims(r->t) && drain_member(r, e) < 0)
		return -1;
	while ((s = tar_next(r->t, &name, &size, e)) > 0) {
		if (r->next < r->nents) {
			if (start_member(r, name, size, e) < 0)
				return -1;
			*ent = r->ent;
			return 1;
		}
		if (read_sig(r, name, size, e) < 0)
			return -1;
	}
	if (s < 0)
		return -1;
	if (r->next < r->nents)
		return fed_errf(e, "%s: listed in the manifest but missing",
		    r->ents[r->next].name);
	r->done = 1;
	return tar_end(r->t, e) < 0 ? -1 : 0;
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
	b->m[b->n].data = xmalloc_huge(ent->size);
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
	b->meta = r->mf;
	memset(&r->mf, 0, sizeof(r->mf));
	b->manifest = b->meta.json;
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

	manifest_free(&b->meta);
	free(b->mbytes);
	for (i = 0; i < b->n; i++)
		free(b->m[i].data);
	free(b->sigs);
	memset(b, 0, sizeof(*b));
}

/* ---- writer ---- */

struct bundle_writer {
	struct archive *a;
	struct dio d;           /* fd, and big writes around the page cache */
	time_t mtime;
	int aborted;            /* write nothing more */
	char err[FED_ERRLEN];
};

static la_ssize_t
write_cb(struct archive *a, void *arg, const void *p, size_t n)
{
	struct bundle_writer *w = arg;
	fed_err e;

	/* A failed write is kept in w->err and later bytes are dropped,
	 * never returned to libarchive as a failure: in its fatal state it
	 * would skip closing its unblocked writer and leak it. */
	(void)a;
	if (w->aborted || w->err[0] != '\0')
		return (la_ssize_t)n;
	if (dio_write(&w->d, p, n, &e) < 0)
		snprintf(w->err, sizeof(w->err), "%s", e.msg);
	return (la_ssize_t)n;
}

static int
wr_err(struct bundle_writer *w, fed_err *e)
{
	const char *s = archive_error_string(w->a);

	return fed_syserrf(e, "%s", w->err[0] ? w->err : s ? s : "tar write "
	    "failed");
}

struct bundle_writer *
bundle_writer_open(int fd, fed_err *e)
{
	struct bundle_writer *w = xcalloc(1, sizeof(*w));
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t t;

	dio_init(&w->d, fd);
	if (sde != NULL && parse_u64(sde, 0, (uint64_t)1 << 33, &t) == 0)
		w->mtime = (time_t)t;
	w->a = archive_write_new();
	archive_write_set_format_ustar(w->a);
	/* no blocking: each write goes straight to write_cb, a big payload
	 * from the caller's own buffer, uncopied (dio.h); the archive ends
	 * right after its two zero blocks, not padded to a record */
	archive_write_set_bytes_per_block(w->a, 0);
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
	return s == ARCHIVE_OK && w->err[0] == '\0' ? 0 : wr_err(w, e);
}

int
bundle_writer_data(struct bundle_writer *w, const void *p, size_t n,
    fed_err *e)
{
	const uint8_t *b = p;
	la_ssize_t k;

	while (n > 0) {
		k = archive_write_data(w->a, b, n);
		if (k <= 0 || w->err[0] != '\0')
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
	if (e != NULL && (archive_write_close(w->a) != ARCHIVE_OK ||
	    w->err[0] != '\0'))
		r = wr_err(w, e);
	w->aborted = e == NULL;     /* else the member is padded to its size */
	archive_write_free(w->a);
	free(w);
	return r;
}

/* Feed a payload held in a file to fn, block by block, from its start. */
static int
payload_blocks(const struct bundle_payload *p,
    int (*fn)(void *, const void *, size_t, fed_err *), void *arg, fed_err *e)
{
	uint64_t left = p->size;
	uint8_t *buf;
	ssize_t n;
	int r = 0;

	if (lseek(p->fd, 0, SEEK_SET) < 0)
		return fed_syserrf(e, "%s: seek: %s", p->name, strerror(errno));
	buf = xmalloc(CP_BLOCK);
	while (left > 0 && r == 0) {
		n = read(p->fd, buf, left < CP_BLOCK ? left : CP_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = fed_syserrf(e, "%s: spool read failed", p->name);
		else {
			r = fn(arg, buf, (size_t)n, e);
			left -= (uint64_t)n;
		}
	}
	free(buf);
	return r;
}

static int
hash_block(void *h, const void *p, size_t n, fed_err *e)
{
	(void)e;
	sha256_update(h, p, n);
	return 0;
}

static int
write_block(void *w, const void *p, size_t n, fed_err *e)
{
	return bundle_writer_data(w, p, n, e);
}

/* SHA-256 of a payload, reading an fd payload from its start. */
static int
payload_hash(const struct bundle_payload *p, char *hex, fed_err *e)
{
	uint8_t md[SHA256_LEN];
	struct sha256 *h;
	int r;

	if (p->sha256 != NULL) {
		snprintf(hex, 2 * SHA256_LEN + 1, "%s", p->sha256);
		return 0;
	}
	if (p->fd < 0) {
		sha256_hex(p->data, p->size, hex);
		return 0;
	}
	h = sha256_new();
	if ((r = payload_blocks(p, hash_block, h, e)) == 0) {
		sha256_final(h, md);
		hex_encode(hex, md, SHA256_LEN);
	}
	sha256_free(h);
	return r;
}

static int
payload_copy(struct bundle_writer *w, const struct bundle_payload *p,
    fed_err *e)
{
	if (bundle_writer_member(w, p->name, p->size, e) < 0)
		return -1;
	if (p->fd < 0)
		return bundle_writer_data(w, p->data, p->size, e);
	return payload_blocks(p, write_block, w, e);
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

/* A failure to write names the output. */
static int
out_fail(const struct out *out, fed_err *e)
{
	return fed_errprefix(e, "%s", out->path ? out->path : "stdout");
}

/* The input's failures are named by the input, the output's by the
 * output. */
static int
copy_members(struct bundle_reader *r, struct bundle_writer *w,
    const struct out *out, const struct bundle_sig *add, fed_err *e)
{
	const struct bundle_entry *ent;
	const struct bundle_sig *sigs;
	const void *p;
	ssize_t n = 0;
	int s, nsigs;

	if (bundle_writer_member(w, "manifest.json", r->mlen, e) < 0 ||
	    bundle_writer_data(w, r->mbytes, r->mlen, e) < 0)
		return out_fail(out, e);
	while ((s = bundle_next(r, &ent, e)) > 0) {
		if (bundle_writer_member(w, ent->name, ent->size, e) < 0)
			return out_fail(out, e);
		while ((n = bundle_read(r, &p, e)) > 0)
			if (bundle_writer_data(w, p, (size_t)n, e) < 0)
				return out_fail(out, e);
		if (n < 0)
			break;
	}
	if (s < 0 || n < 0)
		return fed_errprefix(e, "%s", r->name);
	nsigs = bundle_sigs(r, &sigs);
	return write_sigs(w, sigs, nsigs, add, e) < 0 ? out_fail(out, e) : 0;
}

static int
check_claims(const struct bundle_reader *r, fed_err *e)
{
	struct stat sb;
	uint64_t want = r->mlen;
	int i;

	if (fstat(r->fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	for (i = 0; i < r->nents; i++)
		want += r->ents[i].size;
	if (want > (uint64_t)sb.st_size)
		return fed_errf(e, "%s: members declare %llu bytes, the file "
		    "holds %llu", r->name, (unsigned long long)want,
		    (unsigned long long)sb.st_size);
	return 0;
}

int
bundle_copy(struct bundle_reader *r, struct out *out,
    const struct bundle_sig *add, fed_err *e)
{
	struct bundle_writer *w;

	if (check_claims(r, e) < 0)     /* 6 KiB that declare gigabytes */
		return -1;
	if ((w = bundle_writer_open(out->fd, e)) == NULL)
		return out_fail(out, e);
	if (copy_members(r, w, out, add, e) < 0) {
		bundle_writer_close(w, NULL);
		return -1;
	}
	return bundle_writer_close(w, e) < 0 ? out_fail(out, e) : 0;
}
