/*
 * roster: who may contribute to a consortium's rounds.  A roster is a
 * bundle of kind "roster" (fed-bundle(5)): a version, the digest of the
 * version before it, and the holders, each a name, an Ed25519 public key
 * (canonical SPKI PEM text and its KEYID) and, where the consortium sets
 * one, the most samples the holder may claim.  The coordinator signs it
 * like any bundle.  A directory of NAME.pub files is the simple case: a
 * roster of version 0 that no one signed, named by its file names.
 *
 * This module reads, checks, builds and writes rosters and says which
 * holders signed a manifest.  What is done with a vote (one update per
 * key, the weight cap) is the merge's and fed-verify's.
 */
#ifndef FED_ROSTER_H
#define FED_ROSTER_H

#include <stdint.h>

#include "bundle.h"
#include "key.h"

#define ROSTER_MAXHOLDERS 256
#define ROSTER_NAMELEN    64

struct roster_holder {
	char name[ROSTER_NAMELEN + 1];  /* printable ASCII, unique */
	struct key key;                 /* unique */
	uint64_t max_samples;           /* most samples it may claim; 0 none */
};

struct roster {
	int64_t version;                /* 0: a directory of keys */
	char digest[DIGEST_LEN + 1];    /* "" unless read from a bundle */
	char parent[DIGEST_LEN + 1];    /* "" for version 1 */
	int n;
	struct roster_holder h[ROSTER_MAXHOLDERS];
};

void roster_init(struct roster *r);
void roster_free(struct roster *r);
/* A holder's name: 1 to ROSTER_NAMELEN printable ASCII characters, no
 * space at either end. */
int  roster_check_name(const char *name, fed_err *e);
/* Add (or, replace set, put in place of the holder of that name) a
 * holder; k is taken over, freed on failure.  Names and keys unique. */
int  roster_put(struct roster *r, const char *name, struct key *k,
    uint64_t max_samples, int replace, fed_err *e);
/* Drop the holder name: 0, or -1 when there is none. */
int  roster_remove(struct roster *r, const char *name, fed_err *e);
/* Add every NAME.pub of dir to r (initialised by the caller, which may
 * have put holders there already), NAME the holder's name. */
int  roster_from_dir(struct roster *r, const char *dir, fed_err *e);
/* A roster bundle; when coord is not NULL it must carry a valid
 * signature by that key. */
int  roster_load(struct roster *r, const char *path, const struct key *coord,
    fed_err *e);
/* The holders of a checked roster manifest. */
int  roster_from_manifest(struct roster *r, const struct manifest *m,
    fed_err *e);
/* Write r as a roster bundle (holders by name, deterministic bytes). */
int  roster_write(const struct roster *r, int fd, char *digest, fed_err *e);
/* The holder with that KEYID, or -1. */
int  roster_find(const struct roster *r, const char *keyid);
/* Which holders signed the manifest mb: their indices into who, in
 * signature order; their number, or -1 when a signature under a
 * holder's KEYID does not verify.  Signatures under other KEYIDs are
 * not the roster's and are ignored. */
int  roster_signers(const struct roster *r, const uint8_t *mb, size_t ml,
    const struct bundle_sig *sigs, int nsigs, int *who, fed_err *e);
/* The contributor of a manifest signed by holders who[0 .. n): the
 * holder its "contributor" names among them (the one signer when it
 * names none), or -1 when it names someone else or no holder signed. */
int  roster_contributor(const struct roster *r, const json_t *manifest,
    const int *who, int n, fed_err *e);

#endif
