/*
 * fuzz.h: what every libFuzzer target shares: the fuzzer's bytes as a
 * path, for the readers that take one (bundle, keys, IDX, CSV).
 */
#ifndef FED_FUZZ_H
#define FED_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memory file holding data; its /proc path goes into path. */
static inline int
fuzz_file(const uint8_t *data, size_t n, char *path, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		return -1;
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
