/*
 * mmom: Adam's moments through a merge (moments(5) in fed-bundle(5),
 * "Shared moments").  When the updates carry moments, all of them must,
 * each at the model's step plus its own steps, under a rule that
 * averages; the merged m is their weighted mean and v = m^2 plus the
 * weighted mean of their spreads, with the weights and order of the
 * delta's mean.
 */
#ifndef FED_MMOM_H
#define FED_MMOM_H

#include <stddef.h>
#include <stdint.h>

#include "mmodel.h"
#include "mopt.h"
#include "upd.h"

/* Do the updates (not yet left out) share moments?  *on set; updates
 * that do not fit the others are marked; -1 when the rule cannot merge
 * moments. */
int  mmom_plan(struct upd *u, int n, const struct mopt *o,
    const struct mmodel *mi, int *on, fed_err *e);
/* The moments member of the next model from the updates u[act[0..na)]
 * (weights set), read chunks of at most chunk floats at a time, summed
 * in acc (np doubles): 0 with *out (*len bytes) and *step, 1 when an
 * update failed (marked), -1 on another error. */
int  mmom_merge(struct upd *u, const int *act, int na,
    const struct mmodel *mi, double *acc, size_t chunk, int spool,
    uint8_t **out, size_t *len, int64_t *step, fed_err *e);

#endif
