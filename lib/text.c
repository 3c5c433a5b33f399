/*
 * text: read text operands into documents, split them into shards and
 * serialize a shard as a text data bundle's payload and manifest.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"
#include "manifest.h"
#include "rng.h"
#include "st.h"
#include "text.h"

void
text_init(struct text_corpus *c)
{
	memset(c, 0, sizeof(*c));
	c->inputs = json_array();
	c->start = xcalloc(1, sizeof(uint64_t));
}

void
text_free(struct text_corpus *c)
{
	uint32_t i;

	for (i = 0; i < c->nsrc; i++)
		free(c->name[i]);
	free(c->bytes);
	free(c->start);
	free(c->src);
	json_decref(c->inputs);
	memset(c, 0, sizeof(*c));
}

/* One file's bytes as a document of the current operand. */
static int
add_doc(struct text_corpus *c, const char *path, fed_err *e)
{
	uint8_t *b;
	size_t len;

	if ((b = read_file(path, (size_t)(TEXT_MAXBYTES - c->n), &len, e)) ==
	    NULL)
		return -1;
	if (len == 0) {
		free(b);
		return 0;
	}
	if (c->ndocs == TEXT_MAXDOCS) {
		free(b);
		return fed_errf(e, "%s: more than %u documents",
		    display_name(path), TEXT_MAXDOCS);
	}
	while (c->n + len > c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1 << 20;
		c->bytes = xreallocarray(c->bytes, c->cap, 1);
	}
	if (c->ndocs == c->capdocs) {
		c->capdocs = c->capdocs ? 2 * c->capdocs : 256;
		c->start = xreallocarray(c->start, c->capdocs + 1,
		    sizeof(uint64_t));
		c->src = xreallocarray(c->src, c->capdocs, sizeof(uint32_t));
	}
	memcpy(c->bytes + c->n, b, len);
	free(b);
	c->src[c->ndocs] = c->nsrc;
	c->n += len;
	c->start[++c->ndocs] = c->n;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(struct text_corpus *c, const char *path, int depth,
    fed_err *e);

/* Every entry of a folder but . and .., in byte order. */
static int
add_dir(struct text_corpus *c, const char *path, int depth, fed_err *e)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int s = 0;

	if (d == NULL)
		return fed_syserrf(e, "%s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(path) + strlen(de->d_name) + 2;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") ==
		    0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n] = xmalloc(l);
		snprintf(names[n++], l, "%s/%s", path, de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		if (s == 0)
			s = add_path(c, names[i], depth + 1, e);
		free(names[i]);
	}
	free(names);
	return s;
}

static int
add_path(struct text_corpus *c, const char *path, int depth, fed_err *e)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return add_doc(c, path, e);
	if (depth > TEXT_MAXDEPTH)
		return fed_errf(e, "%s: folders nested deeper than %d", path,
		    TEXT_MAXDEPTH);
	if (stat(path, &st) < 0)
		return fed_syserrf(e, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return add_dir(c, path, depth, e);
	if (!S_ISREG(st.st_mode))
		return depth > 0 ? 0 : fed_errf(e, "%s: not a file or folder",
		    path);
	return add_doc(c, path, e);
}

/* An operand's name for its shard: the last path component. */
static char *
src_name(const char *path)
{
	const char *s;
	size_t n = strlen(path);

	if (strcmp(path, "-") == 0)
		return xstrdup("stdin");
	while (n > 1 && path[n - 1] == '/')
		n--;
	for (s = path + n; s > path && s[-1] != '/'; s--)
		;
	return strndup(s, (size_t)(path + n - s));
}

int
text_add(struct text_corpus *c, const char *path, fed_err *e)
{
	uint32_t first = c->ndocs;
	uint64_t at = c->n;
	char hex[2 * SHA256_LEN + 1];

	if (c->nsrc == TEXT_MAXSRC)
		return fed_errf(e, "more than %d inputs", TEXT_MAXSRC);
	if (add_path(c, path, 0, e) < 0)
		return -1;
	if (c->ndocs == first)
		return fed_errf(e, "%s: no text", display_name(path));
	sha256_hex(c->bytes + at, (size_t)(c->n - at), hex);
	c->name[c->nsrc] = src_name(path);
	json_array_append_new(c->inputs, json_pack("{s:s,s:s,s:I}", "name",
	    c->name[c->nsrc], "sha256", hex, "files",
	    (json_int_t)(c->ndocs - first)));
	c->nsrc++;
	return 0;
}

static int
by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The documents of shard j, and its held-out share, into parts p[0..). */
static int
split_shard(const struct text_corpus *c, uint32_t j, uint32_t *docs,
    uint32_t cnt, double test, rng_t *r, struct text_part *p, fed_err *e)
{
	uint32_t k = 0, i, q;

	if (cnt == 0)
		return fed_errf(e, "shard %u gets no documents", j);
	if (test > 0) {
		if (cnt < 2)
			return fed_errf(e, "shard %u has one document, too few "
			    "to hold some out", j);
		k = (uint32_t)(test * cnt + 0.5);
		k = k < 1 ? 1 : k > cnt - 1 ? cnt - 1 : k;
		rng_shuffle_u32(r, docs, cnt);
	}
	for (q = 0; q < (test > 0 ? 2u : 1u); q++) {
		struct text_part *t = &p[q];

		t->shard = j;
		t->test = (int)q;
		t->ndocs = q ? k : cnt - k;
		t->docs = xcalloc(t->ndocs, sizeof(uint32_t));
		memcpy(t->docs, docs + (q ? 0 : k), t->ndocs * sizeof(uint32_t));
		qsort(t->docs, t->ndocs, sizeof(uint32_t), by_u32);
		for (i = 0; i < t->ndocs; i++)
			t->bytes += c->start[t->docs[i] + 1] -
			    c->start[t->docs[i]];
	}
	return 0;
}

int
text_split(const struct text_corpus *c, int by_file, uint32_t nshards,
    double test, uint64_t seed, struct text_part **parts, fed_err *e)
{
	uint32_t *shard = xcalloc(c->ndocs, sizeof(uint32_t));
	uint32_t *perm = xcalloc(c->ndocs, sizeof(uint32_t));
	uint32_t *docs = xcalloc(c->ndocs, sizeof(uint32_t));
	uint32_t i, j, cnt, nparts = test > 0 ? 2 : 1;
	struct text_part *p;
	rng_t r;
	int s = 0;

	if (by_file)
		nshards = c->nsrc;
	if (!by_file && nshards > c->ndocs)
		s = fed_errf(e, "%u documents for %u shards", c->ndocs,
		    nshards);
	rng_seed(&r, seed);
	for (i = 0; i < c->ndocs; i++)
		perm[i] = i;
	if (!by_file)
		rng_shuffle_u32(&r, perm, c->ndocs);
	for (i = 0; i < c->ndocs; i++)
		shard[perm[i]] = by_file ? c->src[perm[i]] :
		    (uint32_t)((uint64_t)i * nshards / c->ndocs);
	p = xcalloc((size_t)nshards * nparts, sizeof(*p));
	/* the test draw has a stream of its own, as in partition.h */
	rng_seed(&r, seed ^ 0x7465737474657374ULL);
	for (j = 0; s == 0 && j < nshards; j++) {
		for (cnt = 0, i = 0; i < c->ndocs; i++)
			if (shard[i] == j)
				docs[cnt++] = i;
		s = split_shard(c, j, docs, cnt, test, &r, p + j * nparts, e);
	}
	free(shard);
	free(perm);
	free(docs);
	if (s < 0) {
		text_parts_free(p, (int)(nshards * nparts));
		return -1;
	}
	*parts = p;
	return (int)(nshards * nparts);
}

void
text_parts_free(struct text_part *p, int n)
{
	int i;

	for (i = 0; p != NULL && i < n; i++)
		free(p[i].docs);
	free(p);
}

uint8_t *
text_payload(const struct text_corpus *c, const struct text_part *p,
    size_t *len, fed_err *e)
{
	struct st_spec sp[2] = {
		{ "tokens", ST_U8, 1, { (int64_t)p->bytes }, NULL },
		{ "docs", ST_I64, 1, { (int64_t)p->ndocs }, NULL },
	};
	uint8_t *hdr, *buf, *w;
	size_t hl;
	uint32_t i;
	int64_t at = 0;

	if ((hdr = st_header(sp, 2, &hl, e)) == NULL)
		return NULL;
	buf = xmalloc(hl + p->bytes + (size_t)p->ndocs * 8);
	memcpy(buf, hdr, hl);
	free(hdr);
	w = buf + hl;
	for (i = 0; i < p->ndocs; i++) {
		uint64_t a = c->start[p->docs[i]], b = c->start[p->docs[i] + 1];

		memcpy(w, c->bytes + a, b - a);
		w += b - a;
	}
	for (i = 0; i < p->ndocs; i++, w += 8) {
		memcpy(w, &at, 8);      /* little-endian hosts */
		at += (int64_t)(c->start[p->docs[i] + 1] - c->start[p->docs[i]]);
	}
	*len = (size_t)(w - buf);
	return buf;
}

json_t *
text_manifest(const struct text_corpus *c, const struct text_part *p,
    uint32_t nshards, const char *name, int by_file, uint64_t seed)
{
	json_t *m = manifest_new("data", "fed-shard");

	json_object_set_new(m, "modality", json_string("text"));
	json_object_set_new(m, "samples", json_integer((json_int_t)p->bytes));
	json_object_set_new(m, "documents", json_integer(p->ndocs));
	/* what every data manifest states (manifest.c checks them): a
	 * sample is one byte, a class one of 256 byte values */
	json_object_set_new(m, "features", json_integer(1));
	json_object_set_new(m, "classes", json_integer(256));
	json_object_set_new(m, "x_scale", json_real(1.0));
	json_object_set_new(m, "shard", json_pack("{s:I,s:I,s:s,s:s}",
	    "index", (json_int_t)p->shard, "count", (json_int_t)nshards,
	    "part", p->test ? "test" : "train", "name", name));
	json_object_set_new(m, "partition", json_pack("{s:s}", "scheme",
	    by_file ? "file" : "iid"));
	json_object_set_new(m, "seed", json_integer((json_int_t)seed));
	json_object_set_new(m, "inputs", json_deep_copy(c->inputs));
	return m;
}
