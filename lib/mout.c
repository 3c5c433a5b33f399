/*
 * mout: the next model written once (see mout.h).  Straight into the
 * output, the record differs between its placeholder and the final text
 * only in the 64 hex digits of the weights' hash, so its length and
 * everything around it are the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "mmodel.h"
#include "moments.h"
#include "mout.h"
#include "mrec.h"
#include "weights.h"

#define TAR_BLOCK 512

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

/* man's members: the weights alone, their hash hex. */
static uint8_t *
dump_direct(const struct mout *m, json_t *man, const char *hex, size_t *len)
{
	json_object_set_new(man, "members", json_pack("[{s:s,s:I,s:s}]",
	    "name", WEIGHTS_MEMBER, "size", (json_int_t)m->tsize, "sha256",
	    hex));
	return manifest_dump(man, len);
}

/* The record with a placeholder hash, the weights' member header and
 * their safetensors header, from the bundle's start. */
static int
begin_direct(struct mout *m, json_t *man, fed_err *e)
{
	char zero[2 * SHA256_LEN + 1];
	uint8_t *mb;
	int r = -1;

	bundle_writer_close(m->w, NULL);
	m->w = NULL;
	if (lseek(m->out, m->start, SEEK_SET) < 0 ||
	    ftruncate(m->out, m->start) < 0)
		return fed_syserrf(e, "output: %s", strerror(errno));
	memset(zero, '0', sizeof(zero) - 1);
	zero[sizeof(zero) - 1] = '\0';
	mb = dump_direct(m, man, zero, &m->ml);
	if ((m->w = bundle_writer_open(m->out, e)) != NULL &&
	    bundle_writer_member(m->w, "manifest.json", m->ml, e) == 0 &&
	    bundle_writer_data(m->w, mb, m->ml, e) == 0 &&
	    bundle_writer_member(m->w, WEIGHTS_MEMBER, m->tsize, e) == 0 &&
	    bundle_writer_data(m->w, m->thead, m->thdr, e) == 0)
		r = 0;
	free(mb);
	m->next = m->thdr;
	return r;
}

int
mout_begin(struct mout *m, json_t *man, fed_err *e)
{
	sha256_free(m->th);
	m->th = sha256_new();
	sha256_update(m->th, m->thead, m->thdr);
	return m->direct ? begin_direct(m, man, e) : 0;
}

int
mout_weights(void *arg, const void *p, size_t n, uint64_t off)
{
	struct mout *m = arg;
	fed_err e;

	if (!m->direct)
		return mrec_pwrite(m->tfd, p, n, m->thdr + off);
	/* made in order: a gap would be a bug, not a bad input */
	if (m->thdr + off != m->next || bundle_writer_data(m->w, p, n,
	    &e) < 0) {
		errno = m->thdr + off != m->next ? EINVAL : EIO;
		return -1;
	}
	m->next += n;
	return 0;
}

int
mout_state(struct mout *m, const void *p, size_t n, uint64_t off)
{
	return mrec_pwrite(m->sfd, p, n, m->shdr + off);
}

/* The writer closed, the final record over its placeholder. */
static int
finish_direct(struct mout *m, json_t *man, const char *hex, char *digest,
    fed_err *e)
{
	uint8_t *mb;
	size_t ml;
	int r = bundle_writer_close(m->w, e);

	m->w = NULL;
	if (r < 0)
		return -1;
	mb = dump_direct(m, man, hex, &ml);
	if (ml != m->ml)
		r = fed_syserrf(e, "manifest.json: changed length");
	else if (mrec_pwrite(m->out, mb, ml, (uint64_t)m->start +
	    TAR_BLOCK) < 0)
		r = fed_syserrf(e, "manifest.json: %s", strerror(errno));
	else if (lseek(m->out, 0, SEEK_END) < 0)
		r = fed_syserrf(e, "output: %s", strerror(errno));
	if (digest != NULL)
		manifest_digest(mb, ml, digest);
	free(mb);
	return r;
}

int
mout_finish(struct mout *m, json_t *man, const uint8_t *moments,
    size_t mlen, char *digest, fed_err *e)
{
	struct bundle_payload p[3];
	uint8_t md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int n = 1;

	sha256_final(m->th, md);
	sha256_free(m->th);
	m->th = NULL;
	hex_encode(hex, md, SHA256_LEN);
	if (m->direct)          /* the caller asked it only without moments */
		return finish_direct(m, man, hex, digest, e);
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
	bundle_writer_close(m->w, NULL);
	sha256_free(m->th);
	free(m->thead);
	if (m->tfd >= 0)
		close(m->tfd);
	if (m->sfd >= 0)
		close(m->sfd);
}
