/*
 * util: the error carrier every lib/ function reports through, the
 * allocation wrappers that exit (the one place they live), and small
 * helpers for parsing numbers from the command line.  Printing and exiting
 * are left to cmd/.
 */
#ifndef FED_UTIL_H
#define FED_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define FED_ERRLEN 512

/* A lib/ function that fails fills this and returns -1 or NULL. */
typedef struct {
	char msg[FED_ERRLEN];
} fed_err;

/* Set e's message (printf-style); returns -1 so callers can `return`. */
int fed_errf(fed_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/* Strict decimal parsers: the whole string, in range, or -1. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_double(const char *s, double min, double max, double *out);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const uint8_t *in, size_t n);

/* Read a whole file ("-" is stdin) of at most max bytes into a new buffer. */
uint8_t *read_file(const char *path, size_t max, size_t *len, fed_err *e);

/* "stdin" for "-", the path otherwise: for messages. */
const char *display_name(const char *path);

#endif
