/* Fuzz the streaming bundle reader and the content checks of verify. */
#include "fuzz.h"
#include "verify.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct verify_opts o = { .quorum = 1, .spool_fd = -1,
	    .parent_round = -1 };
	struct verify_result r;
	struct bundle b;
	char path[64];
	fed_err e;
	int fd = fuzz_file(data, n, path, sizeof(path));

	if (fd < 0)
		return 0;
	verify_bundle(path, &o, &r, &e);
	if (bundle_load(path, 1 << 24, &b, &e) == 0)
		bundle_free(&b);
	close(fd);
	return 0;
}
