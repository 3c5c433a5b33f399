/*
 * tset: tensor sets fed did not define (architecture tensors:SHA256),
 * imported from any safetensors file.  The layout is canonical whatever
 * the writer's: tensors sorted by name (bytewise), packed in that order,
 * each in its stored type (F32, F16 or BF16), so the same tensors always
 * give the same bundle.  The table (name, dtype, shape of each) is named
 * by the SHA-256 of its text, one line a tensor, NAME TAB DTYPE TAB the
 * dimensions joined by commas, newline; manifests carry it as "tensors".
 * Updates of such a model are float32 whatever the stored type; values
 * go back to F16 or BF16 rounded to nearest even.  What the tensors mean
 * is the user's own stack's: fed trains and evaluates none of them.
 */
#ifndef FED_TSET_H
#define FED_TSET_H

#include <stddef.h>

#include <jansson.h>

#include "arch.h"
#include "st.h"

#define TSET_MAXMETA 65536      /* bytes of __metadata__ kept */

/* The table of st's tensors, canonical, into a (of kind tensors). */
int  tset_from_st(const struct st_file *st, struct arch *a, fed_err *e);
/* A manifest's "tensors" array into a, whose digest it must have. */
int  tset_load(struct arch *a, const json_t *tensors, fed_err *e);
/* The "tensors" array of a loaded table. */
json_t *tset_json(const struct arch *a);
/* __metadata__ as fed keeps it: an object of strings, capped. */
int  tset_meta_check(const json_t *meta, fed_err *e);
/* n values stored as d at src into floats, and back (nearest even). */
void tset_to_float(enum st_dtype d, const void *src, float *dst, size_t n);
/* Returns how many values did not fit the type (became infinite). */
size_t tset_from_float(enum st_dtype d, const float *src, void *dst,
    size_t n);

#endif
