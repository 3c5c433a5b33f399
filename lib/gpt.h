/*
 * gpt: the byte-level language model gpt:LAYERS-DIM-HEADS-CONTEXT, a
 * decoder-only transformer in the manner of llm.c's train_gpt2.c.
 * Tokens are bytes (256 symbols) with learned position embeddings;
 * every block is pre-LayerNorm: causal multi-head self-attention, then
 * a GELU MLP four times as wide, each added to the residual stream; a
 * final LayerNorm and an untied output head (lm_head.weight, no bias)
 * give the logits, and softmax cross-entropy the loss.
 *
 * Each layer is a NAME_forward/NAME_backward pair with arguments in the
 * order outputs, inputs, weights, dimensions; nothing in them allocates.
 * Parameter gradients are overwritten, never accumulated (every weight is
 * used once per pass); the gradient of the residual stream is the one
 * thing added to, as gpt_layer_norm_backward says.  The parameters are
 * arch.h's flat buffer, carved by gpt_carve into named tensors.
 *
 * Sampling lives here too.  Training (train.h) and evaluation in bits
 * per byte (eval.h) drive the model through model.h; reading bundles is
 * cmd/'s glue.
 */
#ifndef FED_GPT_H
#define FED_GPT_H

#include <stdint.h>

#include "arch.h"
#include "rng.h"

#define GPT_VOCAB 256

/* The weights of one block, pointers into the flat buffer. */
struct gpt_block {
	float *ln1w, *ln1b;     /* (C) */
	float *qkvw, *qkvb;     /* (3C, C), (3C): q, k, v stacked */
	float *projw, *projb;   /* (C, C), (C) */
	float *ln2w, *ln2b;     /* (C) */
	float *fcw, *fcb;       /* (4C, C), (4C) */
	float *fcprojw, *fcprojb;   /* (C, 4C), (C) */
};

struct gpt_params {
	float *wte;             /* (V, C) token embeddings */
	float *wpe;             /* (T, C) position embeddings */
	struct gpt_block h[ARCH_MAXLAYERS];
	float *lnfw, *lnfb;     /* (C) */
	float *head;            /* (V, C) */
};

/* Point p's tensors into base (arch_nparams(a) floats). */
void gpt_carve(struct gpt_params *p, const struct arch *a, float *base);

/* The layers.  N = B * T rows of the residual stream. */
void gpt_encoder_forward(float *out, const uint8_t *tok, const float *wte,
    const float *wpe, int B, int T, int C);
void gpt_encoder_backward(float *dwte, float *dwpe, const float *dout,
    const uint8_t *tok, int B, int T, int C);
/* mean, rstd (N) are kept for the backward pass. */
void gpt_layer_norm_forward(float *out, float *mean, float *rstd,
    const float *in, const float *w, const float *b, int N, int C);
/* din (N, C) is added to (it is the residual stream's gradient); dw, db
 * are overwritten. */
void gpt_layer_norm_backward(float *din, float *dw, float *db, const float *dout,
    const float *in, const float *w, const float *mean, const float *rstd,
    int N, int C);
/* out (N, OC) = in (N, C) . w^T + b; b may be NULL. */
void gpt_matmul_forward(float *out, const float *in, const float *w,
    const float *b, int N, int C, int OC);
/* din may be NULL; db may be NULL when there is no bias. */
void gpt_matmul_backward(float *din, float *dw, float *db, const float *dout,
    const float *in, const float *w, int N, int C, int OC);
/* out (B, T, C) from qkv (B, T, 3C); att (B, H, T, T) keeps the causal
 * softmax for the backward pass. */
void gpt_attention_forward(float *out, float *att, const float *qkv, int B,
    int T, int C, int H);
/* dqkv (B, T, 3C) overwritten; scratch holds T * T floats. */
void gpt_attention_backward(float *dqkv, float *scratch, const float *dout,
    const float *qkv, const float *att, int B, int T, int C, int H);
/* tanh approximation, as GPT-2; n elements. */
void gpt_gelu_forward(float *out, const float *in, int64_t n);
/* din may be dout. */
void gpt_gelu_backward(float *din, const float *dout, const float *in,
    int64_t n);
/* probs (N, V) from logits (N, V), may be in place; returns the sum of
 * the N losses in nats. */
double gpt_xent_forward(float *probs, const float *logits, const uint8_t *y,
    int N, int V);
/* dlogits (N, V) = scale * (probs - onehot(y)); may be in place. */
void gpt_xent_backward(float *dlogits, const float *probs, const uint8_t *y,
    int N, int V, float scale);

/* The activations of one architecture and a largest batch. */
struct gpt_acts {
	float *ln1, *ln1m, *ln1r;   /* (L, N, C), (L, N), (L, N) */
	float *qkv;                 /* (L, N, 3C) */
	float *atty;                /* (L, N, C) */
	float *att;                 /* (L, B, H, T, T) */
	float *res2;                /* (L, N, C) */
	float *ln2, *ln2m, *ln2r;   /* (L, N, C), (L, N), (L, N) */
	float *fch, *fchg;          /* (L, N, 4C) before and after GELU */
	float *res3;                /* (L, N, C) */
	float *enc;                 /* (N, C) */
	float *lnf, *lnfm, *lnfr;   /* (N, C), (N), (N) */
	float *probs;               /* (N, V) logits, then probabilities */
	float *dres;                /* (N, C) residual gradient */
	float *dbuf1, *dbuf2;       /* (N, 4C) scratch */
	float *scratch;             /* (T, T) */
	uint8_t *targets;           /* (N) the byte after each position */
};

struct gpt {
	struct arch a;
	int L, C, H, T;             /* layers, width, heads, context */
	int maxbatch;
	struct gpt_acts act;
};

int  gpt_init(struct gpt *g, const struct arch *a, int maxbatch, fed_err *e);
void gpt_free(struct gpt *g);
/*
 * tok (B, T + 1) windows: inputs tok[0..T), targets tok[1..T].  T may be
 * less than the context (the last window of an evaluation, a prompt).
 * Returns the loss summed over B * T positions, in nats.
 */
double gpt_forward(struct gpt *g, const float *params, const uint8_t *tok,
    int B, int T);
/* After gpt_forward on the same windows: the gradient of the mean loss
 * into grad (arch_nparams floats, overwritten). */
void gpt_backward(struct gpt *g, float *grad, const float *params,
    const uint8_t *tok, int B, int T);
/* Forward over tok (1, T) only; the probabilities of the byte after the
 * last are g->act.probs + (T - 1) * V. */
void gpt_logits(struct gpt *g, const float *params, const uint8_t *tok,
    int T);

/*
 * Continue prompt (len bytes, may be 0) by n bytes into out (n bytes) at
 * the given temperature (0: greedy), drawing from r.
 */
int  gpt_sample(const struct arch *a, const float *params,
    const uint8_t *prompt, int len, uint8_t *out, int n, double temp,
    rng_t *r, fed_err *e);

#endif
