/*
 * mmodel: the model of a merge, read as a stream: its manifest at open,
 * then its weights chunk by chunk as the driver writes the next model,
 * verified as they are first streamed (or checked whole at open first,
 * when they must be).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lineage.h"
#include "mmodel.h"
#include "moments.h"
#include "tset.h"
#include "weights.h"

#define MODEL_MAX ((uint64_t)5 * ARCH_MAXPARAMS * 4 + ((uint64_t)4 << 20))

/*
 * DP: the curve to compose with.  A parent merged under DP-FedAvg passes
 * on its cumulative RDP; round 0 has seen no data; a parent merged without
 * DP has, and its rounds are not covered: accounting starts afresh, and
 * the record says from which round.
 */
static int
dp_parent(struct mmodel *mi, const json_t *m, fed_err *e)
{
	const json_t *p = json_object_get(m, "privacy");
	const json_t *rdp = json_object_get(p, "rdp"), *x;
	const json_t *rounds = json_object_get(p, "rounds");
	const json_t *since = json_object_get(p, "since_round");
	size_t k;

	mi->dp_since = mi->round + 1;
	if (p == NULL)
		return 0;
	if (!json_is_array(rdp) || json_array_size(rdp) != DP_NORDERS ||
	    !json_is_integer(rounds) || json_integer_value(rounds) < 1 ||
	    json_integer_value(rounds) > mi->round ||
	    !json_is_integer(since) || json_integer_value(since) < 1 ||
	    json_integer_value(since) > mi->round)
		return fed_errf(e, "privacy record is not a dp-fedavg curve");
	json_array_foreach(rdp, k, x) {
		mi->rdp[k] = json_number_value(x);
		if (!json_is_number(x) || !(mi->rdp[k] >= 0) ||
		    !isfinite(mi->rdp[k]))
			return fed_errf(e, "privacy record: rdp values must "
			    "be finite and not negative");
	}
	mi->dp_rounds = json_integer_value(rounds);
	mi->dp_since = json_integer_value(since);
	return 0;
}

/* An imported set: its table, metadata and base (an adapter's) go on to
 * the next model; its size in the types it stores. */
static void
model_table(struct mmodel *mi, const json_t *m)
{
	const json_t *meta = json_object_get(m, "metadata");
	const json_t *base = json_object_get(m, "base");
	const struct tensor_spec *t;
	int i;

	mi->nbytes = mi->np * 4;
	if (mi->a.kind != ARCH_TENSORS)
		return;
	t = &mi->a.t[mi->a.nt - 1];
	mi->nbytes = t->boff + t->count * st_dtype_size(t->dtype);
	for (i = 0; i < mi->a.nt; i++)
		mi->half |= mi->a.t[i].dtype != ST_F32;
	mi->keep = json_pack("{s:O}", "tensors", json_object_get(m,
	    "tensors"));
	if (meta != NULL)
		json_object_set(mi->keep, "metadata", (json_t *)meta);
	if (base != NULL)
		json_object_set(mi->keep, "base", (json_t *)base);
}

/* What any reader of the model takes from its manifest. */
static int
model_basics(struct mmodel *mi, const struct manifest *m, fed_err *e)
{
	memcpy(mi->digest, bundle_digest(mi->s.r), sizeof(mi->digest));
	if (strcmp(m->kind, "model") != 0)
		return fed_errf(e, "a %s bundle, not a model", m->kind);
	if (weights_meta_arch(m, &mi->a, e) < 0)
		return -1;
	arch_format(&mi->a, mi->arch, sizeof(mi->arch));
	mi->np = arch_nparams(&mi->a);
	model_table(mi, m->json);
	mi->round = m->round;
	return lineage_check_self(m->kind, m->round, m->parent, e);
}

/* Everything the merge takes from the model's manifest, read here only.
 * *keep: the state member is to be continued (the same rule made it). */
static int
model_manifest(struct mmodel *mi, const struct mopt *o, int *keep,
    fed_err *e)
{
	const struct manifest *m = bundle_meta(mi->s.r);
	const char *rule = json_string_value(json_object_get(
	    json_object_get(m->json, "merge"), "rule"));
	int64_t next;

	if (model_basics(mi, m, e) < 0)
		return -1;
	/* the record's round is mi->round + 1: checked here, done there */
	if (lineage_next(m->round, &next, e) < 0)
		return -1;
	if (moments_meta_step(m, &mi->mstep, e) < 0)
		return -1;
	if (mi->mstep < 0)
		mi->mstep = 0;
	if (o->dp_noise > 0 && dp_parent(mi, m->json, e) < 0)
		return -1;
	if (mopt_has_m(o->rule))
		mi->state = "fresh";
	*keep = mopt_has_m(o->rule) && rule != NULL &&
	    strcmp(rule, mopt_rule_name(o->rule)) == 0;
	return 0;
}

/* The weights member, streamed past: its contents fit the architecture. */
static int
check_weights(struct mmodel *mi, fed_err *e)
{
	const struct st_file *st;
	const void *p;
	ssize_t got;

	while ((got = bundle_read(mi->s.r, &p, e)) > 0)
		;
	if (got < 0)
		return -1;
	if ((st = bundle_member_st(mi->s.r)) == NULL)
		return fed_errf(e, "%s: not safetensors", WEIGHTS_MEMBER);
	if (weights_check_as(&mi->a, st, 1, e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	return 0;
}

/* The server state the previous merge left, read whole. */
static int
load_state(struct mmodel *mi, int hv, uint64_t size, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_file st;
	int bad;

	mi->sbuf = xmalloc(size ? size : 1);
	mi->s.n = 0;
	if (upd_src_take(&mi->s, mi->sbuf, size, e) < 0 ||
	    upd_src_end(&mi->s, MMODEL_STATE, e) < 0)
		return -1;
	if (st_parse(mi->sbuf, size, &st, e) < 0)
		return fed_errprefix(e, "%s", MMODEL_STATE);
	if (st.n != arch_tensors(&mi->a, t) * (hv ? 2 : 1)) {
		st_file_free(&st);
		return fed_errf(e, "%s: tensors do not fit the rule",
		    MMODEL_STATE);
	}
	bad = upd_layout(&mi->a, &st, 0, "m.", e) < 0 ||
	    (hv && upd_layout(&mi->a, &st, mi->np, "v.", e) < 0);
	mi->m = mi->sbuf + st.data_start;
	mi->v = hv ? mi->m + mi->np * 4 : NULL;
	st_file_free(&st);
	if (bad)
		return fed_errprefix(e, "%s", MMODEL_STATE);
	mi->state = "continued";
	return 0;
}

static int
check_members(struct mmodel *mi, const struct mopt *o, int keep, fed_err *e)
{
	const struct bundle_entry *ent;
	uint64_t total = 0;
	int s, i, n = bundle_entries(mi->s.r, &ent), weights = 0;

	for (i = 0; i < n; i++)
		total += ent[i].size;
	if (total > MODEL_MAX)
		return fed_errf(e, "members too large");
	while ((s = bundle_next(mi->s.r, &ent, e)) > 0) {
		if (strcmp(ent->name, WEIGHTS_MEMBER) == 0) {
			weights = 1;
			if (check_weights(mi, e) < 0)
				return -1;
		} else if (keep && strcmp(ent->name, MMODEL_STATE) == 0) {
			if (load_state(mi, mopt_has_v(o->rule), ent->size,
			    e) < 0)
				return -1;
		}
	}
	if (s < 0)
		return -1;
	return weights ? 0 : fed_errf(e, "no %s", WEIGHTS_MEMBER);
}

/* The members as the manifest lists them, for a model whose weights
 * are checked as they are first streamed (mi->unread). */
static int
listed(struct mmodel *mi, fed_err *e)
{
	const struct bundle_entry *ent;
	uint64_t total = 0;
	int i, n = bundle_entries(mi->s.r, &ent), weights = 0;

	for (i = 0; i < n; i++) {
		total += ent[i].size;
		weights |= strcmp(ent[i].name, WEIGHTS_MEMBER) == 0;
	}
	if (total > MODEL_MAX)
		return fed_errf(e, "members too large");
	mi->unread = 1;
	return weights ? 0 : fed_errf(e, "no %s", WEIGHTS_MEMBER);
}

/*
 * A model not read whole at open failed as it streamed: e becomes what
 * the whole check at open says of it, so that the message does not
 * depend on when the model was found bad.
 */
static void
whole_why(struct mmodel *mi, fed_err *e)
{
	struct upd_src s = mi->s;
	fed_err we;

	if (!mi->unread || e->kind == FED_ESYSTEM)
		return;
	memset(&mi->s, 0, sizeof(mi->s));
	if (upd_src_open(&mi->s, mi->path, -1, NULL, &we) == 0 &&
	    check_members(mi, NULL, 0, &we) < 0 && we.kind != FED_ESYSTEM)
		*e = we;
	upd_src_close(&mi->s);
	mi->s = s;
}

/* After the first whole stream of an unread model's weights: their
 * layout, and the rest of the bundle. */
static int
read_rest(struct mmodel *mi, fed_err *e)
{
	const struct st_file *st;

	if ((st = bundle_member_st(mi->s.r)) == NULL)
		return fed_errf(e, "%s: not safetensors", WEIGHTS_MEMBER);
	if (weights_check_as(&mi->a, st, 1, e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	if (bundle_drain(mi->s.r, e) < 0)
		return -1;
	mi->unread = 0;
	return 0;
}

/*
 * A model from a file, with no server state to load before its weights,
 * is checked from its manifest at open and verified as its weights are
 * first streamed (the merge writes nothing before): it is read once, not
 * twice.  Stdin, which is spooled, and a state to continue, which comes
 * after the weights, have it read whole at open.
 */
int
mmodel_open(struct mmodel *mi, const char *path, const struct mopt *o,
    int spool, fed_err *e)
{
	int std = strcmp(path, "-") == 0, keep = 0;

	memset(mi, 0, sizeof(*mi));
	mi->path = path;
	if (upd_src_open(&mi->s, path, std ? spool : -1, NULL, e) < 0 ||
	    model_manifest(mi, o, &keep, e) < 0 ||
	    (!std && !keep ? listed(mi, e) : check_members(mi, o, keep,
	    e)) < 0)
		return -1;
	upd_src_close(&mi->s);
	if (std)
		snprintf(mi->src, sizeof(mi->src), "/dev/fd/%d", spool);
	return 0;
}

int
mmodel_rewind(struct mmodel *mi, size_t chunk, fed_err *e)
{
	uint64_t size, hl;

	upd_src_close(&mi->s);
	if (mi->buf == NULL)
		mi->buf = xcalloc(chunk, sizeof(float));
	if (mi->half && mi->hbuf == NULL)
		mi->hbuf = xcalloc(chunk, sizeof(float));
	mi->at = 0;
	if (upd_src_open(&mi->s, mi->src[0] ? mi->src : mi->path, -1,
	    mi->digest, e) < 0 ||
	    upd_src_member(&mi->s, WEIGHTS_MEMBER, &size, &hl, e) < 0 ||
	    (size != 8 + hl + mi->nbytes &&
	    fed_errf(e, "changed while being merged") < 0)) {
		whole_why(mi, e);
		return -1;
	}
	return 0;
}

/* The tensor that holds coordinate at. */
static const struct tensor_spec *
tensor_at(const struct arch *a, uint64_t at)
{
	int lo = 0, hi = a->nt - 1, mid;

	while (lo < hi) {
		mid = (lo + hi + 1) / 2;
		if (a->t[mid].offset <= at)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &a->t[lo];
}

/* Coordinates [mi->at, + len) of a model with F16 or BF16 tensors. */
static const float *
half_x(struct mmodel *mi, size_t len, fed_err *e)
{
	const struct tensor_spec *t;
	uint64_t at = mi->at, end = at + len, c;

	while (at < end) {
		t = tensor_at(&mi->a, at);
		c = t->offset + t->count - at;
		c = c < end - at ? c : end - at;
		if (upd_src_take(&mi->s, mi->hbuf, (size_t)c *
		    st_dtype_size(t->dtype), e) < 0)
			return NULL;
		tset_to_float(t->dtype, mi->hbuf, mi->buf + (at - mi->at),
		    (size_t)c);
		at += c;
	}
	return mi->buf;
}

int
mmodel_put(struct mmodel *mi, const float *x, size_t len, uint64_t at,
    mmodel_write *wr, void *arg)
{
	const struct tensor_spec *t;
	uint64_t end = at + len, c;
	size_t n;

	if (!mi->half)
		return wr(arg, x, len * 4, at * 4);
	for (; at < end; x += c, at += c) {
		t = tensor_at(&mi->a, at);
		c = t->offset + t->count - at;
		c = c < end - at ? c : end - at;
		n = (size_t)c * st_dtype_size(t->dtype);
		if (tset_from_float(t->dtype, x, mi->hbuf, (size_t)c) > 0 &&
		    mi->over == NULL)
			mi->over = t;
		if (wr(arg, mi->hbuf, n, t->boff + (at - t->offset) *
		    st_dtype_size(t->dtype)) < 0)
			return -1;
	}
	return 0;
}

/* The next *len floats, or with fewer as many as come without a copy. */
static const float *
next_x(struct mmodel *mi, size_t *len, int fewer, fed_err *e)
{
	const float *x = mi->half ? half_x(mi, *len, e) : fewer ?
	    upd_src_upto(&mi->s, mi->buf, len, e) :
	    upd_src_floats(&mi->s, mi->buf, *len, e);

	mi->at += *len;

	if (x == NULL) {
		fed_errprefix(e, "%s", WEIGHTS_MEMBER);
		whole_why(mi, e);
	}
	return x;
}

const float *
mmodel_x(struct mmodel *mi, size_t len, fed_err *e)
{
	return next_x(mi, &len, 0, e);
}

const float *
mmodel_upto(struct mmodel *mi, size_t *len, fed_err *e)
{
	return next_x(mi, len, 1, e);
}

int
mmodel_read(struct mmodel *mi, float *dst, size_t len, fed_err *e)
{
	const float *x;

	if (mi->half) {
		if ((x = mmodel_x(mi, len, e)) == NULL)
			return -1;
		memcpy(dst, x, len * sizeof(float));
		return 0;
	}
	mi->at += len;
	if (upd_src_take(&mi->s, dst, len * sizeof(float), e) == 0)
		return 0;
	fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	whole_why(mi, e);
	return -1;
}

int
mmodel_stream(struct mmodel *mi, const char *path, size_t chunk, fed_err *e)
{
	uint64_t size, hl;

	memset(mi, 0, sizeof(*mi));
	mi->path = path;
	if (upd_src_open(&mi->s, path, -1, NULL, e) < 0 ||
	    model_basics(mi, bundle_meta(mi->s.r), e) < 0 ||
	    upd_src_member(&mi->s, WEIGHTS_MEMBER, &size, &hl, e) < 0)
		return -1;
	if (size != 8 + hl + mi->nbytes)
		return fed_errf(e, "%s: not the architecture's size",
		    WEIGHTS_MEMBER);
	mi->buf = xcalloc(chunk, sizeof(float));
	if (mi->half)
		mi->hbuf = xcalloc(chunk, sizeof(float));
	return 0;
}

int
mmodel_stream_end(struct mmodel *mi, fed_err *e)
{
	const struct st_file *st;

	if (upd_src_end(&mi->s, WEIGHTS_MEMBER, e) < 0)
		return -1;
	if ((st = bundle_member_st(mi->s.r)) == NULL)
		return fed_errf(e, "%s: not safetensors", WEIGHTS_MEMBER);
	if (weights_check_as(&mi->a, st, 1, e) < 0)
		return fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	return bundle_drain(mi->s.r, e);
}

int
mmodel_end(struct mmodel *mi, fed_err *e)
{
	int r = upd_src_end(&mi->s, WEIGHTS_MEMBER, e);

	if (mi->unread && (r < 0 || (r = read_rest(mi, e)) < 0))
		whole_why(mi, e);
	if (r == 0 && mi->over != NULL)
		r = fed_errf(e, "tensor %s: merged values do not fit %s",
		    mi->over->name, st_dtype_name(mi->over->dtype));

	upd_src_close(&mi->s);
	return r;
}

void
mmodel_free(struct mmodel *mi)
{
	upd_src_close(&mi->s);
	free(mi->sbuf);
	free(mi->buf);
	free(mi->hbuf);
	json_decref(mi->keep);
}
