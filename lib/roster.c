/*
 * roster: the list of holders a round's votes are counted against, read
 * from a signed roster bundle or a directory of NAME.pub files, built by
 * fed-roster, and asked who signed a manifest.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"

void
roster_init(struct roster *r)
{
	memset(r, 0, sizeof(*r));
}

void
roster_free(struct roster *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		key_free(&r->h[i].key);
	r->n = 0;
}

int
roster_check_name(const char *name, fed_err *e)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > ROSTER_NAMELEN)
		return fed_errf(e, "holder name must be 1 to %d characters",
		    ROSTER_NAMELEN);
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 ||
		    (unsigned char)name[i] > 0x7e)
			return fed_errf(e, "holder name with a character "
			    "that is not printable ASCII");
	if (name[0] == ' ' || name[n - 1] == ' ')
		return fed_errf(e, "holder name %s begins or ends with a "
		    "space", name);
	return 0;
}

static int
by_name(const struct roster *r, const char *name)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->h[i].name, name) == 0)
			return i;
	return -1;
}

int
roster_find(const struct roster *r, const char *keyid)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->h[i].key.id, keyid) == 0)
			return i;
	return -1;
}

/* Why name cannot be put with key k (i: its holder or -1): 0 when it can. */
static int
put_check(const struct roster *r, const char *name, const struct key *k,
    int i, int replace, fed_err *e)
{
	int j = roster_find(r, k->id);

	if (roster_check_name(name, e) < 0)
		return -1;
	if (i >= 0 && !replace)
		return fed_errf(e, "holder %s listed twice", name);
	if (i < 0 && r->n == ROSTER_MAXHOLDERS)
		return fed_errf(e, "more than %d holders", ROSTER_MAXHOLDERS);
	if (j >= 0 && j != i)
		return fed_errf(e, "key %s is holder %s's already, not also "
		    "%s's", k->id, r->h[j].name, name);
	return 0;
}

int
roster_put(struct roster *r, const char *name, struct key *k,
    uint64_t max_samples, int replace, fed_err *e)
{
	int i = by_name(r, name);

	if (put_check(r, name, k, i, replace, e) < 0) {
		key_free(k);
		return -1;
	}
	if (i < 0)
		i = r->n++;
	else
		key_free(&r->h[i].key);
	snprintf(r->h[i].name, sizeof(r->h[i].name), "%s", name);
	r->h[i].key = *k;
	r->h[i].max_samples = max_samples;
	return 0;
}

int
roster_remove(struct roster *r, const char *name, fed_err *e)
{
	int i = by_name(r, name);

	if (i < 0)
		return fed_errf(e, "no holder %s in the roster", name);
	key_free(&r->h[i].key);
	memmove(&r->h[i], &r->h[i + 1], (size_t)(r->n - i - 1) *
	    sizeof(r->h[0]));
	r->n--;
	return 0;
}

static int
is_pub(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".pub") == 0;
}

/* dir/file (NAME.pub) into the roster as holder NAME. */
static int
dir_key(struct roster *r, const char *dir, const char *file, fed_err *e)
{
	char path[4096], name[ROSTER_NAMELEN + 1];
	size_t n = strlen(file) - 4;
	struct key k;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path))
		return fed_usagef(e, "%s: path too long", dir);
	if (n > ROSTER_NAMELEN)
		return fed_usagef(e, "%s: name longer than %d characters",
		    path, ROSTER_NAMELEN);
	memcpy(name, file, n);
	name[n] = '\0';
	if (key_load_public(path, &k, e) < 0)
		return -1;
	if (roster_put(r, name, &k, 0, 0, e) < 0) {
		e->kind = FED_EUSAGE;
		return fed_errprefix(e, "%s", path);
	}
	return 0;
}

int
roster_from_dir(struct roster *r, const char *dir, fed_err *e)
{
	struct dirent **ents;
	int i, n = scandir(dir, &ents, is_pub, alphasort), rc = 0;

	if (n < 0)
		return fed_syserrf(e, "%s: cannot read the directory", dir);
	if (n == 0)
		rc = fed_usagef(e, "%s: no *.pub keys", dir);
	for (i = 0; i < n; i++) {
		if (rc == 0 && dir_key(r, dir, ents[i]->d_name, e) < 0)
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* One holder entry of a roster manifest. */
static int
holder_json(struct roster *r, size_t i, const json_t *o, fed_err *e)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *pem = json_string_value(json_object_get(o, "key"));
	const char *id = json_string_value(json_object_get(o, "keyid"));
	const json_t *mx = json_object_get(o, "max_samples");
	size_t want = 3 + (mx != NULL);
	struct key k;

	if (!json_is_object(o) || json_object_size(o) != want || !name ||
	    !pem || !id || (mx && (!json_is_integer(mx) ||
	    json_integer_value(mx) < 1)))
		return fed_errf(e, "holders[%zu] wants name, key, keyid and "
		    "optionally max_samples >= 1", i);
	if (key_parse_public(pem, &k, e) < 0)
		return fed_errprefix(e, "holders[%zu]", i);
	if (strcmp(k.id, id) != 0) {
		key_free(&k);
		return fed_errf(e, "holders[%zu]: keyid is not the key's", i);
	}
	if (roster_put(r, name, &k, mx ? (uint64_t)json_integer_value(mx) :
	    0, 0, e) < 0)
		return fed_errprefix(e, "holders[%zu]", i);
	return 0;
}

int
roster_from_manifest(struct roster *r, const struct manifest *m,
    fed_err *e)
{
	const json_t *hs = json_object_get(m->json, "holders"), *o;
	size_t i;

	roster_init(r);
	if (strcmp(m->kind, "roster") != 0)
		return fed_errf(e, "a %s bundle, not a roster", m->kind);
	r->version = manifest_int(m->json, "version");
	snprintf(r->parent, sizeof(r->parent), "%s", m->parent ?
	    m->parent : "");
	json_array_foreach(hs, i, o)
		if (holder_json(r, i, o, e) < 0) {
			roster_free(r);
			return fed_errprefix(e, "manifest.json");
		}
	return 0;
}

/* Is the bundle r reads signed by coord (NULL: no one asked)? */
static int
coord_signed(struct bundle_reader *r, const struct key *coord, fed_err *e)
{
	const struct bundle_sig *sg;
	const uint8_t *mb;
	size_t ml;
	int i, n = bundle_sigs(r, &sg);

	if (coord == NULL)
		return 0;
	mb = bundle_manifest_bytes(r, &ml);
	for (i = 0; i < n; i++)
		if (strcmp(sg[i].keyid, coord->id) == 0 &&
		    key_verify(coord, mb, ml, sg[i].sig))
			return 0;
	return fed_errf(e, "roster not signed by the coordinator's key %s",
	    coord->id);
}

int
roster_load(struct roster *r, const char *path, const struct key *coord,
    fed_err *e)
{
	const struct bundle_entry *ent;
	struct bundle_reader *br;
	int rc = -1;

	roster_init(r);
	if ((br = bundle_open(path, -1, e)) == NULL)
		return -1;
	if (strcmp(bundle_meta(br)->kind, "roster") != 0)
		fed_errf(e, "a %s bundle, not a roster", bundle_meta(br)->kind);
	else if (bundle_next(br, &ent, e) == 0 &&
	    coord_signed(br, coord, e) == 0 &&
	    roster_from_manifest(r, bundle_meta(br), e) == 0) {
		memcpy(r->digest, bundle_digest(br), sizeof(r->digest));
		rc = 0;
	}
	bundle_close(br);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct roster_holder *)a)->name,
	    ((const struct roster_holder *)b)->name);
}

/* The manifest of r, holders sorted by name. */
static json_t *
roster_json(const struct roster *r, fed_err *e)
{
	json_t *m = manifest_new("roster", "fed-roster"), *hs = json_array();
	struct roster_holder *h = xcalloc((size_t)r->n + 1, sizeof(*h));
	json_t *o;
	char *pem;
	int i;

	memcpy(h, r->h, (size_t)r->n * sizeof(*h));
	qsort(h, (size_t)r->n, sizeof(*h), name_cmp);
	for (i = 0; i < r->n; i++) {
		if ((pem = key_public_pem(&h[i].key)) == NULL)
			break;
		o = json_pack("{s:s,s:s,s:s}", "name", h[i].name, "key", pem,
		    "keyid", h[i].key.id);
		free(pem);
		if (h[i].max_samples)
			json_object_set_new(o, "max_samples",
			    json_integer((json_int_t)h[i].max_samples));
		json_array_append_new(hs, o);
	}
	free(h);
	json_object_set_new(m, "holders", hs);
	json_object_set_new(m, "version", json_integer(r->version));
	json_object_set_new(m, "parent", r->parent[0] ?
	    json_string(r->parent) : json_null());
	if (i < r->n) {
		json_decref(m);
		fed_syserrf(e, "cannot encode a public key");
		return NULL;
	}
	return m;
}

int
roster_write(const struct roster *r, int fd, char *digest, fed_err *e)
{
	json_t *m = roster_json(r, e);
	int rc;

	if (m == NULL)
		return -1;
	rc = bundle_write(fd, m, NULL, 0, digest, e);
	json_decref(m);
	return rc;
}

int
roster_signers(const struct roster *r, const uint8_t *mb, size_t ml,
    const struct bundle_sig *sigs, int nsigs, int *who, fed_err *e)
{
	int i, h, n = 0;

	for (i = 0; i < nsigs; i++) {
		if ((h = roster_find(r, sigs[i].keyid)) < 0)
			continue;
		if (!key_verify(&r->h[h].key, mb, ml, sigs[i].sig))
			return fed_errf(e, "signature by %s (%s) does not "
			    "verify", sigs[i].keyid, r->h[h].name);
		who[n++] = h;
	}
	return n;
}

/* A name from a manifest, as a message may show it: quoted when it
 * could be a holder's name, else not at all. */
static const char *
shown(const char *s)
{
	static __thread char buf[ROSTER_NAMELEN + 3];
	fed_err e;

	if (roster_check_name(s, &e) < 0)
		return "(not a valid name)";
	snprintf(buf, sizeof(buf), "\"%s\"", s);
	return buf;
}

int
roster_contributor(const struct roster *r, const json_t *manifest,
    const int *who, int n, fed_err *e)
{
	const char *c = json_string_value(json_object_get(manifest,
	    "contributor"));
	int i;

	if (n == 0)
		return fed_errf(e, "not signed by a roster key");
	if (c == NULL && json_object_get(manifest, "contributor") != NULL &&
	    !json_is_null(json_object_get(manifest, "contributor")))
		return fed_errf(e, "contributor is not a string");
	if (c == NULL && n > 1)
		return fed_errf(e, "signed by %d holders and names no "
		    "contributor", n);
	if (c == NULL)
		return who[0];
	for (i = 0; i < n; i++)
		if (strcmp(r->h[who[i]].name, c) == 0)
			return who[i];
	return fed_errf(e, "contributor %s is not the roster's name for "
	    "signer %s (%s)", shown(c), r->h[who[0]].key.id,
	    r->h[who[0]].name);
}
