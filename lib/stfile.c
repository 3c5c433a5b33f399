/*
 * stfile: reading a user's safetensors file whole.  A regular file is
 * mapped, so a large model costs page cache rather than a copy; a pipe is
 * read into memory up to STFILE_MAXBYTES.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bstream.h"
#include "stfile.h"
#include "tset.h"
#include "weights.h"

static int
read_pipe(int fd, struct stfile *f, fed_err *e)
{
	size_t cap = 1 << 20;
	ssize_t n;

	f->buf = xmalloc(cap);
	for (;;) {
		if (f->len == cap) {
			if (cap >= STFILE_MAXBYTES)
				return fed_errf(e, "larger than %llu bytes",
				    (unsigned long long)STFILE_MAXBYTES);
			cap *= 2;
			f->buf = xreallocarray(f->buf, cap, 1);
		}
		n = read(fd, f->buf + f->len, cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fed_syserrf(e, "%s", strerror(errno));
		if (n == 0)
			return 0;
		f->len += (size_t)n;
	}
}

static int
read_fd(int fd, struct stfile *f, fed_err *e)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return fed_syserrf(e, "%s", strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return fed_syserrf(e, "is a directory");
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
		return read_pipe(fd, f, e);
	if ((uint64_t)sb.st_size > STFILE_MAXBYTES)
		return fed_errf(e, "larger than %llu bytes",
		    (unsigned long long)STFILE_MAXBYTES);
	f->len = (size_t)sb.st_size;
	f->buf = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->buf == MAP_FAILED) {
		f->buf = NULL;
		return fed_syserrf(e, "%s", strerror(errno));
	}
	f->mapped = 1;
	return 0;
}

int
stfile_read(const char *path, struct stfile *f, fed_err *e)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY);
	int rc;

	memset(f, 0, sizeof(*f));
	if (fd < 0)
		return fed_syserrf(e, "%s: %s", display_name(path),
		    strerror(errno));
	rc = read_fd(fd, f, e);
	if (fd != 0)
		close(fd);
	if (rc == 0 && st_parse(f->buf, f->len, &f->st, e) == 0 &&
	    tset_from_st(&f->st, &f->a, e) == 0 &&
	    (f->st.meta == NULL || tset_meta_check(f->st.meta, e) == 0))
		return 0;
	stfile_close(f);
	return fed_errprefix(e, "%s", display_name(path));
}

const uint8_t *
stfile_data(const struct stfile *f, int i)
{
	return st_find(&f->st, f->a.t[i].name)->data;
}

/* The weights member, canonical: header, then each tensor's bytes. */
static int
put_weights(const struct stfile *f, json_t *m, const char *out, fed_err *e)
{
	const struct tensor_spec *t = f->a.t, *last = &t[f->a.nt - 1];
	struct bstream bs;
	uint8_t *h;
	size_t hl;
	int i, r = -1;

	if ((h = weights_header(&f->a, 1, NULL, &hl, e)) == NULL)
		return -1;
	if (bstream_open(&bs, out, m, WEIGHTS_MEMBER, hl + last->boff +
	    last->count * st_dtype_size(last->dtype), e) < 0 ||
	    bstream_data(&bs, h, hl, e) < 0)
		goto out;
	for (i = 0; i < f->a.nt; i++)
		if (bstream_data(&bs, stfile_data(f, i), t[i].count *
		    st_dtype_size(t[i].dtype), e) < 0)
			goto out;
	r = bstream_close(&bs, e);
out:
	bstream_abort(&bs);
	free(h);
	return r;
}

int
stfile_model(const struct stfile *f, const char *out, const char *base,
    fed_err *e)
{
	char arch[ARCH_STRLEN];
	json_t *m = manifest_new("model", "fed-init");
	int rc;

	arch_format(&f->a, arch, sizeof(arch));
	json_object_set_new(m, "arch", json_string(arch));
	json_object_set_new(m, "tensors", tset_json(&f->a));
	if (f->st.meta != NULL)
		json_object_set(m, "metadata", f->st.meta);
	if (base != NULL)
		json_object_set_new(m, "base", json_string(base));
	json_object_set_new(m, "round", json_integer(0));
	json_object_set_new(m, "parent", json_null());
	json_object_set_new(m, "init", json_pack("{s:s}", "scheme",
	    "imported from safetensors"));
	if ((rc = put_weights(f, m, out, e)) < 0)
		fed_errprefix(e, "%s", out && strcmp(out, "-") ? out : "stdout");
	json_decref(m);
	return rc;
}

void
stfile_close(struct stfile *f)
{
	st_file_free(&f->st);
	if (f->mapped)
		munmap(f->buf, f->len);
	else
		free(f->buf);
	f->buf = NULL;
	f->mapped = 0;
}
