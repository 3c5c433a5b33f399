/*
 * pass: passphrase input.  Reading from /dev/tty rather than stdin keeps
 * stdin free for the bundle in a pipeline.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pass.h"

void
pass_free(char *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, strlen(p));
	free(p);
}

char *
pass_from_file(const char *path, fed_err *e)
{
	size_t n;
	uint8_t *buf = read_file(path, PASS_MAX, &n, e);
	char *p;

	if (buf == NULL) {
		/* the operator's file, not input under judgement */
		if (e->kind == FED_EREJECT)
			e->kind = FED_EUSAGE;
		return NULL;
	}
	p = xmalloc(n + 1);
	memcpy(p, buf, n);
	p[n] = '\0';
	OPENSSL_cleanse(buf, n);
	free(buf);
	p[strcspn(p, "\r\n")] = '\0';
	if (*p == '\0') {
		pass_free(p);
		fed_usagef(e, "%s: empty passphrase", path);
		return NULL;
	}
	return p;
}

static char *
ask(int fd, const char *prompt, fed_err *e)
{
	struct termios old, quiet;
	char buf[PASS_MAX], c;
	size_t n = 0;
	ssize_t r;

	if (tcgetattr(fd, &old) < 0) {
		fed_usagef(e, "no terminal to ask for a passphrase");
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	if (write(fd, prompt, strlen(prompt)) < 0)
		n = 0;
	while ((r = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r')
		if (n < sizeof(buf) - 1)
			buf[n++] = c;
	buf[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		r = -1;
	if (r < 0) {
		fed_syserrf(e, "cannot read passphrase: %s", strerror(errno));
		OPENSSL_cleanse(buf, sizeof(buf));
		return NULL;
	}
	return xstrdup(buf);
}

char *
pass_prompt(const char *prompt, int confirm, fed_err *e)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	char *p, *q;

	if (fd < 0) {
		fed_usagef(e, "no terminal to ask for a passphrase");
		return NULL;
	}
	p = ask(fd, prompt, e);
	if (p != NULL && confirm) {
		q = ask(fd, "confirm passphrase: ", e);
		if (q == NULL || strcmp(p, q) != 0) {
			if (q != NULL)
				fed_usagef(e, "passphrases do not match");
			pass_free(p);
			p = NULL;
		}
		pass_free(q);
	}
	close(fd);
	return p;
}
