/*
 * ctopk: packing and unpacking the compact top-k encoding's prefix
 * (ctopk.h); its values are int8 blocks, made and read by encode.c.
 */
#include <math.h>
#include <string.h>

#include "ctopk.h"

uint64_t
ctopk_spans(uint64_t np)
{
	return (np + CTOPK_SPAN - 1) / CTOPK_SPAN;
}

uint64_t
ctopk_blocks(uint64_t k)
{
	return (k + CTOPK_BLOCK - 1) / CTOPK_BLOCK;
}

void
ctopk_pack(const int32_t *idx, uint64_t k, uint64_t np, uint8_t *counts,
    uint8_t *offs)
{
	uint64_t i;

	memset(counts, 0, ctopk_spans(np));
	for (i = 0; i < k; i++) {
		counts[idx[i] / CTOPK_SPAN]++;
		offs[i] = (uint8_t)(idx[i] % CTOPK_SPAN);
	}
}

int
ctopk_unpack(const uint8_t *prefix, uint64_t np, uint64_t k, int32_t *ix,
    float *sc, fed_err *e)
{
	uint64_t ns = ctopk_spans(np), s, i = 0, c, len;
	const uint8_t *offs = prefix + ns;
	int last;

	for (s = 0; s < ns; s++) {
		len = np - s * CTOPK_SPAN < CTOPK_SPAN ? np - s * CTOPK_SPAN :
		    CTOPK_SPAN;
		if (prefix[s] > len || i + prefix[s] > k)
			return fed_errf(e, "topk.counts: span %llu counts %d, "
			    "more than it or k holds", (unsigned long long)s,
			    prefix[s]);
		for (c = 0, last = -1; c < prefix[s]; c++, i++) {
			if (offs[i] <= last || offs[i] >= len)
				return fed_errf(e, "topk.offsets: entry %llu "
				    "not ascending in its span",
				    (unsigned long long)i);
			last = offs[i];
			ix[i] = (int32_t)(s * CTOPK_SPAN + offs[i]);
		}
	}
	if (i != k)
		return fed_errf(e, "topk.counts: %llu entries, k is %llu",
		    (unsigned long long)i, (unsigned long long)k);
	memcpy(sc, offs + k, ctopk_blocks(k) * sizeof(float));
	for (i = 0; i < ctopk_blocks(k); i++)
		if (!(sc[i] >= 0) || !isfinite(sc[i]))
			return fed_errf(e, "topk.scales: scale not finite and "
			    ">= 0");
	return 0;
}
