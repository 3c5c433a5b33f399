/*
 * mout: the next model written once (see mout.h); straight into the
 * output through bstream's parts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstream.h"
#include "mmodel.h"
#include "moments.h"
#include "mout.h"
#include "mrec.h"
#include "weights.h"

int
mout_open(struct mout *m, int out, int direct, const struct arch *a,
    uint64_t nbytes, uint64_t np, int nstate, fed_err *e)
{
	static const char *const plain[] = { "" }, *const mv[] = { "m.", "v." };
	struct stat sb;
	uint8_t *sh;
	size_t hl;

	memset(m, 0, sizeof(*m));
	m->out = out;
	m->tfd = m->sfd = -1;
	/* standard output gets nothing from a run that fails: a spool */
	m->direct = direct && nstate == 0 && out != STDOUT_FILENO &&
	    fstat(out, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (m->start = lseek(out, 0, SEEK_CUR)) >= 0;
	if ((m->thead = mrec_header(a, plain, 1, &hl, e)) == NULL)
		return -1;
	m->thdr = hl;
	m->tsize = hl + nbytes;
	if (!m->direct && (m->tfd = mrec_spool(m->thead, hl, e)) < 0)
		return -1;
	if (nstate == 0)
		return 0;
	if ((sh = mrec_header(a, mv, nstate, &hl, e)) == NULL)
		return -1;
	m->shdr = hl;
	m->ssize = hl + np * 4 * (uint64_t)nstate;
	m->sfd = mrec_spool(sh, hl, e);
	free(sh);
	return m->sfd < 0 ? -1 : 0;
}

/* The record with a placeholder hash and the weights' member header,
 * from the bundle's start (again). */
static int
begin_direct(struct mout *m, json_t *man, fed_err *e)
{
	bundle_writer_close(m->w, NULL);
	m->w = NULL;
	if (lseek(m->out, m->start, SEEK_SET) < 0 ||
	    ftruncate(m->out, m->start) < 0)
		return fed_syserrf(e, "output: %s", strerror(errno));
	m->w = bstream_direct(m->out, man, WEIGHTS_MEMBER, m->tsize,
	    &m->start, &m->ml, e);
	return m->w == NULL ? -1 : 0;
}

static int
to_writer(void *arg, const void *p, size_t n, fed_err *e)
{
	struct mout *m = arg;

	return bundle_writer_data(m->w, p, n, e);
}

/* The spool, at the offsets the weights were made for. */
static int
to_spool(void *arg, const void *p, size_t n, fed_err *e)
{
	struct mout *m = arg;

	if (mrec_pwrite(m->tfd, p, n, m->wat) < 0)
		return fed_syserrf(e, "spool: %s", strerror(errno));
	m->wat += n;
	return 0;
}

int
mout_begin(struct mout *m, json_t *man, fed_err *e)
{
	ring_end(m->ring, NULL);
	m->ring = NULL;
	sha256_free(m->th);
	m->th = sha256_new();
	m->next = m->wat = m->thdr;
	if (!m->direct) {       /* the spool has the header */
		sha256_update(m->th, m->thead, m->thdr);
		m->ring = ring_start(m->th, to_spool, m);
		return 0;
	}
	if (begin_direct(m, man, e) < 0)
		return -1;
	/* the header through the ring too, so that its blocks lie where
	 * the file's do, aligned as dio wants them */
	m->ring = ring_start(m->th, to_writer, m);
	return ring_put(m->ring, m->thead, m->thdr, e);
}

int
mout_fits(const struct mout *m, json_t *man)
{
	return bstream_direct_fits(man, WEIGHTS_MEMBER, m->tsize, m->ml);
}

int
mout_weights(void *arg, const void *p, size_t n, uint64_t off)
{
	struct mout *m = arg;
	fed_err e;

	/* made in order: a gap would be a bug, not a bad input */
	if (m->thdr + off != m->next) {
		errno = EINVAL;
		return -1;
	}
	m->next += n;
	return ring_put(m->ring, p, n, &e);
}

int
mout_state(struct mout *m, const void *p, size_t n, uint64_t off)
{
	return mrec_pwrite(m->sfd, p, n, m->shdr + off);
}

int
mout_finish(struct mout *m, json_t *man, const uint8_t *moments,
    size_t mlen, char *digest, fed_err *e)
{
	struct bundle_payload p[3];
	uint8_t md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int n = 1, r;

	r = ring_end(m->ring, e);
	m->ring = NULL;
	if (r < 0)
		return -1;
	sha256_final(m->th, md);
	sha256_free(m->th);
	m->th = NULL;
	hex_encode(hex, md, SHA256_LEN);
	if (m->direct) {        /* the caller asked it only without moments */
		r = bstream_direct_end(m->w, m->out, man, WEIGHTS_MEMBER,
		    m->tsize, m->start, m->ml, hex, digest, e);
		m->w = NULL;
		return r;
	}
	memset(p, 0, sizeof(p));
	p[0] = (struct bundle_payload){ WEIGHTS_MEMBER, NULL, m->tfd,
	    m->tsize, hex };
	if (m->sfd >= 0)
		p[n++] = (struct bundle_payload){ MMODEL_STATE, NULL, m->sfd,
		    m->ssize, NULL };
	if (moments != NULL)
		p[n++] = (struct bundle_payload){ MOMENTS_MEMBER, moments, -1,
		    mlen, NULL };
	return bundle_write(m->out, man, p, n, digest, e);
}

void
mout_free(struct mout *m)
{
	ring_end(m->ring, NULL);
	bundle_writer_close(m->w, NULL);
	sha256_free(m->th);
	free(m->thead);
	if (m->tfd >= 0)
		close(m->tfd);
	if (m->sfd >= 0)
		close(m->sfd);
}
