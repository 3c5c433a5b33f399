/*
 * dio: O_DIRECT for the big aligned writes of dio.h.  The flag is set
 * for such a write and cleared after it, so that the file descriptor
 * is left as it came (callers pwrite a manifest into it afterwards);
 * if it cannot be cleared, the write fails rather than leave it set.
 */
#define _GNU_SOURCE            /* statx, O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dio.h"
#include "out.h"

void
dio_init(struct dio *d, int fd)
{
	struct statx sx;

	d->fd = fd;
	d->mem = d->align = 0;
	if ((d->off = lseek(fd, 0, SEEK_CUR)) < 0 ||
	    statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_DIOALIGN,
	    &sx) < 0 || !S_ISREG(sx.stx_mode) ||
	    !(sx.stx_mask & STATX_DIOALIGN) || sx.stx_dio_mem_align == 0 ||
	    sx.stx_dio_offset_align == 0)
		return;
	d->mem = sx.stx_dio_mem_align;
	d->align = sx.stx_dio_offset_align;
}

/* O_DIRECT on or off: 0, or -1. */
static int
direct(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? fl | O_DIRECT : fl & ~O_DIRECT;
	return fcntl(fd, F_SETFL, fl);
}

/* The whole blocks of n bytes at p written around the page cache: how
 * many bytes, 0 when none could be (the caller writes them), -1 when
 * the descriptor could not be given back as it came: with O_DIRECT
 * still set, the next unaligned write would fail anyway, so say why. */
static ssize_t
whole(struct dio *d, const void *p, size_t n, fed_err *e)
{
	size_t k = n - n % d->align, done = 0;
	ssize_t w;

	if (n < DIO_MIN || (uintptr_t)p % d->mem != 0 ||
	    (uint64_t)d->off % d->align != 0 || direct(d->fd, 1) < 0)
		return 0;
	while (done < k) {
		w = write(d->fd, (const char *)p + done, k - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (direct(d->fd, 0) < 0)
		return fed_syserrf(e, "fcntl: clearing O_DIRECT: %s",
		    strerror(errno));
	if (done == 0)
		d->mem = d->align = 0;  /* this file system says no */
	return (ssize_t)done;
}

int
dio_write(struct dio *d, const void *p, size_t n, fed_err *e)
{
	ssize_t k = d->align ? whole(d, p, n, e) : 0;

	if (k < 0)
		return -1;
	d->off += k;
	if (out_write_all(d->fd, (const char *)p + k, n - (size_t)k, e) < 0)
		return -1;
	d->off += (off_t)n - k;
	return 0;
}
