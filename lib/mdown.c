/*
 * mdown: fed-merge --download and --apply.  One decoder (encode.c's) and
 * one server step (rule_step) serve the coordinator, who steps with the
 * dequantized aggregate, and the holder, who repeats that step from the
 * previous model; so the bytes agree and the digest proves it.
 */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "manifest.h"
#include "mdown.h"
#include "mmodel.h"
#include "moments.h"
#include "mrec.h"
#include "out.h"
#include "residual.h"
#include "rule.h"
#include "weights.h"

/* the holder's inputs: a model (weights, state, moments) and a download */
#define APPLY_MAX ((uint64_t)5 * ARCH_MAXPARAMS * 4 + ((uint64_t)4 << 20))

int
mdown_open(struct mdown *d, const struct arch *a, const struct mopt *o,
    fed_err *e)
{
	uint64_t np = arch_nparams(a);

	memset(d, 0, sizeof(*d));
	d->residual = o->residual;
	mopt_download_enc(o, np, &d->c);
	if (a->kind == ARCH_TENSORS)
		return fed_usagef(e, "--download: not for a model of imported "
		    "tensors");
	if (d->residual == NULL)
		return 0;
	if ((d->r0 = residual_load(d->residual, a, e)) == NULL)
		return -1;
	d->r = xcalloc(np ? np : 1, sizeof(*d->r));
	return 0;
}

/* The aggregate of an encoded step (its tensors.safetensors) into acc. */
static int
dequantize(const struct arch *a, const struct enc *c, const uint8_t *step,
    size_t len, double *acc, fed_err *e)
{
	uint64_t i, np = arch_nparams(a);
	struct st_file st;
	float *q;

	if (st_parse(step, len, &st, e) < 0)
		return -1;
	if (encode_check_layout(a, c, &st, e) < 0 ||
	    encode_check_values(a, c, &st, e) < 0 ||
	    (q = encode_decode(a, c, &st, e)) == NULL) {
		st_file_free(&st);
		return -1;
	}
	for (i = 0; i < np; i++)
		acc[i] = q[i];
	free(q);
	st_file_free(&st);
	return 0;
}

int
mdown_quantize(struct mdown *d, const struct arch *a, double *acc,
    fed_err *e)
{
	uint64_t i, np = arch_nparams(a);
	float *f = xcalloc(np ? np : 1, sizeof(*f));
	int r;

	for (i = 0; i < np; i++)
		f[i] = (float)acc[i];
	if (d->r)
		memcpy(d->r, d->r0, np * sizeof(*d->r));
	free(d->step);
	d->step = encode_encode(a, &d->c, f, d->r, 0, &d->slen, e);
	free(f);
	if (d->step == NULL)
		return fed_errprefix(e, "--download");
	r = dequantize(a, &d->c, d->step, d->slen, acc, e);
	return r < 0 ? fed_errprefix(e, "--download") : 0;
}

/* The download's manifest: the model it makes, verbatim, and whence. */
static json_t *
step_manifest(const struct mdown *d, const char *arch, const char *parent,
    int64_t round, const json_t *man)
{
	json_t *m = manifest_new("step", "fed-merge");
	char digest[DIGEST_LEN + 1];
	uint8_t *mb;
	size_t ml;

	mb = manifest_dump(man, &ml);
	manifest_digest(mb, ml, digest);
	json_object_set_new(m, "arch", json_string(arch));
	json_object_set_new(m, "parent", json_string(parent));
	json_object_set_new(m, "round", json_integer(round));
	json_object_set_new(m, "encoding", encode_json(&d->c));
	json_object_set_new(m, "model", json_string(digest));
	json_object_set_new(m, "manifest", json_stringn((char *)mb, ml));
	if (json_object_get(man, "moments") != NULL)    /* its member's */
		json_object_set(m, "moments", json_object_get(man, "moments"));
	free(mb);
	return m;
}

int
mdown_write(struct mdown *d, const struct mopt *o, const char *arch,
    const char *parent, int64_t round, const json_t *man,
    const uint8_t *moments, size_t mlen, fed_err *e)
{
	struct bundle_payload p[2] = {
		{ WEIGHTS_MEMBER, d->step, -1, d->slen, NULL },
		{ MOMENTS_MEMBER, moments, -1, mlen, NULL },
	};
	json_t *m = step_manifest(d, arch, parent, round, man);
	struct arch a;
	struct out out;
	int r;

	if (out_open(&out, o->download, e) < 0) {
		json_decref(m);
		return -1;
	}
	r = bundle_write(out.fd, m, p, moments ? 2 : 1, NULL, e);
	json_decref(m);
	if (r < 0 || out_commit(&out, e) < 0) {
		out_abort(&out);
		return fed_errprefix(e, "--download %s", display_name(
		    o->download));
	}
	if (d->residual == NULL)
		return 0;
	if (arch_parse(arch, &a, e) < 0)
		return -1;
	return residual_save(d->residual, &a, d->r, e);
}

void
mdown_free(struct mdown *d)
{
	free(d->r0);
	free(d->r);
	free(d->step);
	memset(d, 0, sizeof(*d));
}

/* ---- the holder's side ---- */

struct apply {
	struct bundle pb, sb;           /* the previous model, the download */
	struct manifest nm;             /* the next model's manifest */
	const uint8_t *mb;              /* its bytes, in sb */
	size_t ml;
	struct arch a;
	uint64_t np;
	struct mopt o;
	float *x, *mv;                  /* (np) weights; (2 np) state */
	int ns;                         /* state tensors per weight */
	double *acc;
};

/* The rule and its parameters, as the next model's record gives them. */
static int
apply_rule(struct apply *ap, fed_err *e)
{
	const json_t *mg = json_object_get(ap->nm.json, "merge");
	const json_t *p = json_object_get(mg, "params");
	const char *rule = json_string_value(json_object_get(mg, "rule"));
	static const char *const keys[] = { "server_lr", "momentum", "beta1",
	    "beta2", "tau" };
	double *dst[] = { &ap->o.lr, &ap->o.momentum, &ap->o.beta1,
	    &ap->o.beta2, &ap->o.tau };
	const json_t *v;
	size_t i;

	mopt_init(&ap->o);
	ap->o.threads = 1;
	if (json_object_get(mg, "download") == NULL || rule == NULL)
		return fed_errf(e, "the model it names was not merged "
		    "with --download");
	if (mopt_rule_parse(rule, &ap->o, e) < 0 || !mopt_weighted(ap->o.rule))
		return fed_errf(e, "the model it names has no linear rule");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_is_number(v = json_object_get(p, keys[i])))
			*dst[i] = json_number_value(v);
	if (mopt_finish(&ap->o, e) < 0)
		return -1;
	ap->ns = mopt_has_v(ap->o.rule) ? 2 : mopt_has_m(ap->o.rule);
	return 0;
}

/* The download: of this model, naming a manifest it carries. */
static int
apply_names(struct apply *ap, const char *prev, fed_err *e)
{
	const json_t *sj = ap->sb.manifest;
	const json_t *ms = json_object_get(sj, "manifest");
	char digest[DIGEST_LEN + 1];

	if (strcmp(ap->sb.meta.kind, "step") != 0)
		return fed_errf(e, "a %s bundle, not a download",
		    ap->sb.meta.kind);
	if (strcmp(ap->sb.meta.parent, ap->pb.digest) != 0)
		return fed_errf(e, "a download from %.80s, not from %s",
		    ap->sb.meta.parent, display_name(prev));
	ap->mb = (const uint8_t *)json_string_value(ms);
	ap->ml = json_string_length(ms);
	manifest_digest(ap->mb, ap->ml, digest);
	if (strcmp(digest, manifest_str(sj, "model")) != 0)
		return fed_errf(e, "its manifest is not the model it names");
	if (manifest_load(&ap->nm, ap->mb, ap->ml, &bundle_rules, e) < 0)
		return -1;
	if (strcmp(ap->nm.kind, "model") != 0 || ap->nm.parent == NULL ||
	    strcmp(ap->nm.parent, ap->pb.digest) != 0 ||
	    ap->nm.round != ap->pb.meta.round + 1 ||
	    strcmp(ap->nm.arch, ap->pb.meta.arch) != 0 ||
	    strcmp(ap->sb.meta.arch, ap->pb.meta.arch) != 0)
		return fed_errf(e, "the model it names does not follow %s",
		    display_name(prev));
	return apply_rule(ap, e);
}

/* A member of fed's F32 layout (prefixes pre, n of them): its values
 * into dst, or -1 when it has another layout. */
static int
apply_floats(const struct apply *ap, const char *name,
    const char *const *pre, int n, float *dst, fed_err *e)
{
	uint64_t size;
	const uint8_t *p = bundle_get(&ap->pb, name, &size);
	uint8_t *h;
	size_t hl;
	int same;

	if (p == NULL)
		return fed_errf(e, "no %s", name);
	if ((h = mrec_header(&ap->a, pre, n, &hl, e)) == NULL)
		return -1;
	same = size == hl + ap->np * 4 * (uint64_t)n &&
	    memcmp(p, h, hl) == 0;
	free(h);
	if (!same)
		return fed_errf(e, "%s: not F32 tensors of fed's layout", name);
	memcpy(dst, p + hl, ap->np * 4 * (size_t)n);
	return 0;
}

/* The previous model's weights and state, and the step's aggregate. */
static int
apply_inputs(struct apply *ap, fed_err *e)
{
	static const char *const plain[] = { "" }, *const mv[] = { "m.", "v." };
	const char *st = json_string_value(json_object_get(json_object_get(
	    ap->nm.json, "merge"), "state"));
	const uint8_t *q;
	uint64_t i, qn;
	struct enc c;

	if (arch_parse(ap->pb.meta.arch, &ap->a, e) < 0)
		return -1;
	ap->np = arch_nparams(&ap->a);
	ap->x = xcalloc(ap->np ? ap->np : 1, sizeof(*ap->x));
	ap->mv = xcalloc(ap->np ? 2 * ap->np : 1, sizeof(*ap->mv));
	ap->acc = xcalloc(ap->np ? ap->np : 1, sizeof(*ap->acc));
	if (apply_floats(ap, WEIGHTS_MEMBER, plain, 1, ap->x, e) < 0)
		return -1;
	if (ap->ns > 0 && st != NULL && strcmp(st, "continued") == 0) {
		if (apply_floats(ap, MMODEL_STATE, mv, ap->ns, ap->mv, e) < 0)
			return -1;
	} else if (ap->ns > 1) {
		for (i = 0; i < ap->np; i++)
			ap->mv[ap->np + i] = rule_v0(&ap->o);
	}
	if (encode_manifest(ap->sb.manifest, ap->np, &c, e) < 0 ||
	    (q = bundle_get(&ap->sb, WEIGHTS_MEMBER, &qn)) == NULL)
		return fed_errprefix(e, "the download");
	return dequantize(&ap->a, &c, q, qn, ap->acc, e);
}

/* The bytes of member name of the next model: a new buffer, or NULL. */
static uint8_t *
apply_member(const struct apply *ap, const char *name, uint64_t *len,
    fed_err *e)
{
	static const char *const plain[] = { "" }, *const mv[] = { "m.", "v." };
	int st = strcmp(name, MMODEL_STATE) == 0;
	const uint8_t *src;
	uint8_t *h, *b;
	size_t hl, n;

	if (strcmp(name, MOMENTS_MEMBER) == 0) {
		if ((src = bundle_get(&ap->sb, name, len)) == NULL) {
			fed_errf(e, "the download has no %s", name);
			return NULL;
		}
		b = xmalloc(*len ? *len : 1);
		memcpy(b, src, *len);
		return b;
	}
	if (!st && strcmp(name, WEIGHTS_MEMBER) != 0) {
		fed_errf(e, "the model it names has a %.64s", name);
		return NULL;
	}
	if ((h = mrec_header(&ap->a, st ? mv : plain, st ? ap->ns : 1, &hl,
	    e)) == NULL)
		return NULL;
	n = ap->np * 4 * (size_t)(st ? ap->ns : 1);
	b = xmalloc(hl + n);
	memcpy(b, h, hl);
	memcpy(b + hl, st ? ap->mv : ap->x, n);
	free(h);
	*len = hl + n;
	return b;
}

/* Every member made and checked against the manifest, then written. */
static int
apply_write(const struct apply *ap, int out, fed_err *e)
{
	struct bundle_writer *w = NULL;
	char hex[2 * SHA256_LEN + 1];
	uint8_t *b[BUNDLE_MAXMEMBERS] = { NULL };
	uint64_t len[BUNDLE_MAXMEMBERS];
	int i, n = ap->nm.nmembers, r = -1;

	for (i = 0; i < n; i++) {
		const struct manifest_member *mm = &ap->nm.members[i];

		if ((b[i] = apply_member(ap, mm->name, &len[i], e)) == NULL)
			goto out;
		sha256_hex(b[i], len[i], hex);
		if (len[i] != mm->size || strcmp(hex, mm->sha256) != 0) {
			fed_errf(e, "does not rebuild the model it names: "
			    "%s differs", mm->name);
			goto out;
		}
	}
	if ((w = bundle_writer_open(out, e)) == NULL ||
	    bundle_writer_member(w, "manifest.json", ap->ml, e) < 0 ||
	    bundle_writer_data(w, ap->mb, ap->ml, e) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (bundle_writer_member(w, ap->nm.members[i].name, len[i],
		    e) < 0 || bundle_writer_data(w, b[i], len[i], e) < 0)
			goto out;
	r = bundle_writer_close(w, e);
	w = NULL;
out:
	bundle_writer_close(w, NULL);
	for (i = 0; i < n; i++)
		free(b[i]);
	return r;
}

static int
apply_load(struct apply *ap, const char *prev, const char *step, fed_err *e)
{
	if (bundle_load(prev, APPLY_MAX, &ap->pb, e) < 0)
		return fed_errprefix(e, "%s", display_name(prev));
	if (strcmp(ap->pb.meta.kind, "model") != 0)
		return fed_errf(e, "%s: a %s bundle, not a model",
		    display_name(prev), ap->pb.meta.kind);
	if (bundle_load(step, APPLY_MAX, &ap->sb, e) < 0 ||
	    apply_names(ap, prev, e) < 0)
		return fed_errprefix(e, "%s", display_name(step));
	if (apply_inputs(ap, e) < 0)
		return fed_errprefix(e, "%s", display_name(prev));
	return 0;
}

int
mdown_apply(const char *prev, const char *step, int out, fed_err *e)
{
	struct apply ap;
	int r = -1;

	memset(&ap, 0, sizeof(ap));
	if (apply_load(&ap, prev, step, e) == 0) {
		rule_step(&ap.o, ap.x, ap.acc, ap.ns ? ap.mv : NULL,
		    ap.ns > 1 ? ap.mv + ap.np : NULL, ap.np);
		r = apply_write(&ap, out, e);
		if (r < 0 && e->kind == FED_EREJECT)
			fed_errprefix(e, "%s", display_name(step));
	}
	bundle_free(&ap.pb);
	bundle_free(&ap.sb);
	if (ap.nm.json)
		manifest_free(&ap.nm);
	free(ap.x);
	free(ap.mv);
	free(ap.acc);
	return r;
}
