/*
 * test_tset: imported tensor sets: the canonical table (sorted, laid out,
 * digested as fed-bundle(5) says), its manifest form read back, and the
 * F16/BF16 conversions rounding to nearest even.
 */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "t.h"
#include "tset.h"

static const char text[] =
    "a.bias\tBF16\t3\n"
    "b.weight\tF32\t2,3\n"
    "scalar\tF16\t\n";

/* st_file of three tensors listed in an arbitrary order. */
static void
fill(struct st_file *st, struct st_tensor *t)
{
	memset(t, 0, 3 * sizeof(*t));
	strcpy(t[0].name, "scalar");
	t[0].dtype = ST_F16;
	strcpy(t[1].name, "b.weight");
	t[1].dtype = ST_F32;
	t[1].ndim = 2;
	t[1].shape[0] = 2;
	t[1].shape[1] = 3;
	strcpy(t[2].name, "a.bias");
	t[2].dtype = ST_BF16;
	t[2].ndim = 1;
	t[2].shape[0] = 3;
	memset(st, 0, sizeof(*st));
	st->n = 3;
	st->t = t;
}

static void
table(void)
{
	static struct arch a, b;
	struct st_tensor t[3];
	struct st_file st;
	char hex[65];
	json_t *j;
	fed_err e;

	fill(&st, t);
	sha256_hex(text, strlen(text), hex);
	T_OK("tset: imports", tset_from_st(&st, &a, &e) == 0);
	T_OK("tset: digest of the table's text", strcmp(a.id, hex) == 0);
	T_OK("tset: sorted by name", strcmp(a.t[0].name, "a.bias") == 0 &&
	    strcmp(a.t[2].name, "scalar") == 0);
	T_OK("tset: floats laid out", a.t[1].offset == 3 &&
	    a.t[2].offset == 9 && arch_nparams(&a) == 10);
	T_OK("tset: bytes laid out", a.t[1].boff == 6 && a.t[2].boff == 30);
	j = tset_json(&a);
	memcpy(b.id, a.id, sizeof(a.id));
	T_OK("tset: manifest form reads back", tset_load(&b, j, &e) == 0 &&
	    b.nt == 3 && b.t[2].boff == 30);
	json_array_append(j, json_array_get(j, 0));
	T_OK("tset: out of order refused", tset_load(&b, j, &e) < 0);
	json_array_remove(j, 3);
	b.id[0] = b.id[0] == '0' ? '1' : '0';
	T_OK("tset: another digest refused", tset_load(&b, j, &e) < 0 &&
	    strstr(e.msg, "digest") != NULL);
	json_decref(j);
	t[0].dtype = ST_I8;
	T_OK("tset: I8 refused", tset_from_st(&st, &a, &e) < 0);
	t[0].dtype = ST_F16;
	strcpy(t[1].name, "scalar");
	T_OK("tset: a name twice refused", tset_from_st(&st, &a, &e) < 0);
}

static void
rounding(void)
{
	/* 1 + 2^-11 is halfway between F16's 1 and 1 + 2^-10: to even, 1;
	 * 1 + 3 * 2^-11 between 1 + 2^-10 and 1 + 2^-9: to even, the latter */
	float x[4] = { 1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 65504, 70000 };
	float y[4];
	uint8_t h[8];

	T_OK("tset: 70000 does not fit F16",
	    tset_from_float(ST_F16, x, h, 4) == 1);
	tset_to_float(ST_F16, h, y, 4);
	T_OK("tset: F16 ties to even", y[0] == 1 && y[1] == 1 + 0x1p-9f &&
	    y[2] == 65504);
	x[0] = 1 + 0x1p-8f;             /* BF16 halfway: to even, 1 */
	x[1] = 1 + 3 * 0x1p-8f;
	T_OK("tset: BF16 fits", tset_from_float(ST_BF16, x, h, 2) == 0);
	tset_to_float(ST_BF16, h, y, 2);
	T_OK("tset: BF16 ties to even", y[0] == 1 && y[1] == 1 + 0x1p-6f);
}

int
main(void)
{
	table();
	rounding();
	T_DONE();
}
