/* Fuzz the IDX reader (plain or gzip). */
#include "fuzz.h"
#include "idx.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct idx x;
	char path[64];
	fed_err e;
	int fd = fuzz_file(data, n, path, sizeof(path));

	if (fd < 0)
		return 0;
	if (idx_load(path, 1 << 24, &x, &e) == 0)
		idx_free(&x);
	close(fd);
	return 0;
}
