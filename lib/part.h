/*
 * part: which shard every sample goes to, and which samples of a
 * shard are held out for its test part.  Schemes (fed-shard(1)):
 *
 *   iid             a random permutation cut into pieces;
 *   dirichlet:ALPHA every class spread over the shards by a draw from
 *                   Dir(ALPHA), the label skew of Hsu et al. (2019);
 *   classes:K       every shard holds K classes, every class goes to at
 *                   least one shard (McMahan et al.'s pathological split);
 *   column:NAME     one shard per distinct value of a key column.
 *
 * Quantity skew (shard sizes drawn from a log-normal or power law) and a
 * minimum shard size apply to the first three.  Everything is computed
 * from the labels, the seed and the parameters alone, through lib/rng, so
 * the same call gives the same split everywhere.  Reading data and
 * writing bundles are other modules' business.
 */
#ifndef FED_PART_H
#define FED_PART_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

#define PART_MAXSHARDS   100000
#define PART_MAXCLASSES  65536
#define PART_MAXCELLS    ((uint64_t)1 << 24)  /* shards * classes */
#define PART_MAXSAMPLES  ((uint64_t)UINT32_MAX - 1)
#define PART_NAMELEN     256

enum part_scheme { PART_IID, PART_DIRICHLET, PART_CLASSES, PART_COLUMN };
enum part_law { PART_EQUAL, PART_LOGNORMAL, PART_POWER };

struct part_spec {
	enum part_scheme scheme;
	double alpha;           /* dirichlet:ALPHA */
	uint32_t k;             /* classes:K */
	char column[PART_NAMELEN];  /* column:NAME */
	enum part_law law;      /* shard sizes */
	double law_param;       /* lognormal sigma, power-law exponent */
	uint64_t min_size;      /* samples per shard, before the test split */
	double test;            /* test fraction, 0 for none */
};

/* What the split sees of the data. */
struct part_input {
	uint64_t n;             /* samples */
	const int32_t *y;       /* (n) labels in [0, classes) */
	uint32_t classes;
	const uint32_t *key;    /* (n) key index in [0, nkeys), column only */
	uint32_t nkeys;
};

/* Defaults (iid, equal sizes, min_size 1, no test part). */
void part_init(struct part_spec *p);
/* "iid", "dirichlet:0.5", "classes:2", "column:country".  These parse
 * command-line values: a bad one is a usage error (FED_EUSAGE). */
int  part_parse(const char *s, struct part_spec *p, fed_err *e);
/* "lognormal:SIGMA", "power:ALPHA" or "equal". */
int  part_parse_law(const char *s, struct part_spec *p, fed_err *e);
/* The canonical spelling, e.g. "dirichlet:0.5", into buf. */
void part_format(const struct part_spec *p, char *buf, size_t n);
/* The manifest's "partition" object. */
json_t *part_json(const struct part_spec *p);

/*
 * shard[i] := the shard of sample i, in [0, nshards) (nkeys for column).
 * -1 when the data cannot be split so (too few samples for min_size,
 * classes:K with K above the class count, too many cells).
 */
int  part_assign(const struct part_spec *p, const struct part_input *in,
    uint32_t nshards, uint64_t seed, uint32_t *shard, fed_err *e);

/*
 * test[i] := 1 for the samples held out: round(test * size) of every
 * shard, spread over its classes in proportion (stratified), chosen at
 * random.  Drawn from a stream of its own, so a test part does not
 * change which shard a sample lands in.
 */
int  part_test(const struct part_spec *p, const struct part_input *in,
    uint32_t nshards, const uint32_t *shard, uint64_t seed, uint8_t *test,
    fed_err *e);

/* Split total in proportion to w[0..n) (largest remainder, ties to the
 * lower index); exposed for the tests. */
void part_apportion(uint64_t total, const double *w, uint32_t n,
    uint64_t *out);

#endif
