/*
 * ledger: a data holder's privacy ledger, a small JSON file it keeps
 * across rounds.  It holds the budget (epsilon at a fixed delta, both set
 * when the ledger is started) and one entry for every update released:
 * round, parent digest, mechanism, the update's epsilon and its RDP
 * curve over dp.h's orders, and the total spent after it.  The total is
 * the RDP of all entries added up and converted once (tighter than
 * adding epsilons, and as sound).  Entries form a hash chain whose head
 * the update manifest records, so a ledger cut short or edited to go
 * backwards shows, to the holder here and to an auditor comparing a
 * holder's updates.
 *
 * A run holds an exclusive flock(2) on FILE.lock from ledger_open to
 * ledger_close, so two jobs on one ledger take turns and the second
 * sees the first's spend.  The file itself is replaced whole (out.h).
 * What to spend is dp's and the caller's business.
 */
#ifndef FED_LEDGER_H
#define FED_LEDGER_H

#include <stdint.h>

#include "dp.h"
#include "util.h"

#define LEDGER_FORMAT     "fed-ledger/1"
#define LEDGER_MAXBYTES   ((size_t)64 << 20)
#define LEDGER_MAXENTRIES 100000
#define LEDGER_HASHLEN    71    /* "sha256:" + 64 hex */

struct ledger {
	char *path;                 /* as given, for messages */
	char *real;                 /* resolved: what is locked and written */
	int lockfd;
	int exists;                 /* read from disk, not new */
	double budget;              /* epsilon */
	double delta;
	double spent;               /* epsilon of every entry composed */
	double rdp[DP_NORDERS];     /* composed RDP of every entry */
	int64_t entries;
	char head[LEDGER_HASHLEN + 1];  /* hash of the last entry, "" if none */
	void *doc;                  /* the JSON document (json_t) */
};

/*
 * Lock and read path.  A missing file starts a new ledger when budget
 * and delta are given (> 0); otherwise it is an error.  An existing
 * ledger must parse and verify (chain, totals that only grow); a budget
 * or delta given that differs from its own is an error (both are fixed
 * when a ledger starts).  budget or delta <= 0: take the ledger's.
 */
int  ledger_open(struct ledger *l, const char *path, double budget,
    double delta, fed_err *e);
/* The total after adding rdp (DP_NORDERS values) into *after; -1 with a
 * message saying what is left when it would pass the budget. */
int  ledger_check(const struct ledger *l, const double *rdp, double *after,
    fed_err *e);
/* Append an entry for a released update and write the file atomically. */
int  ledger_record(struct ledger *l, const char *parent, int64_t round,
    const char *mechanism, double epsilon, const double *rdp, fed_err *e);
/* Unlock and free. */
void ledger_close(struct ledger *l);

#endif
