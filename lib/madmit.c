/*
 * madmit: each update evaluated alone on the coordinator's held-out data
 * (lib/eval over lib/model), against the model it was trained from.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "eval.h"
#include "madmit.h"
#include "model.h"

/* The model's weights, whole, into x (np floats). */
static int
read_model(struct mmodel *mi, float *x, size_t chunk, fed_err *e)
{
	const float *p;
	uint64_t at;
	size_t len;

	if (mmodel_rewind(mi, chunk, e) < 0)
		return -1;
	for (at = 0; at < mi->np; at += len) {
		len = mi->np - at < chunk ? (size_t)(mi->np - at) : chunk;
		if ((p = mmodel_x(mi, len, e)) == NULL)
			return -1;
		memcpy(x + at, p, len * sizeof(*x));
	}
	return mmodel_end(mi, e);
}

/* The mean loss of weights w on d. */
static int
loss(const struct arch *a, const float *w, const struct dataset *d,
    double *out, int64_t *n, fed_err *e)
{
	struct eval_result r;
	int rc;

	eval_init(&r, eval_classes(a));
	rc = eval_run(a, w, d, &r, e);
	*out = r.n > 0 ? r.loss_sum / (double)r.n : NAN;
	*n = r.n;
	eval_free(&r);
	return rc;
}

/* x plus update u into y, u read whole (signatures included); its loss. */
static int
with_update(struct upd *u, const float *x, float *y, struct mmodel *mi,
    const struct upd_want *w, int spool, fed_err *e)
{
	uint64_t at;
	size_t len, k;

	if (upd_open(u, w, spool, e) < 0)
		return -1;
	for (at = 0; at < mi->np; at += len) {
		len = mi->np - at < u->chunk ? (size_t)(mi->np - at) : u->chunk;
		if (upd_chunk(u, at, len, e) < 0)
			return -1;
		for (k = 0; k < len; k++)
			y[at + k] = x[at + k] + u->cur[k];
	}
	return upd_finish(u, &mi->a, e);
}

/* Evaluate u; leave it out when it is over the margin. */
static int
admit_one(struct madmit *ad, struct upd *u, const float *x, float *y,
    struct mmodel *mi, const struct upd_want *w, const struct dataset *d,
    const struct mopt *o, int spool, fed_err *e)
{
	fed_err ue;
	int64_t n;
	int r = with_update(u, x, y, mi, w, spool, &ue);

	upd_close(u, spool);
	if (r < 0) {
		upd_mark(u, &ue);
		return ue.kind == FED_ESYSTEM ? (*e = ue, -1) : 0;
	}
	if (loss(&mi->a, y, d, &u->admit_loss, &n, e) < 0)
		return -1;
	if (!(u->admit_loss <= ad->base + o->margin)) {
		fed_errf(&ue, "admission: held-out loss %.4g -> %.4g, worse by "
		    "more than %g", ad->base, u->admit_loss, o->margin);
		upd_mark(u, &ue);
		u->admit_out = 1;
	}
	return 0;
}

int
madmit_run(struct madmit *ad, struct upd *u, int n, struct mmodel *mi,
    const struct upd_want *w, const struct mopt *o, int spool, fed_err *e)
{
	struct dataset d;
	float *x = NULL, *y = NULL;
	int i, rc = -1;

	if (data_load(o->admit, &d, e) < 0)
		return fed_errprefix(e, "%s", display_name(o->admit));
	memcpy(ad->digest, d.b.digest, sizeof(ad->digest));
	x = xcalloc(mi->np ? mi->np : 1, sizeof(*x));
	y = xcalloc(mi->np ? mi->np : 1, sizeof(*y));
	if (model_fit(&mi->a, &d, e) < 0)
		fed_errprefix(e, "%s", display_name(o->admit));
	else if (read_model(mi, x, u[0].chunk, e) < 0)
		fed_errprefix(e, "%s", display_name(mi->path));
	else if (loss(&mi->a, x, &d, &ad->base, &ad->n, e) == 0) {
		for (i = 0, rc = 0; rc == 0 && i < n; i++)
			if (!u[i].bad)
				rc = admit_one(ad, &u[i], x, y, mi, w, &d, o,
				    spool, e);
	}
	free(x);
	free(y);
	data_free(&d);
	return rc;
}
