/*
 * mopt: fed-merge's options: the rule and its parameters, their defaults
 * and their ranges, checked once so that the rules and the driver can
 * trust them.  The arithmetic is rule's; reading the updates is the
 * driver's.
 */
#include <math.h>
#include <string.h>

#include "mopt.h"

static const struct {
	const char *name;
	enum mopt_rule rule;
} rules[] = {
	{ "fedavg", MOPT_FEDAVG }, { "fedavgm", MOPT_FEDAVGM },
	{ "nesterov", MOPT_NESTEROV }, { "fedadam", MOPT_FEDADAM },
	{ "fedyogi", MOPT_FEDYOGI }, { "fedadagrad", MOPT_FEDADAGRAD },
	{ "median", MOPT_MEDIAN }, { "trimmed-mean", MOPT_TRIMMED },
	{ "krum", MOPT_KRUM }, { "multi-krum", MOPT_MULTIKRUM },
};
#define NRULES ((int)(sizeof(rules) / sizeof(rules[0])))

const char *
mopt_rule_name(enum mopt_rule r)
{
	int i;

	for (i = 0; i < NRULES; i++)
		if (rules[i].rule == r)
			return rules[i].name;
	return "?";
}

void
mopt_init(struct mopt *o)
{
	memset(o, 0, sizeof(*o));
	o->rule = MOPT_FEDAVG;
	o->lr = o->momentum = o->beta1 = o->beta2 = o->tau = NAN;
	o->dp_delta = o->dp_rate = o->margin = NAN;
	o->threads = 1;
	o->down.scheme = ENC_INT8;
}

static int
parse_int_param(const char *s, const char *rule, int min, int *out,
    fed_err *e)
{
	uint64_t v;

	if (parse_u64(s, (uint64_t)min, MOPT_MAXUPDATES, &v) < 0)
		return fed_usagef(e, "rule %s: bad parameter '%s'", rule, s);
	*out = (int)v;
	return 0;
}

int
mopt_rule_parse(const char *s, struct mopt *o, fed_err *e)
{
	char name[32], *p1, *p2;
	int i;

	if (strlen(s) >= sizeof(name))
		return fed_usagef(e, "rule %s: unknown", s);
	strcpy(name, s);
	if ((p1 = strchr(name, ':')) != NULL)
		*p1++ = '\0';
	if (p1 != NULL && (p2 = strchr(p1, ':')) != NULL)
		*p2++ = '\0';
	else
		p2 = NULL;
	for (i = 0; i < NRULES && strcmp(rules[i].name, name) != 0; i++)
		;
	if (i == NRULES)
		return fed_usagef(e, "rule %s: unknown", s);
	o->rule = rules[i].rule;
	switch (o->rule) {
	case MOPT_TRIMMED:
		if (p1 == NULL || p2 != NULL ||
		    parse_double(p1, 0, 0.5, &o->beta) < 0 || o->beta >= 0.5)
			return fed_usagef(e, "rule %s: want trimmed-mean:BETA, "
			    "0 <= BETA < 0.5", s);
		return 0;
	case MOPT_KRUM:
		if (p1 == NULL || p2 != NULL)
			return fed_usagef(e, "rule %s: want krum:F", s);
		return parse_int_param(p1, s, 0, &o->f, e);
	case MOPT_MULTIKRUM:
		if (p1 == NULL || p2 == NULL)
			return fed_usagef(e, "rule %s: want multi-krum:F:M", s);
		if (parse_int_param(p1, s, 0, &o->f, e) < 0)
			return -1;
		return parse_int_param(p2, s, 1, &o->m, e);
	default:
		if (p1 != NULL)
			return fed_usagef(e, "rule %s: takes no parameter", s);
		return 0;
	}
}

int
mopt_has_m(enum mopt_rule r)
{
	return r == MOPT_FEDAVGM || r == MOPT_NESTEROV ||
	    mopt_has_v(r);
}

int
mopt_has_v(enum mopt_rule r)
{
	return r == MOPT_FEDADAM || r == MOPT_FEDYOGI ||
	    r == MOPT_FEDADAGRAD;
}

int
mopt_weighted(enum mopt_rule r)
{
	return r == MOPT_FEDAVG || mopt_has_m(r);
}

static int
dflt(double *v, double d)
{
	int given = !isnan(*v);

	if (!given)
		*v = d;
	return given;
}

/*
 * DP-FedAvg's rules.  Its sensitivity argument needs every update to
 * enter the sum with weight one after clipping to C: the robust rules'
 * outputs move by other amounts than C when one holder changes, and
 * sample weights or caps would let a holder's claim scale its share.
 */
static int
dp_finish(struct mopt *o, fed_err *e)
{
	const char *rn = mopt_rule_name(o->rule);
	int given = !isnan(o->dp_delta) || !isnan(o->dp_rate) ||
	    o->dp_seeded;

	if (!(o->dp_noise > 0)) {
		if (given || o->dp_noise < 0)
			return fed_usagef(e, "--dp-delta, --dp-sample-rate and "
			    "-s need --dp-noise");
		return 0;
	}
	if (!mopt_weighted(o->rule))
		return fed_usagef(e, "--dp-noise does not apply to %s: its "
		    "sensitivity is not the clip norm", rn);
	if (!(o->clip > 0))
		return fed_usagef(e, "--dp-noise needs --clip-norm");
	if (o->max_samples)
		return fed_usagef(e, "--dp-noise weights updates uniformly; "
		    "--max-samples does not apply");
	if (!o->dp_seeded)
		return fed_usagef(e, "--dp-noise needs a secret seed, -s");
	dflt(&o->dp_delta, 1e-5);
	dflt(&o->dp_rate, 1);
	if (!(o->dp_delta > 0 && o->dp_delta < 1))
		return fed_usagef(e, "--dp-delta must be in (0, 1)");
	if (!(o->dp_rate > 0 && o->dp_rate <= 1))
		return fed_usagef(e, "--dp-sample-rate must be in (0, 1]");
	if (!isfinite(o->dp_noise))
		return fed_usagef(e, "--dp-noise must be finite");
	o->uniform = 1;
	return 0;
}

int
mopt_finish(struct mopt *o, fed_err *e)
{
	enum mopt_rule r = o->rule;
	const char *rn = mopt_rule_name(r);
	int mom = r == MOPT_FEDAVGM || r == MOPT_NESTEROV;
	int ada = mopt_has_v(r);

	dflt(&o->lr, r == MOPT_NESTEROV ? 0.7 : ada ? 0.01 : 1.0);
	if (dflt(&o->momentum, 0.9) && !mom)
		return fed_usagef(e, "--momentum applies to fedavgm and "
		    "nesterov, not %s", rn);
	if ((dflt(&o->beta1, 0.9) | dflt(&o->beta2, 0.99) |
	    dflt(&o->tau, 1e-3)) && !ada)
		return fed_usagef(e, "--beta1, --beta2 and --tau apply to "
		    "fedadam, fedyogi and fedadagrad, not %s", rn);
	if ((o->uniform || o->max_samples) && !mopt_weighted(r))
		return fed_usagef(e, "--uniform and --max-samples apply to the "
		    "weighted rules, not %s", rn);
	if (!(o->lr > 0) || !isfinite(o->lr))
		return fed_usagef(e, "server learning rate must be positive");
	if (!(o->momentum >= 0 && o->momentum < 1) ||
	    !(o->beta1 >= 0 && o->beta1 < 1) ||
	    !(o->beta2 >= 0 && o->beta2 < 1))
		return fed_usagef(e, "momentum and betas must be in [0, 1)");
	if (!(o->tau > 0) || !isfinite(o->tau))
		return fed_usagef(e, "tau must be positive");
	if (!(o->clip >= 0) || !isfinite(o->clip))
		return fed_usagef(e, "clip norm must be positive");
	if (o->threads < 1 || o->threads > MOPT_MAXTHREADS)
		return fed_usagef(e, "threads must be in 1..%d",
		    MOPT_MAXTHREADS);
	if (o->admit == NULL && !isnan(o->margin))
		return fed_usagef(e, "--margin needs --admit");
	dflt(&o->margin, 0);
	if (o->residual != NULL && o->download == NULL)
		return fed_usagef(e, "--residual needs --download");
	if (o->residual != NULL && o->down.scheme < ENC_INT8)
		return fed_usagef(e, "--residual needs an int8, rsign or topk "
		    "download");
	if (o->download != NULL && (!mopt_weighted(r) || o->dp_noise > 0))
		return fed_usagef(e, "--download needs fedavg or a server "
		    "optimizer, without --dp-noise, not %s", rn);
	return dp_finish(o, e);
}

void
mopt_download_enc(const struct mopt *o, uint64_t np, struct enc *c)
{
	*c = o->down;
	c->feedback = o->residual != NULL;
	if (c->scheme >= ENC_TOPK)
		c->k = encode_topk_count(c->fraction, np);
}
