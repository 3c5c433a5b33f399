/*
 * mvote: the votes of a round counted: one key, one vote, and the
 * roster's ceiling on the samples a vote weighs.
 */
#include "mvote.h"

/* A holder two updates were both signed by, or -1. */
static int
shared_voter(const struct upd *a, const struct upd *b)
{
	int i, k;

	for (i = 0; i < a->nwho; i++)
		for (k = 0; k < b->nwho; k++)
			if (a->who[i] == b->who[k])
				return a->who[i];
	return -1;
}

int
mvote_shared(const struct upd *u, int n, int i)
{
	int k;

	for (k = 0; k < n; k++)
		if (k != i && !u[k].bad && shared_voter(&u[i], &u[k]) >= 0)
			return 1;
	return 0;
}

int
mvote_check(struct upd *u, int n, const struct mopt *o, fed_err *e)
{
	const struct roster *ro = o->roster;
	struct upd *a, *b;
	fed_err ue;
	int i, k, h;

	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++) {
			a = &u[i], b = &u[k];
			if ((a->bad && a->equivocator < 0) ||
			    (b->bad && b->equivocator < 0) ||
			    (h = shared_voter(a, b)) < 0)
				continue;
			if (a->order > b->order)
				a = &u[k], b = &u[i];
			if (!o->skip_bad)
				return fed_errf(e, "equivocation: key %s (%s) "
				    "signed both %s and %s", ro->h[h].key.id,
				    ro->h[h].name, display_name(a->path),
				    display_name(b->path));
			fed_errf(&ue, "equivocation: key %s (%s) signed more "
			    "than one update", ro->h[h].key.id, ro->h[h].name);
			if (!a->bad)
				a->equivocator = h;
			if (!b->bad)
				b->equivocator = h;
			upd_mark(a, &ue);
			upd_mark(b, &ue);
		}
	return 0;
}

void
mvote_weigh(struct upd *u, int n, const struct mopt *o)
{
	const struct roster *ro = o->roster;
	uint64_t cap;
	int i;

	for (i = 0; i < n; i++) {
		cap = ro && u[i].holder >= 0 && ro->h[u[i].holder].max_samples ?
		    ro->h[u[i].holder].max_samples : o->max_samples;
		u[i].used = cap && u[i].samples > cap ? cap : u[i].samples;
	}
}
