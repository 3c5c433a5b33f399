/*
 * test_dio: what dio writes is what was given, whichever way each piece
 * went (aligned blocks around the page cache, the rest through it), the
 * file descriptor's flags are left as they came, and a pipe, which
 * cannot take O_DIRECT, gets the same bytes.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dio.h"
#include "out.h"
#include "t.h"

#define BIG (4 * DIO_MIN)

/* Pieces of lengths len[] from src, at offsets of the file that start
 * aligned, then not; the file read back equals src. */
static int
pieces(const uint8_t *src, const size_t *len, int n, uint8_t *back)
{
	struct dio d;
	fed_err e;
	size_t at = 0, got = 0;
	ssize_t k;
	int fd = out_spool_open(&e), fl, ok = fd >= 0, i;

	if (!ok)
		return 0;
	fl = fcntl(fd, F_GETFL);
	dio_init(&d, fd);
	for (i = 0; i < n && ok; i++) {
		ok = dio_write(&d, src + at, len[i], &e) == 0;
		at += len[i];
	}
	ok = ok && fcntl(fd, F_GETFL) == fl && (off_t)at == d.off &&
	    lseek(fd, 0, SEEK_CUR) == (off_t)at;
	while (ok && got < at && (k = pread(fd, back + got, at - got,
	    (off_t)got)) > 0)
		got += (size_t)k;
	close(fd);
	return ok && got == at && memcmp(src, back, at) == 0;
}

int
main(void)
{
	/* aligned and big; short; big at an odd offset; big, aligned
	 * again, with a tail; the rest */
	static const size_t len[] = { BIG, 100, BIG, 412 + BIG, BIG + 7, 3 };
	size_t total = 0, i;
	uint8_t *src, *back;
	int p[2], ok;
	struct dio d;
	fed_err e;

	for (i = 0; i < sizeof(len) / sizeof(len[0]); i++)
		total += len[i];
	/* aligned_alloc wants a size that is a multiple of the alignment */
	src = aligned_alloc(4096, (total + 8191) / 4096 * 4096);
	back = malloc(total);
	for (i = 0; i < total; i++)
		src[i] = (uint8_t)(i * 2654435761u >> 24);
	T_OK("aligned, unaligned and short pieces read back whole",
	    pieces(src, len, 6, back));
	T_OK("from unaligned memory too", pieces(src + 1, len, 5, back));
	ok = pipe(p) == 0;
	if (ok) {
		dio_init(&d, p[1]);
		T_OK("a pipe is never written around the page cache",
		    d.align == 0);
		T_OK("a pipe takes a small write",
		    dio_write(&d, src, 100, &e) == 0 &&
		    read(p[0], back, 100) == 100 && memcmp(src, back, 100) == 0);
		close(p[0]);
		close(p[1]);
	}
	free(src);
	free(back);
	T_DONE();
}
