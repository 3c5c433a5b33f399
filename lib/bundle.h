/*
 * bundle: the fed bundle, an uncompressed ustar archive (fed-bundle(5)),
 * read as a stream through libarchive and never extracted to disk.
 *
 * The reader enforces the archive rules: manifest.json first; then the
 * payload members the manifest lists, in its order, each regular, of the
 * declared size and SHA-256, safetensors members validated as they stream
 * past; then signatures/KEYID.sig members of 64 bytes in increasing KEYID
 * order; nothing but zero blocks after the end.  Anything else (links,
 * devices, sparse files, other names, duplicates, absolute or .. paths,
 * oversize entries) is rejected with a message naming it.
 *
 * This module owns the container's rules: the payload names a bundle may
 * carry and the caps on their number and size (bundle_rules, handed to
 * manifest_load).  The ustar layer under it is tar.c.  What the payloads
 * must contain for a kind (shapes against the declared architecture, data
 * tensors) is verify's business, not this module's.
 *
 * Errors are typed (util.h): an input that cannot be opened or read, a
 * directory, and an output that cannot be written are system failures;
 * bytes that break a rule are rejected.
 */
#ifndef FED_BUNDLE_H
#define FED_BUNDLE_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "key.h"
#include "manifest.h"
#include "st.h"
#include "util.h"

#define BUNDLE_MAXMEMBERS 16
#define BUNDLE_MAXSIGS    256
#define BUNDLE_MAXMEMBER  ((uint64_t)8 << 30)   /* ustar's size field */
#define BUNDLE_NAMELEN    64

struct out;

struct bundle_sig {
	char keyid[KEYID_HEX + 1];
	uint8_t sig[SIG_LEN];
};

/* A payload as the manifest lists it. */
struct bundle_entry {
	char name[BUNDLE_NAMELEN];
	uint64_t size;
	char sha256[2 * SHA256_LEN + 1];
};

/* The names, count and sizes of payloads a manifest may list. */
extern const struct manifest_rules bundle_rules;

/* ---- streaming reader ---- */

struct bundle_reader;

/* Open path ("-" is stdin) and read manifest.json.  When spool_fd >= 0,
 * every byte read from the input is also written there (fed-verify -o). */
struct bundle_reader *bundle_open(const char *path, int spool_fd, fed_err *e);
/* spool_fd BUNDLE_SKIM: a first look at the manifest and the signatures
 * only.  bundle_next skips the payloads unread, unhashed and unchecked
 * (a regular file is seeked past them); only a full read verifies. */
#define BUNDLE_SKIM (-2)
/* The manifest, parsed and checked once when the bundle was opened. */
const struct manifest *bundle_meta(const struct bundle_reader *r);
/* Its json (bundle_meta(r)->json), for readers not yet on the struct. */
const json_t  *bundle_manifest(const struct bundle_reader *r);
const uint8_t *bundle_manifest_bytes(const struct bundle_reader *r, size_t *n);
const char    *bundle_digest(const struct bundle_reader *r);
int            bundle_entries(const struct bundle_reader *r,
    const struct bundle_entry **ents);

/* Advance to the next payload member (draining the rest of the current
 * one): 1 and *ent set, 0 when all payloads are read and the rest of the
 * archive (signatures, end, trailing blocks) checked, -1 on error. */
int     bundle_next(struct bundle_reader *r, const struct bundle_entry **ent,
    fed_err *e);
/* A block of the current member: > 0 bytes at *p, 0 at its end (its hash
 * and, for safetensors, its contents verified), -1 on error. */
ssize_t bundle_read(struct bundle_reader *r, const void **p, fed_err *e);
/* After a member's end: its safetensors header, or NULL if not one. */
const struct st_file *bundle_member_st(const struct bundle_reader *r);
/* Read to the end, verifying everything. */
int     bundle_drain(struct bundle_reader *r, fed_err *e);
/* After bundle_next returned 0. */
int     bundle_sigs(const struct bundle_reader *r,
    const struct bundle_sig **sigs);
void    bundle_close(struct bundle_reader *r);

/* ---- whole bundle in memory, for models and data sets ---- */

struct bundle {
	struct manifest meta;       /* parsed and checked once */
	json_t *manifest;           /* meta.json, for readers of the json */
	uint8_t *mbytes;
	size_t mlen;
	char digest[DIGEST_LEN + 1];
	int n;
	struct {
		char name[BUNDLE_NAMELEN];
		uint8_t *data;
		uint64_t size;
	} m[BUNDLE_MAXMEMBERS];
	int nsigs;
	struct bundle_sig *sigs;
};

/* Read and verify every member of path; at most max bytes of payload. */
int  bundle_load(const char *path, uint64_t max, struct bundle *b, fed_err *e);
const uint8_t *bundle_get(const struct bundle *b, const char *name,
    uint64_t *size);
void bundle_free(struct bundle *b);

/* ---- writer ---- */

struct bundle_writer;
struct bundle_writer *bundle_writer_open(int fd, fed_err *e);
/* Start a member of exactly size bytes, then feed it with _data. */
int  bundle_writer_member(struct bundle_writer *w, const char *name,
    uint64_t size, fed_err *e);
int  bundle_writer_data(struct bundle_writer *w, const void *p, size_t n,
    fed_err *e);
int  bundle_writer_close(struct bundle_writer *w, fed_err *e);

/* A payload to write: from memory (data) or from an open file (fd >= 0,
 * read from offset 0).  sha256, when the writer of a spool already hashed
 * it, saves reading it twice; NULL has bundle_write compute it. */
struct bundle_payload {
	const char *name;
	const uint8_t *data;
	int fd;
	uint64_t size;
	const char *sha256;
};

/* Write a whole bundle: sets the manifest's "members" from the payloads,
 * dumps it deterministically, then writes payloads and signatures.  The
 * digest of the written manifest goes to digest (DIGEST_LEN + 1) if not
 * NULL. */
int  bundle_write(int fd, json_t *manifest, const struct bundle_payload *p,
    int np, char *digest, fed_err *e);

/* Copy the bundle r is reading to out, verifying it as it streams, with
 * signature add (when not NULL) inserted in KEYID order, replacing one by
 * the same key.  A failure names the input (a bad input is rejected, one
 * that cannot be read a system failure) or the output (a system
 * failure); out is neither committed nor aborted here. */
int  bundle_copy(struct bundle_reader *r, struct out *out,
    const struct bundle_sig *add, fed_err *e);

/* Is name one a bundle may carry as a payload? */
int  bundle_payload_allowed(const char *name);

#endif
