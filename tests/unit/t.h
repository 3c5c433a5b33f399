/*
 * t.h: the unit-test harness.  Each check prints "PASS: name" or
 * "FAIL: name: why"; tests/run counts the lines.  main() returns the
 * number of failures so a crash or a failure both show.
 */
#ifndef FED_T_H
#define FED_T_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int t_failed;

#define T_OK(name, cond) do { \
	if (cond) \
		printf("PASS: %s\n", (name)); \
	else { \
		printf("FAIL: %s: %s (%s:%d)\n", (name), #cond, __FILE__, \
		    __LINE__); \
		t_failed++; \
	} \
} while (0)

/* |got - want| <= tol * max(1, |want|) */
#define T_NEAR(name, got, want, tol) do { \
	double t_g = (got), t_w = (want); \
	if (fabs(t_g - t_w) <= (tol) * (fabs(t_w) > 1 ? fabs(t_w) : 1)) \
		printf("PASS: %s\n", (name)); \
	else { \
		printf("FAIL: %s: got %.9g want %.9g (%s:%d)\n", (name), \
		    t_g, t_w, __FILE__, __LINE__); \
		t_failed++; \
	} \
} while (0)

#define T_DONE() return t_failed ? 1 : 0

#endif
