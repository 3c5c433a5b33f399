/*
 * mrec: the record fed-merge writes into the next model's manifest: the
 * rule and its parameters, the roster the votes were counted under,
 * every update merged (digest, contributor, verified signers, encoding,
 * samples declared and used, weight, norms, Krum's verdict), those left
 * out and why, the server state, DP-FedAvg's accounting, the moments'
 * step.  The seed of DP's noise never enters it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "moments.h"
#include "out.h"
#include "mrec.h"
#include "rule.h"

static json_t *
real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *
params_json(const struct mopt *o, int trim)
{
	json_t *p = json_object();

	json_object_set_new(p, "server_lr", json_real(o->lr));
	json_object_set_new(p, "clip_norm", o->clip > 0 ?
	    json_real(o->clip) : json_null());
	if (mopt_weighted(o->rule)) {
		json_object_set_new(p, "weighting",
		    json_string(o->uniform ? "uniform" : "samples"));
		json_object_set_new(p, "max_samples", o->max_samples ?
		    json_integer((json_int_t)o->max_samples) : json_null());
	}
	if (o->rule == MOPT_FEDAVGM || o->rule == MOPT_NESTEROV)
		json_object_set_new(p, "momentum", json_real(o->momentum));
	if (mopt_has_v(o->rule)) {
		json_object_set_new(p, "beta1", json_real(o->beta1));
		json_object_set_new(p, "beta2", json_real(o->beta2));
		json_object_set_new(p, "tau", json_real(o->tau));
	}
	if (o->rule == MOPT_TRIMMED) {
		json_object_set_new(p, "beta", json_real(o->beta));
		json_object_set_new(p, "trimmed", json_integer(trim));
	}
	if (o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM)
		json_object_set_new(p, "f", json_integer(o->f));
	if (o->rule == MOPT_MULTIKRUM)
		json_object_set_new(p, "m", json_integer(o->m));
	return p;
}

static json_t *
upd_json(const struct upd *u, const struct mopt *o)
{
	int krum = o->rule == MOPT_KRUM || o->rule == MOPT_MULTIKRUM;
	json_t *x = json_pack("{s:s,s:O,s:O,s:s,s:I,s:o,s:o,s:o,s:b}",
	    "digest", u->digest, "contributor", u->contributor,
	    "signers", u->signers ? u->signers : json_null(),
	    "encoding", encode_name(u->enc.scheme),
	    "samples", (json_int_t)u->samples, "weight", real(u->weight),
	    "norm", real(u->norm), "norm_clipped", real(u->norm * u->scale),
	    "discarded", krum && !u->selected);

	if (krum)
		json_object_set_new(x, "krum_score", real(u->score));
	if (o->roster != NULL)
		json_object_set_new(x, "samples_used",
		    json_integer((json_int_t)u->used));
	if (o->admit != NULL)
		json_object_set_new(x, "admission_loss", real(u->admit_loss));
	return x;
}

/* The seed stays out: with it anyone could draw the noise again and
 * subtract it. */
static json_t *
dp_json(const struct mrec *r, const struct mopt *o)
{
	const struct mmodel *mi = r->mi;
	double rdp[DP_NORDERS], eps;
	json_t *p = json_object(), *a = json_array();
	int k;

	memcpy(rdp, mi->rdp, sizeof(rdp));
	eps = rule_dp_account(rdp, o->dp_rate, o->dp_noise, o->dp_delta);
	for (k = 0; k < DP_NORDERS; k++)
		json_array_append_new(a, real(rdp[k]));
	json_object_set_new(p, "mechanism",
	    json_string("dp-fedavg, gaussian, uniform weights"));
	json_object_set_new(p, "unit", json_string("holder"));
	json_object_set_new(p, "clip", json_real(o->clip));
	json_object_set_new(p, "noise_multiplier", json_real(o->dp_noise));
	json_object_set_new(p, "noise_std",
	    json_real(o->dp_noise * o->clip / r->dpk));
	json_object_set_new(p, "holders", json_integer((json_int_t)r->dpk));
	json_object_set_new(p, "sample_rate", json_real(o->dp_rate));
	json_object_set_new(p, "seed", json_string("withheld"));
	json_object_set_new(p, "rounds", json_integer(mi->dp_rounds + 1));
	json_object_set_new(p, "since_round", json_integer(mi->dp_since));
	json_object_set_new(p, "delta", json_real(o->dp_delta));
	json_object_set_new(p, "epsilon", real(eps));
	json_object_set_new(p, "rdp", a);
	json_object_set_new(p, "accountant",
	    json_string(dp_accountant_name(DP_CONV_BALLE)));
	return p;
}

/* An update left out, and why; a holder's second vote says whose. */
static json_t *
skip_json(const struct upd *u, const struct mopt *o)
{
	json_t *x = json_pack("{s:s,s:o,s:s}", "file", u->path, "digest",
	    u->digest[0] ? json_string(u->digest) : json_null(),
	    "reason", u->why);
	const struct roster_holder *h;

	if (u->admit_out)
		json_object_set_new(x, "admission_loss", real(u->admit_loss));
	if (u->equivocator >= 0) {
		h = &o->roster->h[u->equivocator];
		json_object_set_new(x, "equivocation", json_pack("{s:s,s:s}",
		    "keyid", h->key.id, "name", h->name));
	}
	return x;
}

/* Under which roster the votes were counted. */
static json_t *
roster_json(const struct mopt *o)
{
	const struct roster *ro = o->roster;

	return json_pack("{s:o,s:I,s:i,s:i}", "digest", ro->digest[0] ?
	    json_string(ro->digest) : json_null(), "version",
	    (json_int_t)ro->version, "holders", ro->n, "quorum", o->quorum);
}

/* The roster's holders whose vote is in no merged update, by name; NULL
 * when every holder's is. */
static json_t *
missing_json(const struct mrec *r)
{
	const struct roster *ro = r->o->roster;
	json_t *a = NULL;
	char voted[ROSTER_MAXHOLDERS] = { 0 };
	int i, k;

	for (i = 0; i < r->nu; i++)
		for (k = 0; !r->u[i].bad && k < r->u[i].nwho; k++)
			voted[r->u[i].who[k]] = 1;
	for (i = 0; i < ro->n; i++) {
		if (voted[i])
			continue;
		if (a == NULL)
			a = json_array();
		json_array_append_new(a, json_string(ro->h[i].name));
	}
	return a;
}

json_t *
mrec_manifest(const struct mrec *r)
{
	const struct mopt *o = r->o;
	const struct mmodel *mi = r->mi;
	json_t *m = manifest_new("model", "fed-merge");
	json_t *ups = json_array(), *skip = json_array(), *mg, *miss;
	const struct upd *u;
	int i;

	for (i = 0; i < r->nu; i++) {
		u = &r->u[i];
		if (!u->bad)
			json_array_append_new(ups, upd_json(u, o));
		else
			json_array_append_new(skip, skip_json(u, o));
	}
	mg = json_pack("{s:s,s:o,s:o,s:o}", "rule", mopt_rule_name(o->rule),
	    "params", params_json(o, r->trim), "updates", ups,
	    "skipped", skip);
	json_object_set_new(mg, "state", mi->state ?
	    json_string(mi->state) : json_null());
	if (o->download != NULL) {
		struct enc c;

		mopt_download_enc(o, mi->np, &c);
		json_object_set_new(mg, "download", json_pack("{s:o,s:b}",
		    "encoding", encode_json(&c), "feedback", c.feedback));
	}
	if (o->roster != NULL) {
		json_object_set_new(mg, "roster", roster_json(o));
		if ((miss = missing_json(r)) != NULL)
			json_object_set_new(mg, "missing", miss);
	}
	if (r->admit != NULL)
		json_object_set_new(mg, "admission", json_pack("{s:s,s:s,s:I,"
		    "s:o,s:o,s:f}", "method", "leave-one-out", "data",
		    r->admit->digest, "predictions", (json_int_t)r->admit->n,
		    "loss", real(r->admit->base), "merged_loss",
		    real(r->admit->merged), "margin", o->margin));
	json_object_set_new(m, "arch", json_string(mi->arch));
	if (mi->keep != NULL)
		json_object_update(m, mi->keep);
	json_object_set_new(m, "round", json_integer(mi->round + 1));
	json_object_set_new(m, "parent", json_string(mi->digest));
	json_object_set_new(m, "merge", mg);
	if (o->dp_noise > 0)
		json_object_set_new(m, "privacy", dp_json(r, o));
	if (r->moments)
		json_object_set_new(m, "moments", moments_json(r->mstep));
	return m;
}

/* A safetensors header for the arch's tensors, names prefixed, repeated
 * for each prefix: a new buffer of *len bytes, or NULL. */
uint8_t *
mrec_header(const struct arch *a, const char *const *prefix, int np,
    size_t *len, fed_err *e)
{
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_spec s[2 * ARCH_MAXTENSORS];
	char names[2 * ARCH_MAXTENSORS][ST_MAXNAME];
	int i, k, n = arch_tensors(a, t);

	memset(s, 0, sizeof(s));
	for (k = 0; k < np; k++)
		for (i = 0; i < n; i++) {
			snprintf(names[k * n + i], ST_MAXNAME, "%.8s%.128s",
			    prefix[k], t[i].name);
			s[k * n + i].name = names[k * n + i];
			s[k * n + i].dtype = prefix[k][0] ? ST_F32 : t[i].dtype;
			s[k * n + i].ndim = t[i].ndim;
			memcpy(s[k * n + i].shape, t[i].shape,
			    sizeof(s[k * n + i].shape));
		}
	return st_header(s, np * n, len, e);
}

int
mrec_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
	ssize_t k;

	while (n > 0) {
		k = pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p = (const uint8_t *)p + k, n -= (size_t)k, off += (uint64_t)k;
	}
	return 0;
}

/* A spool for a member, its header written: the spool, or -1. */
int
mrec_spool(const uint8_t *h, size_t len, fed_err *e)
{
	int fd = out_spool_open(e);

	if (fd < 0) {
		e->kind = FED_ESYSTEM;
		return -1;
	}
	if (mrec_pwrite(fd, h, len, 0) < 0) {
		fed_syserrf(e, "spool: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
