/*
 * mmom: the moments pass of fed-merge.  The updates' moments members are
 * read in lockstep, one chunk of every update at a time, by one thread:
 * they are small next to the deltas, and only language models carry them.
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

/* One update's chunk of half h into acc: 0, or -1 with it marked. */
static int
half_chunk(struct upd *u, int h, double *acc, size_t len)
{
	fed_err ue;
	size_t k;
	float x;

	if (upd_src_take(&u->s, u->buf, len * 4, &ue) < 0) {
		upd_mark(u, &ue);
		return -1;
	}
	for (k = 0; k < len; k++) {
		x = u->buf[k];
		if (!isfinite(x) || (h && !(x >= 0))) {
			mark(u, h ? MOMENTS_MEMBER ": spread not finite and "
			    ">= 0" : MOMENTS_MEMBER ": moment not finite");
			return -1;
		}
		acc[k] += u->weight * x;
	}
	return 0;
}

/*
 * Half h of the moments of every update, chunk by chunk: h 0 the first
 * moments, whose weighted mean m goes to om; h 1 the spreads w, and
 * v = m^2 + their weighted mean to ov.
 */
static int
half(struct upd *u, const int *act, int na, uint64_t np, size_t chunk,
    int h, float *om, float *ov, double *acc)
{
	uint64_t at;
	size_t len, k;
	int i;

	for (at = 0; at < np; at += len) {
		len = np - at < chunk ? (size_t)(np - at) : chunk;
		memset(acc, 0, len * sizeof(*acc));
		for (i = 0; i < na; i++)
			if (half_chunk(&u[act[i]], h, acc, len) < 0)
				return -1;
		for (k = 0; k < len; k++)
			if (h == 0)
				om[at + k] = (float)acc[k];
			else
				ov[at + k] = moments_v(om[at + k], acc[k]);
	}
	return 0;
}

static int
read_all(struct upd *u, const int *act, int na, const struct mmodel *mi,
    size_t chunk, int spool, float *om)
{
	double *acc = xcalloc(chunk, sizeof(*acc));
	fed_err ue;
	int i, h, bad = 0;

	for (i = 0; i < na && !bad; i++)
		if (upd_moments_open(&u[act[i]], mi->np, spool, &ue) < 0) {
			upd_mark(&u[act[i]], &ue);
			bad = 1;
		}
	for (h = 0; h < 2 && !bad; h++)
		bad = half(u, act, na, mi->np, chunk, h, om, om + mi->np,
		    acc) < 0;
	for (i = 0; i < na && !bad; i++)
		if (upd_moments_finish(&u[act[i]], &mi->a, &ue) < 0) {
			upd_mark(&u[act[i]], &ue);
			bad = 1;
		}
	for (i = 0; i < na; i++)
		upd_close(&u[act[i]], spool);
	free(acc);
	return bad ? 1 : 0;
}

int
mmom_merge(struct upd *u, const int *act, int na, const struct mmodel *mi,
    size_t chunk, int spool, uint8_t **out, size_t *len, int64_t *step,
    fed_err *e)
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
	    (float *)(void *)(*out + hl));
}
