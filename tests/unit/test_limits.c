/*
 * Every limit the readers enforce, tested at its edge: the largest value
 * allowed passes, one more is refused.  The limits are documented in
 * fed-bundle(5) and fed-verify(1).
 */
#include <stdlib.h>
#include <unistd.h>

#include "bundle.h"
#include "manifest.h"
#include "st.h"
#include "t.h"

static uint8_t *
nested(int depth, size_t *n)
{
	uint8_t *b = xmalloc(2 * (size_t)depth + 16);
	size_t at = 0;
	int i;

	b[at++] = '{';
	memcpy(b + at, "\"a\":", 4);
	at += 4;
	for (i = 1; i < depth; i++)
		b[at++] = '[';
	for (i = 1; i < depth; i++)
		b[at++] = ']';
	b[at++] = '}';
	*n = at;
	return b;
}

static void
test_manifest_limits(void)
{
	size_t n;
	uint8_t *b;
	json_t *m;
	fed_err e;

	b = nested(MANIFEST_MAXDEPTH, &n);
	m = manifest_parse(b, n, &e);
	T_OK("limit: manifest depth 32 accepted", m != NULL);
	json_decref(m);
	free(b);
	b = nested(MANIFEST_MAXDEPTH + 1, &n);
	T_OK("limit: manifest depth 33 refused", manifest_parse(b, n, &e) == NULL);
	free(b);
	b = xmalloc(MANIFEST_MAX + 1);
	memset(b, ' ', MANIFEST_MAX + 1);
	b[0] = '{';
	b[MANIFEST_MAX - 1] = '}';
	m = manifest_parse(b, MANIFEST_MAX, &e);
	T_OK("limit: manifest of 1 MiB accepted", m != NULL);
	json_decref(m);
	T_OK("limit: manifest of 1 MiB + 1 refused",
	    manifest_parse(b, MANIFEST_MAX + 1, &e) == NULL &&
	    strstr(e.msg, "larger") != NULL);
	free(b);
}

/* A manifest with n members named tensors.safetensors twice over is not
 * needed: the member cap is checked before names. */
static void
test_member_limit(void)
{
	json_t *m = manifest_new("data", "test"), *ms = json_array();
	fed_err e;
	int i;

	json_object_set_new(m, "samples", json_integer(1));
	json_object_set_new(m, "features", json_integer(1));
	json_object_set_new(m, "classes", json_integer(2));
	json_object_set_new(m, "x_scale", json_real(1));
	for (i = 0; i <= BUNDLE_MAXMEMBERS; i++)
		json_array_append_new(ms, json_pack("{s:s,s:i,s:s}", "name",
		    "data.safetensors", "size", 1, "sha256", "00"));
	json_object_set_new(m, "members", ms);
	T_OK("limit: 17 members refused",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "more than 16") != NULL);
	json_decref(m);
}

static uint8_t *
st_with(int ntensors, size_t pad, size_t *len)
{
	struct st_spec *s = xcalloc((size_t)ntensors, sizeof(*s));
	char (*names)[16] = xcalloc((size_t)ntensors, 16);
	static uint8_t one;
	fed_err e;
	uint8_t *b, *h;
	size_t hl;
	int i;

	for (i = 0; i < ntensors; i++) {
		snprintf(names[i], 16, "t%d", i);
		s[i].name = names[i];
		s[i].dtype = ST_U8;
		s[i].ndim = 1;
		s[i].shape[0] = 1;
		s[i].data = &one;
	}
	h = st_header(s, ntensors, &hl, &e);
	b = xmalloc(hl + pad + (size_t)ntensors);
	memcpy(b, h, hl);
	memset(b + hl, ' ', pad);
	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)((hl - 8 + pad) >> (8 * i));
	memset(b + hl + pad, 1, (size_t)ntensors);
	*len = hl + pad + (size_t)ntensors;
	free(h);
	free(s);
	free(names);
	return b;
}

static void
test_st_limits(void)
{
	struct st_file f;
	size_t len, hl;
	uint8_t *b;
	fed_err e;

	b = st_with(ST_MAXTENSORS, 0, &len);
	T_OK("limit: 4096 tensors accepted", st_parse(b, len, &f, &e) == 0);
	st_file_free(&f);
	free(b);
	b = st_with(ST_MAXTENSORS + 1, 0, &len);
	T_OK("limit: 4097 tensors refused", st_parse(b, len, &f, &e) < 0);
	free(b);
	/* one tensor, header padded with spaces to exactly the cap */
	b = st_with(1, 0, &len);
	hl = len - 8 - 1;
	free(b);
	b = st_with(1, ST_MAXHEADER - hl, &len);
	T_OK("limit: header of 1 MiB accepted", st_parse(b, len, &f, &e) == 0);
	st_file_free(&f);
	free(b);
	b = st_with(1, ST_MAXHEADER - hl + 1, &len);
	T_OK("limit: header of 1 MiB + 1 refused", st_parse(b, len, &f, &e) < 0
	    && strstr(e.msg, "exceeds") != NULL);
	free(b);
}

/* A bundle with n signatures, written by hand through the writer. */
static int
bundle_with_sigs(int nsigs, fed_err *e)
{
	char path[] = "/tmp/fedlimitXXXXXX", name[64];
	int fd = mkstemp(path), i, r;
	struct bundle_writer *w;
	json_t *m = manifest_new("model", "test");
	uint8_t *mb, sig[SIG_LEN] = { 0 };
	size_t ml;
	struct bundle b;

	json_object_set_new(m, "arch", json_string("softmax:2-2"));
	json_object_set_new(m, "round", json_integer(0));
	json_object_set_new(m, "parent", json_null());
	json_object_set_new(m, "members", json_array());
	mb = manifest_dump(m, &ml);
	w = bundle_writer_open(fd, e);
	bundle_writer_member(w, "manifest.json", ml, e);
	bundle_writer_data(w, mb, ml, e);
	for (i = 0; i < nsigs; i++) {
		snprintf(name, sizeof(name), "signatures/%016x.sig", i);
		bundle_writer_member(w, name, SIG_LEN, e);
		bundle_writer_data(w, sig, SIG_LEN, e);
	}
	bundle_writer_close(w, e);
	close(fd);
	r = bundle_load(path, 1 << 20, &b, e);
	if (r == 0)
		bundle_free(&b);
	unlink(path);
	free(mb);
	json_decref(m);
	return r;
}

static void
test_sig_limit(void)
{
	fed_err e;

	T_OK("limit: 256 signatures read", bundle_with_sigs(BUNDLE_MAXSIGS, &e)
	    == 0);
	T_OK("limit: 257 signatures refused",
	    bundle_with_sigs(BUNDLE_MAXSIGS + 1, &e) < 0 &&
	    strstr(e.msg, "more than 256") != NULL);
}

int
main(void)
{
	test_manifest_limits();
	test_member_limit();
	test_st_limits();
	test_sig_limit();
	T_DONE();
}
