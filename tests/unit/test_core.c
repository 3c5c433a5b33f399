/*
 * Unit tests for the integrity core: rng, model layout, safetensors,
 * manifest, crypto and the bundle writer/reader round trip.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "bundle.h"
#include "key.h"
#include "manifest.h"
#include "arch.h"
#include "out.h"
#include "rng.h"
#include "st.h"
#include "t.h"
#include "weights.h"

static void
test_rng(void)
{
	rng_t a, b;
	double s = 0, s2 = 0, g = 0;
	int i, same = 1;

	rng_seed(&a, 7);
	rng_seed(&b, 7);
	for (i = 0; i < 1000; i++)
		same &= rng_u64(&a) == rng_u64(&b);
	T_OK("rng: same seed, same stream", same);
	rng_seed(&b, 8);
	T_OK("rng: other seed, other stream", rng_u64(&a) != rng_u64(&b));
	for (i = 0; i < 100000; i++) {
		double x = rng_normal(&a);
		s += x;
		s2 += x * x;
		g += rng_gamma(&a, 0.5);
	}
	T_NEAR("rng: normal mean 0", s / 1e5, 0, 0.02);
	T_NEAR("rng: normal variance 1", s2 / 1e5, 1, 0.02);
	T_NEAR("rng: gamma(0.5) mean 0.5", g / 1e5, 0.5, 0.02);
	T_OK("rng: below bound", rng_below(&a, 3) < 3);
}

static void
test_model(void)
{
	struct arch a;
	struct tensor_spec t[ARCH_MAXTENSORS];
	char buf[ARCH_STRLEN];
	fed_err e;
	float *p;
	double s2 = 0;
	int i;

	T_OK("arch: mlp parses", arch_parse("mlp:784-200-200-10", &a, &e) == 0);
	T_OK("arch: mlp params", arch_nparams(&a) == 784 * 200 + 200 +
	    200 * 200 + 200 + 200 * 10 + 10);
	arch_format(&a, buf, sizeof(buf));
	T_OK("arch: canonical string", strcmp(buf, "mlp:784-200-200-10") == 0);
	T_OK("arch: six tensors", arch_tensors(&a, t) == 6);
	T_OK("arch: weight shape (out, in)", t[0].shape[0] == 200 &&
	    t[0].shape[1] == 784 && t[5].offset + t[5].count ==
	    arch_nparams(&a));
	T_OK("arch: softmax needs two dims",
	    arch_parse("softmax:784-10-10", &a, &e) < 0);
	T_OK("arch: zero width rejected", arch_parse("mlp:784-0-10", &a, &e) < 0);
	T_OK("arch: junk rejected", arch_parse("mlp:784-x", &a, &e) < 0);
	T_OK("arch: unknown kind", arch_parse("cnn:1-2", &a, &e) < 0);
	T_OK("arch: too large", arch_parse("mlp:1000000-1000000-10", &a, &e) < 0);
	arch_parse("softmax:1000-10", &a, &e);
	p = xmalloc(arch_nparams(&a) * sizeof(float));
	{
		rng_t r;
		rng_seed(&r, 1);
		arch_init(&a, p, &r);
	}
	for (i = 0; i < 10000; i++)
		s2 += (double)p[i] * p[i];
	T_NEAR("init: LeCun variance 1/fan_in", s2 / 10000, 1.0 / 1000, 0.0002);
	T_OK("init: zero bias", p[10000] == 0 && p[10009] == 0);
	free(p);
}

static uint8_t *
small_st(float v, size_t *len)
{
	static float w[6];
	struct st_spec s[2] = {
		{ "a", ST_F32, 2, { 2, 2 }, w },
		{ "b", ST_F32, 1, { 2 }, w + 4 },
	};
	fed_err e;
	int i;

	for (i = 0; i < 6; i++)
		w[i] = (float)i;
	w[5] = v;
	return st_write(s, 2, len, &e);
}

static int
st_bad(const char *hdr, size_t datalen)
{
	size_t hl = strlen(hdr), n = 8 + hl + datalen;
	uint8_t *b = calloc(1, n);
	struct st_file f;
	fed_err e;
	int r, i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(hl >> (8 * i));
	memcpy(b + 8, hdr, hl);
	r = st_parse(b, n, &f, &e);
	if (r == 0)
		st_file_free(&f);
	free(b);
	return r < 0;
}

static void
test_st(void)
{
	size_t len, i;
	uint8_t *b = small_st(5, &len);
	struct st_file f;
	struct st_check *c;
	fed_err e;
	int ok = 1;

	T_OK("st: header 8-aligned", (len - 24) % 8 == 0);
	T_OK("st: parses what it writes", st_parse(b, len, &f, &e) == 0);
	T_OK("st: two tensors", f.n == 2 && st_find(&f, "b") != NULL &&
	    ((const float *)st_find(&f, "b")->data)[1] == 5);
	st_file_free(&f);
	c = st_check_new(len);
	for (i = 0; i < len; i++)
		ok &= st_check_feed(c, b + i, 1, &e) == 0;
	T_OK("st: byte-at-a-time stream", ok && st_check_end(c, &e) == 0);
	st_check_free(c);
	T_OK("st: truncated", st_parse(b, len - 1, &f, &e) < 0);
	free(b);
	b = small_st(NAN, &len);
	T_OK("st: NaN rejected", st_parse(b, len, &f, &e) < 0 &&
	    strstr(e.msg, "not finite") != NULL);
	free(b);
	b = small_st(INFINITY, &len);
	T_OK("st: Inf rejected", st_parse(b, len, &f, &e) < 0);
	free(b);
	T_OK("st: duplicate names", st_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":"
	    "[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],"
	    "\"data_offsets\":[1,2]}}", 2));
	T_OK("st: gap", st_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],"
	    "\"data_offsets\":[1,2]}}", 2));
	T_OK("st: overlap", st_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],"
	    "\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[1],"
	    "\"data_offsets\":[1,2]}}", 2));
	T_OK("st: size against shape", st_bad("{\"a\":{\"dtype\":\"F32\","
	    "\"shape\":[2],\"data_offsets\":[0,4]}}", 4));
	T_OK("st: unknown dtype", st_bad("{\"a\":{\"dtype\":\"F64\",\"shape\":"
	    "[1],\"data_offsets\":[0,8]}}", 8));
	T_OK("st: extra data", st_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],"
	    "\"data_offsets\":[0,1]}}", 2));
	T_OK("st: huge shape", st_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0));
	T_OK("st: not JSON", st_bad("{\"a\":", 0));
	T_OK("st: empty header", st_bad("", 0));
	T_OK("st: metadata allowed", !st_bad("{\"__metadata__\":{\"k\":\"v\"},"
	    "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
}

static void
test_manifest(void)
{
	const char *dup = "{\"a\":1,\"a\":2}";
	json_t *m;
	fed_err e;
	char deep[200];
	int i;

	T_OK("manifest: duplicate keys rejected",
	    manifest_parse((const uint8_t *)dup, strlen(dup), &e) == NULL);
	for (i = 0; i < 80; i++)
		deep[i] = '[';
	for (i = 80; i < 160; i++)
		deep[i] = ']';
	deep[160] = 0;
	T_OK("manifest: deep nesting rejected",
	    manifest_parse((const uint8_t *)deep, 160, &e) == NULL);
	m = manifest_new("model", "test");
	json_object_set_new(m, "members", json_array());
	T_OK("manifest: model without arch",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "arch") != NULL);
	json_object_set_new(m, "arch", json_string("softmax:4-2"));
	json_object_set_new(m, "round", json_integer(0));
	json_object_set_new(m, "parent", json_null());
	T_OK("manifest: valid model", manifest_check(m, &bundle_rules, &e) == 0);
	json_object_set_new(m, "kind", json_string("update"));
	T_OK("manifest: update needs a parent digest",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "parent") != NULL);
	json_object_set_new(m, "kind", json_string("weird"));
	T_OK("manifest: unknown kind", manifest_check(m, &bundle_rules, &e) < 0);
	json_object_set_new(m, "format", json_string("fed-bundle/2"));
	T_OK("manifest: wrong format",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "format") != NULL);
	json_decref(m);
	T_OK("digest: valid", manifest_digest_valid("sha256:"
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	    == 0);
	T_OK("digest: upper case rejected", manifest_digest_valid("sha256:"
	    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
	    < 0);
}

static void
test_crypto(void)
{
	char hex[65], pub[64], sec[64], dir[] = "/tmp/fedkeyXXXXXX";
	struct key kp, ks;
	uint8_t sig[SIG_LEN];
	fed_err e;

	sha256_hex("abc", 3, hex);
	T_OK("sha256: abc", strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361"
	    "a396177a9cb410ff61f20015ad") == 0);
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	snprintf(sec, sizeof(sec), "%s/k.sec", dir);
	T_OK("key: generate with passphrase",
	    key_generate(pub, sec, "hunter2", &e) == 0);
	T_OK("key: never overwrites", key_generate(pub, sec, NULL, &e) < 0);
	T_OK("key: encrypted", key_secret_encrypted(sec, &e) == 1);
	T_OK("key: needs passphrase", key_load_secret(sec, NULL, &ks, &e) < 0 &&
	    strstr(e.msg, "passphrase") != NULL);
	T_OK("key: wrong passphrase", key_load_secret(sec, "x", &ks, &e) < 0);
	T_OK("key: loads", key_load_secret(sec, "hunter2", &ks, &e) == 0 &&
	    key_load_public(pub, &kp, &e) == 0);
	T_OK("key: same id", strcmp(ks.id, kp.id) == 0 && strlen(kp.id) == 16);
	T_OK("sign: signs", key_sign(&ks, (const uint8_t *)"m", 1, sig, &e) == 0);
	T_OK("sign: verifies", key_verify(&kp, (const uint8_t *)"m", 1, sig));
	T_OK("sign: other message fails",
	    !key_verify(&kp, (const uint8_t *)"n", 1, sig));
	sig[0] ^= 1;
	T_OK("sign: flipped bit fails",
	    !key_verify(&kp, (const uint8_t *)"m", 1, sig));
	key_free(&ks);
	key_free(&kp);
	T_OK("key: public is not secret", key_load_secret(pub, NULL, &ks, &e) < 0);
	unlink(pub);
	unlink(sec);
	rmdir(dir);
}

static int
only_x(const char *name)
{
	return strcmp(name, "x") == 0;
}

/* The struct is filled once from the bytes; the rules are the caller's. */
/* base: an adapter's frozen model, by digest, on imported models only. */
static void
test_manifest_base(void)
{
	const char *d = "sha256:"
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	json_t *m = manifest_new("model", "test");
	fed_err e;

	json_object_set_new(m, "members", json_array());
	json_object_set_new(m, "arch", json_string("tensors:"
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	json_object_set_new(m, "round", json_integer(0));
	json_object_set_new(m, "parent", json_null());
	json_object_set_new(m, "base", json_string(d));
	T_OK("manifest: an imported model names its base",
	    manifest_check(m, &bundle_rules, &e) == 0);
	json_object_set_new(m, "base", json_string("sha256:ba78"));
	T_OK("manifest: a base that is not a digest",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "base") != NULL);
	json_object_set_new(m, "base", json_integer(1));
	T_OK("manifest: a base that is not a string",
	    manifest_check(m, &bundle_rules, &e) < 0);
	json_object_set_new(m, "base", json_string(d));
	json_object_set_new(m, "kind", json_string("update"));
	json_object_set_new(m, "parent", json_string(d));
	json_object_set_new(m, "samples", json_integer(1));
	json_object_set_new(m, "steps", json_integer(0));
	T_OK("manifest: no base on an update",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "base") != NULL);
	json_object_set_new(m, "kind", json_string("model"));
	json_object_set_new(m, "arch", json_string("softmax:4-2"));
	T_OK("manifest: no base on a model fed defined",
	    manifest_check(m, &bundle_rules, &e) < 0 &&
	    strstr(e.msg, "base") != NULL);
	json_decref(m);
}

static void
test_manifest_load(void)
{
	static const char upd[] = "{\"format\":\"fed-bundle/1\","
	    "\"kind\":\"update\",\"arch\":\"softmax:4-2\",\"round\":3,"
	    "\"parent\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a3961"
	    "77a9cb410ff61f20015ad\",\"samples\":12,\"steps\":2,"
	    "\"producer\":{\"tool\":\"fed-train\"},\"moments\":{\"step\":"
	    "\"x\"},\"members\":[{\"name\":\"x\",\"size\":5,\"sha256\":"
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	    "\"}]}";
	const struct manifest_rules one_x = { 1, 5, only_x };
	struct manifest m;
	fed_err e;

	T_OK("manifest_load: an update", manifest_load(&m, (const uint8_t *)upd,
	    strlen(upd), &one_x, &e) == 0);
	T_OK("manifest_load: fields", strcmp(m.kind, "update") == 0 &&
	    strcmp(m.arch, "softmax:4-2") == 0 && m.round == 3 &&
	    m.samples == 12 && m.steps == 2 && m.modality == NULL &&
	    m.documents == -1 && strcmp(m.producer, "fed-train") == 0 &&
	    strncmp(m.parent, "sha256:ba78", 11) == 0 && !m.encoded);
	T_OK("manifest_load: a malformed moments object is 0",
	    m.moments_step == 0);
	T_OK("manifest_load: members", m.nmembers == 1 &&
	    strcmp(m.members[0].name, "x") == 0 && m.members[0].size == 5 &&
	    strlen(m.members[0].sha256) == 64);
	manifest_free(&m);
	T_OK("manifest_load: names are the rules' to allow",
	    manifest_load(&m, (const uint8_t *)upd, strlen(upd), &bundle_rules,
	    &e) < 0 && strstr(e.msg, "member name x not allowed") != NULL &&
	    e.kind == FED_EREJECT);
}

/* Missing and folder operands are system failures, bad bytes rejected. */
static void
test_bundle_errors(void)
{
	char dir[] = "/tmp/fedbdirXXXXXX", path[64];
	fed_err e;
	int fd;

	T_OK("bundle: a folder", mkdtemp(dir) != NULL &&
	    bundle_open(dir, -1, &e) == NULL && e.kind == FED_ESYSTEM &&
	    strcmp(e.msg, "is a directory") == 0);
	snprintf(path, sizeof(path), "%s/missing.fed", dir);
	T_OK("bundle: a missing file", bundle_open(path, -1, &e) == NULL &&
	    e.kind == FED_ESYSTEM && strstr(e.msg, "No such file") != NULL);
	snprintf(path, sizeof(path), "%s/junk.fed", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	T_OK("bundle: junk", fd >= 0 && write(fd, "junk", 4) == 4 &&
	    close(fd) == 0 && bundle_open(path, -1, &e) == NULL &&
	    e.kind == FED_EREJECT && strstr(e.msg, "not a valid bundle"));
	unlink(path);
	rmdir(dir);
}

static void
test_bundle(void)
{
	char path[] = "/tmp/fedbundleXXXXXX", d1[DIGEST_LEN + 1];
	size_t len;
	uint8_t *st = small_st(1, &len);
	struct bundle_payload p = { "data.safetensors", st, -1, len, NULL };
	struct bundle b;
	json_t *m = manifest_new("model", "test");
	fed_err e;
	int fd = mkstemp(path);

	json_object_set_new(m, "arch", json_string("softmax:2-2"));
	json_object_set_new(m, "round", json_integer(0));
	json_object_set_new(m, "parent", json_null());
	p.name = "tensors.safetensors";
	T_OK("bundle: write", bundle_write(fd, m, &p, 1, d1, &e) == 0);
	T_OK("bundle: load", bundle_load(path, 1 << 20, &b, &e) == 0);
	T_OK("bundle: digest matches", strcmp(b.digest, d1) == 0);
	T_OK("bundle: payload intact", b.n == 1 && b.m[0].size == len &&
	    memcmp(b.m[0].data, st, len) == 0);
	bundle_free(&b);
	T_OK("bundle: payload cap", bundle_load(path, 10, &b, &e) < 0);
	json_decref(m);
	close(fd);
	unlink(path);
	free(st);
}

int
main(void)
{
	test_rng();
	test_model();
	test_st();
	test_manifest();
	test_manifest_base();
	test_manifest_load();
	test_bundle_errors();
	test_crypto();
	test_bundle();
	T_DONE();
}
