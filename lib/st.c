/*
 * st: safetensors, checked strictly as a stream.  The checker sees the
 * member in arbitrary blocks: the 8-byte header length, then the JSON
 * header, then the data section, where every floating-point element is
 * checked to be finite.  Tensors are kept in header order; tiling is
 * checked on a copy sorted by offset.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "st.h"

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	[ST_F32] = { "F32", 4 }, [ST_F16] = { "F16", 2 },
	[ST_BF16] = { "BF16", 2 }, [ST_I8] = { "I8", 1 },
	[ST_U8] = { "U8", 1 }, [ST_I32] = { "I32", 4 }, [ST_I64] = { "I64", 8 },
};
#define NDTYPES (sizeof(dtypes) / sizeof(dtypes[0]))

struct st_check {
	uint64_t size, pos, hlen;
	uint8_t lenbuf[8];
	char *hdr;
	struct st_file f;
	int *order;             /* tensor indices sorted by begin */
	int cur;                /* position in order while streaming data */
	uint8_t carry[8];
	size_t ncarry;
	int ended;
};

size_t
st_dtype_size(enum st_dtype d)
{
	return dtypes[d].size;
}

const char *
st_dtype_name(enum st_dtype d)
{
	return dtypes[d].name;
}

uint64_t
st_elements(const struct st_tensor *t)
{
	uint64_t n = 1;
	int i;

	for (i = 0; i < t->ndim; i++)
		n *= (uint64_t)t->shape[i];
	return n;
}

struct st_check *
st_check_new(uint64_t size)
{
	struct st_check *c = xcalloc(1, sizeof(*c));

	c->size = size;
	return c;
}

void
st_check_free(struct st_check *c)
{
	if (c == NULL)
		return;
	free(c->hdr);
	free(c->order);
	st_file_free(&c->f);
	free(c);
}

void
st_file_free(struct st_file *f)
{
	free(f->t);
	json_decref(f->meta);
	f->t = NULL;
	f->meta = NULL;
	f->n = 0;
}

const struct st_file *
st_check_file(const struct st_check *c)
{
	return c->ended ? &c->f : NULL;
}

static int
parse_u64_array(json_t *a, uint64_t *out, int max, int *n)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) > (size_t)max)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -1;
		out[i] = (uint64_t)json_integer_value(v);
	}
	*n = (int)json_array_size(a);
	return 0;
}

/* One tensor entry of the header: exactly dtype, shape, data_offsets. */
static int
parse_tensor(const char *name, json_t *o, struct st_tensor *t, fed_err *e)
{
	json_t *dt = json_object_get(o, "dtype");
	uint64_t dims[ST_MAXNDIM], offs[2], n = 1, lim;
	int nd, no, i;
	size_t k;

	if (strlen(name) >= ST_MAXNAME || *name == '\0')
		return fed_errf(e, "tensor name too long or empty");
	if (!json_is_object(o) || json_object_size(o) != 3 || !json_is_string(dt))
		return fed_errf(e, "tensor %s: want exactly dtype, shape and "
		    "data_offsets", name);
	strcpy(t->name, name);
	for (k = 0; k < NDTYPES; k++)
		if (strcmp(json_string_value(dt), dtypes[k].name) == 0)
			break;
	if (k == NDTYPES)
		return fed_errf(e, "tensor %s: unknown dtype %.16s", name,
		    json_string_value(dt));
	t->dtype = (enum st_dtype)k;
	if (parse_u64_array(json_object_get(o, "shape"), dims, ST_MAXNDIM,
	    &nd) < 0)
		return fed_errf(e, "tensor %s: bad shape", name);
	if (parse_u64_array(json_object_get(o, "data_offsets"), offs, 2,
	    &no) < 0 || no != 2 || offs[0] > offs[1])
		return fed_errf(e, "tensor %s: bad data_offsets", name);
	lim = ((uint64_t)1 << 62) / dtypes[k].size;
	for (i = 0; i < nd; i++) {
		if (dims[i] > lim || (dims[i] && n > lim / dims[i]))
			return fed_errf(e, "tensor %s: shape too large", name);
		n *= dims[i];
		t->shape[i] = (int64_t)dims[i];
	}
	t->ndim = nd;
	t->begin = offs[0];
	t->end = offs[1];
	if (offs[1] - offs[0] != n * dtypes[k].size)
		return fed_errf(e, "tensor %s: %llu bytes for shape and dtype "
		    "needing %llu", name,
		    (unsigned long long)(offs[1] - offs[0]),
		    (unsigned long long)(n * dtypes[k].size));
	return 0;
}

/* Insertion sort of tensor indices by (begin, end): writers list tensors
 * in offset order, so this is linear in practice, and it needs no global
 * context as qsort would. */
static void
sort_by_offset(const struct st_tensor *t, int *order, int n)
{
	int i, j, k;

	for (i = 1; i < n; i++) {
		k = order[i];
		for (j = i; j > 0 && (t[order[j - 1]].begin > t[k].begin ||
		    (t[order[j - 1]].begin == t[k].begin &&
		    t[order[j - 1]].end > t[k].end)); j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
}

/* Offsets must tile [0, datasize) exactly, with no gap and no overlap. */
static int
check_tiling(struct st_check *c, fed_err *e)
{
	uint64_t datasize = c->size - 8 - c->hlen, at = 0;
	int i;

	c->order = xcalloc((size_t)c->f.n, sizeof(int));
	for (i = 0; i < c->f.n; i++)
		c->order[i] = i;
	sort_by_offset(c->f.t, c->order, c->f.n);
	for (i = 0; i < c->f.n; i++) {
		const struct st_tensor *t = &c->f.t[c->order[i]];

		if (t->begin != at)
			return fed_errf(e, "tensor %s: data_offsets leave a gap "
			    "or overlap", t->name);
		at = t->end;
	}
	if (at != datasize)
		return fed_errf(e, "tensors cover %llu bytes of a %llu-byte "
		    "data section", (unsigned long long)at,
		    (unsigned long long)datasize);
	return 0;
}

static int
parse_header(struct st_check *c, fed_err *e)
{
	json_error_t jerr;
	json_t *h = json_loadb(c->hdr, c->hlen, JSON_REJECT_DUPLICATES, &jerr);
	const char *name;
	json_t *v;
	int r = -1;

	if (h == NULL)
		return fed_errf(e, "header is not valid JSON: %s", jerr.text);
	if (!json_is_object(h)) {
		fed_errf(e, "header is not a JSON object");
		goto out;
	}
	if (json_object_size(h) > ST_MAXTENSORS + 1) {
		fed_errf(e, "more than %d tensors", ST_MAXTENSORS);
		goto out;
	}
	c->f.t = xcalloc(json_object_size(h), sizeof(struct st_tensor));
	json_object_foreach(h, name, v) {
		if (strcmp(name, "__metadata__") == 0) {
			if (!json_is_object(v)) {
				fed_errf(e, "__metadata__ is not an object");
				goto out;
			}
			c->f.meta = json_incref(v);
			continue;
		}
		if (c->f.n == ST_MAXTENSORS) {
			fed_errf(e, "more than %d tensors", ST_MAXTENSORS);
			goto out;
		}
		if (parse_tensor(name, v, &c->f.t[c->f.n], e) < 0)
			goto out;
		c->f.n++;
	}
	c->f.data_start = 8 + c->hlen;
	r = check_tiling(c, e);
out:
	json_decref(h);
	return r;
}

static int
feed_prefix(struct st_check *c, const uint8_t *p, size_t n, fed_err *e)
{
	int i;

	memcpy(c->lenbuf + c->pos, p, n);
	if (c->pos + n < 8)
		return 0;
	c->hlen = 0;
	for (i = 7; i >= 0; i--)
		c->hlen = c->hlen << 8 | c->lenbuf[i];
	if (c->hlen > ST_MAXHEADER)
		return fed_errf(e, "header of %llu bytes exceeds %u",
		    (unsigned long long)c->hlen, ST_MAXHEADER);
	if (c->hlen + 8 > c->size)
		return fed_errf(e, "header runs past the end");
	c->hdr = xmalloc(c->hlen + 1);
	return 0;
}

/* Count elements whose exponent bits are all ones (Inf or NaN).  The
 * fixed-size inner loop is written so that the compiler vectorises it:
 * this check runs over every byte fed-verify reads. */
#define FINITE_BLOCK 256
static uint32_t
nonfinite32(const uint8_t *p, size_t n, uint32_t mask)
{
	uint32_t w[FINITE_BLOCK], bad = 0;
	size_t i, j, k;

	for (i = 0; i < n; i += k) {
		k = n - i < FINITE_BLOCK ? n - i : FINITE_BLOCK;
		memcpy(w, p + 4 * i, 4 * k);
		for (j = k; j < FINITE_BLOCK; j++)
			w[j] = 0;
		for (j = 0; j < FINITE_BLOCK; j++)
			bad |= (w[j] & mask) == mask;
	}
	return bad;
}

static uint32_t
nonfinite16(const uint8_t *p, size_t n, uint16_t mask)
{
	uint16_t w[FINITE_BLOCK];
	uint32_t bad = 0;
	size_t i, j, k;

	for (i = 0; i < n; i += k) {
		k = n - i < FINITE_BLOCK ? n - i : FINITE_BLOCK;
		memcpy(w, p + 2 * i, 2 * k);
		for (j = k; j < FINITE_BLOCK; j++)
			w[j] = 0;
		for (j = 0; j < FINITE_BLOCK; j++)
			bad |= (w[j] & mask) == mask;
	}
	return bad;
}

/* Is every element of a floating-point run finite?  Integer dtypes pass. */
static int
run_finite(enum st_dtype d, const uint8_t *p, size_t n)
{
	switch (d) {
	case ST_F32:
		return !nonfinite32(p, n / 4, 0x7f800000u);
	case ST_F16:
		return !nonfinite16(p, n / 2, 0x7c00u);
	case ST_BF16:
		return !nonfinite16(p, n / 2, 0x7f80u);
	default:
		return 1;
	}
}

/* Data bytes [d, d+n) of the data section, within one tensor. */
static int
feed_tensor(struct st_check *c, const struct st_tensor *t, const uint8_t *p,
    size_t n, fed_err *e)
{
	size_t es = dtypes[t->dtype].size, take;

	if (c->ncarry > 0) {
		take = es - c->ncarry < n ? es - c->ncarry : n;
		memcpy(c->carry + c->ncarry, p, take);
		c->ncarry += take;
		p += take;
		n -= take;
		if (c->ncarry < es)
			return 0;
		c->ncarry = 0;
		if (!run_finite(t->dtype, c->carry, es))
			return fed_errf(e, "tensor %s: value not finite",
			    t->name);
	}
	take = n - n % es;
	if (!run_finite(t->dtype, p, take))
		return fed_errf(e, "tensor %s: value not finite", t->name);
	memcpy(c->carry, p + take, n - take);
	c->ncarry = n - take;
	return 0;
}

static int
feed_data(struct st_check *c, const uint8_t *p, size_t n, fed_err *e)
{
	uint64_t d = c->pos - 8 - c->hlen;

	while (n > 0) {
		const struct st_tensor *t;
		size_t m;

		while (c->cur < c->f.n && c->f.t[c->order[c->cur]].end <= d)
			c->cur++;
		if (c->cur == c->f.n)
			return fed_errf(e, "data past the last tensor");
		t = &c->f.t[c->order[c->cur]];
		m = t->end - d < n ? (size_t)(t->end - d) : n;
		if (feed_tensor(c, t, p, m, e) < 0)
			return -1;
		p += m;
		n -= m;
		d += m;
		c->pos += m;
	}
	return 0;
}

int
st_check_feed(struct st_check *c, const uint8_t *p, size_t n, fed_err *e)
{
	size_t m;

	if (n > c->size - c->pos)
		return fed_errf(e, "more bytes than declared");
	if (c->pos < 8) {
		m = 8 - c->pos < n ? 8 - c->pos : n;
		if (feed_prefix(c, p, m, e) < 0)
			return -1;
		c->pos += m;
		p += m;
		n -= m;
	}
	if (n > 0 && c->pos < 8 + c->hlen) {
		m = 8 + c->hlen - c->pos < n ? 8 + c->hlen - c->pos : n;
		memcpy(c->hdr + (c->pos - 8), p, m);
		c->pos += m;
		p += m;
		n -= m;
		if (c->pos == 8 + c->hlen && parse_header(c, e) < 0)
			return -1;
	}
	return n > 0 ? feed_data(c, p, n, e) : 0;
}

int
st_check_end(struct st_check *c, fed_err *e)
{
	if (c->pos < 8 || c->pos < 8 + c->hlen || c->pos != c->size)
		return fed_errf(e, "truncated safetensors");
	if (c->hlen == 0 || c->f.t == NULL) {
		/* an empty header is not even "{}" */
		return fed_errf(e, "header is not valid JSON");
	}
	c->ended = 1;
	return 0;
}

int
st_parse(const uint8_t *buf, size_t len, struct st_file *f, fed_err *e)
{
	struct st_check *c = st_check_new(len);
	int i;

	memset(f, 0, sizeof(*f));
	if (st_check_feed(c, buf, len, e) < 0 || st_check_end(c, e) < 0) {
		st_check_free(c);
		return -1;
	}
	*f = c->f;
	c->f.t = NULL;
	c->f.meta = NULL;
	c->f.n = 0;
	st_check_free(c);
	for (i = 0; i < f->n; i++)
		f->t[i].data = buf + f->data_start + f->t[i].begin;
	return 0;
}

const struct st_tensor *
st_find(const struct st_file *f, const char *name)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->t[i].name, name) == 0)
			return &f->t[i];
	return NULL;
}

uint8_t *
st_header(const struct st_spec *s, int n, size_t *len, fed_err *e)
{
	return st_header_meta(s, n, NULL, len, e);
}

uint8_t *
st_header_meta(const struct st_spec *s, int n, const json_t *meta,
    size_t *len, fed_err *e)
{
	json_t *h = json_object();
	uint64_t off = 0, cnt;
	char *js;
	uint8_t *out;
	size_t jl, padded;
	int i, k;

	if (meta != NULL)
		json_object_set(h, "__metadata__", (json_t *)meta);
	for (i = 0; i < n; i++) {
		json_t *shape = json_array();

		cnt = 1;
		for (k = 0; k < s[i].ndim; k++) {
			json_array_append_new(shape, json_integer(s[i].shape[k]));
			cnt *= (uint64_t)s[i].shape[k];
		}
		cnt *= dtypes[s[i].dtype].size;
		json_object_set_new(h, s[i].name, json_pack("{s:s,s:o,s:[I,I]}",
		    "dtype", dtypes[s[i].dtype].name, "shape", shape,
		    "data_offsets", (json_int_t)off, (json_int_t)(off + cnt)));
		off += cnt;
	}
	js = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(h);
	if (js == NULL) {
		fed_syserrf(e, "cannot encode safetensors header");
		return NULL;
	}
	jl = strlen(js);
	padded = (jl + 7) / 8 * 8;
	out = xmalloc(8 + padded);
	for (k = 0; k < 8; k++)
		out[k] = (uint8_t)((uint64_t)padded >> (8 * k));
	memcpy(out + 8, js, jl);
	memset(out + 8 + jl, ' ', padded - jl);
	free(js);
	*len = 8 + padded;
	return out;
}

uint8_t *
st_write(const struct st_spec *s, int n, size_t *len, fed_err *e)
{
	size_t hl, total, at, sz;
	uint8_t *h = st_header(s, n, &hl, e), *out;
	int i, k;

	if (h == NULL)
		return NULL;
	total = hl;
	for (i = 0; i < n; i++) {
		sz = dtypes[s[i].dtype].size;
		for (k = 0; k < s[i].ndim; k++)
			sz *= (size_t)s[i].shape[k];
		total += sz;
	}
	out = xreallocarray(h, total, 1);
	at = hl;
	for (i = 0; i < n; i++) {
		sz = dtypes[s[i].dtype].size;
		for (k = 0; k < s[i].ndim; k++)
			sz *= (size_t)s[i].shape[k];
		memcpy(out + at, s[i].data, sz);
		at += sz;
	}
	*len = total;
	return out;
}
