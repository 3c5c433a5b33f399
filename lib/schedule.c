/*
 * schedule: learning-rate schedules.  Only arithmetic on doubles; the
 * caller checks that the warmup leaves steps to decay over.
 */
#include <math.h>
#include <string.h>

#include "schedule.h"

static const char *const names[] = { "constant", "cosine", "linear" };

const char *
schedule_name(enum schedule_kind k)
{
	return names[k];
}

int
schedule_parse(const char *s, enum schedule_kind *k)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*k = (enum schedule_kind)i;
			return 0;
		}
	return -1;
}

/* After the warmup: step of total. */
static double
decay(const struct schedule_opts *o, int64_t step, int64_t total)
{
	double f = (double)step / (double)total;

	switch (o->kind) {
	case SCHEDULE_COSINE:
		return o->lr * 0.5 * (1 + cos(M_PI * f));
	case SCHEDULE_LINEAR:
		return o->lr * (1 - f);
	default:
		return o->lr;
	}
}

double
schedule_lr(const struct schedule_opts *o, int64_t step, int64_t total)
{
	if (step < o->warmup)
		return o->lr * (double)(step + 1) / (double)o->warmup;
	return decay(o, step - o->warmup, total - o->warmup);
}
