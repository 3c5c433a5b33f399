/*
 * test_lineage: the round rules at their edges (0, 2^53, INT64_MAX) and
 * the holder's state: what it accepts, what it refuses, its file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lineage.h"
#include "t.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void
rules(void)
{
	int64_t n = 0;
	fed_err e;

	T_OK("round 0 without a parent", lineage_check_self("model", 0, NULL, &e) == 0);
	T_OK("round 0 with a parent", lineage_check_self("model", 0, D1, &e) < 0);
	T_OK("round 5 without a parent", lineage_check_self("model", 5, NULL, &e) < 0);
	T_OK("an update at round 0 has a parent", lineage_check_self("update", 0, D1, &e) == 0);
	T_OK("data has no round", lineage_check_self("data", -1, NULL, &e) == 0);
	T_OK("the last round", lineage_check_self("model", LINEAGE_MAXROUND, D1, &e) == 0);
	T_OK("past the last round", lineage_check_self("model", LINEAGE_MAXROUND + 1, D1, &e) < 0);
	T_OK("INT64_MAX", lineage_check_self("update", INT64_MAX, D1, &e) < 0);
	T_OK("a rejection", e.kind == FED_EREJECT);
	T_OK("model: parent + 1", lineage_check_child("model", 3, 2, &e) == 0);
	T_OK("model: backwards", lineage_check_child("model", 1, 2, &e) < 0);
	T_OK("model: same round", lineage_check_child("model", 2, 2, &e) < 0);
	T_OK("model: jump", lineage_check_child("model", 1000, 2, &e) < 0);
	T_OK("update: parent's round", lineage_check_child("update", 2, 2, &e) == 0);
	T_OK("update: round 7", lineage_check_child("update", 7, 2, &e) < 0);
	T_OK("model after the last", lineage_check_child("model", LINEAGE_MAXROUND + 1,
	    LINEAGE_MAXROUND, &e) < 0);
	T_OK("next of 41", lineage_next(41, &n, &e) == 0 && n == 42);
	T_OK("next of the one before the last", lineage_next(LINEAGE_MAXROUND - 1, &n, &e) == 0 &&
	    n == LINEAGE_MAXROUND);
	T_OK("no next of the last", lineage_next(LINEAGE_MAXROUND, &n, &e) < 0);
	T_OK("no next of INT64_MAX", lineage_next(INT64_MAX, &n, &e) < 0);
}

static void
state(void)
{
	struct lineage_state s, t;
	char path[] = "/tmp/test_lineage.XXXXXX";
	fed_err e;
	FILE *f;
	int fd = mkstemp(path);

	T_OK("temporary file", fd >= 0);
	close(fd);
	unlink(path);
	T_OK("a missing file is a fresh state", lineage_state_load(path, &s, &e) == 0 &&
	    s.round == -1);
	T_OK("fresh: anything goes", lineage_state_check(&s, 7, D1, D2, &e) == 0);
	lineage_state_accept(&s, 2, D1);
	T_OK("saved", lineage_state_save(path, &s, &e) == 0);
	T_OK("loaded", lineage_state_load(path, &t, &e) == 0 && t.round == 2 &&
	    strcmp(t.digest, D1) == 0);
	T_OK("the same model", lineage_state_check(&t, 2, D1, D3, &e) == 0);
	T_OK("a rollback", lineage_state_check(&t, 1, D2, D3, &e) < 0);
	T_OK("another model of the round", lineage_state_check(&t, 2, D2, D3, &e) < 0);
	T_OK("its child", lineage_state_check(&t, 3, D2, D1, &e) == 0);
	T_OK("another's child", lineage_state_check(&t, 3, D2, D3, &e) < 0);
	T_OK("later rounds", lineage_state_check(&t, 9, D2, D3, &e) == 0);
	lineage_state_accept(&t, 1, D2);
	T_OK("an older round does not move it", t.round == 2);
	f = fopen(path, "w");
	fputs("2 sha256:12\n", f);
	fclose(f);
	T_OK("a malformed state", lineage_state_load(path, &t, &e) < 0 &&
	    e.kind == FED_EUSAGE);
	f = fopen(path, "w");
	fprintf(f, "%lld %s\n", (long long)LINEAGE_MAXROUND + 1, D1);
	fclose(f);
	T_OK("a state past the last round", lineage_state_load(path, &t, &e) < 0);
	unlink(path);
}

int
main(void)
{
	rules();
	state();
	T_DONE();
}
