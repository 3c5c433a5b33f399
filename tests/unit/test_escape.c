/*
 * test_escape: fed_escape and the escaping every fed_err message gets,
 * which keep untrusted strings (member names, manifest fields, file
 * names) to one line of printable ASCII.
 */
#include <string.h>

#include "t.h"
#include "util.h"

static int
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int
main(void)
{
	char out[FED_ESCMAX + 1], big[4096];
	fed_err e;

	T_OK("plain text unchanged",
	    strcmp(fed_escape(out, sizeof(out), "round-42.fed"),
	    "round-42.fed") == 0);
	T_OK("newline, tab, return",
	    strcmp(fed_escape(out, sizeof(out), "a\nb\tc\rd"),
	    "a\\nb\\tc\\rd") == 0);
	T_OK("escape and bell as \\xNN",
	    strcmp(fed_escape(out, sizeof(out), "\033[2J\a"),
	    "\\x1b[2J\\x07") == 0);
	T_OK("backslash doubled",
	    strcmp(fed_escape(out, sizeof(out), "a\\n"), "a\\\\n") == 0);
	T_OK("DEL and high bytes",
	    strcmp(fed_escape(out, sizeof(out), "\x7f\xc3\xa9\x9b"),
	    "\\x7f\\xc3\\xa9\\x9b") == 0);
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fed_escape(out, sizeof(out), big);
	T_OK("long input capped", strlen(out) <= FED_ESCMAX);
	T_OK("a cut ends in ...", strcmp(out + strlen(out) - 3, "...") == 0);
	T_OK("no half escape before the cut",
	    strlen(out) % 2 == 1 && out[strlen(out) - 4] == 'n');
	T_OK("a small buffer is respected",
	    strlen(fed_escape(out, 8, "\n\n\n\n\n\n")) <= 7);
	fed_errf(&e, "member %s: not allowed", "x\nfed-verify: y: OK\033]0;");
	T_OK("fed_err message is one printable line", printable(e.msg));
	T_OK("fed_err keeps the text readable", strstr(e.msg,
	    "x\\nfed-verify: y: OK\\x1b]0;") != NULL);
	fed_errprefix(&e, "%s", "file\nname");
	T_OK("prefix escaped too", printable(e.msg) &&
	    strncmp(e.msg, "file\\nname: member x\\n", 22) == 0);
	T_OK("fed_err does not double backslashes on each prefix",
	    strstr(e.msg, "\\\\") == NULL);
	T_DONE();
}
