/*
 * privacy: DP-SGD's accounting around a run, from the options to the
 * ledger.  The default delta is 1e-5, or 1/n^1.1 when that is smaller.
 */
#include <math.h>
#include <unistd.h>

#include "privacy.h"

#define MECHANISM "dp-sgd, poisson sampling, gaussian"

static double
default_delta(int64_t n)
{
	double d = pow((double)n, -1.1);

	return d < 1e-5 ? d : 1e-5;
}

/* Sigma for the target epsilon, when one is given. */
static int
noise_for(struct privacy *p, fed_err *e)
{
	if (!(p->epsilon > 0))
		return 0;
	p->noise = dp_sigma_for_epsilon(p->epsilon, p->delta, p->q, p->steps,
	    DP_CONV_BALLE);
	if (p->noise < 0)
		return fed_errf(e, "--epsilon %g: out of reach in %lld steps "
		    "at sample rate %g", p->epsilon, (long long)p->steps, p->q);
	return 0;
}

int
privacy_prepare(struct privacy *p, struct train_opts *t,
    const struct arch *a, const struct dataset *d, fed_err *e)
{
	const char *lp = p->ledger;
	double after;

	if (a->kind != ARCH_SOFTMAX && a->kind != ARCH_MLP)
		return fed_errf(e, "--dp is for softmax and mlp models");
	t->opt.clip = 0;
	p->q = dpsgd_rate(t->batch, d->n);
	p->steps = train_total_steps(t, a, d);
	if (lp != NULL) {
		if (ledger_open(&p->l, lp, p->budget, p->delta > 0 ? p->delta :
		    access(lp, F_OK) < 0 ? default_delta(d->n) : 0, e) < 0)
			return fed_errprefix(e, "%s", lp);
		p->delta = p->l.delta;
	} else if (p->delta == 0)
		p->delta = default_delta(d->n);
	if (noise_for(p, e) < 0)
		return -1;
	p->sgd.sigma = p->noise;
	dp_rdp_add(p->rdp, dp_orders(), DP_NORDERS, p->q, p->noise, p->steps);
	p->eps = dp_epsilon(dp_orders(), p->rdp, DP_NORDERS, p->delta,
	    DP_CONV_BALLE, NULL);
	if (!isfinite(p->eps))
		return fed_errf(e, "--noise %g: too little noise, epsilon is "
		    "unbounded", p->noise);
	if (lp != NULL && ledger_check(&p->l, p->rdp, &after, e) < 0)
		return fed_errprefix(e, "%s", lp);
	t->dp = &p->sgd;
	return 0;
}

int
privacy_record(struct privacy *p, const char *parent, int64_t round,
    fed_err *e)
{
	if (p->ledger != NULL && ledger_record(&p->l, parent, round,
	    MECHANISM, p->eps, p->rdp, e) < 0)
		return fed_errprefix(e, "%s", p->ledger);
	return 0;
}

json_t *
privacy_json(const struct privacy *p)
{
	json_t *j = json_object(), *l = json_null();

	json_object_set_new(j, "mechanism", json_string(MECHANISM));
	json_object_set_new(j, "unit", json_string("example"));
	json_object_set_new(j, "clip", json_real(p->sgd.clip));
	json_object_set_new(j, "noise_multiplier", json_real(p->sgd.sigma));
	json_object_set_new(j, "sample_rate", json_real(p->q));
	json_object_set_new(j, "steps", json_integer(p->steps));
	json_object_set_new(j, "delta", json_real(p->delta));
	json_object_set_new(j, "epsilon", json_real(p->eps));
	json_object_set_new(j, "accountant",
	    json_string(dp_accountant_name(DP_CONV_BALLE)));
	if (p->ledger != NULL)
		l = json_pack("{s:I,s:f,s:f,s:s}", "entries",
		    (json_int_t)p->l.entries, "spent", p->l.spent, "budget",
		    p->l.budget, "head", p->l.head);
	json_object_set_new(j, "ledger", l);
	return j;
}

void
privacy_close(struct privacy *p)
{
	if (p->ledger != NULL)
		ledger_close(&p->l);
}
