/*
 * dist: data-parallel training across the ranks of an Open MPI job
 * (mpirun, srun).  Only a process that mpirun started joins a job: a
 * plain run never calls into MPI, needs no network and behaves as one
 * rank of one.  Gradients are combined with a reduction whose order is
 * fixed: every rank's partial gradient is gathered to every rank
 * (an all-gather, which moves bytes and adds nothing) and summed there in
 * double in rank order, so the sum never depends on timing or on the MPI
 * implementation, and every rank holds the same bits.  When every rank
 * runs on one machine the slots are an MPI shared-memory window instead:
 * each rank copies its part into its own slot and reads the others' in
 * place, after a barrier; the sum is the same.
 * MPI_Allreduce,
 * whose order of additions is the implementation's, is used for integers
 * only.  Which rows each rank computes is train's business (train.h).
 */
#ifndef FED_DIST_H
#define FED_DIST_H

#include <stdint.h>

#include "util.h"
#include "xsum.h"

struct dist_shm;

struct dist {
	int rank, size;             /* 0 and 1 outside a job */
	int local;                  /* ranks on this machine */
	int mpi;                    /* MPI_Init was called */
	size_t slot;                /* bytes a rank's slot takes */
	unsigned char *slots;       /* (size) slots: weight and loss
	                             * (double), then the partial gradient
	                             * (float, or xsum.h's fixed point) */
	struct dist_shm *shm;       /* all ranks on one machine: the slots
	                             * shared, two a rank, used in turn */
	unsigned char **at;         /* (size) every rank's slot this sum */
	double *losses;             /* (size) gathered losses */
	double *weights;            /* (size) gathered weights */
	float **board;              /* (size) every rank's board, bn
	                             * floats (dist_boards) */
	float *boards;              /* without shared memory: all of them,
	                             * one after another */
	uint64_t bn;
};

/* Joins the job when mpirun started this process (OMPI_COMM_WORLD_SIZE
 * is set), else a rank of one without touching MPI. */
int  dist_init(struct dist *d, int *argc, char ***argv, fed_err *e);
/* Leaves the job (MPI_Finalize); nothing outside one. */
void dist_finish(struct dist *d);
/* Ends every rank of the job with status; an ordinary exit outside
 * one. */
void dist_abort(const struct dist *d, int status)
    __attribute__((noreturn));

/* More than one rank: the training loop must split its batches. */
static inline int
dist_parallel(const struct dist *d)
{
	return d != NULL && d->size > 1;
}

/* Room for partial gradients of n floats, made before the first
 * dist_sum so that a failure shows there: collective when n grows past
 * the largest yet, so every rank must ask alike.  -1 if n is too large. */
int  dist_room(struct dist *d, uint64_t n, fed_err *e);
/*
 * Every rank's weight w, partial gradient part (n floats, the rank's own
 * memory: dist copies it where the others read it) and loss in: g (n
 * floats) becomes, on every rank, the sum over ranks r in order of
 * w_r part_r, added in double and rounded once; *loss becomes the sum of
 * the ranks' losses in rank order.  With n 0 (g and part NULL), the
 * losses alone.
 */
int  dist_sum(struct dist *d, float *g, const float *part, uint64_t n,
    double w, double *loss, fed_err *e);
/*
 * A sharded step: when the ranks share memory, dist_share gives n floats
 * that all of them read and write (*w NULL when they do not; collective,
 * once).  dist_sum_share is dist_sum putting into g only this rank's
 * share of the sum, the elements [lo, hi) of dist_range (whole cache
 * lines, in rank order), from this rank's partial gradient part (n
 * floats, its own memory: only what the others sum is copied where they
 * read it).  A rank then steps its share of its own copy of the
 * weights, copies it into the shared ones with dist_stream, and
 * dist_barrier (every rank reaches it before any leaves) makes every
 * share visible to every rank.  dist_stream copies n floats with
 * stores that leave the line in no core's cache, so that the store need
 * not first take it from the core of a rank that read it.
 */
int  dist_share(struct dist *d, uint64_t n, float **w, fed_err *e);
void dist_range(const struct dist *d, uint64_t n, uint64_t *lo,
    uint64_t *hi);
int  dist_sum_share(struct dist *d, float *g, const float *part,
    uint64_t n, double w, double *loss, fed_err *e);
/* dist_sum_share in two halves around a barrier the caller meets
 * anyway (dist_barrier, or dist_trade on shared memory): post before it,
 * take after it. */
int  dist_sum_post(struct dist *d, const float *part, uint64_t n, double w,
    double loss, fed_err *e);
void dist_sum_take(struct dist *d, float *g, const float *part, uint64_t n,
    double *loss);
void dist_stream(float *dst, const float *src, uint64_t n);
int  dist_barrier(struct dist *d, fed_err *e);
/*
 * Boards: n floats for every rank, at[r] rank r's, each written by its
 * rank (with dist_stream) and read by all after dist_trade (collective;
 * *at NULL outside a job of several ranks).  dist_trade makes every
 * rank's [off, off + len) current on every rank: a barrier when the
 * ranks share the boards' memory, else an all-gather of those elements
 * (the same len on every rank).
 */
int  dist_boards(struct dist *d, uint64_t n, float ***at, fed_err *e);
int  dist_trade(struct dist *d, uint64_t off, uint64_t len, fed_err *e);
/* Rank r's elements [at[r], at[r + 1]) of x to every rank, in place (at:
 * size + 1 bounds, in order, each below INT_MAX). */
int  dist_spread(struct dist *d, float *x, const uint64_t *at, fed_err *e);
/* The same for exact sums (xsum.h): this rank's partial sum of n
 * elements goes into dist_xpart's buffer (asked for before each sum); dist_xsum puts the total of
 * every rank's into acc (n elements), the same bits on every rank
 * whatever the number of ranks. */
xsum_t *dist_xpart(struct dist *d, uint64_t n, fed_err *e);
int  dist_xsum(struct dist *d, xsum_t *acc, uint64_t n, double *loss,
    fed_err *e);
/* 1 when every rank passes ok 1, else 0; a collective step that also
 * keeps rank 0 from writing before the others are done. */
int  dist_agree(struct dist *d, int ok);
/* OpenBLAS threads for a rank: the cores this process may run on,
 * shared among the job's ranks on this machine; 0 to leave OpenBLAS's
 * own choice (outside a job, or OPENBLAS_NUM_THREADS or OMP_NUM_THREADS
 * set). */
int  dist_threads(const struct dist *d);

#endif
