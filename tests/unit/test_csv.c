/*
 * Unit tests for lib/csv: numbers, quoting, line endings, the label and
 * key columns, and rows that are wrong, rejected with their line number or
 * skipped and counted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "csv.h"
#include "t.h"

static char path[512];

static int
load(const char *text, const struct csv_opts *o, struct csv_data *d,
    fed_err *e)
{
	FILE *f = fopen(path, "wb");

	fputs(text, f);
	fclose(f);
	return csv_load(path, o, d, e);
}

static void
test_good(void)
{
	struct csv_opts o = { NULL, NULL, 0 };
	struct csv_data d;
	fed_err e;

	T_OK("csv loads", load("a,b,label\n1,2,0\n3.5, -1e3 ,2\n", &o, &d,
	    &e) == 0);
	T_OK("csv shape", d.rows == 2 && d.features == 2 && d.classes == 3);
	T_OK("csv values", d.x[0] == 1 && d.x[1] == 2 && d.x[2] == 3.5f &&
	    d.x[3] == -1000 && d.y[0] == 0 && d.y[1] == 2);
	T_OK("csv not compressed", d.compressed == 0 && d.skipped == 0);
	csv_free(&d);
	o.label = "cls";
	T_OK("csv quoted, CRLF, blank lines", load("\"x, 1\",cls,\"y\"\"\"\r\n"
	    "\r\n\"0.25\",\"1\",7\r\n\n", &o, &d, &e) == 0);
	T_OK("csv label column by name", d.rows == 1 && d.features == 2 &&
	    d.x[0] == 0.25f && d.x[1] == 7 && d.y[0] == 1);
	csv_free(&d);
	o.key = "site";
	T_OK("csv key", load("site,f,cls\nzeta,1,0\nalpha,2,1\nzeta,3,1\n",
	    &o, &d, &e) == 0);
	T_OK("csv key not a feature", d.features == 1);
	T_OK("csv keys sorted", d.nkeys == 2 && strcmp(d.keys[0], "alpha") ==
	    0 && d.key[0] == 1 && d.key[1] == 0 && d.key[2] == 1);
	csv_free(&d);
	T_OK("csv without final newline", load("site,f,cls\na,1,0", &o, &d,
	    &e) == 0 && d.rows == 1);
	csv_free(&d);
}

/* A load that must fail, with msg in its message. */
static void
bad(const char *name, const char *text, const struct csv_opts *o,
    const char *msg)
{
	struct csv_data d;
	fed_err e;

	if (load(text, o, &d, &e) == 0) {
		T_OK(name, 0);
		csv_free(&d);
		return;
	}
	printf("# %s\n", e.msg);
	T_OK(name, strstr(e.msg, msg) != NULL && e.kind == FED_EREJECT);
}

static void
test_bad(void)
{
	struct csv_opts o = { NULL, NULL, 0 }, k = { NULL, "site", 0 };
	struct csv_data d;
	char *longline;
	fed_err e;

	bad("ragged row", "a,label\n1,0\n2,1,3\n", &o, "line 3: 3 fields");
	bad("short row", "a,b,label\n1,2,0\n2,1\n", &o, "line 3: 2 fields");
	bad("not a number", "a,label\n1,0\nabc,1\n", &o, "line 3: column a");
	bad("empty value", "a,label\n,0\n", &o, "line 2");
	bad("nan", "a,label\nnan,0\n", &o, "line 2");
	bad("overflows float", "a,label\n1e39,0\n", &o, "line 2");
	bad("label not integer", "a,label\n1,1.5\n", &o, "label 1.5");
	bad("label negative", "a,label\n1,-1\n", &o, "line 2");
	bad("no label column", "a,b\n1,2\n", &o, "no column label");
	bad("no key column", "a,label\n1,2\n", &k, "no column site");
	bad("duplicate column", "a,a,label\n1,2,0\n", &o, "appears twice");
	bad("only a label", "label\n1\n", &o, "no feature columns");
	bad("empty key", "site,a,label\n,1,0\n", &k, "empty key");
	bad("unterminated quote", "a,label\n\"1,0\n", &o, "line 2");
	bad("stray quote", "a,label\n1\"2,0\n", &o, "line 2");
	bad("empty file", "", &o, "no header row");
	bad("header only", "a,label\n", &o, "no data rows");
	longline = xmalloc(CSV_MAXLINE + 16);
	memcpy(longline, "a,label\n", 8);
	memset(longline + 8, '1', CSV_MAXLINE + 4);
	strcpy(longline + 8 + CSV_MAXLINE + 4, ",0\n");
	bad("line too long", longline, &o, "longer than");
	free(longline);
	T_OK("missing file is a system failure", csv_load("/nonexistent.csv",
	    &o, &d, &e) < 0 && e.kind == FED_ESYSTEM);
	T_OK("directory is a system failure", csv_load("/", &o, &d, &e) < 0 &&
	    e.kind == FED_ESYSTEM && strstr(e.msg, "directory") != NULL);
}

static void
test_skip(void)
{
	struct csv_opts o = { NULL, NULL, 1 };
	struct csv_data d;
	fed_err e;

	T_OK("skip bad rows", load("a,label\n1,0\nx,1\n2,1,1\n3,2\n", &o, &d,
	    &e) == 0);
	T_OK("skipped counted", d.rows == 2 && d.skipped == 2 &&
	    d.first_bad == 3 && d.x[1] == 3 && d.classes == 3);
	csv_free(&d);
	T_OK("bad header not skipped", load("a,a,label\n1,2,0\n", &o, &d,
	    &e) < 0);
	T_OK("all rows bad", load("a,label\nx,1\n", &o, &d, &e) < 0);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/csvtest.XXXXXX", tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return 2;
	close(fd);
	test_good();
	test_bad();
	test_skip();
	unlink(path);
	T_DONE();
}
