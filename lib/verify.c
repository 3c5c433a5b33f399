/*
 * verify: one bundle, all checks, in the order a reader meets them.
 * Signatures are checked last, once every byte the manifest pins has
 * been seen to match, so a verified signature vouches for all of it.
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "moments.h"
#include "verify.h"
#include "weights.h"

static int
check_required(const struct manifest *m, fed_err *e)
{
	const char *kind = m->kind;
	const char *want = strcmp(kind, "data") == 0 ? "data.safetensors" :
	    WEIGHTS_MEMBER;
	int64_t step;
	int i, found = 0, moments = 0;

	if (strcmp(kind, "roster") == 0 || strcmp(kind, "report") == 0)
		return 0;       /* no members: manifest.c's rule */
	for (i = 0; i < m->nmembers; i++) {
		const char *n = m->members[i].name;

		if (strcmp(n, want) == 0)
			found = 1;
		else if (strcmp(n, MOMENTS_MEMBER) == 0 &&
		    strcmp(kind, "data") != 0)
			moments = 1;
		else if (strcmp(n, "state.safetensors") != 0 ||
		    strcmp(kind, "model") != 0)
			return fed_errf(e, "member %s does not belong in a %s "
			    "bundle", n, kind);
	}
	if (!found)
		return fed_errf(e, "%s bundle without %s", kind, want);
	if (moments_meta_step(m, &step, e) < 0)
		return -1;
	if (moments != (step >= 0))
		return fed_errf(e, "%s and manifest.json's moments: one "
		    "without the other", MOMENTS_MEMBER);
	return 0;
}

/* A text data bundle (data.h): tokens (U8, (samples)), docs (I64,
 * (documents)). */
static int
check_text(const struct manifest *m, const struct st_file *st, fed_err *e)
{
	const struct st_tensor *t = st_find(st, "tokens");
	const struct st_tensor *d = st_find(st, "docs");
	int64_t n = m->samples, nd = m->documents;

	if (t == NULL || d == NULL || st->n != 2)
		return fed_errf(e, "data.safetensors: want tensors tokens and "
		    "docs");
	if (n < 1 || t->dtype != ST_U8 || t->ndim != 1 || t->shape[0] != n)
		return fed_errf(e, "data.safetensors: tokens must be U8 of "
		    "shape (samples)");
	if (nd < 1 || nd > n || d->dtype != ST_I64 || d->ndim != 1 ||
	    d->shape[0] != nd)
		return fed_errf(e, "data.safetensors: docs must be I64 of "
		    "shape (documents)");
	return 0;
}

static int
check_data(const struct manifest *m, const struct st_file *st, fed_err *e)
{
	const struct st_tensor *x = st_find(st, "x"), *y = st_find(st, "y");
	int64_t n = m->samples, d = m->features;

	if (m->modality != NULL && strcmp(m->modality, "text") == 0)
		return check_text(m, st, e);

	if (x == NULL || y == NULL || st->n != 2)
		return fed_errf(e, "data.safetensors: want tensors x and y");
	if ((x->dtype != ST_U8 && x->dtype != ST_F32) || x->ndim != 2 ||
	    x->shape[0] != n || x->shape[1] != d)
		return fed_errf(e, "data.safetensors: x must be U8 or F32 of "
		    "shape (samples, features)");
	if (y->dtype != ST_I32 || y->ndim != 1 || y->shape[0] != n)
		return fed_errf(e, "data.safetensors: y must be I32 of shape "
		    "(samples)");
	return 0;
}

int
verify_payload(const struct manifest *m, const char *member,
    const struct st_file *st, fed_err *e)
{
	struct arch a;
	struct enc c;
	fed_err ae;

	if (strcmp(member, "data.safetensors") == 0)
		return check_data(m, st, e);
	if (strcmp(member, WEIGHTS_MEMBER) != 0)
		return 0;
	if (weights_meta_arch(m, &a, e) < 0)
		return -1;
	if (m->encoded && strcmp(m->kind, "update") != 0 &&
	    strcmp(m->kind, "step") != 0)
		return fed_errf(e, "manifest.json: only updates and downloads "
		    "are encoded");
	if (encode_manifest(m->json, arch_nparams(&a), &c, e) < 0)
		return -1;
	if (c.scheme != ENC_F32 ? encode_check_layout(&a, &c, st, &ae) < 0 :
	    weights_check_as(&a, st, strcmp(m->kind, "model") == 0, &ae) < 0)
		return fed_errf(e, "%s: %s", member, ae.msg);
	return 0;
}

/*
 * The values of an encoded update (indices, scales, int8 range) and of
 * shared moments (spreads not negative) need the member's data, which the
 * stream does not keep: the member is gathered, at most the size of its
 * float32 form, and checked whole.
 */
static int
check_gathered(struct bundle_reader *r, const struct bundle_entry *ent,
    fed_err *e)
{
	const struct manifest *m = bundle_meta(r);
	int mom = strcmp(ent->name, MOMENTS_MEMBER) == 0;
	struct st_file st;
	struct arch a;
	struct enc c;
	uint8_t *buf;
	const void *p;
	uint64_t at = 0;
	ssize_t n;
	int rc;

	if (weights_meta_arch(m, &a, e) < 0 ||
	    encode_manifest(m->json, arch_nparams(&a), &c, e) < 0)
		return -1;
	if (ent->size > 8 + ST_MAXHEADER + arch_nparams(&a) * 4 * (mom ? 2 : 1))
		return fed_errf(e, "%s: too large for %s", ent->name,
		    mom ? "the architecture" : encode_name(c.scheme));
	buf = xmalloc(ent->size ? ent->size : 1);
	while ((n = bundle_read(r, &p, e)) > 0 && at + (uint64_t)n <= ent->size) {
		memcpy(buf + at, p, (size_t)n);
		at += (uint64_t)n;
	}
	rc = n < 0 ? -1 : n > 0 ? fed_errf(e, "%s: longer than declared",
	    ent->name) : 0;
	if (rc == 0 && mom && (rc = st_parse(buf, at, &st, e)) == 0) {
		rc = moments_check(&a, &st, strcmp(m->kind, "update") != 0 ?
		    MOMENTS_MODEL : MOMENTS_UPDATE, e);
		st_file_free(&st);
	} else if (rc == 0 && (rc = st_parse(buf, at, &st, e)) == 0) {
		rc = encode_check_layout(&a, &c, &st, e) < 0 ||
		    encode_check_values(&a, &c, &st, e) < 0 ? -1 : 0;
		st_file_free(&st);
		if (rc < 0)
			fed_errprefix(e, "%s", ent->name);
	}
	free(buf);
	return rc;
}

static const struct key *
trusted(const struct verify_opts *o, const char *keyid)
{
	int i;

	for (i = 0; i < o->nkeys; i++)
		if (strcmp(o->keys[i].id, keyid) == 0)
			return &o->keys[i];
	return NULL;
}

/* Signatures against a roster: its holders' keys, the quorum, and an
 * update's contributor tied to a signer. */
static int
check_roster_sigs(struct bundle_reader *r, const struct verify_opts *o,
    struct verify_result *res, fed_err *e)
{
	const struct roster *ro = o->roster;
	const struct bundle_sig *sigs;
	const uint8_t *mb;
	size_t ml;
	int i, n;

	res->nsigs = bundle_sigs(r, &sigs);
	mb = bundle_manifest_bytes(r, &ml);
	if ((n = roster_signers(ro, mb, ml, sigs, res->nsigs, res->who,
	    e)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		memcpy(res->signers[i], ro->h[res->who[i]].key.id,
		    KEYID_HEX + 1);
	res->nsigners = n;
	if (n < o->quorum)
		return fed_errf(e, "%s by %d roster key%s, %d required",
		    res->nsigs ? "signed" : "not signed", n, n == 1 ? "" : "s",
		    o->quorum);
	if (strcmp(res->kind, "update") == 0 &&
	    (res->contributor = roster_contributor(ro, bundle_manifest(r),
	    res->who, n, e)) < 0)
		return -1;
	return 0;
}

static int
check_sigs(struct bundle_reader *r, const struct verify_opts *o,
    struct verify_result *res, fed_err *e)
{
	const struct bundle_sig *sigs;
	const uint8_t *mb;
	const struct key *k;
	size_t ml;
	int i;

	res->nsigs = bundle_sigs(r, &sigs);
	mb = bundle_manifest_bytes(r, &ml);
	for (i = 0; i < res->nsigs; i++) {
		if ((k = trusted(o, sigs[i].keyid)) == NULL)
			continue;
		if (!key_verify(k, mb, ml, sigs[i].sig))
			return fed_errf(e, "signature by %s does not verify",
			    sigs[i].keyid);
		memcpy(res->signers[res->nsigners++], k->id, KEYID_HEX + 1);
	}
	if (o->nkeys > 0 && res->nsigners < o->quorum)
		return fed_errf(e, "%s by %d trusted key%s, %d required",
		    res->nsigs ? "signed" : "not signed", res->nsigners,
		    res->nsigners == 1 ? "" : "s", o->quorum);
	return 0;
}

/* The round rules, and whatever the caller knows of the lineage. */
static int
check_lineage(const struct manifest *m, const struct verify_opts *o,
    const struct verify_result *res, fed_err *e)
{
	if (lineage_check_self(m->kind, m->round, m->parent, e) < 0)
		return -1;
	if (o->parent_round >= 0 && o->parent != NULL &&
	    lineage_check_child(m->kind, m->round, o->parent_round, e) < 0)
		return -1;
	if (o->min_round > 0 && m->round < o->min_round)
		return fed_errf(e, "%s at round %lld, below the minimum round "
		    "%lld", m->kind, (long long)m->round,
		    (long long)o->min_round);
	if (o->seen == NULL)
		return 0;
	if (strcmp(m->kind, "model") != 0)
		return fed_errf(e, "kind %s: a lineage state follows models "
		    "only", m->kind);
	return lineage_state_check(o->seen, m->round, res->digest, m->parent,
	    e);
}

/* A roster's holders are checked as a roster reader would. */
static int
check_roster(const struct manifest *m, fed_err *e)
{
	struct roster *ro = xmalloc(sizeof(*ro));
	int rc = roster_from_manifest(ro, m, e);

	roster_free(ro);
	free(ro);
	return rc;
}

static void
describe(struct bundle_reader *r, struct verify_result *res)
{
	const struct manifest *m = bundle_meta(r);

	snprintf(res->digest, sizeof(res->digest), "%s", bundle_digest(r));
	snprintf(res->kind, sizeof(res->kind), "%s", m->kind);
	res->round = m->round;
	snprintf(res->parent, sizeof(res->parent), "%s", m->parent ?
	    m->parent : "");
	snprintf(res->base, sizeof(res->base), "%s", m->base ? m->base : "");
}

static int
verify_stream(struct bundle_reader *r, const struct verify_opts *o,
    struct verify_result *res, fed_err *e)
{
	const struct manifest *m = bundle_meta(r);
	const struct bundle_entry *ent;
	const void *p;
	ssize_t n;
	int s;

	describe(r, res);
	if (check_required(m, e) < 0)
		return -1;
	if (o->parent && strcmp(res->parent, o->parent) != 0)
		return fed_errf(e, "parent is %s, not %s", res->parent[0] ?
		    res->parent : "none", o->parent);
	if (o->base && strcmp(res->base, o->base) != 0)
		return fed_errf(e, "base is %s, not %s", res->base[0] ?
		    res->base : "none", o->base);
	if (check_lineage(m, o, res, e) < 0)
		return -1;
	while ((s = bundle_next(r, &ent, e)) > 0) {
		if ((strcmp(ent->name, WEIGHTS_MEMBER) == 0 && m->encoded) ||
		    strcmp(ent->name, MOMENTS_MEMBER) == 0) {
			if (check_gathered(r, ent, e) < 0)
				return -1;
		} else {
			while ((n = bundle_read(r, &p, e)) > 0)
				;
			if (n < 0)
				return -1;
		}
		if (bundle_member_st(r) != NULL && verify_payload(m,
		    ent->name, bundle_member_st(r), e) < 0)
			return -1;
	}
	if (s < 0)
		return -1;
	if (strcmp(m->kind, "roster") == 0 && check_roster(m, e) < 0)
		return -1;
	return o->roster ? check_roster_sigs(r, o, res, e) :
	    check_sigs(r, o, res, e);
}

int
verify_bundle(const char *path, const struct verify_opts *o,
    struct verify_result *res, fed_err *e)
{
	struct bundle_reader *r;
	int s;

	memset(res, 0, sizeof(*res));
	res->round = -1;
	res->contributor = -1;
	if ((r = bundle_open(path, o->spool_fd, e)) == NULL)
		return -1;
	s = verify_stream(r, o, res, e);
	bundle_close(r);
	return s;
}
