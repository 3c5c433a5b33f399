/*
 * pool: a fixed set of threads that run a job in lockstep steps.  Each
 * step: thread 0 alone runs plan (which says whether to stop), then every
 * thread runs read, then every thread runs compute, a barrier between
 * each.  How the work of a phase is shared out is the job's (merge.c hands
 * out tasks from atomic counters), so the results must not depend on
 * which thread ran what, nor on how many threads could be started.
 */
#ifndef FED_POOL_H
#define FED_POOL_H

struct pool_ops {
	int  (*plan)(void *job);        /* nonzero: stop */
	void (*read)(void *job, int thread);
	void (*compute)(void *job, int thread);
};

/* Run job's steps on up to nthreads threads until plan says stop.
 * *started is set to the number of threads running before the first
 * step. */
void pool_run(int nthreads, const struct pool_ops *ops, void *job,
    int *started);

#endif
