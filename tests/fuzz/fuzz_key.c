/* Fuzz key loading: public and secret PEM files. */
#include "key.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct key k;
	char path[64];
	fed_err e;
	int fd = fuzz_file(data, n, path, sizeof(path));

	if (fd < 0)
		return 0;
	if (key_load_public(path, &k, &e) == 0)
		key_free(&k);
	if (key_load_secret(path, NULL, &k, &e) == 0)
		key_free(&k);
	if (key_load_secret(path, "pass", &k, &e) == 0)
		key_free(&k);
	close(fd);
	return 0;
}
