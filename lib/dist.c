/*
 * dist: the MPI layer of data-parallel training.  One collective per
 * combined gradient (MPI_Iallgather of bytes, awaited without spinning),
 * then a sum in rank order that every rank computes alike; see dist.h
 * for why not MPI_Allreduce.
 * Each rank computes its partial gradient in its own memory, and dist
 * copies it into its slot of the gathered buffer (dist_stream), which
 * grows to the largest gradient once and is kept.  When the job is one
 * machine the slots live in a shared window (MPI_Win_allocate_shared)
 * and the collective is a barrier: each rank reads the others' slots
 * where they were written.  A rank then has two slots and writes them in
 * turn, so that it may start its next part while a slower rank still
 * reads its last: that rank has passed the barrier of this sum, so it is
 * done with the sum before.  The copy costs less than it saves: a rank
 * that computed in its slot would store to lines the other ranks read
 * the sum before, and each such store must first take its line from the
 * reader's core.  A rank sums its own part where it computed it.
 * A sharded step (dist_share) uses a second shared window, the weights:
 * each rank sums and steps its own share of them, and a barrier makes
 * every share visible before the next pass reads the whole.  There a
 * rank copies into the windows only what the others read.
 */
#define _GNU_SOURCE                 /* sched_getaffinity, CPU_COUNT */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>
#ifdef __SSE__
#include <immintrin.h>
#endif

#include "dist.h"
#include "nn.h"
#include "xsum.h"

#define HEAD 16                     /* weight and loss, two doubles */
#define BLOCK 512                   /* floats summed at a time */
#define SPINS 20000                 /* tests before await sleeps: 0.3 ms
                                     * on shared memory (16 ns a test) */
#define WAITSTEP 10000              /* ns more each sleep */
#define WAITMAX 200000              /* ns, the longest sleep */

/* The slots of a job on one machine. */
struct dist_shm {
	MPI_Comm node;              /* the ranks, in world order */
	MPI_Win win;                /* MPI_WIN_NULL until a slot */
	unsigned char **base;       /* (size) each rank's two slots */
	int turn;                   /* which of the two this sum uses */
	MPI_Win wwin;               /* the shared weights, or MPI_WIN_NULL */
	float *w;                   /* (wn) those weights */
	uint64_t wn;
	MPI_Win bwin;               /* the boards, or MPI_WIN_NULL */
};

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

/* Shared slots when every rank of the job is on this machine; else
 * the gathered ones. */
static void
shm_init(struct dist *d)
{
	MPI_Comm node;
	int n = 0;

	if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED,
	    d->rank, MPI_INFO_NULL, &node) != MPI_SUCCESS)
		return;
	if (MPI_Comm_size(node, &n) != MPI_SUCCESS || n != d->size) {
		MPI_Comm_free(&node);
		return;
	}
	d->shm = xcalloc(1, sizeof(*d->shm));
	d->shm->node = node;
	d->shm->win = MPI_WIN_NULL;
	d->shm->wwin = MPI_WIN_NULL;
	d->shm->bwin = MPI_WIN_NULL;
	d->shm->base = xcalloc((size_t)d->size, sizeof(*d->shm->base));
}

/* A window of the run's passive epoch, closed and freed. */
static void
win_free(MPI_Win *w)
{
	if (*w == MPI_WIN_NULL)
		return;
	MPI_Win_unlock_all(*w);
	MPI_Win_free(w);
	*w = MPI_WIN_NULL;
}

static void
shm_free(struct dist_shm *s)
{
	win_free(&s->win);
}

static void
weights_free(struct dist_shm *s)
{
	win_free(&s->wwin);
	s->w = NULL;
	s->wn = 0;
}

static void
boards_free(struct dist *d)
{
	if (d->shm != NULL)
		win_free(&d->shm->bwin);
	free(d->board);
	free(d->boards);
	d->board = NULL;
	d->boards = NULL;
	d->bn = 0;
}

/* A shared window of bytes for every rank, each rank's in its own
 * pages, at[r] rank r's; a passive epoch open on all for the run
 * (MPI_Win_sync orders the loads and stores around each barrier). */
static int
win_each(struct dist *d, size_t bytes, MPI_Win *win, unsigned char **at)
{
	MPI_Info info;
	MPI_Aint size;
	int r, u, ok;

	MPI_Info_create(&info);
	MPI_Info_set(info, "alloc_shared_noncontig", "true");
	ok = MPI_Win_allocate_shared((MPI_Aint)bytes, 1, info, d->shm->node,
	    &at[d->rank], win) == MPI_SUCCESS;
	MPI_Info_free(&info);
	for (r = 0; ok && r < d->size; r++)
		ok = MPI_Win_shared_query(*win, r, &size, &u, &at[r]) ==
		    MPI_SUCCESS;
	return ok && MPI_Win_lock_all(MPI_MODE_NOCHECK, *win) ==
	    MPI_SUCCESS ? 0 : -1;
}

/* Two slots of d->slot bytes for every rank. */
static int
shm_grow(struct dist *d, fed_err *e)
{
	struct dist_shm *s = d->shm;

	shm_free(s);
	if (win_each(d, 2 * d->slot, &s->win, s->base) < 0)
		return fed_syserrf(e, "mpi: cannot share the gradients' "
		    "memory");
	memset(s->base[d->rank], 0, 2 * d->slot);
	return 0;
}

/* Every rank's slot for this sum into d->at. */
static void
place(struct dist *d)
{
	int r;

	for (r = 0; r < d->size; r++)
		d->at[r] = d->shm != NULL ? d->shm->base[r] +
		    (size_t)d->shm->turn * d->slot : d->slots +
		    (size_t)r * d->slot;
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
	d->at = xcalloc((size_t)d->size, sizeof(*d->at));
	if (d->size > 1)
		shm_init(d);
	return 0;
}

void
dist_finish(struct dist *d)
{
	boards_free(d);
	if (d->shm != NULL) {
		shm_free(d->shm);
		weights_free(d->shm);
		MPI_Comm_free(&d->shm->node);
		free(d->shm->base);
		free(d->shm);
	}
	if (d->mpi)
		MPI_Finalize();
	free(d->slots);
	free(d->losses);
	free(d->weights);
	free(d->at);
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
		d->slot = (HEAD + bytes + 63) & ~(size_t)63;
		if (d->shm != NULL) {
			if (shm_grow(d, e) < 0)
				return NULL;
		} else {
			free(d->slots);
			d->slots = xcalloc((size_t)d->size, d->slot);
		}
	}
	place(d);
	return d->at[d->rank];
}

/* Where this rank's partial gradient of n floats goes for the next sum
 * (with shared slots it changes from one to the next). */
static float *
part_slot(struct dist *d, uint64_t n, fed_err *e)
{
	unsigned char *p = slot(d, n * sizeof(float), e);

	return p != NULL ? (float *)(p + HEAD) : NULL;
}

int
dist_room(struct dist *d, uint64_t n, fed_err *e)
{
	return part_slot(d, n, e) != NULL ? 0 : -1;
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
 * nothing.  The loop lasts long enough to ride out the other rank's
 * losing its core for a moment to a job of lower priority: a rank that
 * slept after 32 us handed its core to such a job, which then kept it
 * past the wake-up (mlp 784-200-200-10 at batch 256, two ranks beside
 * niced jobs: 157-175k samples/s, 171-189k spinning 0.3 ms, no more
 * spinning 1.6 ms).
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

/* Every rank's slot in reach: gathered, or shared once every rank has
 * written its own. */
static int
exchange(struct dist *d)
{
	MPI_Request q;

	if (d->shm == NULL)
		return MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL,
		    d->slots, (int)d->slot, MPI_BYTE, MPI_COMM_WORLD, &q) !=
		    MPI_SUCCESS || await(&q) < 0 ? -1 : 0;
	if (MPI_Win_sync(d->shm->win) != MPI_SUCCESS ||
	    MPI_Ibarrier(d->shm->node, &q) != MPI_SUCCESS || await(&q) < 0 ||
	    MPI_Win_sync(d->shm->win) != MPI_SUCCESS)
		return -1;
	return 0;
}

/* This rank's weight and loss into the head of its slot. */
static void
head(struct dist *d, double w, double loss)
{
	memcpy(d->at[d->rank], &w, sizeof(double));
	memcpy(d->at[d->rank] + 8, &loss, sizeof(double));
}

/* The ranks' losses from their slots, added in rank order. */
static double
losses(const struct dist *d)
{
	double l, sum = 0;
	int r;

	for (r = 0; r < d->size; r++) {
		memcpy(&l, d->at[r] + 8, sizeof(double));
		sum += l;
	}
	return sum;
}

/* Every rank's slot (w, loss, part) to every rank; the losses added in
 * rank order into *loss. */
static int
gather(struct dist *d, double w, double *loss, fed_err *e)
{
	head(d, w, *loss);
	if (exchange(d) < 0)
		return fed_syserrf(e, "mpi: gathering the gradients failed");
	*loss = losses(d);
	return 0;
}

/* The next sum's slots: with shared ones, this rank's other. */
static void
turn(struct dist *d)
{
	if (d->shm != NULL)
		d->shm->turn ^= 1;
}

/* Rank r's partial gradient: in its slot, or this rank's own, when
 * given, where it was computed. */
static const float *
part_of(const struct dist *d, int r, const float *own)
{
	if (r == d->rank && own != NULL)
		return own;
	return (const float *)(d->at[r] + HEAD);
}

/* g [lo, hi) = sum over ranks in order of w_r g_r, in double, a block
 * at a time so that the accumulator stays in cache.  Vectorized (NN_HOT)
 * without contracting into fused multiply-adds (ISO C: -std=c11), so
 * every clone and every machine rounds alike, and each element is the
 * same whatever range it is summed in. */
static NN_HOT void
combine(const struct dist *d, float *g, const float *own, uint64_t lo,
    uint64_t hi)
{
	double acc[BLOCK];
	const float *gr;
	uint64_t i, j, m;
	int r;

	for (r = 0; r < d->size; r++)
		memcpy(&d->weights[r], d->at[r], sizeof(double));
	for (i = lo; i < hi; i += m) {
		m = hi - i < BLOCK ? hi - i : BLOCK;
		gr = part_of(d, 0, own) + i;
		for (j = 0; j < m; j++)
			acc[j] = d->weights[0] * (double)gr[j];
		for (r = 1; r < d->size; r++) {
			gr = part_of(d, r, own) + i;
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
dist_sum(struct dist *d, float *g, const float *part, uint64_t n, double w,
    double *loss, fed_err *e)
{
	float *slot;

	if (n == 0)
		return sum_losses(d, loss, e);
	if ((slot = part_slot(d, n, e)) == NULL)
		return -1;
	dist_stream(slot, part, n);
	if (gather(d, w, loss, e) < 0)
		return -1;
	combine(d, g, part, 0, n);
	turn(d);
	return 0;
}

void
dist_range(const struct dist *d, uint64_t n, uint64_t *lo, uint64_t *hi)
{
	/* whole cache lines, so that no two ranks write one */
	*lo = (n * (uint64_t)d->rank / (uint64_t)d->size) & ~(uint64_t)15;
	*hi = d->rank + 1 == d->size ? n :
	    (n * (uint64_t)(d->rank + 1) / (uint64_t)d->size) & ~(uint64_t)15;
}

/*
 * n floats from src to dst, with stores that bypass this core's caches
 * (non-temporal), then a fence.  Memory another rank reads is written so:
 * an ordinary store must first take the line from the other core's cache
 * (it read it the step before), and on two cores of this machine that
 * cost 15 times the stores themselves (tests/bench/mpi.sh).
 */
void
dist_stream(float *dst, const float *src, uint64_t n)
{
#ifdef __SSE__
	uint64_t i;

	for (i = 0; i < n && ((uintptr_t)(dst + i) & 15) != 0; i++)
		dst[i] = src[i];
	for (; i + 4 <= n; i += 4)
		_mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
	for (; i < n; i++)
		dst[i] = src[i];
	_mm_sfence();
#else
	memcpy(dst, src, n * sizeof(float));
#endif
}

int
dist_sum_post(struct dist *d, const float *part, uint64_t n, double w,
    double loss, fed_err *e)
{
	uint64_t lo, hi;
	float *slot;

	if ((slot = part_slot(d, n, e)) == NULL)
		return -1;
	/* what the other ranks sum: all of it but this rank's share */
	dist_range(d, n, &lo, &hi);
	dist_stream(slot, part, lo);
	dist_stream(slot + hi, part + hi, n - hi);
	head(d, w, loss);
	return 0;
}

void
dist_sum_take(struct dist *d, float *g, const float *part, uint64_t n,
    double *loss)
{
	uint64_t lo, hi;

	dist_range(d, n, &lo, &hi);
	*loss = losses(d);
	combine(d, g, part, lo, hi);
	turn(d);
}

int
dist_sum_share(struct dist *d, float *g, const float *part, uint64_t n,
    double w, double *loss, fed_err *e)
{
	if (dist_sum_post(d, part, n, w, *loss, e) < 0)
		return -1;
	if (exchange(d) < 0)
		return fed_syserrf(e, "mpi: gathering the gradients failed");
	dist_sum_take(d, g, part, n, loss);
	return 0;
}

int
dist_share(struct dist *d, uint64_t n, float **w, fed_err *e)
{
	struct dist_shm *s = d->shm;
	MPI_Aint size;
	int u;

	*w = NULL;
	if (s == NULL || n > (uint64_t)INT_MAX / sizeof(float))
		return 0;
	if (n <= s->wn) {
		*w = s->w;
		return 0;
	}
	weights_free(s);
	if (MPI_Win_allocate_shared(d->rank == 0 ? (MPI_Aint)(n *
	    sizeof(float)) : 0, sizeof(float), MPI_INFO_NULL, s->node, &s->w,
	    &s->wwin) != MPI_SUCCESS ||
	    MPI_Win_shared_query(s->wwin, 0, &size, &u, &s->w) != MPI_SUCCESS ||
	    MPI_Win_lock_all(MPI_MODE_NOCHECK, s->wwin) != MPI_SUCCESS)
		return fed_syserrf(e, "mpi: cannot share the weights' memory");
	s->wn = n;
	*w = s->w;
	return 0;
}

/* Boards of n floats in a shared window. */
static int
boards_shared(struct dist *d, uint64_t n, fed_err *e)
{
	unsigned char **at = xcalloc((size_t)d->size, sizeof(*at));
	int r, rc;

	rc = win_each(d, n * sizeof(float), &d->shm->bwin, at);
	for (r = 0; rc == 0 && r < d->size; r++)
		d->board[r] = (float *)(void *)at[r];
	free(at);
	return rc < 0 ? fed_syserrf(e, "mpi: cannot share the boards' "
	    "memory") : 0;
}

int
dist_boards(struct dist *d, uint64_t n, float ***at, fed_err *e)
{
	int r;

	*at = NULL;
	if (!dist_parallel(d) || n == 0 ||
	    n > (uint64_t)INT_MAX / sizeof(float))
		return 0;
	if (n > d->bn) {
		boards_free(d);
		d->board = xcalloc((size_t)d->size, sizeof(*d->board));
		if (d->shm != NULL) {
			if (boards_shared(d, n, e) < 0)
				return -1;
		} else {
			d->boards = xcalloc((size_t)d->size * n, sizeof(float));
			for (r = 0; r < d->size; r++)
				d->board[r] = d->boards + (size_t)r * n;
		}
		d->bn = n;
	}
	*at = d->board;
	return 0;
}

int
dist_trade(struct dist *d, uint64_t off, uint64_t len, fed_err *e)
{
	MPI_Datatype one = MPI_DATATYPE_NULL, apart = MPI_DATATYPE_NULL;
	MPI_Request q;
	int ok;

	if (d->shm != NULL)
		return dist_barrier(d, e);
	if (len == 0)
		return 0;
	/* each rank's [off, off + len), its board's length apart */
	ok = MPI_Type_contiguous((int)len, MPI_FLOAT, &one) == MPI_SUCCESS;
	ok = ok && MPI_Type_create_resized(one, 0, (MPI_Aint)(d->bn *
	    sizeof(float)), &apart) == MPI_SUCCESS;
	ok = ok && MPI_Type_commit(&apart) == MPI_SUCCESS;
	ok = ok && MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL,
	    d->boards + off, 1, apart, MPI_COMM_WORLD, &q) == MPI_SUCCESS &&
	    await(&q) == 0;
	if (apart != MPI_DATATYPE_NULL)
		MPI_Type_free(&apart);
	if (one != MPI_DATATYPE_NULL)
		MPI_Type_free(&one);
	return ok ? 0 : fed_syserrf(e, "mpi: trading the boards failed");
}

int
dist_spread(struct dist *d, float *x, const uint64_t *at, fed_err *e)
{
	int *count = xcalloc((size_t)d->size, sizeof(int));
	int *start = xcalloc((size_t)d->size, sizeof(int));
	int r, ok;

	for (r = 0; r < d->size; r++) {
		start[r] = (int)at[r];
		count[r] = (int)(at[r + 1] - at[r]);
	}
	ok = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, count,
	    start, MPI_FLOAT, MPI_COMM_WORLD) == MPI_SUCCESS;
	free(count);
	free(start);
	return ok ? 0 : fed_syserrf(e, "mpi: spreading the weights failed");
}

/* Loads and stores of the shared windows ordered around a barrier. */
static int
win_sync(const struct dist_shm *s)
{
	if (s == NULL)
		return 0;
	if (s->win != MPI_WIN_NULL && MPI_Win_sync(s->win) != MPI_SUCCESS)
		return -1;
	if (s->wwin != MPI_WIN_NULL && MPI_Win_sync(s->wwin) != MPI_SUCCESS)
		return -1;
	if (s->bwin != MPI_WIN_NULL && MPI_Win_sync(s->bwin) != MPI_SUCCESS)
		return -1;
	return 0;
}

int
dist_barrier(struct dist *d, fed_err *e)
{
	MPI_Request q;

	if (!d->mpi || d->size == 1)
		return 0;
	if (win_sync(d->shm) < 0 ||
	    MPI_Ibarrier(MPI_COMM_WORLD, &q) != MPI_SUCCESS ||
	    await(&q) < 0 || win_sync(d->shm) < 0)
		return fed_syserrf(e, "mpi: waiting for the other ranks failed");
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
		xsum_merge(acc, (const xsum_t *)(d->at[r] + HEAD), n);
	turn(d);
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
