/*
 * fed-shard: import a data set (IDX images and labels, or CSV) and write
 * it as data bundles, one per shard, split by lib/partition.  Every output
 * goes to a temporary file first and all are renamed only once all are
 * written, so a failure leaves no shard behind.
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bundle.h"
#include "csv.h"
#include "idx.h"
#include "out.h"
#include "partition.h"
#include "st.h"
#include "text.h"

#define SHARD_NAMEMAX 64
#define MAXSEED ((uint64_t)INT64_MAX)

struct opts {
	const char *format;             /* "idx", "csv", "text" or NULL */
	int by_file;                    /* text: -p file */
	uint32_t nshards;               /* 0: not given */
	struct part_spec part;
	int min_given;
	uint64_t seed;
	const char *label, *key;
	int skip_bad, quiet;
	const char *prefix;
};

/* What is being sharded, whichever format it came from. */
struct src {
	uint64_t n;
	uint32_t features, classes;
	enum st_dtype xtype;
	size_t rowbytes;
	const uint8_t *x;               /* (n, features) */
	int32_t *y;                     /* (n) */
	double x_scale;
	const uint32_t *key;            /* (n) column only */
	char *const *keys;
	uint32_t nkeys;
	json_t *inputs;
	struct idx img, lab;
	struct csv_data csv;
};

/* The split: parts are (shard, train|test), g = shard * nparts + part. */
struct plan {
	uint32_t nshards, nparts, nout;
	uint32_t *shard;                /* (n) */
	uint8_t *test;                  /* (n) */
	uint32_t *order;                /* (n) sample indices by part */
	uint64_t *start;                /* (nout + 1) */
	uint64_t *counts;               /* (nout, classes) */
	char **names;                   /* (nshards) */
};

static void __attribute__((noreturn))
usage(FILE *f, int status)
{
	fputs("usage: fed-shard [-q] [-f idx|csv] [-n shards] [-p partition] "
	    "[-s seed] [-t test-fraction] [--label name] [--key name] "
	    "[--skip-bad] [--min-size n] [--quantity law] -o prefix input "
	    "[labels]\n"
	    "       fed-shard [-q] -f text [-n shards] [-p iid|file] [-s seed] "
	    "[-t test-fraction] -o prefix input ...\n", f);
	exit(status);
}

/* A usage error: one line, exit 2. */
static void __attribute__((noreturn))
usage_err(const char *fmt, const char *arg)
{
	warnx(fmt, arg);
	exit(2);
}

static json_t *
input_json(const char *path, const char *sha)
{
	char *p = xstrdup(path), *base;
	json_t *o;

	base = strcmp(path, "-") == 0 ? "stdin" : basename(p);
	o = json_pack("{s:s,s:s}", "name", base, "sha256", sha);
	free(p);
	return o;
}

static void
load_idx(struct src *s, const char *images, const char *labels)
{
	uint64_t i;
	fed_err e;

	if (idx_load(images, IDX_MAXBYTES, &s->img, &e) < 0)
		errx(1, "%s", e.msg);
	if (idx_load(labels, (uint64_t)PART_MAXSAMPLES, &s->lab, &e) < 0)
		errx(1, "%s", e.msg);
	if (s->lab.ndim != 1)
		errx(1, "%s: labels must have one dimension, not %d",
		    display_name(labels), s->lab.ndim);
	if (s->lab.count != s->img.count)
		errx(1, "%s: %llu labels for %llu images", display_name(labels),
		    (unsigned long long)s->lab.count,
		    (unsigned long long)s->img.count);
	if (s->img.count > PART_MAXSAMPLES)
		errx(1, "%s: more than %llu images", display_name(images),
		    (unsigned long long)PART_MAXSAMPLES);
	s->n = s->img.count;
	s->features = (uint32_t)s->img.width;
	s->xtype = ST_U8;
	s->rowbytes = s->features;
	s->x = s->img.data;
	s->x_scale = 1.0 / 255.0;
	s->y = xcalloc(s->n, sizeof(*s->y));
	for (i = 0; i < s->n; i++) {
		s->y[i] = s->lab.data[i];
		if ((uint32_t)s->y[i] + 1 > s->classes)
			s->classes = (uint32_t)s->y[i] + 1;
	}
	idx_free(&s->lab);
	s->inputs = json_pack("[o,o]", input_json(images, s->img.sha256),
	    input_json(labels, s->lab.sha256));
}

static void
load_csv(struct src *s, const struct opts *o, const char *path)
{
	struct csv_opts co = { o->label, o->key, o->skip_bad };
	fed_err e;

	if (o->part.scheme == PART_COLUMN)
		co.key = o->part.column;
	if (csv_load(path, &co, &s->csv, &e) < 0)
		errx(1, "%s", e.msg);
	if (s->csv.skipped > 0)
		warnx("%s: skipped %llu bad rows (the first on line %llu)",
		    display_name(path), (unsigned long long)s->csv.skipped,
		    (unsigned long long)s->csv.first_bad);
	s->n = s->csv.rows;
	s->features = s->csv.features;
	s->classes = s->csv.classes;
	s->xtype = ST_F32;
	s->rowbytes = (size_t)s->features * sizeof(float);
	s->x = (const uint8_t *)s->csv.x;
	s->y = s->csv.y;
	s->csv.y = NULL;
	s->x_scale = 1.0;
	s->key = s->csv.key;
	s->keys = s->csv.keys;
	s->nkeys = s->csv.nkeys;
	s->inputs = json_pack("[o]", input_json(path, s->csv.sha256));
}

/* A key value as a file name: [a-z0-9_], other runs as one '-'. */
static char *
sanitise(const char *v)
{
	char *s = xmalloc(SHARD_NAMEMAX + 1);
	size_t n = 0;

	for (; *v && n < SHARD_NAMEMAX; v++) {
		char c = *v;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_')
			s[n++] = c;
		else if (n > 0 && s[n - 1] != '-')
			s[n++] = '-';
	}
	while (n > 0 && s[n - 1] == '-')
		n--;
	s[n] = '\0';
	return s;
}

static void
shard_names(struct plan *p, const struct src *s, const struct opts *o)
{
	uint32_t j, k, width = 3;

	p->names = xcalloc(p->nshards, sizeof(*p->names));
	for (k = p->nshards - 1; k >= 1000; k /= 10)
		width++;
	for (j = 0; j < p->nshards; j++) {
		if (o->part.scheme != PART_COLUMN) {
			p->names[j] = xmalloc(16);
			snprintf(p->names[j], 16, "%0*u", (int)width, j);
			continue;
		}
		p->names[j] = sanitise(s->keys[j]);
		if (p->names[j][0] == '\0')
			errx(1, "%s value \"%.40s\" gives no file name",
			    o->part.column, s->keys[j]);
		for (k = 0; k < j; k++)
			if (strcmp(p->names[j], p->names[k]) == 0)
				errx(1, "%s values \"%.40s\" and \"%.40s\" "
				    "both give shard name %s", o->part.column,
				    s->keys[k], s->keys[j], p->names[j]);
	}
}

static void
split(struct plan *p, const struct src *s, const struct opts *o)
{
	struct part_input in = { s->n, s->y, s->classes, s->key, s->nkeys };
	uint64_t i, g, *pos;
	fed_err e;

	p->nshards = o->part.scheme == PART_COLUMN ? s->nkeys : o->nshards;
	p->nparts = o->part.test > 0 ? 2 : 1;
	p->nout = p->nshards * p->nparts;
	p->shard = xcalloc(s->n, sizeof(*p->shard));
	p->test = xcalloc(s->n, 1);
	if (part_assign(&o->part, &in, p->nshards, o->seed, p->shard, &e) < 0 ||
	    part_test(&o->part, &in, p->nshards, p->shard, o->seed, p->test,
	    &e) < 0)
		errx(1, "%s", e.msg);
	p->start = xcalloc((uint64_t)p->nout + 1, sizeof(*p->start));
	p->counts = xcalloc((uint64_t)p->nout * s->classes, sizeof(*p->counts));
	for (i = 0; i < s->n; i++) {
		g = (uint64_t)p->shard[i] * p->nparts + p->test[i];
		p->start[g + 1]++;
		p->counts[g * s->classes + s->y[i]]++;
	}
	for (g = 0; g < p->nout; g++)
		p->start[g + 1] += p->start[g];
	pos = xcalloc(p->nout, sizeof(*pos));
	memcpy(pos, p->start, p->nout * sizeof(*pos));
	p->order = xcalloc(s->n, sizeof(*p->order));
	for (i = 0; i < s->n; i++)
		p->order[pos[(uint64_t)p->shard[i] * p->nparts +
		    p->test[i]]++] = (uint32_t)i;
	free(pos);
}

static json_t *
part_manifest(const struct plan *p, const struct src *s,
    const struct opts *o, uint32_t g)
{
	uint32_t j = g / p->nparts, c;
	const uint64_t *cnt = p->counts + (uint64_t)g * s->classes;
	json_t *m = manifest_new("data", "fed-shard"), *cc = json_array();

	for (c = 0; c < s->classes; c++)
		json_array_append_new(cc, json_integer((json_int_t)cnt[c]));
	json_object_set_new(m, "samples",
	    json_integer((json_int_t)(p->start[g + 1] - p->start[g])));
	json_object_set_new(m, "features", json_integer(s->features));
	json_object_set_new(m, "classes", json_integer(s->classes));
	json_object_set_new(m, "x_scale", json_real(s->x_scale));
	json_object_set_new(m, "class_counts", cc);
	json_object_set_new(m, "shard", json_pack("{s:I,s:I,s:s,s:s}",
	    "index", (json_int_t)j, "count", (json_int_t)p->nshards,
	    "part", g % p->nparts ? "test" : "train", "name",
	    o->part.scheme == PART_COLUMN ? s->keys[j] : p->names[j]));
	json_object_set_new(m, "partition", part_json(&o->part));
	json_object_set_new(m, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(m, "inputs", json_deep_copy(s->inputs));
	return m;
}

/* data.safetensors of part g into buf: header, x rows, y. */
static size_t
part_payload(const struct plan *p, const struct src *s, uint32_t g,
    uint8_t *buf, size_t cap)
{
	uint64_t rows = p->start[g + 1] - p->start[g], r;
	const uint32_t *idx = p->order + p->start[g];
	struct st_spec sp[2] = {
		{ "x", s->xtype, 2, { (int64_t)rows, s->features }, NULL },
		{ "y", ST_I32, 1, { (int64_t)rows }, NULL },
	};
	uint8_t *hdr, *w;
	size_t hl;
	fed_err e;

	if ((hdr = st_header(sp, 2, &hl, &e)) == NULL)
		errx(2, "%s", e.msg);
	if (hl + rows * (s->rowbytes + 4) > cap)
		errx(2, "internal error: payload buffer too small");
	memcpy(buf, hdr, hl);
	free(hdr);
	w = buf + hl;
	for (r = 0; r < rows; r++, w += s->rowbytes)
		memcpy(w, s->x + (uint64_t)idx[r] * s->rowbytes, s->rowbytes);
	for (r = 0; r < rows; r++, w += 4)
		memcpy(w, &s->y[idx[r]], 4);    /* little-endian hosts */
	return (size_t)(w - buf);
}

static char *
part_path(const struct plan *p, const struct opts *o, uint32_t g)
{
	size_t n = strlen(o->prefix) + strlen(p->names[g / p->nparts]) + 16;
	char *path = xmalloc(n);

	if (snprintf(path, n, "%s-%s%s.fed", o->prefix,
	    p->names[g / p->nparts], g % p->nparts ? ".test" : "") >= (int)n)
		errx(2, "file name too long");
	return path;
}

static void
abort_all(struct out *outs, uint32_t n)
{
	uint32_t g;

	for (g = 0; g < n; g++)
		out_abort(&outs[g]);
}

/* Every part to a temporary file; then all renamed, or none. */
static void
write_parts(const struct plan *p, const struct src *s, const struct opts *o)
{
	struct out *outs = xcalloc(p->nout, sizeof(*outs));
	char **paths = xcalloc(p->nout, sizeof(*paths));
	struct bundle_payload pl = { "data.safetensors", NULL, -1, 0, NULL };
	uint64_t most = 0;
	uint32_t g;
	uint8_t *buf;
	json_t *m;
	fed_err e;

	for (g = 0; g < p->nout; g++) {
		outs[g].fd = -1;
		if (p->start[g + 1] - p->start[g] > most)
			most = p->start[g + 1] - p->start[g];
	}
	buf = xmalloc(4096 + most * (s->rowbytes + 4));
	for (g = 0; g < p->nout; g++) {
		paths[g] = part_path(p, o, g);
		if (out_open(&outs[g], paths[g], &e) < 0) {
			abort_all(outs, g);
			errx(2, "%s", e.msg);
		}
		pl.data = buf;
		pl.size = part_payload(p, s, g, buf, 4096 + most *
		    (s->rowbytes + 4));
		m = part_manifest(p, s, o, g);
		if (bundle_write(outs[g].fd, m, &pl, 1, NULL, &e) < 0) {
			abort_all(outs, g + 1);
			errx(2, "%s", e.msg);
		}
		json_decref(m);
		/* start write-back now (Linux does on this hint), so that the
		 * fsync of each commit below does not wait for it in turn */
		posix_fadvise(outs[g].fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	for (g = 0; g < p->nout; g++)
		if (out_commit(&outs[g], &e) < 0) {
			abort_all(outs, p->nout);
			while (g-- > 0)         /* already renamed */
				unlink(paths[g]);
			errx(2, "%s", e.msg);
		}
	for (g = 0; g < p->nout; g++)
		free(paths[g]);
	free(paths);
	free(buf);
	free(outs);
}

#define BARMAX 64

static uint64_t
shard_class(const struct plan *p, uint32_t classes, uint32_t j, uint32_t c)
{
	uint64_t k = 0;
	uint32_t q;

	for (q = 0; q < p->nparts; q++)
		k += p->counts[((uint64_t)j * p->nparts + q) * classes + c];
	return k;
}

static uint64_t
part_size(const struct plan *p, uint32_t j, uint32_t q)
{
	uint64_t g = (uint64_t)j * p->nparts + q;

	return q < p->nparts ? p->start[g + 1] - p->start[g] : 0;
}

/* One row per shard: sizes, the total variation distance of its label
 * mix to the whole set's, and a bar of its classes. */
static void
summary_row(const struct plan *p, const struct src *s, const uint64_t *tot,
    uint32_t j, int w)
{
	static const char ramp[] = " .:-=+*#%@";
	uint64_t n = part_size(p, j, 0) + part_size(p, j, 1), most = 0, k;
	char bar[BARMAX + 1] = "";
	double tv = 0;
	uint32_t c;

	for (c = 0; c < s->classes; c++) {
		k = shard_class(p, s->classes, j, c);
		most = k > most ? k : most;
		tv += fabs((double)k / n - (double)tot[c] / s->n);
	}
	for (c = 0; s->classes <= BARMAX && c < s->classes; c++) {
		k = shard_class(p, s->classes, j, c);
		bar[c] = k == 0 ? ' ' : ramp[1 + k * 8 / most];
		bar[c + 1] = '\0';
	}
	fprintf(stderr, "%-*.*s %8llu %7llu %5.2f  %s\n", w, w, p->names[j],
	    (unsigned long long)part_size(p, j, 0),
	    (unsigned long long)part_size(p, j, 1), tv / 2, bar);
}

static void
summary(const struct plan *p, const struct src *s, const struct opts *o)
{
	uint64_t *tot = xcalloc(s->classes, sizeof(*tot)), i;
	char spec[PART_NAMELEN + 32];
	int w = 5;
	uint32_t j;

	for (j = 0; j < p->nshards; j++)
		if ((int)strlen(p->names[j]) > w)
			w = strlen(p->names[j]) > 24 ? 24 :
			    (int)strlen(p->names[j]);
	for (i = 0; i < s->n; i++)
		tot[s->y[i]]++;
	part_format(&o->part, spec, sizeof(spec));
	fprintf(stderr, "fed-shard: %llu samples, %u features, %u classes; "
	    "%s, %u shards, seed %llu\n", (unsigned long long)s->n,
	    s->features, s->classes, spec, p->nshards,
	    (unsigned long long)o->seed);
	fprintf(stderr, "%-*s %8s %7s %5s  %.*s\n", w, "shard", "train",
	    "test", "skew", s->classes <= 10 ? (int)s->classes : 0,
	    "0123456789");
	for (j = 0; j < p->nshards; j++)
		summary_row(p, s, tot, j, w);
	free(tot);
}

static void
src_free(struct src *s)
{
	idx_free(&s->img);
	idx_free(&s->lab);
	csv_free(&s->csv);
	free(s->y);
	json_decref(s->inputs);
}

static void
plan_free(struct plan *p)
{
	uint32_t j;

	for (j = 0; p->names != NULL && j < p->nshards; j++)
		free(p->names[j]);
	free(p->names);
	free(p->shard);
	free(p->test);
	free(p->order);
	free(p->start);
	free(p->counts);
}

/* Every part stays open until all are written. */
static void
want_files(uint32_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		err(2, "getrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 32) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)n + 32)
			errx(2, "%u output files exceed the limit of open "
			    "files (%llu)", n, (unsigned long long)rl.rlim_max);
		rl.rlim_cur = (rlim_t)n + 32;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			err(2, "setrlimit");
	}
}

static void
parse_opt(struct opts *o, int c, const char *arg, const char *opt)
{
	uint64_t v;
	fed_err e;

	switch (c) {
	case 'f':
		if (strcmp(arg, "idx") != 0 && strcmp(arg, "csv") != 0 &&
		    strcmp(arg, "text") != 0)
			usage_err("-f %s: format must be idx, csv or text", arg);
		o->format = arg;
		break;
	case 'n':
		if (parse_u64(arg, 1, PART_MAXSHARDS, &v) < 0)
			usage_err("-n %s: shards must be in 1..100000", arg);
		o->nshards = (uint32_t)v;
		break;
	case 'p':
		o->by_file = strcmp(arg, "file") == 0;
		if (o->by_file)
			break;
		if (part_parse(arg, &o->part, &e) < 0)
			usage_err("%s", e.msg);
		break;
	case 's':
		if (parse_u64(arg, 0, MAXSEED, &o->seed) < 0)
			usage_err("-s %s: seed must be an integer in "
			    "0..9223372036854775807", arg);
		break;
	case 't':
		if (parse_double(arg, 0, 1, &o->part.test) < 0 ||
		    o->part.test <= 0 || o->part.test >= 1)
			usage_err("-t %s: test fraction must be in (0, 1)", arg);
		break;
	case 'L': o->label = arg; break;
	case 'K': o->key = arg; break;
	case 'B': o->skip_bad = 1; break;
	case 'q': o->quiet = 1; break;
	case 'o': o->prefix = arg; break;
	case 'M':
		if (parse_u64(arg, 1, PART_MAXSAMPLES, &o->part.min_size) < 0)
			usage_err("--min-size %s: must be a positive integer",
			    arg);
		o->min_given = 1;
		break;
	case 'Q':
		if (part_parse_law(arg, &o->part, &e) < 0)
			usage_err("%s", e.msg);
		break;
	case 'h': usage(stdout, 0); break;
	case 'V': puts("fed-shard " FED_VERSION); exit(0);
	case ':': usage_err("%s needs a value", opt);
	default: usage_err("unknown option %s", opt);
	}
}

/* -f text: iid or file partitions, any number of inputs. */
static void
check_text_opts(struct opts *o, int nargs)
{
	if (nargs < 1)
		usage_err("%s", "text takes one or more input files or folders");
	if (o->label || o->key || o->skip_bad || o->min_given || o->part.law)
		usage_err("%s", "--label, --key, --skip-bad, --min-size and "
		    "--quantity are not for text input");
	if (!o->by_file && o->part.scheme != PART_IID)
		usage_err("%s", "text partitions are iid or file");
	if (o->by_file && o->nshards)
		usage_err("%s", "-p file makes one shard per input, not -n");
	if (o->nshards == 0)
		o->nshards = 1;
}

/* Write every part of a text split, all or none. */
static void
write_text(const struct text_corpus *c, const struct text_part *p, int n,
    const struct opts *o, char **names)
{
	struct out *outs = xcalloc((size_t)n, sizeof(*outs));
	struct bundle_payload pl = { "data.safetensors", NULL, -1, 0, NULL };
	char path[4096];
	int g, k;
	json_t *m;
	fed_err e;

	for (g = 0; g < n; g++) {
		outs[g].fd = -1;
		if (snprintf(path, sizeof(path), "%s-%s%s.fed", o->prefix,
		    names[p[g].shard], p[g].test ? ".test" : "") >=
		    (int)sizeof(path))
			errx(2, "file name too long");
		if (out_open(&outs[g], path, &e) < 0 ||
		    (pl.data = text_payload(c, &p[g], &pl.size, &e)) == NULL) {
			abort_all(outs, (uint32_t)g + 1);
			errx(2, "%s", e.msg);
		}
		m = text_manifest(c, &p[g], o->by_file ? c->nsrc : o->nshards,
		    names[p[g].shard], o->by_file, o->seed);
		k = bundle_write(outs[g].fd, m, &pl, 1, NULL, &e);
		json_decref(m);
		free((void *)pl.data);
		if (k < 0) {
			abort_all(outs, (uint32_t)g + 1);
			errx(2, "%s", e.msg);
		}
	}
	for (g = 0; g < n; g++)
		if (out_commit(&outs[g], &e) < 0) {
			abort_all(outs, (uint32_t)n);
			errx(2, "%s", e.msg);
		}
	free(outs);
}

/* fed-shard -f text: documents from every operand, split and written. */
static int
shard_text(const struct opts *o, int argc, char *argv[])
{
	struct text_corpus c;
	struct text_part *p;
	char **names;
	uint32_t j, ns;
	int i, n;
	fed_err e;

	text_init(&c);
	for (i = 0; i < argc; i++)
		if (text_add(&c, argv[i], &e) < 0)
			errx(1, "%s", e.msg);
	if ((n = text_split(&c, o->by_file, o->nshards, o->part.test, o->seed,
	    &p, &e)) < 0)
		errx(1, "%s", e.msg);
	ns = o->by_file ? c.nsrc : o->nshards;
	names = xcalloc(ns, sizeof(*names));
	for (j = 0; j < ns; j++) {
		names[j] = o->by_file ? sanitise(c.name[j]) : xmalloc(16);
		if (!o->by_file)
			snprintf(names[j], 16, "%03u", j);
		else if (names[j][0] == '\0')
			errx(1, "%s: gives no shard name", c.name[j]);
		for (i = 0; i < (int)j; i++)
			if (strcmp(names[i], names[j]) == 0)
				errx(1, "inputs %s and %s both give shard name "
				    "%s", c.name[i], c.name[j], names[j]);
	}
	want_files((uint32_t)n);
	write_text(&c, p, n, o, names);
	if (!o->quiet) {
		fprintf(stderr, "fed-shard: %llu bytes in %u documents; %s, "
		    "%u shards, seed %llu\n", (unsigned long long)c.n, c.ndocs,
		    o->by_file ? "file" : "iid", ns,
		    (unsigned long long)o->seed);
		for (i = 0; i < n; i++)
			fprintf(stderr, "%-24s %-5s %10llu bytes %7u documents\n",
			    names[p[i].shard], p[i].test ? "test" : "train",
			    (unsigned long long)p[i].bytes, p[i].ndocs);
	}
	for (j = 0; j < ns; j++)
		free(names[j]);
	free(names);
	text_parts_free(p, n);
	text_free(&c);
	return 0;
}

/* Combinations that cannot mean anything. */
static void
check_opts(struct opts *o, int nargs)
{
	int csv;

	if (o->prefix == NULL)
		usage_err("%s", "-o prefix is required");
	if (o->format != NULL && strcmp(o->format, "text") == 0) {
		check_text_opts(o, nargs);
		return;
	}
	if (o->by_file)
		usage_err("%s", "-p file is for text input");
	if (nargs < 1 || nargs > 2)
		usage_err("%s", "want an input file, or images and labels");
	if (o->format == NULL)
		o->format = nargs == 2 ? "idx" : "csv";
	csv = strcmp(o->format, "csv") == 0;
	if (nargs != (csv ? 1 : 2))
		usage_err("%s", csv ? "csv takes one input file" :
		    "idx takes an images file and a labels file");
	if (!csv && (o->label || o->key || o->skip_bad ||
	    o->part.scheme == PART_COLUMN))
		usage_err("%s", "--label, --key, --skip-bad and column: are "
		    "for csv input");
	if (o->part.scheme == PART_COLUMN && (o->nshards || o->part.law))
		usage_err("%s", "column: takes its shards from the column, "
		    "not from -n or --quantity");
	if (o->part.scheme == PART_COLUMN && o->key &&
	    strcmp(o->key, o->part.column) != 0)
		usage_err("--key %s differs from the partition column", o->key);
	if (o->nshards == 0)
		o->nshards = 1;
	if (o->part.test > 0 && !o->min_given)
		o->part.min_size = 2;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "shards", required_argument, NULL, 'n' },
		{ "partition", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "test", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, 'L' },
		{ "key", required_argument, NULL, 'K' },
		{ "skip-bad", no_argument, NULL, 'B' },
		{ "min-size", required_argument, NULL, 'M' },
		{ "quantity", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct src s = { 0 };
	struct plan p = { 0 };
	int c;

	part_init(&o.part);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:n:p:s:t:o:qh", longopts,
	    NULL)) != -1)
		parse_opt(&o, c, optarg, argv[optind - 1]);
	argc -= optind;
	argv += optind;
	check_opts(&o, argc);
	if (strcmp(o.format, "text") == 0) {
		for (c = 0; c < argc; c++)
			if (strcmp(argv[c], "-") != 0 && access(argv[c], R_OK) < 0)
				err(2, "%s", argv[c]);
		return shard_text(&o, argc, argv);
	}
	if (argc == 2 && strcmp(argv[0], "-") == 0 && strcmp(argv[1], "-") == 0)
		usage_err("%s", "only one input can be standard input");
	for (c = 0; c < argc; c++)
		if (strcmp(argv[c], "-") != 0 && access(argv[c], R_OK) < 0)
			err(2, "%s", argv[c]);
	if (argc == 2)
		load_idx(&s, argv[0], argv[1]);
	else
		load_csv(&s, &o, argv[0]);
	split(&p, &s, &o);
	shard_names(&p, &s, &o);
	want_files(p.nout);
	write_parts(&p, &s, &o);
	if (!o.quiet)
		summary(&p, &s, &o);
	plan_free(&p);
	src_free(&s);
	return 0;
}
