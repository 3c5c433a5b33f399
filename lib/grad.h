/*
 * grad: gradient uploads (fed-bundle(5), "Gradient uploads").  With
 * shared moments and one step a round, everything a holder's update
 * carries (its Adam step, its m and its spread) follows from the model
 * and the holder's gradient.  So a holder may upload only its gradient
 * (fed-train --gradient, encoded, top-k with error feedback), and
 * whoever holds the model expands it (fed-train --expand) into the
 * update that holder would have sent had that been its gradient, which
 * fed-merge merges as any other; the expansion names the upload's
 * digest, and the same upload and model always expand to the same bytes.
 */
#ifndef FED_GRAD_H
#define FED_GRAD_H

#include "bundle.h"

/* The update that the gradient upload at path upload gives from the
 * model at path model, written to out (NULL: standard output). */
int  grad_expand(const char *model, const char *upload, const char *out,
    fed_err *e);

#endif
