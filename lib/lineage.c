/*
 * lineage: round arithmetic, checked before it is done, and the state
 * file a holder keeps of the newest model it accepted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lineage.h"
#include "out.h"

#define STATE_MAX 128

/* Models and updates are the kinds that have rounds; a data set has
 * none, and a roster counts versions of its own (roster.h). */
static int
has_rounds(const char *kind)
{
	return strcmp(kind, "model") == 0 || strcmp(kind, "update") == 0;
}

int
lineage_check_self(const char *kind, int64_t round, const char *parent,
    fed_err *e)
{
	if (!has_rounds(kind))
		return 0;
	if (round < 0 || round > LINEAGE_MAXROUND)
		return fed_errf(e, "round %" PRId64 " is out of range (0 to "
		    "%" PRId64 ")", round, LINEAGE_MAXROUND);
	if (strcmp(kind, "model") != 0)
		return 0;
	if (parent == NULL && round != 0)
		return fed_errf(e, "round %" PRId64 " without a parent: only "
		    "round 0 has none", round);
	if (parent != NULL && round == 0)
		return fed_errf(e, "round 0 with a parent: round 0 has none");
	return 0;
}

int
lineage_check_child(const char *kind, int64_t round, int64_t parent_round,
    fed_err *e)
{
	int64_t want = parent_round;

	if (!has_rounds(kind))
		return 0;
	if (strcmp(kind, "model") == 0 && lineage_next(parent_round, &want,
	    e) < 0)
		return -1;
	if (round == want)
		return 0;
	return fed_errf(e, "round %" PRId64 ", its parent is at round "
	    "%" PRId64 ": want round %" PRId64, round, parent_round, want);
}

int
lineage_next(int64_t round, int64_t *next, fed_err *e)
{
	if (round < 0 || round >= LINEAGE_MAXROUND)
		return fed_errf(e, "round %" PRId64 " has no next round (the "
		    "last is %" PRId64 ")", round, LINEAGE_MAXROUND);
	*next = round + 1;
	return 0;
}

/* "ROUND DIGEST\n", strictly. */
static int
state_parse(char *line, struct lineage_state *s)
{
	char *sp = strchr(line, ' '), *nl = strchr(line, '\n');
	uint64_t r;

	if (sp == NULL || nl == NULL || nl[1] != '\0')
		return -1;
	*sp = *nl = '\0';
	if (parse_u64(line, 0, LINEAGE_MAXROUND, &r) < 0 ||
	    manifest_digest_valid(sp + 1) < 0)
		return -1;
	s->round = (int64_t)r;
	snprintf(s->digest, sizeof(s->digest), "%s", sp + 1);
	return 0;
}

int
lineage_state_load(const char *path, struct lineage_state *s, fed_err *e)
{
	struct stat st;
	uint8_t *buf;
	size_t n;
	int rc;

	memset(s, 0, sizeof(*s));
	s->round = -1;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (stat(path, &st) < 0)
		return fed_syserrf(e, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fed_usagef(e, "%s: not a regular file", path);
	if ((buf = read_file(path, STATE_MAX, &n, e)) == NULL) {
		if (e->kind == FED_EREJECT)
			e->kind = FED_EUSAGE;
		return -1;
	}
	buf = xreallocarray(buf, n + 1, 1);
	buf[n] = '\0';
	rc = memchr(buf, '\0', n) == NULL ? state_parse((char *)buf, s) :
	    -1;
	free(buf);
	if (rc < 0)
		return fed_usagef(e, "%s: not a lineage state (one line: "
		    "ROUND DIGEST)", path);
	return 0;
}

int
lineage_state_check(const struct lineage_state *s, int64_t round,
    const char *digest, const char *parent, fed_err *e)
{
	if (s->round < 0 || round > s->round + 1)
		return 0;
	if (round < s->round)
		return fed_errf(e, "round %" PRId64 " is a rollback: round "
		    "%" PRId64 " was accepted before", round, s->round);
	if (round == s->round && strcmp(digest, s->digest) != 0)
		return fed_errf(e, "round %" PRId64 " is %.19s..., another "
		    "model than the %.19s... accepted before", round, digest,
		    s->digest);
	if (round == s->round + 1 && (parent == NULL ||
	    strcmp(parent, s->digest) != 0))
		return fed_errf(e, "round %" PRId64 " does not descend from "
		    "round %" PRId64 " %.19s... accepted before", round,
		    s->round, s->digest);
	return 0;
}

void
lineage_state_accept(struct lineage_state *s, int64_t round,
    const char *digest)
{
	if (round <= s->round)
		return;
	s->round = round;
	snprintf(s->digest, sizeof(s->digest), "%s", digest);
}

int
lineage_state_save(const char *path, const struct lineage_state *s,
    fed_err *e)
{
	char line[STATE_MAX];
	struct out o;
	int n;

	n = snprintf(line, sizeof(line), "%" PRId64 " %s\n", s->round,
	    s->digest);
	if (n < 0 || (size_t)n >= sizeof(line))
		return fed_syserrf(e, "%s: state too long", path);
	if (out_open(&o, path, e) < 0)
		return -1;
	if (out_write_all(o.fd, line, (size_t)n, e) < 0) {
		out_abort(&o);
		return fed_errprefix(e, "%s", path);
	}
	return out_commit(&o, e);
}
