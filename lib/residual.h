/*
 * residual: fed-train --residual, the error feedback of int8 and top-k
 * encoding (encode.h) kept in a file between rounds: the part of each
 * delta the encoding left out, added to the next.  A safetensors file with the
 * model's tensor names (weights.h), all zeros when it does not exist yet.
 */
#ifndef FED_RESIDUAL_H
#define FED_RESIDUAL_H

#include "arch.h"

/* The residual of path, or zeros; arch_nparams(a) floats to free. */
float *residual_load(const char *path, const struct arch *a, fed_err *e);
/* Write r whole or not at all (out.h). */
int    residual_save(const char *path, const struct arch *a, const float *r,
    fed_err *e);

#endif
