/*
 * pool: lockstep threads for fed-merge's passes.  Threads that cannot be
 * created are done without: the barrier is sized for those that started.
 */
#include <pthread.h>

#include "pool.h"

#define POOL_MAX 64

struct pool {
	const struct pool_ops *ops;
	void *job;
	pthread_barrier_t bar;
	pthread_mutex_t gate;
	int stop;
};

struct pool_worker {
	struct pool *p;
	int t;
	pthread_t th;
};

static void *
steps(void *arg)
{
	struct pool_worker *w = arg;
	struct pool *p = w->p;

	pthread_mutex_lock(&p->gate);
	pthread_mutex_unlock(&p->gate);
	for (;;) {
		if (w->t == 0)
			p->stop = p->ops->plan(p->job);
		pthread_barrier_wait(&p->bar);
		if (p->stop)
			break;
		p->ops->read(p->job, w->t);
		pthread_barrier_wait(&p->bar);
		p->ops->compute(p->job, w->t);
		pthread_barrier_wait(&p->bar);
	}
	return NULL;
}

void
pool_run(int nthreads, const struct pool_ops *ops, void *job, int *started)
{
	struct pool_worker w[POOL_MAX];
	struct pool p;
	int t, nt = nthreads < 1 ? 1 : nthreads > POOL_MAX ? POOL_MAX :
	    nthreads;

	p.ops = ops;
	p.job = job;
	p.stop = 0;
	pthread_mutex_init(&p.gate, NULL);
	/* Workers wait at the gate until the barrier is sized for the
	 * threads that did start. */
	pthread_mutex_lock(&p.gate);
	for (t = 0; t < nt; t++) {
		w[t].p = &p;
		w[t].t = t;
		if (t > 0 && pthread_create(&w[t].th, NULL, steps, &w[t]) != 0)
			break;
	}
	nt = t;
	*started = nt;
	pthread_barrier_init(&p.bar, NULL, (unsigned)nt);
	pthread_mutex_unlock(&p.gate);
	steps(&w[0]);
	for (t = 1; t < nt; t++)
		pthread_join(w[t].th, NULL);
	pthread_barrier_destroy(&p.bar);
	pthread_mutex_destroy(&p.gate);
}
