/*
 * grad: a gradient upload expanded into the update it stands for (see
 * grad.h): the holder's one Adam step from the model's moments, taken
 * as fed-train takes it, with the hyperparameters the upload records.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grad.h"
#include "model.h"
#include "moments.h"
#include "optim.h"
#include "optstate.h"
#include "rule.h"
#include "update.h"
#include "weights.h"

/* train.KEY of the upload's manifest, a number in [lo, hi]. */
static int
real(const json_t *t, const char *key, double lo, double hi, double *v,
    fed_err *e)
{
	const json_t *x = json_object_get(t, key);

	if (!json_is_number(x) || !(json_number_value(x) >= lo) ||
	    !(json_number_value(x) <= hi))
		return fed_errf(e, "manifest.json: train.%s is not a number "
		    "in %g..%g", key, lo, hi);
	*v = json_number_value(x);
	return 0;
}

/* The Adam step the upload records: its optimizer and rate. */
static int
upload_opts(const json_t *m, struct optim_opts *o, double *lr, fed_err *e)
{
	const json_t *t = json_object_get(m, "train");
	const char *k = manifest_str(t, "optimizer");

	optim_defaults(o);
	if (k == NULL || optim_parse(k, &o->kind) < 0 || o->kind == OPTIM_SGD)
		return fed_errf(e, "manifest.json: train.optimizer is not "
		    "adam or adamw");
	if (real(t, "lr", 0, 1e6, lr, e) < 0 ||
	    real(t, "beta1", 0, 0.999999, &o->beta1, e) < 0 ||
	    real(t, "beta2", 0, 0.999999, &o->beta2, e) < 0 ||
	    real(t, "eps", 1e-12, 1, &o->eps, e) < 0 ||
	    real(t, "weight_decay", 0, 1e6, &o->weight_decay, e) < 0)
		return -1;
	return 0;
}

/* The upload fits the model: a gradient of one step, trained from it. */
static int
upload_fits(const struct bundle *ub, const struct arch *ua,
    const struct bundle *mb, const struct arch *a, fed_err *e)
{
	char x[ARCH_STRLEN], y[ARCH_STRLEN];

	if (ub->meta.gradient != 1)
		return fed_errf(e, "not a gradient upload (fed-train "
		    "--gradient)");
	arch_format(ua, x, sizeof(x));
	arch_format(a, y, sizeof(y));
	if (strcmp(x, y) != 0 || a->kind != ARCH_GPT)
		return fed_errf(e, "architecture %s, the model is %s", x, y);
	if (ub->meta.parent == NULL || strcmp(ub->meta.parent, mb->digest) != 0)
		return fed_errf(e, "trained from %.19s..., not from this model",
		    ub->meta.parent ? ub->meta.parent : "nothing");
	if (ub->meta.round != mb->meta.round || ub->meta.steps != 1)
		return fed_errf(e, "round %lld of %lld steps, want round %lld "
		    "of one", (long long)ub->meta.round,
		    (long long)ub->meta.steps, (long long)mb->meta.round);
	return 0;
}

/* One Adam step on w (from w0) with the gradient g, from the moments st,
 * which it updates, as fed-train takes it. */
static int
adam_once(const struct arch *a, const struct optim_opts *o, double lr,
    float *w, const float *w0, float *g, struct optim_state *st, fed_err *e)
{
	struct model md;
	struct optim s;
	uint8_t *decay;

	if (model_init(&md, a, 1, e) < 0)
		return -1;
	decay = model_decay_mask(&md);
	model_free(&md);
	optim_init(&s, o, arch_nparams(a), decay, 1);
	free(decay);
	optim_state_get(&s, st);
	optim_step(&s, w, g, w0, lr);
	optim_state_put(&s, st);
	optim_free(&s);
	return 0;
}

/* The expanded update: the upload's manifest with the step's delta and
 * moments, naming the upload. */
static int
write_expanded(const struct bundle *ub, const struct arch *a,
    const float *delta, const struct optim_state *st, const char *out,
    fed_err *e)
{
	struct update u;
	json_t *m = json_deep_copy(ub->manifest);
	int rc;

	memset(&u, 0, sizeof(u));
	u.a = *a;
	u.moments = st;
	json_object_del(m, "members");
	json_object_del(m, "encoding");
	json_object_set_new(m, "gradient", json_string(ub->digest));
	json_object_set_new(m, "moments", moments_json(st->t));
	rc = update_write(&u, m, delta, NULL, out, e);
	json_decref(m);
	return rc;
}

/* The step from the model mb (weights w0) with the upload ub's gradient
 * g, written to out. */
static int
expand(struct bundle *mb, const struct arch *a, const float *w0,
    struct bundle *ub, float *g, const char *out, fed_err *e)
{
	struct optim_state st = { 0, NULL, NULL };
	struct optim_opts o;
	uint64_t i, np = arch_nparams(a);
	float *w;
	double lr;
	int rc = -1;

	if (upload_opts(ub->manifest, &o, &lr, e) < 0)
		return -1;
	if (!rule_finite(g, np))
		return fed_errf(e, "a gradient value is not finite");
	if (moments_load(mb, a, &st.m, &st.v, &st.t, e) < 0)
		return -1;
	if (st.m == NULL)
		optstate_zero(&st, a);
	w = xmalloc((np ? np : 1) * sizeof(float));
	memcpy(w, w0, np * sizeof(float));
	if (adam_once(a, &o, lr, w, w0, g, &st, e) < 0)
		goto out;
	for (i = 0; i < np; i++)
		w[i] -= w0[i];
	if (!rule_finite(w, np))
		fed_errf(e, "the step is not finite");
	else
		rc = write_expanded(ub, a, w, &st, out, e);
out:
	free(w);
	optstate_free(&st);
	return rc;
}

int
grad_expand(const char *model, const char *upload, const char *out,
    fed_err *e)
{
	struct bundle mb, ub;
	struct arch a, ua;
	float *w0, *g;
	int rc = -1;

	if ((w0 = weights_read(model, "model", &mb, &a, e)) == NULL)
		return fed_errprefix(e, "%s", display_name(model));
	if ((g = weights_read(upload, "update", &ub, &ua, e)) == NULL) {
		fed_errprefix(e, "%s", display_name(upload));
		goto out;
	}
	if (upload_fits(&ub, &ua, &mb, &a, e) < 0 ||
	    expand(&mb, &a, w0, &ub, g, out, e) < 0) {
		if (e->kind == FED_EREJECT)
			fed_errprefix(e, "%s", display_name(upload));
	} else
		rc = 0;
	bundle_free(&ub);
	free(g);
out:
	bundle_free(&mb);
	free(w0);
	return rc;
}
