/* Fuzz the CSV reader, strict and skipping bad rows, with a key column. */
#include "csv.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct csv_opts strict = { NULL, NULL, 0 }, lax = { "label", "key", 1 };
	struct csv_data d;
	char path[64];
	fed_err e;
	int fd = fuzz_file(data, n, path, sizeof(path));

	if (fd < 0)
		return 0;
	if (csv_load(path, &strict, &d, &e) == 0)
		csv_free(&d);
	if (csv_load(path, &lax, &d, &e) == 0)
		csv_free(&d);
	close(fd);
	return 0;
}
