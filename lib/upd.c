/*
 * upd: the update reader of fed-merge, and the member stream it shares
 * with the model loader.  Decoding an encoded delta is encode's streaming
 * decoder; this file only moves bytes to it.
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "moments.h"
#include "rule.h"
#include "upd.h"
#include "weights.h"

/* A file operand that cannot be opened, or a directory, is a failure of
 * the system, not a bad bundle: say so before the bundle reader does. */
static int
readable(const char *path, fed_err *e)
{
	struct stat sb;
	int fd;

	if (strcmp(path, "-") == 0 || strncmp(path, "/dev/fd/", 8) == 0)
		return 0;
	if ((fd = open(path, O_RDONLY)) < 0)
		return fed_syserrf(e, "%s", strerror(errno));
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		close(fd);
		return fed_syserrf(e, "%s", S_ISDIR(sb.st_mode) ?
		    "is a directory" : strerror(errno));
	}
	close(fd);
	return 0;
}

int
upd_src_open(struct upd_src *s, const char *path, int spool,
    const char *digest, fed_err *e)
{
	s->n = 0;
	if (readable(path, e) < 0)
		return -1;
	if ((s->r = bundle_open(path, spool, e)) == NULL)
		return -1;
	if (digest != NULL && digest[0] &&
	    strcmp(digest, bundle_digest(s->r)) != 0)
		return fed_errf(e, "changed while being merged");
	return 0;
}

/* A block of the member pending: 0, or -1. */
static int
pending(struct upd_src *s, fed_err *e)
{
	const void *p;
	ssize_t got;

	if (s->n > 0)
		return 0;
	if ((got = bundle_read(s->r, &p, e)) < 0)
		return -1;
	if (got == 0)
		return fed_errf(e, "ends early");
	s->p = p;
	s->n = (size_t)got;
	return 0;
}

int
upd_src_take(struct upd_src *s, void *dst, size_t n, fed_err *e)
{
	size_t k;

	while (n > 0) {
		if (pending(s, e) < 0)
			return -1;
		k = n < s->n ? n : s->n;
		if (dst != NULL) {
			memcpy(dst, s->p, k);
			dst = (uint8_t *)dst + k;
		}
		s->p += k, s->n -= k, n -= k;
	}
	return 0;
}

int
upd_src_member(struct upd_src *s, const char *name, uint64_t *size,
    uint64_t *hl, fed_err *e)
{
	const struct bundle_entry *ent;
	uint8_t lb[8];
	int st, k;

	while ((st = bundle_next(s->r, &ent, e)) > 0 &&
	    strcmp(ent->name, name) != 0)
		;
	if (st < 0)
		return -1;
	if (st == 0)
		return fed_errf(e, "no %s", name);
	s->n = 0;
	if (upd_src_take(s, lb, 8, e) < 0)
		return fed_errprefix(e, "%s", name);
	for (*hl = 0, k = 0; k < 8; k++)
		*hl |= (uint64_t)lb[k] << (8 * k);
	*size = ent->size;
	if (*hl > ST_MAXHEADER || *hl + 8 > *size)
		return fed_errf(e, "%s: header too large", name);
	if (upd_src_take(s, NULL, (size_t)*hl, e) < 0)
		return fed_errprefix(e, "%s", name);
	return 0;
}

const float *
upd_src_upto(struct upd_src *s, float *buf, size_t *len, fed_err *e)
{
	if (pending(s, e) < 0)
		return NULL;
	if ((uintptr_t)s->p % sizeof(float) == 0 && s->n >= sizeof(float) &&
	    s->n / sizeof(float) < *len)
		*len = s->n / sizeof(float);
	return upd_src_floats(s, buf, *len, e);
}

const float *
upd_src_floats(struct upd_src *s, float *buf, size_t len, fed_err *e)
{
	const float *f;

	if (pending(s, e) < 0)
		return NULL;
	if (s->n >= len * 4 && (uintptr_t)s->p % sizeof(float) == 0) {
		f = (const float *)(const void *)s->p;
		s->p += len * 4, s->n -= len * 4;
		return f;
	}
	return upd_src_take(s, buf, len * 4, e) < 0 ? NULL : buf;
}

int
upd_src_end(struct upd_src *s, const char *name, fed_err *e)
{
	const void *p;
	ssize_t got;

	if (s->n != 0 || (got = bundle_read(s->r, &p, e)) > 0)
		return fed_errf(e, "%s: longer than its architecture", name);
	return got < 0 ? -1 : 0;
}

void
upd_src_close(struct upd_src *s)
{
	if (s->r != NULL)
		bundle_close(s->r);
	s->r = NULL;
	s->n = 0;
}

int
upd_layout(const struct arch *a, const struct st_file *st, uint64_t base,
    const char *prefix, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	const struct st_tensor *x;
	char name[ST_MAXNAME];
	int i, n = arch_tensors(a, t);

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%.8s%.128s", prefix, t[i].name);
		if ((x = st_find(st, name)) == NULL)
			return fed_errf(e, "tensor %s missing", name);
		if (x->dtype != ST_F32 ||
		    x->begin != (base + t[i].offset) * 4 ||
		    x->end != (base + t[i].offset + t[i].count) * 4)
			return fed_errf(e, "tensor %s is not F32 in the "
			    "architecture's order", name);
	}
	return 0;
}

void
upd_init(struct upd *u, const char *path, int order, size_t chunk,
    const struct mopt *o)
{
	memset(u, 0, sizeof(*u));
	u->o = o;
	u->path = path;
	u->order = order;
	u->chunk = chunk;
	u->contributor = json_null();
	u->holder = u->equivocator = -1;
	u->admit_loss = NAN;
}

const struct upd *
upd_first_bad(const struct upd *u, int n)
{
	const struct upd *b = NULL;
	int k;

	for (k = 0; k < n; k++)
		if (u[k].bad && (b == NULL || u[k].order < b->order))
			b = &u[k];
	return b;
}

const struct upd *
upd_sys_bad(const struct upd *u, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (u[i].bad && u[i].kind == FED_ESYSTEM)
			return &u[i];
	return NULL;
}

int
upd_error(const struct upd *u, fed_err *e)
{
	fed_errf(e, "%s: %s", display_name(u->path), u->why);
	e->kind = u->kind;
	return -1;
}

int
upd_none_left(const struct upd *u, int n, fed_err *e)
{
	const struct upd *b = upd_first_bad(u, n);

	if (b == NULL)
		return fed_errf(e, "no update left to merge");
	return fed_errf(e, "no update left to merge: all %d were skipped "
	    "(%s: %s)", n, display_name(b->path), b->why);
}

int
upd_left_out(const struct upd *u, int n, fed_err *e)
{
	const struct upd *b = upd_first_bad(u, n);
	char was[sizeof(e->msg)];
	int k, out = 0;

	if (b == NULL)
		return -1;
	for (k = 0; k < n; k++)
		out += u[k].bad != 0;
	memcpy(was, e->msg, sizeof(was));
	return fed_errf(e, "%s: %d of %d updates were left out, the first "
	    "%s: %s", was, out, n, display_name(b->path), b->why);
}

void
upd_each_skipped(const struct upd *u, int n,
    void (*fn)(const char *path, const char *why))
{
	int k;

	for (k = 0; k < n && fn != NULL; k++)
		if (u[k].bad)
			fn(u[k].path, u[k].why);
}

void
upd_mark(struct upd *u, const fed_err *e)
{
	if (!u->bad) {
		snprintf(u->why, sizeof(u->why), "%s", e->msg);
		u->kind = e->kind;
	}
	u->bad = 1;
}

/* What the manifest of an update must say to be merged; everything the
 * merge needs from it is read here and nowhere else. */
static int
upd_manifest(struct upd *u, const struct upd_want *w, fed_err *e)
{
	const struct manifest *m = bundle_meta(u->s.r);
	char canon[ARCH_STRLEN];
	struct arch a;
	int i;

	if (strcmp(m->kind, "update") != 0)
		return fed_errf(e, "a %s bundle, not an update", m->kind);
	if (m->gradient == 1)
		return fed_errf(e, "a gradient upload: merge what fed-train "
		    "--expand makes of it");
	if (weights_meta_arch(m, &a, e) < 0)
		return -1;
	arch_format(&a, canon, sizeof(canon));
	if (strcmp(canon, w->arch) != 0)
		return fed_errf(e, "architecture %s, the model is %s", canon,
		    w->arch);
	if (m->parent == NULL || strcmp(m->parent, w->parent) != 0)
		return fed_errf(e, "trained from %.19s..., not from this "
		    "model", m->parent ? m->parent : "nothing");
	if (m->round != w->round)
		return fed_errf(e, "round %lld, the model is at round %lld",
		    (long long)m->round, (long long)w->round);
	if (encode_manifest(m->json, w->np, &u->enc, e) < 0)
		return -1;
	for (i = 0; i < m->nmembers; i++)
		if (strcmp(m->members[i].name, WEIGHTS_MEMBER) == 0)
			snprintf(u->delta, sizeof(u->delta), "%s",
			    m->members[i].sha256);
	u->samples = (uint64_t)m->samples;
	u->steps = m->steps;
	if (moments_meta_step(m, &u->mstep, e) < 0)
		return -1;
	json_decref(u->contributor);
	u->contributor = json_incref(json_object_get(m->json, "contributor"));
	if (!json_is_string(u->contributor)) {
		json_decref(u->contributor);
		u->contributor = json_null();
	}
	return 0;
}

static void
dec_free(struct upd *u)
{
	if (u->dec != NULL)
		encode_stream_free(u->dec);
	free(u->dec);
	u->dec = NULL;
}

/* The delta's member: its size for the encoding, then the decoder's
 * prefix (int8's scales, top-k's indices), read whole and checked. */
static int
upd_delta(struct upd *u, const struct upd_want *w, fed_err *e)
{
	uint64_t size, hl, pb;

	if (upd_src_member(&u->s, WEIGHTS_MEMBER, &size, &hl, e) < 0)
		return -1;
	if (size != 8 + hl + encode_data_size(w->a, &u->enc))
		return fed_errf(e, "%s: %llu bytes do not fit %s",
		    WEIGHTS_MEMBER, (unsigned long long)size, w->arch);
	dec_free(u);
	u->dec = xmalloc(sizeof(*u->dec));
	encode_stream_init(u->dec, w->a, &u->enc);
	pb = encode_stream_prefix_bytes(u->dec);
	if (upd_src_take(&u->s, encode_stream_prefix(u->dec), pb, e) < 0 ||
	    encode_stream_check(u->dec, e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	return 0;
}

int
upd_open(struct upd *u, const struct upd_want *w, int spool, fed_err *e)
{
	int std = u->src[0] == '\0' && strcmp(u->path, "-") == 0;

	if (upd_src_open(&u->s, u->src[0] ? u->src : u->path,
	    std ? spool : -1, u->digest, e) < 0)
		return -1;
	memcpy(u->digest, bundle_digest(u->s.r), sizeof(u->digest));
	return upd_manifest(u, w, e) < 0 || upd_delta(u, w, e) < 0 ? -1 : 0;
}

int
upd_chunk(struct upd *u, uint64_t at, size_t len, fed_err *e)
{
	uint64_t nb;

	if (u->buf == NULL)
		u->buf = xcalloc(u->chunk, sizeof(float));
	if (u->raw == NULL && u->enc.scheme != ENC_F32)
		u->raw = xcalloc(u->chunk, 4);
	if (u->enc.scheme == ENC_F32) {
		u->cur = upd_src_floats(&u->s, u->buf, len, e);
		return u->cur == NULL ? fed_errprefix(e, "%s",
		    WEIGHTS_MEMBER) : 0;
	}
	u->cur = u->buf;
	nb = encode_stream_bytes(u->dec, at, len);
	if (upd_src_take(&u->s, u->raw, (size_t)nb, e) < 0 ||
	    encode_stream_decode(u->dec, u->raw, at, len, u->buf, e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	return 0;
}

/* The end of member name: its safetensors header, or NULL. */
static const struct st_file *
member_st(struct upd *u, const char *name, fed_err *e)
{
	const struct st_file *st;

	if (upd_src_end(&u->s, name, e) < 0)
		return NULL;
	if ((st = bundle_member_st(u->s.r)) == NULL)
		fed_errf(e, "%s: not safetensors", name);
	return st;
}

/* The record's list of verified signers: KEYID and roster name. */
static void
set_signers(struct upd *u, const struct roster *ro)
{
	int i;

	json_decref(u->signers);
	u->signers = json_array();
	for (i = 0; i < u->nwho; i++)
		json_array_append_new(u->signers, json_pack("{s:s,s:s}",
		    "keyid", ro->h[u->who[i]].key.id,
		    "name", ro->h[u->who[i]].name));
	if (u->holder >= 0) {
		json_decref(u->contributor);
		u->contributor = json_string(ro->h[u->holder].name);
	}
}

/* The signatures at the end of the stream, against the roster: who
 * signed, the quorum, the contributor.  Every read of the file must find
 * the same; unsigned merges record no signer, since none was checked. */
static int
upd_sigs(struct upd *u, fed_err *e)
{
	const struct mopt *o = u->o;
	const struct roster *ro = o->roster;
	const struct bundle_sig *sg;
	const uint8_t *mb;
	int ns = bundle_sigs(u->s.r, &sg), who[BUNDLE_MAXSIGS], n, h;
	size_t ml;

	if (ro == NULL) {
		set_signers(u, NULL);
		return 0;
	}
	mb = bundle_manifest_bytes(u->s.r, &ml);
	if ((n = roster_signers(ro, mb, ml, sg, ns, who, e)) < 0)
		return -1;
	if (n > 0 && n < o->quorum)
		return fed_errf(e, "signed by %d roster key%s, %d required", n,
		    n == 1 ? "" : "s", o->quorum);
	if ((h = roster_contributor(ro, bundle_manifest(u->s.r), who, n,
	    e)) < 0)
		return -1;
	if (n > UPD_MAXVOTERS)
		return fed_errf(e, "signed by more than %d holders",
		    UPD_MAXVOTERS);
	if (u->holder >= 0 && (h != u->holder || n != u->nwho ||
	    memcmp(who, u->who, (size_t)n * sizeof(*who)) != 0))
		return fed_errf(e, "signatures changed while being merged");
	memcpy(u->who, who, (size_t)n * sizeof(*who));
	u->nwho = n;
	u->holder = h;
	set_signers(u, ro);
	return 0;
}

int
upd_finish(struct upd *u, const struct arch *a, fed_err *e)
{
	const struct bundle_entry *ent;
	const struct st_file *st;
	int s;

	if ((st = member_st(u, WEIGHTS_MEMBER, e)) == NULL)
		return -1;
	if (u->enc.scheme != ENC_F32 ?
	    encode_check_layout(a, &u->enc, st, e) < 0 :
	    weights_check(a, st, e) < 0 || upd_layout(a, st, 0, "", e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	while ((s = bundle_next(u->s.r, &ent, e)) > 0)
		;
	if (s < 0)
		return -1;
	return upd_sigs(u, e);
}

int
upd_votes(struct upd *u, fed_err *e)
{
	const struct bundle_entry *ent;
	int s;

	if (u->o->roster == NULL)
		return 0;
	while ((s = bundle_next(u->s.r, &ent, e)) > 0)
		;
	return s < 0 ? -1 : upd_sigs(u, e);
}

int
upd_skim_votes(struct upd *u, const struct upd_want *w, fed_err *e)
{
	struct upd_src s = u->s;
	int r;

	/* --admit reads every update whole before the merge anyway, and
	 * leaves out what it finds bad: read whole first, as before */
	if (u->o->roster == NULL || u->o->admit != NULL ||
	    strcmp(u->path, "-") == 0)
		return 1;
	if ((u->s.r = bundle_open(u->path, BUNDLE_SKIM, e)) == NULL)
		r = -1;
	else {
		memcpy(u->digest, bundle_digest(u->s.r), sizeof(u->digest));
		r = upd_manifest(u, w, e) < 0 || upd_votes(u, e) < 0 ? -1 : 0;
	}
	upd_src_close(&u->s);
	u->s = s;
	return r;
}

void
upd_first_whole(struct upd *u, const struct upd_want *w, int spool)
{
	fed_err e;

	if (upd_open(u, w, spool, &e) < 0 || upd_votes(u, &e) < 0)
		upd_mark(u, &e);
	upd_close(u, spool);
	u->skimmed = 0;
}

void
upd_first_look(struct upd *u, const struct upd_want *w, int spool)
{
	fed_err e;
	int r = upd_skim_votes(u, w, &e);

	if (r == 0)
		u->skimmed = 1;
	else
		upd_first_whole(u, w, spool);
}

int
upd_moments_open(struct upd *u, uint64_t np, int spool, fed_err *e)
{
	int std = u->src[0] == '\0' && strcmp(u->path, "-") == 0;
	uint64_t size, hl;

	if (upd_src_open(&u->s, u->src[0] ? u->src : u->path,
	    std ? spool : -1, u->digest, e) < 0 ||
	    upd_src_member(&u->s, MOMENTS_MEMBER, &size, &hl, e) < 0)
		return -1;
	if (size != 8 + hl + 2 * np * 4)
		return fed_errf(e, "%s: %llu bytes do not fit the model",
		    MOMENTS_MEMBER, (unsigned long long)size);
	if (u->buf == NULL)
		u->buf = xcalloc(u->chunk, sizeof(float));
	return 0;
}

int
upd_moments_finish(struct upd *u, const struct arch *a, fed_err *e)
{
	const struct st_file *st;
	fed_err le;

	if ((st = member_st(u, MOMENTS_MEMBER, e)) == NULL)
		return -1;
	if (moments_layout(a, st, MOMENTS_UPDATE, &le) < 0)
		return fed_errf(e, "%s: %s", MOMENTS_MEMBER, le.msg);
	return upd_votes(u, e);
}

void
upd_close(struct upd *u, int spool)
{
	fed_err e;

	if (u->s.r != NULL && u->src[0] == '\0' && strcmp(u->path, "-") == 0) {
		if (bundle_drain(u->s.r, &e) < 0)
			upd_mark(u, &e);
		snprintf(u->src, sizeof(u->src), "/dev/fd/%d", spool);
	}
	upd_src_close(&u->s);
	dec_free(u);
	free(u->buf);
	free(u->raw);
	u->buf = NULL;
	u->raw = NULL;
}

void
upd_free(struct upd *u)
{
	upd_src_close(&u->s);
	dec_free(u);
	free(u->buf);
	free(u->raw);
	json_decref(u->contributor);
	json_decref(u->signers);
}

int
upd_cmp(const void *pa, const void *pb)
{
	const struct upd *a = pa, *b = pb;
	int c = strcmp(a->delta, b->delta);

	if (c == 0)
		c = strcmp(a->digest, b->digest);
	if (c == 0)
		c = strcmp(a->path, b->path);
	return c ? c : a->order - b->order;
}

/* Krum's choice among the updates act[0..na-1] from their distances:
 * each one's score, whether it is selected and its weight (1/m). */
int
upd_krum(struct upd *u, const int *act, int na, const double *dist,
    const struct mopt *o, fed_err *e)
{
	int m = o->rule == MOPT_KRUM ? 1 : o->m, k, r;
	double *score = xcalloc((size_t)na, sizeof(*score));
	int *sel = xcalloc((size_t)na, sizeof(*sel));

	r = rule_krum_select(dist, na, o->f, m, score, sel, e);
	for (k = 0; r == 0 && k < na; k++) {
		u[act[k]].score = score[k];
		u[act[k]].selected = sel[k];
		u[act[k]].weight = sel[k] ? 1.0 / m : 0;
	}
	free(score);
	free(sel);
	return r;
}
