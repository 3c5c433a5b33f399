/*
 * mmom: the moments pass of fed-merge.  The updates' moments members are
 * read one update after another, by one thread, into an accumulator of
 * the model's size: only language models carry them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmom.h"
#include "moments.h"
#include "mrec.h"

static void
mark(struct upd *u, const char *msg)
{
	fed_err e;

	fed_errf(&e, "%s", msg);
	upd_mark(u, &e);
}

int
mmom_plan(struct upd *u, int n, const struct mopt *o,
    const struct mmodel *mi, int *on, fed_err *e)
{
	char why[FED_ERRLEN];
	int i;

	for (i = 0, *on = 0; i < n; i++)
		if (!u[i].bad && u[i].mstep >= 0)
			*on = 1;
	if (!*on)
		return 0;
	if (!mopt_weighted(o->rule) || o->dp_noise > 0)
		return fed_errf(e, "the updates carry Adam's moments, which %s "
		    "cannot merge", o->dp_noise > 0 ? "dp-fedavg" :
		    mopt_rule_name(o->rule));
	for (i = 0; i < n; i++) {
		if (u[i].bad)
			continue;
		if (u[i].mstep < 0)
			mark(&u[i], "carries no moments, unlike the others");
		else if (u[i].mstep != mi->mstep + u[i].steps) {
			snprintf(why, sizeof(why), "moments at step %lld, not "
			    "the model's %lld plus %lld steps",
			    (long long)u[i].mstep, (long long)mi->mstep,
			    (long long)u[i].steps);
			mark(&u[i], why);
		}
	}
	return 0;
}

/* Half h of u's moments (np floats, its reader at their start) added
 * into acc with u's weight: 0, or -1 with u marked. */
static int
half_add(struct upd *u, int h, double *acc, uint64_t np, size_t chunk)
{
	uint64_t at;
	size_t len, k;
	fed_err ue;
	float x;

	for (at = 0; at < np; at += len) {
		len = np - at < chunk ? (size_t)(np - at) : chunk;
		if (upd_src_take(&u->s, u->buf, len * 4, &ue) < 0) {
			fed_errprefix(&ue, "%s", MOMENTS_MEMBER);
			upd_mark(u, &ue);
			return -1;
		}
		for (k = 0; k < len; k++) {
			x = u->buf[k];
			if (!isfinite(x) || (h && !(x >= 0))) {
				mark(u, h ? MOMENTS_MEMBER ": spread not "
				    "finite and >= 0" : MOMENTS_MEMBER
				    ": moment not finite");
				return -1;
			}
			acc[at + k] += u->weight * x;
		}
	}
	return 0;
}

/* One update's half h into acc: opened, the first half skipped for
 * h 1, and after the second its end checked.  0, or -1 with u marked. */
static int
upd_half(struct upd *u, const struct mmodel *mi, int h, double *acc,
    size_t chunk, int spool)
{
	fed_err ue;
	int r = 0;

	if (upd_moments_open(u, mi->np, spool, &ue) < 0 ||
	    (h && upd_src_take(&u->s, NULL, mi->np * 4, &ue) < 0)) {
		upd_mark(u, &ue);
		r = -1;
	} else if (half_add(u, h, acc, mi->np, chunk) < 0)
		r = -1;
	else if (h && upd_moments_finish(u, &mi->a, &ue) < 0) {
		upd_mark(u, &ue);
		r = -1;
	}
	upd_close(u, spool);
	return r;
}

/*
 * The updates one at a time, each half in turn, summed in merge order
 * into acc (np doubles): h 0 the first moments, whose weighted mean m
 * goes to om; h 1 the spreads w, and v = m^2 + their weighted mean to
 * ov.  Memory does not grow with the number of updates.
 */
static int
read_all(struct upd *u, const int *act, int na, const struct mmodel *mi,
    size_t chunk, int spool, float *om, double *acc)
{
	uint64_t k, np = mi->np;
	int i, h;

	for (h = 0; h < 2; h++) {
		memset(acc, 0, np * sizeof(*acc));
		for (i = 0; i < na; i++)
			if (upd_half(&u[act[i]], mi, h, acc, chunk, spool) < 0)
				return 1;
		for (k = 0; k < np; k++)
			if (h == 0)
				om[k] = (float)acc[k];
			else
				om[np + k] = moments_v(om[k], acc[k]);
	}
	return 0;
}

int
mmom_merge(struct upd *u, const int *act, int na, const struct mmodel *mi,
    double *acc, size_t chunk, int spool, uint8_t **out, size_t *len,
    int64_t *step, fed_err *e)
{
	static const char *const mv[] = { "m.", "v." };
	uint8_t *hdr;
	size_t hl;
	int i;

	for (i = 0, *step = 0; i < na; i++)
		if (u[act[i]].mstep > *step)
			*step = u[act[i]].mstep;
	if ((hdr = mrec_header(&mi->a, mv, 2, &hl, e)) == NULL)
		return -1;
	free(*out);
	*len = hl + 2 * mi->np * 4;
	*out = xmalloc(*len);
	memcpy(*out, hdr, hl);
	free(hdr);
	/* hl is a multiple of 8 */
	return read_all(u, act, na, mi, chunk, spool,
	    (float *)(void *)(*out + hl), acc);
}
