/*
 * nn: the layers of fed's models as forward/backward pairs in the manner
 * of llm.c.  Arguments come in the order outputs, inputs, weights,
 * dimensions; nothing here allocates, so a training loop can call these
 * with buffers carved out once.  Matrices are row-major float32; a batch
 * of B rows is one matrix (B, width).  Weights follow arch.h: a dense
 * layer's weight is (out, in), its bias (out).
 *
 * The model-level glue (which layers an architecture stacks, where the
 * activations of a batch live) is nn_net; model.h drives it, optimizers
 * are optim's and the order of data train's.
 */
#ifndef FED_NN_H
#define FED_NN_H

#include <stdint.h>

#include "arch.h"

/*
 * The element-wise loops (ReLU, biases, optimizer steps, byte-to-float
 * conversion) run once per batch over whole layers; at batch 256 they
 * would cost as much as the matrix work if left scalar.  With GCC on
 * x86-64 they are vectorized and cloned for AVX-512 and AVX2, picked at
 * load time, whatever CFLAGS say.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
#define NN_HOT __attribute__((target_clones("avx512f", "avx2", "default"), \
    optimize("O3")))
#else
#define NN_HOT
#endif

/* out (B, out) = in (B, in) . w^T (in -> out) + b */
void nn_dense_forward(float *out, const float *in, const float *w,
    const float *b, int B, int in_w, int out_w);
/*
 * Given dout (B, out): dw (out, in) and db (out) are overwritten with the
 * gradients (not accumulated); din (B, in) too, unless it is NULL (the
 * first layer needs no input gradient).
 */
void nn_dense_backward(float *din, float *dw, float *db, const float *dout,
    const float *in, const float *w, int B, int in_w, int out_w);

/* out = max(in, 0); in place is fine. */
void nn_relu_forward(float *out, const float *in, int64_t n);
/* din = dout where out > 0, else 0; out is nn_relu_forward's output; din may
 * be dout. */
void nn_relu_backward(float *din, const float *dout, const float *out,
    int64_t n);

/*
 * Softmax cross-entropy over C classes.  Forward writes probs (B, C) from
 * logits (B, C), may be in place; returns the sum (not the mean) of the B
 * losses, in double, and counts in *correct the rows whose arg-max is the
 * label (first maximum wins), when correct is not NULL.  pred (B) gets
 * the arg-max if not NULL.
 */
double nn_softmax_xent_forward(float *probs, const float *logits,
    const int32_t *y, int B, int C, int64_t *correct, int32_t *pred);
/* dlogits (B, C) of the mean loss over the batch; may be in place on
 * probs. */
void nn_softmax_xent_backward(float *dlogits, const float *probs,
    const int32_t *y, int B, int C);

/*
 * A network for one architecture and a largest batch: the activation
 * buffers, allocated once by nn_net_init.  Parameters and gradients are
 * flat buffers in arch.h's layout, owned by the caller.
 */
struct nn_net {
	struct arch a;
	int maxbatch;
	int maxwidth;               /* widest layer after the input */
	float *act[ARCH_MAXLAYERS + 1];  /* act[i]: (maxbatch, dims[i]);
	                                  * act[0] is the input batch, the
	                                  * last holds probabilities */
	float *grad[2];             /* (maxbatch, maxwidth), ping-pong */
};

int  nn_net_init(struct nn_net *n, const struct arch *a, int maxbatch,
    fed_err *e);
void nn_net_free(struct nn_net *n);
/* The input rows of a batch go to n->act[0] (B, dims[0]) before these. */
/* Forward B rows; returns the loss sum (double), correct counts as in
 * nn_softmax_xent_forward. */
double nn_forward(struct nn_net *n, const float *params, const int32_t *y,
    int B, int64_t *correct, int32_t *pred);
/* After nn_forward on the same batch: gradient of the mean loss into g
 * (arch_nparams floats, overwritten). */
void nn_backward(struct nn_net *n, float *g, const float *params,
    const int32_t *y, int B);
/* The same from layer first on: nn_forward_from with act[first] holding
 * that layer's input (after its ReLU), nn_backward_to writing the
 * gradients of layers first and up and returning the gradient at
 * act[first] (first > 0: before its ReLU, so of layer first - 1's
 * output; (B, dims[first]), in n's buffers). */
double nn_forward_from(struct nn_net *n, const float *params,
    const int32_t *y, int B, int first, int64_t *correct, int32_t *pred);
float *nn_backward_to(struct nn_net *n, float *g, const float *params,
    const int32_t *y, int B, int first);
/* db (out) = the sum of dout's B rows (B at least 1). */
void nn_sum_rows(float *db, const float *dout, int B, int out_w);


/*
 * OpenBLAS picks its kernels from the CPU model and falls back to a
 * generic SSE3 core ("Prescott") on models newer than it knows, at a
 * third of the speed.  When that happened on a CPU with AVX-512 or AVX2,
 * this names the core type to ask for through OPENBLAS_CORETYPE (read
 * when the library loads, so cmd/ re-executes itself); NULL otherwise.
 */
const char *nn_blas_coretype_hint(void);
/* Re-execute the program with that core type; returns when there is
 * nothing to change, or when exec fails (the program then runs as is). */
void nn_blas_reexec(char *argv[]);
/* Run the matrix work on n threads from now on; returns how many it ran
 * on.  Sums split across threads round differently, so a result that
 * must not depend on OPENBLAS_NUM_THREADS is computed on one. */
int  nn_blas_threads(int n);

/* x (n) *= f, vectorized. */
void nn_scale(float *x, uint64_t n, float f);

/* Flush denormal floats to zero while training (x86 SSE); returns the
 * previous mode for nn_denormals_restore. */
unsigned nn_denormals_off(void);
void nn_denormals_restore(unsigned old);

#endif
