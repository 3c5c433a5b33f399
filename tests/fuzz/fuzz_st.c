/* Fuzz safetensors: whole-buffer parse, and the stream checker fed in
 * pieces whose sizes come from the input itself. */
#include "fuzz.h"
#include "st.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct st_file f;
	struct st_check *c;
	fed_err e;
	size_t at = 0, step = n ? (size_t)data[0] % 13 + 1 : 1;

	if (st_parse(data, n, &f, &e) == 0)
		st_file_free(&f);
	c = st_check_new(n);
	while (at < n) {
		size_t k = n - at < step ? n - at : step;

		if (st_check_feed(c, data + at, k, &e) < 0)
			break;
		at += k;
	}
	if (at == n)
		st_check_end(c, &e);
	st_check_free(c);
	return 0;
}
