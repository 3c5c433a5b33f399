/*
 * release: the reports read through (a report has no payload), their
 * signers found on the tester roster, the votes counted once per key,
 * and why each report that did not count was passed over, for the one
 * line that says what is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "release.h"

struct tally {
	const struct release_opts *o;
	const char *model;
	struct release_result *res;
	char notes[FED_ERRLEN];
	int nnotes;
};

/* Why a report was passed over, added to the tally's notes. */
static void
pass_over(struct tally *t, const char *path, const char *why)
{
	size_t n = strlen(t->notes);

	snprintf(t->notes + n, sizeof(t->notes) - n, "%s%s: %s",
	    t->nnotes++ ? "; " : "", display_name(path), why);
}

/* Count the signers of a report on this model; -1 when a signer's
 * report misses a requirement. */
static int
count(struct tally *t, const char *path, const json_t *m, const int *who,
    int n, fed_err *e)
{
	const struct roster *ro = t->o->testers;
	int i, k, fresh = 0;

	for (i = 0; i < t->o->nreq; i++)
		if (report_req_test(&t->o->req[i], m, e) < 0)
			return fed_errprefix(e, "%s by %s", display_name(path),
			    ro->h[who[0]].name);
	for (i = 0; i < n; i++) {
		for (k = 0; k < t->res->n && t->res->who[k] != who[i]; k++)
			;
		if (k == t->res->n) {
			t->res->who[t->res->n++] = who[i];
			fresh = 1;
		}
	}
	if (!fresh)
		pass_over(t, path, "its tester counted already");
	return 0;
}

/* A report read through (it has no payload) and its signers on the
 * tester roster: their number, -1 with le set when it does not count. */
static int
signers(struct tally *t, struct bundle_reader *r, int *who, fed_err *le)
{
	const struct manifest *m = bundle_meta(r);
	const struct bundle_sig *sigs;
	const uint8_t *mb;
	size_t ml;
	int n;

	if (strcmp(m->kind, "report") != 0)
		return fed_errf(le, "a %s, not a report", m->kind);
	if (bundle_drain(r, le) < 0)
		return -1;
	n = bundle_sigs(r, &sigs);
	mb = bundle_manifest_bytes(r, &ml);
	if ((n = roster_signers(t->o->testers, mb, ml, sigs, n, who, le)) < 0)
		return -1;
	if (n == 0)
		return fed_errf(le, "not signed by a tester");
	if (strcmp(manifest_str(m->json, "model"), t->model) != 0)
		return fed_errf(le, "a report on another model");
	return n;
}

/* One report: counted, passed over, or a refusal (-1). */
static int
tally_one(struct tally *t, const char *path, fed_err *e)
{
	int who[ROSTER_MAXHOLDERS], n, rc = 0;
	struct bundle_reader *r;
	fed_err le;

	if ((r = bundle_open(path, -1, &le)) == NULL &&
	    fed_status(&le) != 1) {
		*e = le;
		return fed_errprefix(e, "%s", display_name(path));
	}
	if (r == NULL)
		pass_over(t, path, le.msg);
	else if ((n = signers(t, r, who, &le)) < 0)
		pass_over(t, path, le.msg);
	else
		rc = count(t, path, bundle_manifest(r), who, n, e);
	bundle_close(r);
	return rc;
}

int
release_check(const char *model, const struct release_opts *o,
    struct release_result *res, fed_err *e)
{
	struct tally t = { o, model, res, "", 0 };
	char names[FED_ERRLEN] = "";
	size_t len;
	int i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < o->nreports; i++)
		if (tally_one(&t, o->reports[i], e) < 0)
			return -1;
	if (res->n >= o->quorum)
		return 0;
	for (i = 0; i < res->n; i++) {
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s",
		    i ? "," : " (", o->testers->h[res->who[i]].name);
	}
	if (res->n > 0)
		strncat(names, ")", sizeof(names) - strlen(names) - 1);
	return fed_errf(e, "release quorum not met: reports by %d of the %d "
	    "testers required%s%s%s", res->n, o->quorum, names, t.nnotes ?
	    "; not counted: " : o->nreports ? "" : "; no reports", t.notes);
}
