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

/*
 * What failed, which decides the exit status in one place (fed_status):
 * the input was rejected (a bundle, key or data set that is not valid:
 * exit 1), the command line asked for something impossible (exit 2), or
 * the system failed (a file that cannot be opened or written, a full
 * disk, no memory: exit 2).  A verdict is only ever FED_EREJECT.
 */
enum fed_errkind { FED_EREJECT, FED_EUSAGE, FED_ESYSTEM };

/* A lib/ function that fails fills this and returns -1 or NULL.  Every
 * message is kept to one line of printable ASCII: control and non-ASCII
 * bytes that reach it from untrusted strings are escaped as \xNN. */
typedef struct {
	enum fed_errkind kind;
	char msg[FED_ERRLEN];
} fed_err;

/* Set e's message (printf-style) and its kind; return -1 so callers
 * can `return`.  fed_errf says the input was rejected. */
int fed_errf(fed_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fed_usagef(fed_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fed_syserrf(fed_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "PREFIX: " before e's message, its kind kept; returns -1. */
int fed_errprefix(fed_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The exit status for e: 1 for a rejection, 2 otherwise. */
int fed_status(const fed_err *e);
/* cmd/ only: print "PROGRAM: MESSAGE" and exit with fed_status(e). */
void fed_exit(const fed_err *e) __attribute__((noreturn));
/* cmd/ only: warnx(3) and errx(3) with the message kept to one line of
 * printable ASCII, as fed_err's are: for messages that carry a file
 * operand's name or another untrusted string. */
void fed_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fed_exitf(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* cmd/ only: getopt_long(3), whose own messages (an unknown option, a
 * missing value) quote the command line, with those messages printed
 * through fed_warnf.  An optstring starting with ':' prints none. */
struct option;
int fed_getopt_long(int argc, char *const argv[], const char *optstring,
    const struct option *longopts, int *longindex);
/* cmd/ is built with FED_CMD: there errx(3), warnx(3) and getopt_long(3)
 * are the three above, so every message a tool prints, with whatever
 * option value or operand it quotes, is one line of printable ASCII,
 * without each call having to say so. */
#ifdef FED_CMD
#define errx fed_exitf
#define warnx fed_warnf
#define getopt_long fed_getopt_long
#endif

void *xmalloc(size_t n);
/* xmalloc for a large buffer read at random (a data set's rows): its
 * whole 2 MiB pages asked to be huge ones, before anything is written,
 * so that rows far apart do not each miss the TLB.  Advice only. */
void *xmalloc_huge(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/* Strict decimal parsers: the whole string, in range, or -1. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_double(const char *s, double min, double max, double *out);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const uint8_t *in, size_t n);

/* Read a whole file ("-" is stdin) of at most max bytes into a new buffer.
 * Failing to open or read it is FED_ESYSTEM; a larger file is rejected. */
uint8_t *read_file(const char *path, size_t max, size_t *len, fed_err *e);
/* The same from an open descriptor, to its end; name is for messages. */
uint8_t *fed_read_fd(int fd, const char *name, size_t max, size_t *len,
    fed_err *e);

/*
 * Untrusted text (member names, manifest strings, file names) made safe for
 * one line of a message or log: backslash, tab, newline and carriage return
 * as \\ \t \n \r, every other byte outside printable ASCII (escape, C1
 * controls, DEL) as \xNN, and the result cut to FED_ESCMAX characters with
 * "..." marking the cut.  Returns dst, which holds dstlen bytes.
 */
#define FED_ESCMAX 160
char *fed_escape(char *dst, size_t dstlen, const char *src);

/* Free n strings and the array that holds them. */
void fed_freev(char **v, size_t n);

/* "stdin" for "-", the path otherwise: for messages. */
const char *display_name(const char *path);

#endif
