/*
 * dist: the MPI layer of data-parallel training.  One collective per
 * combined gradient (MPI_Iallgather of bytes, awaited without spinning),
 * then a sum in rank order that every rank computes alike; see dist.h
 * for why not MPI_Allreduce.
 * Each rank computes its partial gradient straight into its slot of the
 * gathered buffer (dist_part), which grows to the largest gradient once
 * and is kept.
 */
#define _GNU_SOURCE                 /* sched_getaffinity, CPU_COUNT */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "dist.h"
#include "nn.h"
#include "xsum.h"

#define HEAD 16                     /* weight and loss, two doubles */
#define BLOCK 512                   /* floats summed at a time */
#define SPINS 2000                  /* tests before await sleeps */
#define WAITSTEP 10000              /* ns more each sleep */
#define WAITMAX 200000              /* ns, the longest sleep */

/* A count from the environment, or 0. */
static int
env_count(const char *name)
{
	const char *s = getenv(name);
	uint64_t v;

	if (s == NULL || parse_u64(s, 1, INT_MAX, &v) < 0)
		return 0;
	return (int)v;
}

int
dist_init(struct dist *d, int *argc, char ***argv, fed_err *e)
{
	memset(d, 0, sizeof(*d));
	d->size = 1;
	d->local = 1;
	/* set by mpirun (and by a PMIx launcher such as srun) */
	if (getenv("OMPI_COMM_WORLD_SIZE") == NULL &&
	    getenv("PMIX_RANK") == NULL)
		return 0;
	if (MPI_Init(argc, argv) != MPI_SUCCESS)
		return fed_syserrf(e, "mpi: cannot join the job");
	d->mpi = 1;
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if (MPI_Comm_rank(MPI_COMM_WORLD, &d->rank) != MPI_SUCCESS ||
	    MPI_Comm_size(MPI_COMM_WORLD, &d->size) != MPI_SUCCESS)
		return fed_syserrf(e, "mpi: cannot learn this rank");
	if ((d->local = env_count("OMPI_COMM_WORLD_LOCAL_SIZE")) == 0)
		d->local = 1;
	d->losses = xcalloc((size_t)d->size, sizeof(double));
	d->weights = xcalloc((size_t)d->size, sizeof(double));
	return 0;
}

void
dist_finish(struct dist *d)
{
	if (d->mpi)
		MPI_Finalize();
	free(d->slots);
	free(d->losses);
	free(d->weights);
	memset(d, 0, sizeof(*d));
}

void
dist_abort(const struct dist *d, int status)
{
	if (d != NULL && d->mpi && d->size > 1)
		MPI_Abort(MPI_COMM_WORLD, status);
	exit(status);
}

/* This rank's slot of at least bytes bytes past the head; every slot
 * is as large, a whole number of cache lines. */
static unsigned char *
slot(struct dist *d, uint64_t bytes, fed_err *e)
{
	if (bytes > (uint64_t)INT_MAX - 64 - HEAD) {
		fed_usagef(e, "mpi: a gradient of %llu bytes is too large for "
		    "one message", (unsigned long long)bytes);
		return NULL;
	}
	if (HEAD + bytes > d->slot) {
		free(d->slots);
		d->slot = (HEAD + bytes + 63) & ~(size_t)63;
		d->slots = xcalloc((size_t)d->size, d->slot);
	}
	return d->slots + (size_t)d->rank * d->slot;
}

float *
dist_part(struct dist *d, uint64_t n, fed_err *e)
{
	unsigned char *p = slot(d, n * sizeof(float), e);

	return p != NULL ? (float *)(p + HEAD) : NULL;
}

xsum_t *
dist_xpart(struct dist *d, uint64_t n, fed_err *e)
{
	unsigned char *p = slot(d, 2 * n * sizeof(xsum_t), e);

	return p != NULL ? (xsum_t *)(p + HEAD) : NULL;
}

/*
 * Until q completes: test it, at first in a tight loop, then sleeping
 * between tests, longer and longer up to WAITMAX.  A rank that waits for
 * a slower one then leaves its core to the work (another rank, OpenBLAS's
 * threads, other jobs) instead of spinning as MPI's blocking calls do;
 * balanced ranks on idle cores finish within the tight loop and lose
 * nothing.
 */
static int
await(MPI_Request *q)
{
	struct timespec ts = { 0, 0 };
	int done = 0, tries = 0;

	for (;;) {
		if (MPI_Test(q, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return -1;
		if (done)
			return 0;
		if (++tries < SPINS)
			continue;
		ts.tv_nsec = ts.tv_nsec < WAITMAX ? ts.tv_nsec + WAITSTEP :
		    WAITMAX;
		nanosleep(&ts, NULL);
	}
}

/* Every rank's slot (w, loss, part) to every rank; the losses added in
 * rank order into *loss. */
static int
gather(struct dist *d, double w, double *loss, fed_err *e)
{
	unsigned char *mine = d->slots + (size_t)d->rank * d->slot;
	MPI_Request q;
	double l, sum = 0;
	int r;

	memcpy(mine, &w, sizeof(double));
	memcpy(mine + 8, loss, sizeof(double));
	if (MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, d->slots,
	    (int)d->slot, MPI_BYTE, MPI_COMM_WORLD, &q) != MPI_SUCCESS ||
	    await(&q) < 0)
		return fed_syserrf(e, "mpi: gathering the gradients failed");
	for (r = 0; r < d->size; r++) {
		memcpy(&l, d->slots + r * d->slot + 8, sizeof(double));
		sum += l;
	}
	*loss = sum;
	return 0;
}

/* g (n) = sum over ranks in order of w_r g_r, in double, a block at a
 * time so that the accumulator stays in cache.  Vectorized (NN_HOT)
 * without contracting into fused multiply-adds (ISO C: -std=c11), so
 * every clone and every machine rounds alike. */
static NN_HOT void
combine(const struct dist *d, float *g, uint64_t n)
{
	size_t slot = d->slot;
	double acc[BLOCK];
	const float *gr;
	uint64_t i, j, m;
	int r;

	for (r = 0; r < d->size; r++)
		memcpy(&d->weights[r], d->slots + r * slot, sizeof(double));
	for (i = 0; i < n; i += m) {
		m = n - i < BLOCK ? n - i : BLOCK;
		gr = (const float *)(d->slots + HEAD) + i;
		for (j = 0; j < m; j++)
			acc[j] = d->weights[0] * (double)gr[j];
		for (r = 1; r < d->size; r++) {
			gr = (const float *)(d->slots + r * slot + HEAD) + i;
			for (j = 0; j < m; j++)
				acc[j] += d->weights[r] * (double)gr[j];
		}
		for (j = 0; j < m; j++)
			g[i + j] = (float)acc[j];
	}
}

/* The losses alone: one double from every rank, added in rank order. */
static int
sum_losses(struct dist *d, double *loss, fed_err *e)
{
	double sum = 0;
	int r;

	if (MPI_Allgather(loss, 1, MPI_DOUBLE, d->losses, 1, MPI_DOUBLE,
	    MPI_COMM_WORLD) != MPI_SUCCESS)
		return fed_syserrf(e, "mpi: gathering the losses failed");
	for (r = 0; r < d->size; r++)
		sum += d->losses[r];
	*loss = sum;
	return 0;
}

int
dist_sum(struct dist *d, float *g, uint64_t n, double w, double *loss,
    fed_err *e)
{
	if (n == 0)
		return sum_losses(d, loss, e);
	if (dist_part(d, n, e) == NULL || gather(d, w, loss, e) < 0)
		return -1;
	combine(d, g, n);
	return 0;
}

int
dist_xsum(struct dist *d, xsum_t *acc, uint64_t n, double *loss, fed_err *e)
{
	int r;

	if (dist_xpart(d, n, e) == NULL || gather(d, 1, loss, e) < 0)
		return -1;
	xsum_zero(acc, n);
	for (r = 0; r < d->size; r++)
		xsum_merge(acc, (const xsum_t *)(d->slots + r * d->slot +
		    HEAD), n);
	return 0;
}

int
dist_agree(struct dist *d, int ok)
{
	int all = 0;

	if (!d->mpi)
		return ok;
	if (MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) !=
	    MPI_SUCCESS)
		return 0;
	return all;
}

int
dist_threads(const struct dist *d)
{
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int n, mine;

	if (!d->mpi || getenv("OPENBLAS_NUM_THREADS") != NULL ||
	    getenv("OMP_NUM_THREADS") != NULL)
		return 0;
	n = online > 0 ? (int)(online / d->local) : 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    (mine = CPU_COUNT(&set)) < n)
		n = mine;
	return n > 0 ? n : 1;
}
