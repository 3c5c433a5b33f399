/*
 * textshard: naming and writing the shards of a text split.  The names
 * are the manifests' shard names too, so they never change form: three
 * digits for iid shards, the sanitised input name for -p file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "out.h"
#include "shard.h"
#include "textshard.h"

static int
name_shards(struct textshard_plan *p, const struct text_corpus *c,
    fed_err *e)
{
	uint32_t j, k;

	p->names = xcalloc(p->nshards, sizeof(*p->names));
	for (j = 0; j < p->nshards; j++) {
		if (!p->by_file) {
			p->names[j] = xmalloc(16);
			snprintf(p->names[j], 16, "%03u", j);
			continue;
		}
		p->names[j] = shard_sanitise(c->name[j]);
		if (p->names[j][0] == '\0')
			return fed_errf(e, "%s: gives no shard name",
			    c->name[j]);
		for (k = 0; k < j; k++)
			if (strcmp(p->names[k], p->names[j]) == 0)
				return fed_errf(e, "inputs %s and %s both give "
				    "shard name %s", c->name[k], c->name[j],
				    p->names[j]);
	}
	return 0;
}

int
textshard_plan(struct textshard_plan *p, const struct text_corpus *c,
    int by_file, uint32_t nshards, double test, uint64_t seed, fed_err *e)
{
	memset(p, 0, sizeof(*p));
	p->by_file = by_file;
	p->nshards = by_file ? c->nsrc : nshards;
	if ((p->nparts = text_split(c, by_file, nshards, test, seed,
	    &p->parts, e)) < 0) {
		p->nparts = 0;
		return -1;
	}
	return name_shards(p, c, e);
}

static char *
part_path(const struct textshard_plan *p, const char *prefix, int g)
{
	const char *name = p->names[p->parts[g].shard];
	size_t n = strlen(prefix) + strlen(name) + 16;
	char *path = xmalloc(n);

	snprintf(path, n, "%s-%s%s.fed", prefix, name,
	    p->parts[g].test ? ".test" : "");
	return path;
}

/* Part g as a bundle on o, a temporary file that is not yet renamed. */
static int
write_part(const struct textshard_plan *p, const struct text_corpus *c,
    int g, uint64_t seed, struct out *o, fed_err *e)
{
	struct bundle_payload pl = { "data.safetensors", NULL, -1, 0, NULL };
	const struct text_part *t = &p->parts[g];
	json_t *m;
	int r;

	if ((pl.data = text_payload(c, t, &pl.size, e)) == NULL)
		return -1;
	m = text_manifest(c, t, p->nshards, p->names[t->shard], p->by_file,
	    seed);
	r = bundle_write(o->fd, m, &pl, 1, NULL, e);
	json_decref(m);
	free((void *)pl.data);
	return r;
}

int
textshard_write(const struct textshard_plan *p, const struct text_corpus *c,
    uint64_t seed, const char *prefix, fed_err *e)
{
	struct out *outs = xcalloc((size_t)p->nparts, sizeof(*outs));
	char **paths = xcalloc((size_t)p->nparts, sizeof(*paths));
	int g, r = 0;

	for (g = 0; g < p->nparts; g++)
		outs[g].fd = -1;
	for (g = 0; g < p->nparts && r == 0; g++) {
		paths[g] = part_path(p, prefix, g);
		if ((r = out_open(&outs[g], paths[g], e)) == 0)
			r = write_part(p, c, g, seed, &outs[g], e);
	}
	if (r < 0)
		out_abort_all(outs, (size_t)g);
	for (g = 0; r == 0 && g < p->nparts; g++)
		if ((r = out_commit(&outs[g], e)) < 0) {
			out_abort_all(outs, (size_t)p->nparts);
			while (g-- > 0)         /* already renamed */
				unlink(paths[g]);
		}
	for (g = 0; g < p->nparts; g++)
		free(paths[g]);
	free(paths);
	free(outs);
	return r;
}

void
textshard_free(struct textshard_plan *p)
{
	uint32_t j;

	if (p->names != NULL)
		for (j = 0; j < p->nshards; j++)
			free(p->names[j]);
	free(p->names);
	text_parts_free(p->parts, p->nparts);
	memset(p, 0, sizeof(*p));
}
