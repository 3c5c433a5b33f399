/*
 * delta: model and trained weights to an update bundle, in one pass: the
 * model streamed chunk by chunk (mmodel), the trained file mapped
 * (stfile), the float32 delta hashed into a spool as it is made, so that
 * only a chunk is ever held; an encoded delta is gathered whole, as
 * encode needs it.  The bundle is written by update.c like fed-train's,
 * with its own manifest keys.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bstream.h"
#include "bundle.h"
#include "delta.h"
#include "mmodel.h"
#include "stfile.h"
#include "tset.h"
#include "update.h"
#include "weights.h"

/* The trained set is exactly the model's: same names, dtypes, shapes. */
static int
same_set(const struct arch *a, const struct stfile *f, fed_err *e)
{
	struct tensor_spec *t = xcalloc(ARCH_MAXTENSORS, sizeof(*t));
	const struct st_tensor *x;
	int i, k, n = arch_tensors(a, t), rc = -1;

	if (f->st.n != n) {
		fed_errf(e, "%d tensors, the model has %d", f->st.n, n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((x = st_find(&f->st, t[i].name)) == NULL) {
			fed_errf(e, "tensor %s missing", t[i].name);
			goto out;
		}
		if (x->dtype != t[i].dtype) {
			fed_errf(e, "tensor %s: dtype %s, the model's is %s",
			    t[i].name, st_dtype_name(x->dtype),
			    st_dtype_name(t[i].dtype));
			goto out;
		}
		for (k = 0; k < ST_MAXNDIM; k++)
			if (x->ndim != t[i].ndim || (k < x->ndim &&
			    x->shape[k] != t[i].shape[k])) {
				fed_errf(e, "tensor %s: shape differs from the "
				    "model's", t[i].name);
				goto out;
			}
	}
	rc = 0;
out:
	free(t);
	return rc;
}

/* --meta: a JSON object of at most DELTA_MAXMETA bytes, or NULL. */
static json_t *
load_meta(const char *path, fed_err *e)
{
	json_error_t jerr;
	json_t *j;
	FILE *fp;
	char *buf = xmalloc(DELTA_MAXMETA + 1);
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, DELTA_MAXMETA + 1, fp);
	fclose(fp);
	j = n > DELTA_MAXMETA ? NULL : json_loadb(buf, n,
	    JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (n > DELTA_MAXMETA)
		fed_errf(e, "%s: larger than %d bytes", path, DELTA_MAXMETA);
	else if (j == NULL)
		fed_errf(e, "%s: not JSON: %s", path, jerr.text);
	else if (!json_is_object(j)) {
		fed_errf(e, "%s: not a JSON object", path);
		json_decref(j);
		j = NULL;
	}
	return j;
}

static json_t *
delta_manifest(const struct update *u, const char *parent, json_t *meta)
{
	char arch[ARCH_STRLEN];
	json_t *m = manifest_new("update", "fed-delta");

	arch_format(&u->a, arch, sizeof(arch));
	json_object_set_new(m, "arch", json_string(arch));
	if (u->a.kind == ARCH_TENSORS)
		json_object_set_new(m, "tensors", tset_json(&u->a));
	json_object_set_new(m, "parent", json_string(parent));
	json_object_set_new(m, "round", json_integer(u->round));
	json_object_set_new(m, "samples", json_integer(u->samples));
	/* the optimizer steps are the trainer's to tell, in "trainer" */
	json_object_set_new(m, "steps", json_integer(0));
	json_object_set_new(m, "contributor", json_null());
	json_object_set_new(m, "trainer", meta ? meta : json_object());
	return m;
}

/* Where the delta goes: into the output as it is made (bstream.h), or
 * into memory (all, for an encoding, which needs it whole). */
struct sink {
	struct bstream bs;
	float *all;             /* (np), or NULL */
	float *d;               /* (DELTA_CHUNK) otherwise */
};

/* Where the next at most *c floats of the delta go: the output's own
 * buffer when they fit there as floats (*c cut to the room), else d. */
static float *
room(struct sink *k, size_t *c, fed_err *e)
{
	size_t n;
	void *p;

	if (k->all != NULL)
		return NULL;
	if ((p = bstream_room(&k->bs, &n, e)) == NULL)
		return NULL;
	if ((uintptr_t)p % sizeof(float) != 0 || n < sizeof(float))
		return k->d;
	*c = *c < n / sizeof(float) ? *c : n / sizeof(float);
	return p;
}

/* d = trained (n values of dtype dt at q) - x: how many are not finite.
 * F32 is read where it lies, not copied into d first. */
static size_t
subtract(float *d, const uint8_t *q, enum st_dtype dt, const float *x,
    size_t n)
{
	size_t i, bad = 0;
	float y;

	if (dt == ST_F32)
		for (i = 0; i < n; i++) {
			memcpy(&y, q + i * sizeof(y), sizeof(y));
			d[i] = y - x[i];
		}
	else {
		tset_to_float(dt, q, d, n);
		for (i = 0; i < n; i++)
			d[i] -= x[i];
	}
	for (i = 0; i < n; i++)
		bad += !isfinite(d[i]);
	return bad;
}

/* Coordinates [j, j + *c) of tensor t, or fewer (*c set): trained (at
 * p) minus model, made where they are written, and no model bytes
 * copied, when it can be. */
static int
chunk(struct mmodel *mi, const struct tensor_spec *t, const uint8_t *p,
    uint64_t j, size_t *c, struct sink *k, fed_err *e)
{
	float *d = k->all ? k->all + t->offset + j : room(k, c, e);
	const float *x;

	if (d == NULL)
		return -1;
	if ((x = mmodel_upto(mi, c, e)) == NULL)
		return fed_errprefix(e, "%s", display_name(mi->path));
	if (subtract(d, p + j * st_dtype_size(t->dtype), t->dtype, x, *c))
		return fed_errf(e, "tensor %s: the difference overflows "
		    "float32", t->name);
	if (k->all != NULL)
		return 0;
	if (d != k->d) {
		bstream_made(&k->bs, *c * sizeof(float));
		return 0;
	}
	return bstream_data(&k->bs, d, *c * sizeof(float), e);
}

/* The whole delta into k, tensor by tensor in the flat order. */
static int
stream(struct mmodel *mi, const struct stfile *f, struct sink *k,
    fed_err *e)
{
	struct tensor_spec *t = xcalloc(ARCH_MAXTENSORS, sizeof(*t));
	int i, n = arch_tensors(&mi->a, t), rc = 0;
	const uint8_t *p;
	uint64_t j;
	size_t c;

	for (i = 0; i < n && rc == 0; i++) {
		p = st_find(&f->st, t[i].name)->data;
		for (j = 0; j < t[i].count && rc == 0; j += c) {
			c = t[i].count - j < DELTA_CHUNK ? t[i].count - j :
			    DELTA_CHUNK;
			rc = chunk(mi, &t[i], p, j, &c, k, e);
		}
	}
	free(t);
	if (rc == 0 && mmodel_stream_end(mi, e) < 0)
		rc = fed_errprefix(e, "%s", display_name(mi->path));
	return rc;
}

/* The float32 delta's bundle begun, its header written. */
static int
sink_plain(struct sink *k, const struct update *u, json_t *m,
    const char *out, fed_err *e)
{
	uint8_t *h;
	size_t hl;
	int r = -1;

	if ((h = weights_header(&u->a, 0, NULL, &hl, e)) == NULL)
		return -1;
	k->d = xmalloc(DELTA_CHUNK * sizeof(float));
	if (bstream_open(&k->bs, out, m, WEIGHTS_MEMBER,
	    hl + arch_nparams(&u->a) * sizeof(float), e) == 0)
		r = bstream_data(&k->bs, h, hl, e);
	free(h);
	return r;
}

/* The update of mi and f, whose sets match, to o->out. */
static int
write_delta(const struct delta_opts *o, struct mmodel *mi,
    const struct stfile *f, json_t *meta, fed_err *e)
{
	static const struct train_opts t0;
	static struct update u;
	struct sink k;
	json_t *m;
	int rc;

	u.a = mi->a;
	u.round = mi->round;
	u.samples = o->samples;
	u.t = &t0;
	u.enc = o->enc;
	m = delta_manifest(&u, mi->digest, json_incref(meta));
	memset(&k, 0, sizeof(k));
	k.bs.spool = -1;
	if (o->enc != NULL) {
		k.all = xcalloc(arch_nparams(&u.a), sizeof(float));
		rc = 0;
	} else
		rc = sink_plain(&k, &u, m, o->out, e);
	if (rc == 0 && (rc = stream(mi, f, &k, e)) == 0)
		rc = k.all != NULL ? update_write(&u, m, k.all, NULL, o->out,
		    e) : bstream_close(&k.bs, e);
	bstream_abort(&k.bs);
	free(k.all);
	free(k.d);
	json_decref(m);
	return rc;
}

int
delta_run(const struct delta_opts *o, fed_err *e)
{
	static struct mmodel mi;
	static struct stfile f;
	json_t *meta = NULL;
	int rc = -1;

	if (o->meta && (meta = load_meta(o->meta, e)) == NULL)
		return -1;
	if (mmodel_stream(&mi, o->model, DELTA_CHUNK, e) < 0) {
		fed_errprefix(e, "%s", display_name(o->model));
		goto out;
	}
	if (stfile_read(o->trained, &f, e) < 0)
		goto out;
	if (same_set(&mi.a, &f, e) < 0)
		fed_errprefix(e, "%s", display_name(o->trained));
	else
		rc = write_delta(o, &mi, &f, meta, e);
	stfile_close(&f);
out:
	mmodel_free(&mi);
	json_decref(meta);
	return rc;
}
