/*
 * update: manifest and members of an update bundle.  The manifest's
 * keys come in a fixed order, so the same run gives the same bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "dist.h"
#include "moments.h"
#include "optstate.h"
#include "out.h"
#include "update.h"
#include "weights.h"

/* Keys only gpt runs have. */
static void
gpt_json(json_t *j, const struct train_opts *t)
{
	json_object_set_new(j, "warmup", json_integer(t->lr.warmup));
	json_object_set_new(j, "clip", json_real(t->opt.clip));
	json_object_set_new(j, "v_batch", t->opt.vbatch > 0 ?
	    json_integer(t->opt.vbatch) : json_null());
	json_object_set_new(j, "slices", json_integer(t->opt.slices > 1 ?
	    t->opt.slices : 1));
	json_object_set_new(j, "windows", json_string("uniform random "
	    "starts, context + 1 bytes"));
}

static json_t *
train_json(const struct train_opts *t, int gpt)
{
	json_t *j = json_object();

	json_object_set_new(j, "optimizer", json_string(optim_name(t->opt.kind)));
	json_object_set_new(j, "lr", json_real(t->lr.lr));
	json_object_set_new(j, "schedule", json_string(schedule_name(t->lr.kind)));
	json_object_set_new(j, "batch", json_integer(t->batch));
	json_object_set_new(j, "epochs", t->steps > 0 ? json_null() :
	    json_integer(t->epochs));
	json_object_set_new(j, "max_steps", t->steps > 0 ?
	    json_integer(t->steps) : json_null());
	if (t->opt.kind == OPTIM_SGD)
		json_object_set_new(j, "momentum", json_real(t->opt.momentum));
	else {
		json_object_set_new(j, "beta1", json_real(t->opt.beta1));
		json_object_set_new(j, "beta2", json_real(t->opt.beta2));
		json_object_set_new(j, "eps", json_real(t->opt.eps));
	}
	json_object_set_new(j, "weight_decay",
	    json_real(t->opt.weight_decay));
	json_object_set_new(j, "prox", json_real(t->opt.prox));
	json_object_set_new(j, "seed", json_integer((json_int_t)t->seed));
	json_object_set_new(j, "shuffle", json_string("xoshiro256**"));
	/* what the bits depend on under MPI: the micro-batches, or else the
	 * number of ranks (one rank is a plain run) */
	if (t->micro > 0)
		json_object_set_new(j, "micro_batches",
		    json_integer(t->micro));
	else if (dist_parallel(t->dist))
		json_object_set_new(j, "ranks", json_integer(t->dist->size));
	if (gpt)
		gpt_json(j, t);
	return j;
}

json_t *
update_manifest(const struct update *u)
{
	char arch[ARCH_STRLEN];
	json_t *m = manifest_new("update", "fed-train");

	arch_format(&u->a, arch, sizeof(arch));
	json_object_set_new(m, "arch", json_string(arch));
	json_object_set_new(m, "parent", json_string(u->parent));
	json_object_set_new(m, "round", json_integer(u->round));
	json_object_set_new(m, "samples", json_integer(u->samples));
	json_object_set_new(m, "steps", json_integer(u->st->steps));
	json_object_set_new(m, "contributor", u->name ? json_string(u->name) :
	    json_null());
	json_object_set_new(m, "train", train_json(u->t,
	    u->a.kind == ARCH_GPT));
	if (u->dp != NULL) {
		/* losses over private rows, unnoised: not released under DP */
		json_object_set_new(m, "stats", json_pack("{s:n,s:n}",
		    "loss_start", "loss_end"));
		json_object_set_new(m, "privacy", privacy_json(u->dp));
	} else
		json_object_set_new(m, "stats", json_pack("{s:f,s:f}",
		    "loss_start", u->st->loss_start, "loss_end",
		    u->st->loss_end));
	if (u->moments != NULL)
		json_object_set_new(m, "moments", moments_json(u->moments->t));
	return m;
}

/* tensors.safetensors, encoded as asked; the residual is updated in r. */
static uint8_t *
encode_delta(const struct update *u, json_t *m, const float *delta,
    float *r, size_t *len, fed_err *e)
{
	struct enc c;
	uint8_t *st;

	if (u->enc == NULL)
		return weights_encode(&u->a, delta, len, e);
	c = *u->enc;
	if (c.scheme >= ENC_TOPK)
		c.k = encode_topk_count(c.fraction, arch_nparams(&u->a));
	c.feedback = r != NULL;
	c.seed = u->t->seed;
	st = encode_encode(&u->a, &c, delta, r, u->t->seed, len, e);
	json_object_set_new(m, "encoding", encode_json(&c));
	return st;
}

/* moments.safetensors: m and the spread max(v - m^2, 0). */
static uint8_t *
encode_moments(const struct update *u, size_t *len, fed_err *e)
{
	const struct optim_state *s = u->moments;
	uint64_t i, np = arch_nparams(&u->a);
	float *w = xmalloc((np ? np : 1) * sizeof(float));
	uint8_t *st = NULL;

	for (i = 0; i < np; i++) {
		w[i] = moments_spread(s->m[i], s->v[i]);
		if (!isfinite(s->m[i]) || !isfinite(w[i])) {
			fed_errf(e, "training diverged (moments not finite); "
			    "try a lower learning rate");
			goto out;
		}
	}
	st = moments_encode(&u->a, s->m, w, MOMENTS_UPDATE, len, e);
out:
	free(w);
	return st;
}

static int
write_bundle(const char *path, json_t *m, struct bundle_payload *pl, int n,
    fed_err *e)
{
	struct out out;

	if (out_open(&out, path, e) < 0)
		return optstate_syserr(e);
	if (bundle_write(out.fd, m, pl, n, NULL, e) < 0 ||
	    out_commit(&out, e) < 0) {
		out_abort(&out);
		return optstate_syserr(e);
	}
	return 0;
}

int
update_write(const struct update *u, json_t *m, const float *delta,
    float *residual, const char *out, fed_err *e)
{
	struct bundle_payload pl[2] = {
		{ WEIGHTS_MEMBER, NULL, -1, 0, NULL },
		{ MOMENTS_MEMBER, NULL, -1, 0, NULL },
	};
	size_t len;
	uint8_t *st, *ms = NULL;
	int rc = -1;

	if ((st = encode_delta(u, m, delta, residual, &len, e)) == NULL)
		return -1;
	pl[0].data = st;
	pl[0].size = len;
	if (u->moments != NULL) {
		if ((ms = encode_moments(u, &len, e)) == NULL)
			goto out;
		pl[1].data = ms;
		pl[1].size = len;
	}
	rc = write_bundle(out, m, pl, u->moments != NULL ? 2 : 1, e);
out:
	free(st);
	free(ms);
	return rc;
}
