/*
 * Unit tests for lib/idx: IDX files plain and gzip-compressed, the hash of
 * the bytes as read, and every way a file can be wrong.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sha256.h"
#include "idx.h"
#include "t.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"

static char path[512];

static void
put(const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	fwrite(p, 1, n, f);
	fclose(f);
}

/* Load what put() wrote; 0 or -1, the message in e. */
static int
load(const void *p, size_t n, uint64_t max, struct idx *x, fed_err *e)
{
	put(p, n);
	return idx_load(path, max, x, e);
}

static void
test_plain(void)
{
	/* 3 items of 2x2 bytes */
	static const uint8_t f[] = { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2,
	    0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	char hex[65];
	struct idx x;
	fed_err e;

	T_OK("plain loads", load(f, sizeof(f), IDX_MAXBYTES, &x, &e) == 0);
	T_OK("plain shape", x.ndim == 3 && x.count == 3 && x.width == 4);
	T_OK("plain data", x.data[0] == 1 && x.data[11] == 12);
	T_OK("plain not compressed", x.compressed == 0);
	sha256_hex(f, sizeof(f), hex);
	T_OK("plain hash of the file", strcmp(hex, x.sha256) == 0);
	idx_free(&x);
}

static void
test_gzip(void)
{
	struct idx x;
	fed_err e;
	size_t n;
	uint8_t *gz;

	if (access(FMNIST, R_OK) != 0) {
		printf("# %s missing, gzip tests skipped\n", FMNIST);
		return;
	}
	T_OK("gzip loads", idx_load(FMNIST, IDX_MAXBYTES, &x, &e) == 0);
	T_OK("gzip labels", x.ndim == 1 && x.count == 10000 && x.width == 1 &&
	    x.data[0] == 9 && x.data[9999] == 5);
	T_OK("gzip compressed", x.compressed == 1);
	T_OK("gzip hash of the compressed file", strcmp(x.sha256,
	    "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05")
	    == 0);
	idx_free(&x);
	gz = read_file(FMNIST, 1 << 20, &n, &e);
	T_OK("truncated gzip rejected", load(gz, n / 2, IDX_MAXBYTES, &x,
	    &e) < 0 && e.kind == FED_EREJECT);
	printf("# %s\n", e.msg);
	free(gz);
}

static void
test_bad(void)
{
	static const uint8_t magic[] = { 1, 0, 8, 1, 0, 0, 0, 1, 7 };
	static const uint8_t type[] = { 0, 0, 0x0d, 1, 0, 0, 0, 1, 7, 7, 7, 7 };
	static const uint8_t ndim0[] = { 0, 0, 8, 0 };
	static const uint8_t ndim5[] = { 0, 0, 8, 5, 0, 0, 0, 1, 0, 0, 0, 1,
	    0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7 };
	static const uint8_t zero[] = { 0, 0, 8, 1, 0, 0, 0, 0 };
	static const uint8_t shorth[] = { 0, 0, 8, 2, 0, 0, 0, 1 };
	static const uint8_t trunc[] = { 0, 0, 8, 1, 0, 0, 0, 3, 1, 2 };
	static const uint8_t trail[] = { 0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3 };
	static const uint8_t huge[] = { 0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct idx x;
	fed_err e;

	T_OK("bad magic", load(magic, sizeof(magic), IDX_MAXBYTES, &x, &e) <
	    0 && strstr(e.msg, "magic") != NULL);
	T_OK("bad magic is rejected input", e.kind == FED_EREJECT);
	T_OK("float type unsupported", load(type, sizeof(type), IDX_MAXBYTES,
	    &x, &e) < 0 && strstr(e.msg, "0x0d") != NULL);
	T_OK("zero dimensions", load(ndim0, sizeof(ndim0), IDX_MAXBYTES, &x,
	    &e) < 0);
	T_OK("five dimensions", load(ndim5, sizeof(ndim5), IDX_MAXBYTES, &x,
	    &e) < 0);
	T_OK("zero items", load(zero, sizeof(zero), IDX_MAXBYTES, &x, &e) < 0);
	T_OK("short header", load(shorth, sizeof(shorth), IDX_MAXBYTES, &x,
	    &e) < 0 && strstr(e.msg, "truncated") != NULL);
	T_OK("truncated items", load(trunc, sizeof(trunc), IDX_MAXBYTES, &x,
	    &e) < 0 && strstr(e.msg, "truncated") != NULL);
	printf("# %s\n", e.msg);
	T_OK("trailing bytes", load(trail, sizeof(trail), IDX_MAXBYTES, &x,
	    &e) < 0 && strstr(e.msg, "trailing") != NULL);
	T_OK("huge dimensions capped", load(huge, sizeof(huge), IDX_MAXBYTES,
	    &x, &e) < 0 && strstr(e.msg, "larger") != NULL);
	T_OK("size limit", load(trail, sizeof(trail) - 1, 1, &x, &e) < 0);
	T_OK("empty file", load("", 0, IDX_MAXBYTES, &x, &e) < 0);
	T_OK("missing file", idx_load("/nonexistent/idx", IDX_MAXBYTES, &x,
	    &e) < 0);
	T_OK("missing file is a system failure", e.kind == FED_ESYSTEM &&
	    strstr(e.msg, "/nonexistent/idx") != NULL);
	T_OK("directory", idx_load("/", IDX_MAXBYTES, &x, &e) < 0);
	T_OK("directory is a system failure", e.kind == FED_ESYSTEM &&
	    strcmp(e.msg, "/: Is a directory") == 0);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/idxtest.XXXXXX", tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return 2;
	close(fd);
	test_plain();
	test_gzip();
	test_bad();
	unlink(path);
	T_DONE();
}
