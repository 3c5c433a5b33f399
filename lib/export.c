/*
 * export: a model's weights out of fed again, as a safetensors file in the
 * names, types and shapes they were imported with (tset.h) and with their
 * __metadata__, streamed from the bundle and checked as they pass.
 */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "out.h"
#include "tset.h"
#include "upd.h"
#include "weights.h"

/* The rest of the member s is in, to fd. */
static int
copy_member(struct upd_src *s, int fd, fed_err *e)
{
	const void *p;
	ssize_t got;

	if (s->n > 0 && out_write_all(fd, s->p, s->n, e) < 0)
		return -1;
	s->n = 0;
	while ((got = bundle_read(s->r, &p, e)) > 0)
		if (out_write_all(fd, p, (size_t)got, e) < 0)
			return -1;
	return got < 0 ? -1 : 0;
}

/* Header, then the data section as the model stores it, then checks. */
static int
export_to(struct upd_src *s, const struct arch *a, const json_t *meta,
    struct out *o, fed_err *e)
{
	const struct st_file *st;
	uint64_t size, hl;
	uint8_t *h;
	size_t len;
	int rc = -1;

	if ((h = weights_header(a, 1, meta, &len, e)) == NULL)
		return -1;
	if (upd_src_member(s, WEIGHTS_MEMBER, &size, &hl, e) < 0)
		goto out;
	if (out_write_all(o->fd, h, len, e) < 0 || copy_member(s, o->fd, e) < 0)
		goto out;
	if ((st = bundle_member_st(s->r)) == NULL)
		fed_errf(e, "%s: not safetensors", WEIGHTS_MEMBER);
	else if (weights_check_as(a, st, 1, e) < 0)
		fed_errprefix(e, "%s", WEIGHTS_MEMBER);
	else
		rc = bundle_drain(s->r, e);
out:
	free(h);
	return rc;
}

int
export_weights(const char *path, const char *out, fed_err *e)
{
	struct arch *a = xmalloc(sizeof(*a));
	struct upd_src s = { NULL, NULL, 0 };
	const struct manifest *m;
	const json_t *meta;
	struct out o;
	int rc = -1;

	if (upd_src_open(&s, path, -1, NULL, e) < 0)
		goto done;
	m = bundle_meta(s.r);
	meta = json_object_get(m->json, "metadata");
	if (strcmp(m->kind, "model") != 0)
		fed_errf(e, "a %s bundle, not a model", m->kind);
	else if (weights_meta_arch(m, a, e) == 0 &&
	    (meta == NULL || tset_meta_check(meta, e) == 0) &&
	    out_open(&o, out, e) == 0) {
		if (export_to(&s, a, meta, &o, e) < 0)
			out_abort(&o);
		else
			rc = out_commit(&o, e);
	}
done:
	upd_src_close(&s);
	free(a);
	return rc;
}
