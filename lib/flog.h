/*
 * flog: the history of a lineage as fed-log(1) shows it, read from the
 * manifests of published bundles: one row a model (round, digest,
 * parent, the merge's rule, samples and contributors, the missing
 * holders where a record says so, the privacy spent), with the signed
 * evaluation reports on it (report.h) and the worst figure they give.
 *
 * It reads and checks manifests (bundle.h) but not payloads, and takes
 * signatures as votes only on reports, against a tester roster when one
 * is given: verifying a lineage is fed-verify's.  Rows come out as JSON;
 * tables and plots are cmd/'s.
 *
 * Missing holders (fed-bundle(5), Missing holders): the model manifest's
 * merge.missing, an array of roster names, when the merge recorded it;
 * else the side file beside the bundle, NAME.missing for NAME.fed, one
 * roster name a line, as a coordinator's round writes it.
 */
#ifndef FED_FLOG_H
#define FED_FLOG_H

#include <jansson.h>
#include <stddef.h>

#include "roster.h"

#define FLOG_MAXFILES 100000
#define FLOG_MAXDEPTH 8

struct flog {
	json_t *models;                 /* digest -> row */
	json_t *reports;                /* digest -> report */
	const struct roster *testers;   /* names report signers, or NULL */
};

void flog_init(struct flog *l, const struct roster *testers);
void flog_free(struct flog *l);
/* The bundles path names: itself when a file, else every *.fed under the
 * folder (FLOG_MAXDEPTH deep, no symbolic links followed), sorted;
 * appended to *files (n of them, freed by the caller, fed_freev). */
int  flog_files(const char *path, char ***files, size_t *n, fed_err *e);
/* Read one bundle's manifest into the history: models and reports
 * count, other kinds are passed over. */
int  flog_add(struct flog *l, const char *path, fed_err *e);
/* The rows, by round then digest, each with its reports; called once,
 * when every bundle is in (it attaches the reports to their rows). */
json_t *flog_rows(const struct flog *l);

#endif
