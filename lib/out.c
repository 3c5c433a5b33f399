/*
 * out: whole-or-nothing output.  A named output goes to PATH.XXXXXX beside
 * it (same file system, so rename(2) is atomic) and is renamed on commit.
 * Two writers of one path each rename a whole file; the last one wins.
 * An existing FIFO or character device is written straight into instead,
 * never replaced.
 *
 * The signal handler must know which temporary files to remove, and a
 * handler can only reach static storage: the table below is the one piece
 * of mutable global state in lib/, and only signal cleanup reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out.h"

#define OUT_MAXTMP 4096

static char *volatile pending[OUT_MAXTMP];

static void
on_signal(int sig)
{
	int i;

	for (i = 0; i < OUT_MAXTMP; i++)
		if (pending[i] != NULL)
			unlink(pending[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
track(char *tmp)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	for (i = 0; i < OUT_MAXTMP; i++)
		if (pending[i] == NULL) {
			pending[i] = tmp;
			break;
		}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static void
untrack(const char *tmp)
{
	int i;

	for (i = 0; i < OUT_MAXTMP; i++)
		if (pending[i] == tmp)
			pending[i] = NULL;
}

/*
 * An existing FIFO or character device (a pipe made with mkfifo,
 * /dev/null) is written straight into, as a shell redirection would: a
 * temporary file renamed over it would replace the node with a regular
 * file.  Any other existing file that is not regular (a directory, a
 * socket, a block device) is refused.  1 when o was opened so, 0 when
 * path is a regular file or does not exist.
 */
static int
open_special(struct out *o, const char *path, fed_err *e)
{
	struct stat sb;

	if (stat(path, &sb) < 0 || S_ISREG(sb.st_mode))
		return 0;
	if (S_ISDIR(sb.st_mode))
		return fed_syserrf(e, "%s: is a directory", path);
	if (!S_ISFIFO(sb.st_mode) && !S_ISCHR(sb.st_mode))
		return fed_usagef(e, "%s: not a regular file, FIFO or "
		    "character device", path);
	if ((o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0)
		return fed_syserrf(e, "%s: %s", path, strerror(errno));
	if (isatty(o->fd)) {
		close(o->fd);
		o->fd = -1;
		return fed_usagef(e, "%s: will not write a bundle to a "
		    "terminal", path);
	}
	signal(SIGPIPE, SIG_IGN);
	o->path = xstrdup(path);
	return 1;
}

int
out_open(struct out *o, const char *path, fed_err *e)
{
	size_t n;
	mode_t mask;
	int s;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (path == NULL || strcmp(path, "-") == 0) {
		if (isatty(1))
			return fed_usagef(e, "will not write a bundle to a "
			    "terminal; use -o or a pipe");
		/* EPIPE, not SIGPIPE, so that out_write_all removes our
		 * temporary files before it ends quietly */
		signal(SIGPIPE, SIG_IGN);
		o->fd = 1;
		return 0;
	}
	if ((s = open_special(o, path, e)) != 0)
		return s < 0 ? -1 : 0;
	n = strlen(path) + 8;
	o->path = xstrdup(path);
	o->tmp = xmalloc(n);
	snprintf(o->tmp, n, "%s.XXXXXX", path);
	if ((o->fd = mkstemp(o->tmp)) < 0) {
		fed_syserrf(e, "%s: %s", path, strerror(errno));
		free(o->tmp);
		free(o->path);
		o->tmp = o->path = NULL;
		return -1;
	}
	mask = umask(022);
	umask(mask);
	fchmod(o->fd, 0644 & ~mask);
	track(o->tmp);
	return 0;
}

void
out_abort_all(struct out *outs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out_abort(&outs[i]);
}

int
out_write_all(int fd, const void *p, size_t n, fed_err *e)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		/* the reader of our standard output is gone, and has said
		 * why: end as a writer in a pipeline does, without a second
		 * message, our temporary files removed */
		if (w < 0 && errno == EPIPE && fd == STDOUT_FILENO)
			on_signal(SIGPIPE);
		if (w < 0)
			return fed_syserrf(e, "write: %s", strerror(errno));
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
out_commit(struct out *o, fed_err *e)
{
	int r = 0;

	if (o->path == NULL) {
		/* a pipe or file on stdout: fsync is not ours to ask, but an
		 * error already seen by the kernel shows here */
		if (fsync(1) < 0 && errno != EINVAL && errno != EROFS &&
		    errno != ENOTSUP)
			return fed_syserrf(e, "stdout: %s", strerror(errno));
		return 0;
	}
	if (o->tmp != NULL && fsync(o->fd) < 0)
		r = fed_syserrf(e, "%s: %s", o->path, strerror(errno));
	if (close(o->fd) < 0 && r == 0)
		r = fed_syserrf(e, "%s: %s", o->path, strerror(errno));
	o->fd = -1;
	if (o->tmp == NULL) {           /* a FIFO or device: written */
		free(o->path);
		o->path = NULL;
		return r;
	}
	if (r == 0 && rename(o->tmp, o->path) < 0)
		r = fed_syserrf(e, "%s: %s", o->path, strerror(errno));
	if (r < 0)
		unlink(o->tmp);
	untrack(o->tmp);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return r;
}

void
out_abort(struct out *o)
{
	if (o->path == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp != NULL) {
		unlink(o->tmp);
		untrack(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	o->fd = -1;
}

int
out_spool_open(fed_err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd, n;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	n = snprintf(path, sizeof(path), "%s/fed-spool.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return fed_syserrf(e, "TMPDIR too long");
	if ((fd = mkstemp(path)) < 0)
		return fed_syserrf(e, "%s: %s", dir, strerror(errno));
	unlink(path);
	return fd;
}
