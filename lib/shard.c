/*
 * shard: loading, splitting and writing for fed-shard.  Every output goes
 * to a temporary file first and all are renamed only once all are
 * written, so a failure leaves no shard behind.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "out.h"
#include "shard.h"

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

int
shard_load_idx(struct shard_src *s, const char *images,
    const char *labels, fed_err *e)
{
	uint64_t i;

	if (idx_load(images, IDX_MAXBYTES, &s->img, e) < 0)
		return -1;
	if (idx_load(labels, (uint64_t)PART_MAXSAMPLES, &s->lab, e) < 0)
		return -1;
	if (s->lab.ndim != 1)
		return fed_errf(e, "%s: labels must have one dimension, not %d",
		    display_name(labels), s->lab.ndim);
	if (s->lab.count != s->img.count)
		return fed_errf(e, "%s: %llu labels for %llu images", display_name(labels),
		    (unsigned long long)s->lab.count,
		    (unsigned long long)s->img.count);
	if (s->img.count > PART_MAXSAMPLES)
		return fed_errf(e, "%s: more than %llu images", display_name(images),
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
	return 0;
}

int
shard_load_csv(struct shard_src *s, const struct csv_opts *co,
    const char *path, fed_err *e)
{
	if (csv_load(path, co, &s->csv, e) < 0)
		return -1;
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
	return 0;
}

char *
shard_sanitise(const char *v)
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

static int
name_shards(struct shard_plan *p, const struct shard_src *s,
    const struct part_spec *part, fed_err *e)
{
	uint32_t j, k, width = 3;

	p->names = xcalloc(p->nshards, sizeof(*p->names));
	for (k = p->nshards - 1; k >= 1000; k /= 10)
		width++;
	for (j = 0; j < p->nshards; j++) {
		if (part->scheme != PART_COLUMN) {
			p->names[j] = xmalloc(16);
			snprintf(p->names[j], 16, "%0*u", (int)width, j);
			continue;
		}
		p->names[j] = shard_sanitise(s->keys[j]);
		if (p->names[j][0] == '\0')
			return fed_errf(e, "%s value \"%.40s\" gives no file name",
			    part->column, s->keys[j]);
		for (k = 0; k < j; k++)
			if (strcmp(p->names[j], p->names[k]) == 0)
				return fed_errf(e, "%s values \"%.40s\" and \"%.40s\" "
				    "both give shard name %s", part->column,
				    s->keys[k], s->keys[j], p->names[j]);
	}
	return 0;
}

int
shard_split(struct shard_plan *p, const struct shard_src *s,
    const struct part_spec *part, uint32_t nshards, uint64_t seed,
    fed_err *e)
{
	struct part_input in = { s->n, s->y, s->classes, s->key, s->nkeys };
	uint64_t i, g, *pos;

	p->nshards = part->scheme == PART_COLUMN ? s->nkeys : nshards;
	p->nparts = part->test > 0 ? 2 : 1;
	p->nout = p->nshards * p->nparts;
	p->shard = xcalloc(s->n, sizeof(*p->shard));
	p->test = xcalloc(s->n, 1);
	if (part_assign(part, &in, p->nshards, seed, p->shard, e) < 0 ||
	    part_test(part, &in, p->nshards, p->shard, seed, p->test, e) < 0)
		return -1;
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
	return name_shards(p, s, part, e);
}

static json_t *
part_manifest(const struct shard_plan *p, const struct shard_src *s,
    const struct part_spec *part, uint64_t seed, uint32_t g)
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
	    part->scheme == PART_COLUMN ? s->keys[j] : p->names[j]));
	json_object_set_new(m, "partition", part_json(part));
	json_object_set_new(m, "seed", json_integer((json_int_t)seed));
	json_object_set_new(m, "inputs", json_deep_copy(s->inputs));
	return m;
}

/* data.safetensors of part g into buf: header, x rows, y. */
static size_t
part_payload(const struct shard_plan *p, const struct shard_src *s,
    uint32_t g, uint8_t *buf, size_t cap, fed_err *e)
{
	uint64_t rows = p->start[g + 1] - p->start[g], r;
	const uint32_t *idx = p->order + p->start[g];
	struct st_spec sp[2] = {
		{ "x", s->xtype, 2, { (int64_t)rows, s->features }, NULL },
		{ "y", ST_I32, 1, { (int64_t)rows }, NULL },
	};
	uint8_t *hdr, *w;
	size_t hl;

	if ((hdr = st_header(sp, 2, &hl, e)) == NULL)
		return 0;
	if (hl + rows * (s->rowbytes + 4) > cap) {
		free(hdr);
		fed_syserrf(e, "internal error: payload buffer too small");
		return 0;
	}
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
part_path(const struct shard_plan *p, const char *prefix, uint32_t g)
{
	size_t n = strlen(prefix) + strlen(p->names[g / p->nparts]) + 16;
	char *path = xmalloc(n);

	snprintf(path, n, "%s-%s%s.fed", prefix, p->names[g / p->nparts],
	    g % p->nparts ? ".test" : "");
	return path;
}

/* Every part to a temporary file; then all renamed, or none. */
int
shard_write(const struct shard_plan *p, const struct shard_src *s,
    const struct part_spec *part, uint64_t seed, const char *prefix,
    fed_err *e)
{
	struct out *outs = xcalloc(p->nout, sizeof(*outs));
	char **paths = xcalloc(p->nout, sizeof(*paths));
	struct bundle_payload pl = { "data.safetensors", NULL, -1, 0, NULL };
	uint64_t most = 0;
	size_t cap;
	uint32_t g;
	uint8_t *buf;
	json_t *m;
	int r = 0;

	for (g = 0; g < p->nout; g++) {
		outs[g].fd = -1;
		if (p->start[g + 1] - p->start[g] > most)
			most = p->start[g + 1] - p->start[g];
	}
	cap = 4096 + most * (s->rowbytes + 4);
	buf = xmalloc(cap);
	for (g = 0; g < p->nout && r == 0; g++) {
		paths[g] = part_path(p, prefix, g);
		if (out_open(&outs[g], paths[g], e) < 0) {
			r = -1;
			break;
		}
		pl.data = buf;
		if ((pl.size = part_payload(p, s, g, buf, cap, e)) == 0) {
			r = -1;
			break;
		}
		m = part_manifest(p, s, part, seed, g);
		r = bundle_write(outs[g].fd, m, &pl, 1, NULL, e);
		json_decref(m);
		/* start write-back now (Linux does on this hint), so that the
		 * fsync of each commit below does not wait for it in turn */
		posix_fadvise(outs[g].fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	if (r < 0)
		out_abort_all(outs, g + 1 < p->nout ? g + 1 : p->nout);
	for (g = 0; r == 0 && g < p->nout; g++)
		if (out_commit(&outs[g], e) < 0) {
			out_abort_all(outs, p->nout);
			while (g-- > 0)         /* already renamed */
				unlink(paths[g]);
			r = -1;
		}
	fed_freev(paths, p->nout);
	free(buf);
	free(outs);
	return r;
}

uint64_t
shard_class(const struct shard_plan *p, uint32_t classes, uint32_t j, uint32_t c)
{
	uint64_t k = 0;
	uint32_t q;

	for (q = 0; q < p->nparts; q++)
		k += p->counts[((uint64_t)j * p->nparts + q) * classes + c];
	return k;
}

uint64_t
shard_part_size(const struct shard_plan *p, uint32_t j, uint32_t q)
{
	uint64_t g = (uint64_t)j * p->nparts + q;

	return q < p->nparts ? p->start[g + 1] - p->start[g] : 0;
}

void
shard_src_free(struct shard_src *s)
{
	idx_free(&s->img);
	idx_free(&s->lab);
	csv_free(&s->csv);
	free(s->y);
	json_decref(s->inputs);
}

void
shard_plan_free(struct shard_plan *p)
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
