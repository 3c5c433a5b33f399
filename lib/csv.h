/*
 * csv: a table of numbers with a header row, read strictly into the
 * features, labels and (optionally) key of every row.  Fields are
 * separated by commas and may be double-quoted ("" for a quote inside);
 * a record is one line (LF or CRLF), no longer than CSV_MAXLINE; blank
 * lines are ignored.  The label column holds integers in
 * [0, CSV_MAXCLASSES); the key column, when named, holds any non-empty
 * text and is not a feature; every other column is a feature and must
 * hold a finite number that fits a float32.  A row that breaks a rule is
 * an error naming its line, or, with skip_bad, skipped and counted.
 * Input through idx_in: a file or "-", plain or gzip.
 */
#ifndef FED_CSV_H
#define FED_CSV_H

#include <stdint.h>

#include "util.h"

#define CSV_MAXLINE     (1u << 20)
#define CSV_MAXCOLS     (1u << 16)
#define CSV_MAXCLASSES  65536
#define CSV_MAXKEYS     100000
#define CSV_MAXROWS     ((uint64_t)1 << 31)
#define CSV_MAXCELLS    ((uint64_t)1 << 32)     /* rows * features */

struct csv_opts {
	const char *label;      /* label column, "label" when NULL */
	const char *key;        /* key column or NULL */
	int skip_bad;
};

struct csv_data {
	uint64_t rows;
	uint32_t features;
	float *x;               /* (rows, features) */
	int32_t *y;             /* (rows) */
	uint32_t *key;          /* (rows) index into keys, when opts.key */
	char **keys;            /* (nkeys) distinct values, sorted bytewise */
	uint32_t nkeys;
	uint32_t classes;       /* max label + 1 */
	uint64_t skipped;       /* bad rows left out (skip_bad) */
	uint64_t first_bad;     /* line of the first of them */
	int compressed;
	char sha256[65];        /* of the file as read */
};

int  csv_load(const char *path, const struct csv_opts *o, struct csv_data *d,
    fed_err *e);
void csv_free(struct csv_data *d);

#endif
