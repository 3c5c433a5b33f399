/*
 * delta: model and trained weights to an update bundle.  The model is
 * read whole as floats, the trained file mapped (stfile); the update is
 * written by update.c like fed-train's, with its own manifest keys.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "delta.h"
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

/* w becomes trained minus w, in place; all of it finite. */
static int
subtract(const struct arch *a, const struct stfile *f, float *w, fed_err *e)
{
	struct tensor_spec *t = xcalloc(ARCH_MAXTENSORS, sizeof(*t));
	float buf[4096];
	uint64_t j, k, c;
	int i, n = arch_tensors(a, t), rc = 0;
	size_t es;

	for (i = 0; i < n && rc == 0; i++) {
		const uint8_t *p = st_find(&f->st, t[i].name)->data;
		float *d = w + t[i].offset;

		es = st_dtype_size(t[i].dtype);
		for (j = 0; j < t[i].count && rc == 0; j += c) {
			c = t[i].count - j < 4096 ? t[i].count - j : 4096;
			tset_to_float(t[i].dtype, p + j * es, buf, c);
			for (k = 0; k < c; k++) {
				d[j + k] = buf[k] - d[j + k];
				if (!isfinite(d[j + k]))
					rc = fed_errf(e, "tensor %s: the "
					    "difference overflows float32",
					    t[i].name);
			}
		}
	}
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
delta_manifest(const struct update *u, const struct bundle *b, json_t *meta)
{
	char arch[ARCH_STRLEN];
	json_t *m = manifest_new("update", "fed-delta");

	arch_format(&u->a, arch, sizeof(arch));
	json_object_set_new(m, "arch", json_string(arch));
	if (u->a.kind == ARCH_TENSORS)
		json_object_set_new(m, "tensors", tset_json(&u->a));
	json_object_set_new(m, "parent", json_string(b->digest));
	json_object_set_new(m, "round", json_integer(u->round));
	json_object_set_new(m, "samples", json_integer(u->samples));
	/* the optimizer steps are the trainer's to tell, in "trainer" */
	json_object_set_new(m, "steps", json_integer(0));
	json_object_set_new(m, "contributor", json_null());
	json_object_set_new(m, "trainer", meta ? meta : json_object());
	return m;
}

/* The model's weights as floats, its bundle kept in b for its digest. */
static float *
load_model(const char *path, struct bundle *b, struct arch *a, fed_err *e)
{
	float *w;

	if (bundle_load(path, WEIGHTS_MAXBYTES, b, e) < 0)
		return NULL;
	if (strcmp(b->meta.kind, "model") != 0)
		fed_errf(e, "not a model bundle (kind %s)", b->meta.kind);
	else if ((w = weights_load(b, a, e)) != NULL)
		return w;
	bundle_free(b);
	return NULL;
}

int
delta_run(const struct delta_opts *o, fed_err *e)
{
	static const struct train_opts t0;
	static struct update u;
	static struct stfile f;
	struct bundle b;
	json_t *meta = NULL, *m;
	float *w;
	int rc = -1;

	if (o->meta && (meta = load_meta(o->meta, e)) == NULL)
		return -1;
	if ((w = load_model(o->model, &b, &u.a, e)) == NULL) {
		json_decref(meta);
		return fed_errprefix(e, "%s", display_name(o->model));
	}
	if (stfile_read(o->trained, &f, e) < 0)
		goto out;
	if (same_set(&u.a, &f, e) < 0 || subtract(&u.a, &f, w, e) < 0) {
		fed_errprefix(e, "%s", display_name(o->trained));
		goto done;
	}
	u.round = b.meta.round;
	u.samples = o->samples;
	u.t = &t0;
	u.enc = o->enc;
	m = delta_manifest(&u, &b, meta);
	meta = NULL;
	rc = update_write(&u, m, w, NULL, o->out, e);
	json_decref(m);
done:
	stfile_close(&f);
out:
	json_decref(meta);
	bundle_free(&b);
	free(w);
	return rc;
}
