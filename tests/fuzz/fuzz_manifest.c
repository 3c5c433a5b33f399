/* Fuzz the manifest parser and schema check. */
#include "fuzz.h"
#include "bundle.h"
#include "manifest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	json_t *m;
	fed_err e;

	if ((m = manifest_parse(data, n, &e)) != NULL) {
		manifest_check(m, &bundle_rules, &e);
		json_decref(m);
	}
	return 0;
}
