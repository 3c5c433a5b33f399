/*
 * export: the weights of a model bundle as a plain safetensors file.
 */
#ifndef FED_EXPORT_H
#define FED_EXPORT_H

#include "util.h"

/* The weights of the model bundle at path as a safetensors file at out
 * ("-": standard output), in the names, types and shapes it was imported
 * with, its __metadata__ restored: what PyTorch or the safetensors
 * library load.  The bundle is read as a stream and checked as read;
 * out appears whole or not at all. */
int export_weights(const char *path, const char *out, fed_err *e);

#endif
