/*
 * dist: the MPI layer of data-parallel training.  One collective per
 * combined gradient (MPI_Allgather of bytes), then a sum in rank order
 * that every rank computes alike; see dist.h for why not MPI_Allreduce.
 * Buffers grow to the largest gradient once and are kept.
 */
#define _GNU_SOURCE                 /* sched_getaffinity, CPU_COUNT */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "dist.h"

#define HEAD 16                     /* weight and loss, two doubles */
#define BLOCK 512                   /* floats summed at a time */

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
	return 0;
}

void
dist_finish(struct dist *d)
{
	if (d->mpi)
		MPI_Finalize();
	free(d->slots);
	free(d->mine);
	memset(d, 0, sizeof(*d));
}

void
dist_abort(const struct dist *d, int status)
{
	if (d != NULL && d->mpi && d->size > 1)
		MPI_Abort(MPI_COMM_WORLD, status);
	exit(status);
}

static int
reserve(struct dist *d, uint64_t n, fed_err *e)
{
	if (n <= d->cap && d->slots != NULL)
		return 0;
	if (n > (uint64_t)(INT_MAX - HEAD) / sizeof(float))
		return fed_usagef(e, "mpi: %llu parameters are too many for "
		    "one message", (unsigned long long)n);
	free(d->slots);
	free(d->mine);
	d->cap = n;
	d->mine = xmalloc(HEAD + n * sizeof(float));
	d->slots = xcalloc((size_t)d->size, HEAD + n * sizeof(float));
	return 0;
}

/* g (n) = sum over ranks in order of w_r g_r, in double, a block at a
 * time so that the accumulator stays in cache. */
static void
combine(const struct dist *d, float *g, uint64_t n)
{
	size_t slot = HEAD + n * sizeof(float);
	double acc[BLOCK], w;
	const float *gr;
	uint64_t i, j, m;
	int r;

	for (i = 0; i < n; i += m) {
		m = n - i < BLOCK ? n - i : BLOCK;
		for (r = 0; r < d->size; r++) {
			memcpy(&w, d->slots + r * slot, sizeof(double));
			gr = (const float *)(d->slots + r * slot + HEAD) + i;
			if (r == 0)
				for (j = 0; j < m; j++)
					acc[j] = w * (double)gr[j];
			else
				for (j = 0; j < m; j++)
					acc[j] += w * (double)gr[j];
		}
		for (j = 0; j < m; j++)
			g[i + j] = (float)acc[j];
	}
}

int
dist_sum(struct dist *d, float *g, uint64_t n, double w, double *loss,
    fed_err *e)
{
	size_t slot = HEAD + n * sizeof(float);
	double l, sum = 0;
	int r;

	if (reserve(d, n, e) < 0)
		return -1;
	memcpy(d->mine, &w, sizeof(double));
	memcpy(d->mine + 8, loss, sizeof(double));
	memcpy(d->mine + HEAD, g, n * sizeof(float));
	if (MPI_Allgather(d->mine, (int)slot, MPI_BYTE, d->slots, (int)slot,
	    MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS)
		return fed_syserrf(e, "mpi: gathering the gradients failed");
	combine(d, g, n);
	for (r = 0; r < d->size; r++) {
		memcpy(&l, d->slots + r * slot + 8, sizeof(double));
		sum += l;
	}
	*loss = sum;
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
