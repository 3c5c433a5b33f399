/*
 * merge-gen: bundles for fed-merge's tests and benchmark, made fast and
 * without training.  Not installed.
 *
 *   merge-gen model ARCH SEED OUT
 *       a round-0 model with uniform random weights in [-0.1, 0.1)
 *   merge-gen update MODEL SEED SCALE SAMPLES CONTRIBUTOR OUT [ENCODING]
 *       an update of MODEL whose delta is SCALE * uniform[-1, 1), encoded
 *       as fed-train --encode ENCODING would (int8 rounds stochastically
 *       with SEED when ENCODING is "int8s")
 *   merge-gen scale UPDATE FACTOR OUT
 *       the attacker: UPDATE with its delta multiplied by FACTOR, the rest
 *       of its manifest kept (signatures are dropped)
 *   merge-gen peak CMD [ARG ...]
 *       run CMD and print its peak resident set in KB (for tests that
 *       must not depend on /usr/bin/time); exit 2 when CMD failed
 */
#include <err.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "bundle.h"
#include "encode.h"
#include "out.h"
#include "rng.h"
#include "weights.h"

static void
fill(float *p, uint64_t n, uint64_t seed, double scale)
{
	rng_t r;
	uint64_t i, b;

	rng_seed(&r, seed);
	for (i = 0; i < n; i += 2) {
		b = rng_u64(&r);
		p[i] = (float)(scale * ((double)(b >> 40) / (1 << 23) - 1));
		if (i + 1 < n)
			p[i + 1] = (float)(scale *
			    ((double)(b & 0xffffff) / (1 << 23) - 1));
	}
}

static void
write_bundle(const char *path, json_t *m, const struct arch *a,
    const float *p, const struct enc *c, uint64_t seed)
{
	struct bundle_payload pl = { WEIGHTS_MEMBER, NULL, -1, 0, NULL };
	struct out o;
	size_t len;
	fed_err e;

	if (c != NULL && c->scheme != ENC_F32) {
		json_object_set_new(m, "encoding", encode_json(c));
		pl.data = encode_encode(a, c, p, NULL, seed, &len, &e);
	} else
		pl.data = weights_encode(a, p, &len, &e);
	if (pl.data == NULL)
		errx(2, "%s", e.msg);
	pl.size = len;
	if (out_open(&o, path, &e) < 0 ||
	    bundle_write(o.fd, m, &pl, 1, NULL, &e) < 0 ||
	    out_commit(&o, &e) < 0)
		errx(2, "%s: %s", path, e.msg);
	free((void *)pl.data);
	json_decref(m);
}

static float *
load(const char *path, struct bundle *b, struct arch *a)
{
	fed_err e;
	float *p;

	if (bundle_load(path, (uint64_t)16 << 30, b, &e) < 0 ||
	    (p = weights_load(b, a, &e)) == NULL)
		errx(1, "%s: %s", path, e.msg);
	return p;
}

/* Run argv, print its peak RSS in KB. */
static int
peak(char **argv)
{
	struct rusage ru;
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		err(2, "fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		err(127, "%s", argv[0]);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		err(2, "wait4");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		errx(2, "%s failed", argv[0]);
	printf("%ld\n", ru.ru_maxrss);
	return 0;
}

static uint64_t
num(const char *s)
{
	uint64_t v;

	if (parse_u64(s, 0, UINT64_MAX, &v) < 0)
		errx(2, "%s: not a number", s);
	return v;
}

/* merge-gen update MODEL SEED SCALE SAMPLES CONTRIBUTOR OUT, encoded as c
 * says: the delta, written. */
static float *
update(char **argv, struct enc *c)
{
	char arch[ARCH_STRLEN];
	struct bundle b;
	struct arch a;
	double scale;
	json_t *m;
	float *p;

	free(load(argv[2], &b, &a));
	p = xcalloc(arch_nparams(&a), sizeof(float));
	if (parse_double(argv[4], -1e6, 1e6, &scale) < 0)
		errx(2, "%s: not a scale", argv[4]);
	fill(p, arch_nparams(&a), num(argv[3]), scale);
	arch_format(&a, arch, sizeof(arch));
	m = manifest_new("update", "merge-gen");
	json_object_set_new(m, "arch", json_string(arch));
	json_object_set_new(m, "parent", json_string(b.digest));
	json_object_set_new(m, "round", json_integer(
	    manifest_int(b.manifest, "round")));
	json_object_set_new(m, "samples", json_integer(
	    (json_int_t)num(argv[5])));
	json_object_set_new(m, "steps", json_integer(1));
	json_object_set_new(m, "contributor", json_string(argv[6]));
	json_object_set_new(m, "train", json_pack("{s:I,s:f}", "seed",
	    (json_int_t)num(argv[3]), "scale", scale));
	bundle_free(&b);
	if (c->scheme == ENC_TOPK)
		c->k = encode_topk_count(c->fraction, arch_nparams(&a));
	write_bundle(argv[7], m, &a, p, c, num(argv[3]));
	return p;
}

int
main(int argc, char *argv[])
{
	char arch[ARCH_STRLEN];
	struct bundle b;
	struct arch a;
	json_t *m;
	fed_err e;
	double scale;
	struct enc c;
	float *p;
	uint64_t i, n;

	memset(&c, 0, sizeof(c));
	if (argc >= 3 && strcmp(argv[1], "peak") == 0)
		return peak(argv + 2);
	if (argc == 9 && strcmp(argv[1], "update") == 0) {
		if (encode_parse(strcmp(argv[8], "int8s") == 0 ? "int8" :
		    argv[8], &c, &e) < 0)
			errx(2, "%s", e.msg);
		c.stochastic = strcmp(argv[8], "int8s") == 0;
		argc--;
	}

	if (argc == 5 && strcmp(argv[1], "model") == 0) {
		if (arch_parse(argv[2], &a, &e) < 0)
			errx(2, "%s", e.msg);
		p = xcalloc(arch_nparams(&a), sizeof(float));
		fill(p, arch_nparams(&a), num(argv[3]), 0.1);
		arch_format(&a, arch, sizeof(arch));
		m = manifest_new("model", "merge-gen");
		json_object_set_new(m, "arch", json_string(arch));
		json_object_set_new(m, "round", json_integer(0));
		json_object_set_new(m, "parent", json_null());
		write_bundle(argv[4], m, &a, p, NULL, 0);
	} else if (argc == 8 && strcmp(argv[1], "update") == 0) {
		p = update(argv, &c);
	} else if (argc == 5 && strcmp(argv[1], "scale") == 0) {
		p = load(argv[2], &b, &a);
		if (parse_double(argv[3], -1e6, 1e6, &scale) < 0)
			errx(2, "%s: not a factor", argv[3]);
		for (i = 0, n = arch_nparams(&a); i < n; i++)
			p[i] = (float)(p[i] * scale);
		m = json_deep_copy(b.manifest);
		json_object_del(m, "members");
		json_object_set_new(m, "attack", json_real(scale));
		bundle_free(&b);
		write_bundle(argv[4], m, &a, p, NULL, 0);
	} else {
		fputs("usage: merge-gen model ARCH SEED OUT\n"
		    "       merge-gen update MODEL SEED SCALE SAMPLES "
		    "CONTRIBUTOR OUT [ENCODING]\n"
		    "       merge-gen scale UPDATE FACTOR OUT\n"
		    "       merge-gen peak CMD [ARG ...]\n", stderr);
		return 2;
	}
	free(p);
	return 0;
}
