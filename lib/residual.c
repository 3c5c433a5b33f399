/*
 * residual: reading and writing the --residual file, checked against
 * the model's layout before a value is used.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "optstate.h"
#include "out.h"
#include "residual.h"
#include "st.h"
#include "weights.h"

float *
residual_load(const char *path, const struct arch *a, fed_err *e)
{
	uint64_t np = arch_nparams(a);
	float *r = xcalloc(np ? np : 1, sizeof(*r));
	struct tensor_spec t[ARCH_MAXTENSORS];
	struct st_file st;
	uint8_t *buf;
	size_t len;
	int i, n;

	if (access(path, F_OK) < 0)
		return r;
	if ((buf = read_file(path, 8 + ST_MAXHEADER + np * 4, &len,
	    e)) == NULL) {
		free(r);
		optstate_syserr(e);
		return NULL;
	}
	if (st_parse(buf, len, &st, e) < 0 || weights_check(a, &st, e) < 0) {
		free(buf);
		free(r);
		fed_errprefix(e, "%s: not a residual of this model", path);
		return NULL;
	}
	n = arch_tensors(a, t);
	for (i = 0; i < n; i++)
		memcpy(r + t[i].offset, st_find(&st, t[i].name)->data,
		    t[i].count * sizeof(float));
	st_file_free(&st);
	free(buf);
	return r;
}

int
residual_save(const char *path, const struct arch *a, const float *r,
    fed_err *e)
{
	uint8_t *st;
	size_t len;
	int rc;

	if ((st = weights_encode(a, r, &len, e)) == NULL)
		return -1;
	rc = optstate_write(path, st, len, e);
	free(st);
	return rc;
}
