/*
 * optstate: reading and writing the --opt-state file.  The file is
 * parsed strictly (st.h) and checked against the model before a value
 * is used.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "optstate.h"
#include "out.h"
#include "st.h"

void
optstate_zero(struct optim_state *s, const struct arch *a)
{
	uint64_t np = arch_nparams(a);

	s->t = 0;
	s->m = xcalloc(np ? np : 1, sizeof(float));
	s->v = xcalloc(np ? np : 1, sizeof(float));
}

void
optstate_free(struct optim_state *s)
{
	free(s->m);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The tensors of st into s, when they are of a; else *other. */
static int
take(const struct st_file *st, const struct arch *a, struct optim_state *s,
    int *other, fed_err *e)
{
	const struct st_tensor *ta, *tt, *tm, *tv;
	uint64_t np = arch_nparams(a);
	char as[ARCH_STRLEN];
	int64_t t;

	arch_format(a, as, sizeof(as));
	ta = st_find(st, "arch");
	tt = st_find(st, "step");
	tm = st_find(st, "exp_avg");
	tv = st_find(st, "exp_avg_sq");
	if (ta == NULL || tt == NULL || tm == NULL || tv == NULL ||
	    ta->dtype != ST_U8 || tt->dtype != ST_I64 || st_elements(tt) != 1 ||
	    tm->dtype != ST_F32 || tv->dtype != ST_F32)
		return fed_errf(e, "not an optimizer state");
	memcpy(&t, tt->data, sizeof(t));
	if (t < 0)
		return fed_errf(e, "not an optimizer state: negative step");
	if (st_elements(ta) != strlen(as) || memcmp(ta->data, as,
	    strlen(as)) != 0 || st_elements(tm) != np ||
	    st_elements(tv) != np) {
		*other = 1;
		return 0;
	}
	s->t = t;
	memcpy(s->m, tm->data, np * sizeof(float));
	memcpy(s->v, tv->data, np * sizeof(float));
	return 0;
}

int
optstate_load(const char *path, const struct arch *a, struct optim_state *s,
    int *other, fed_err *e)
{
	uint64_t np = arch_nparams(a);
	struct st_file st;
	uint8_t *buf;
	size_t len;
	int rc;

	*other = 0;
	optstate_zero(s, a);
	if (access(path, F_OK) < 0)
		return 0;
	if ((buf = read_file(path, 8 + ST_MAXHEADER + 2 * np * 4 + 4096, &len,
	    e)) == NULL)
		return optstate_syserr(e);
	if (st_parse(buf, len, &st, e) < 0) {
		free(buf);
		return fed_errprefix(e, "%s: not an optimizer state", path);
	}
	rc = take(&st, a, s, other, e);
	st_file_free(&st);
	free(buf);
	return rc < 0 ? fed_errprefix(e, "%s", path) : 0;
}

int
optstate_syserr(fed_err *e)
{
	if (e->kind == FED_EREJECT)
		e->kind = FED_ESYSTEM;
	return -1;
}

int
optstate_write(const char *path, const void *buf, size_t len, fed_err *e)
{
	struct out out;

	if (out_open(&out, path, e) < 0)
		return optstate_syserr(e);
	if (out_write_all(out.fd, buf, len, e) < 0 ||
	    out_commit(&out, e) < 0) {
		out_abort(&out);
		return optstate_syserr(e);
	}
	return 0;
}

int
optstate_save(const char *path, const struct arch *a,
    const struct optim_state *s, fed_err *e)
{
	uint64_t np = arch_nparams(a);
	char as[ARCH_STRLEN];
	struct st_spec sp[4];
	uint8_t *st;
	size_t len;
	int rc;

	arch_format(a, as, sizeof(as));
	memset(sp, 0, sizeof(sp));
	sp[0] = (struct st_spec){ "arch", ST_U8, 1, { (int64_t)strlen(as) },
	    as };
	sp[1] = (struct st_spec){ "step", ST_I64, 1, { 1 }, &s->t };
	sp[2] = (struct st_spec){ "exp_avg", ST_F32, 1, { (int64_t)np },
	    s->m };
	sp[3] = (struct st_spec){ "exp_avg_sq", ST_F32, 1, { (int64_t)np },
	    s->v };
	if ((st = st_write(sp, 4, &len, e)) == NULL)
		return -1;
	rc = optstate_write(path, st, len, e);
	free(st);
	return rc;
}
