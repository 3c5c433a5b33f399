/*
 * pass: passphrases for secret keys, from a file (unattended jobs) or
 * asked on the controlling terminal with echo off.  The caller wipes and
 * frees what it gets.
 */
#ifndef FED_PASS_H
#define FED_PASS_H

#include "util.h"

#define PASS_MAX 1024

/* The first line of path, without its newline. */
char *pass_from_file(const char *path, fed_err *e);
/* Ask on /dev/tty; with confirm, ask twice and insist they match.
 * Returns NULL with e set when there is no terminal. */
char *pass_prompt(const char *prompt, int confirm, fed_err *e);
void  pass_free(char *p);

#endif
