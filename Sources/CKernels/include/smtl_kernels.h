// The memory block's per-token loops (SPEC §3), in C so that each can be compiled three times —
// baseline x86-64 (SSE2), AVX2+FMA and AVX-512 — and the widest one the CPU has is chosen at
// run time (the binary itself stays baseline x86-64). Float for training, double for the
// gradient checks: the same source, so the checks cover these kernels.
//
// Layouts are those of MemoryBlock.swift: n consecutive token rows; per row a memory state stored
// transposed (W rows of K: element (k, j) of the SPEC's K×W memory at j·K + k), a W key, K similarities / row norms / attention weights, one key norm, and the
// activated control [k; e; a] (3W). Every kernel handles n rows at once.
#ifndef SMTL_KERNELS_H
#define SMTL_KERNELS_H

#include <stddef.h>

// Instruction-set levels.
enum { SMTL_KERNELS_BASELINE = 0, SMTL_KERNELS_AVX2 = 1, SMTL_KERNELS_AVX512 = 2 };

// The level in use. Chosen at load from the CPU, capped by the environment variable
// SMTL_KERNELS (baseline | avx2 | avx512).
int smtl_kernels_level(void);
// The highest level this CPU (and build) supports.
int smtl_kernels_max_level(void);
// Use `level` (capped at the CPU's); returns the level now in use.
int smtl_kernels_select(int level);
// "baseline (SSE2)", "AVX2+FMA", "AVX-512".
const char *smtl_kernels_name(int level);

#define SMTL_KERNEL_DECLS(T, S)                                                                       \
    /* α = softmax_k cos(M[k], key); keeps similarities, row norms, key norm. */                     \
    void smtl_mem_address_##S(int n, int K, int W, const T *m, const T *key, T *sim, T *norm,          \
                              T *keyNorm, T *alpha);                                                   \
    /* out[b] (stride ld) = α_bᵀ M_b. */                                                             \
    void smtl_mem_read_##S(int n, int K, int W, const T *m, const T *alpha, T *out, int ld);           \
    /* M_t = M ⊙ (1 − α eᵀ) + α aᵀ into out (n rows of K×W); in the same pass, unless NULL, the     \
       read after the write α_tᵀ M_t into readOut (stride ld) and the addressing of step t+1 with   \
       M_t and k_t (the k-rows of control) into next*. */                                         \
    void smtl_mem_write_##S(int n, int K, int W, const T *m, const T *alpha, const T *control, T *out, \
                            T *readOut, int ld, T *nextSim, T *nextNorm, T *nextKeyNorm,            \
                            T *nextAlpha);                                                          \
    /* Read backward from g (stride ld): dα_k += g·M[k]; dM += α gᵀ. Unless key is NULL, then the    \
       addressing backward of each row (below), which overwrites dKey. */                           \
    void smtl_mem_read_backward_##S(int n, int K, int W, const T *m, const T *alpha, const T *g,       \
                                    int ld, T *dAlpha, T *dM, const T *key, const T *sim,              \
                                    const T *norm, const T *keyNorm, T *dKey);                        \
    /* Write backward from dM (∂M_t, overwritten with ∂M_{t−1}) and dKey (∂k_t): dα, the control      \
       pre-activation gradient. With g (not NULL, stride ld), first the backward of the read after   \
       the write α_tᵀ M_t. Unless key is NULL, then the addressing backward of each row.            \
       The addressing backward: from dα (zeroed after use) and the addressing's key, similarities,   \
       row norms and key norm, into dM and dKey (overwritten with ∂k_{t−1}). */                     \
    void smtl_mem_write_backward_##S(int n, int K, int W, const T *m, const T *alpha,                 \
                                     const T *control, T *dControl, T *dM, T *dAlpha, T *dKey,        \
                                     const T *g, int ld, const T *key, const T *sim, const T *norm,   \
                                     const T *keyNorm);                                               \
    /* The control's activations (5): [k; e; a] = [tanh; σ; tanh](v) in place, n rows of 3W. */      \
    void smtl_control_activate_##S(int n, int W, T *v);                                               \
    /* The fusion gate (SPEC §4), n rows: gate = σ(pre-activation) in place (second half of qg, row    \
       stride 2d); tu = tanh(c + gate ⊙ q); h = o ⊙ tu (o with row stride ldo). */                    \
    void smtl_fuse_forward_##S(int n, int d, T *qg, const T *c, const T *o, int ldo, T *tu, T *h);     \
    /* Its backward from ∂h (dh, one row per slot): ∂c += du; ∂o, ∂q, ∂gate pre-activations. */       \
    void smtl_fuse_backward_##S(int n, int d, const T *dh, const T *o, int ldo, const T *tu,           \
                                const T *qg, T *dq, T *dc, T *dzo);                                   \
    /* The LSTM cell (SPEC §2), n rows of gates [i; f; g; o] (stride 4d): i, f, o = σ, g = tanh in     \
       place; c = f ⊙ cp + i ⊙ g. */                                                                  \
    void smtl_lstm_cell_##S(int n, int d, T *z, const T *cp, T *c);                                   \
    /* Its backward from ∂c (dc, overwritten with ∂c ⊙ f): the i, f, g pre-activation gradients. */   \
    void smtl_lstm_cell_backward_##S(int n, int d, const T *z, T *dz, T *dc, const T *cp);            \
    /* The plain output: tu = tanh(c), h = o ⊙ tu (o with row stride ldo). */                         \
    void smtl_lstm_output_##S(int n, int d, const T *o, int ldo, const T *c, T *tu, T *h);            \
    /* Its backward from ∂h: ∂c += ∂h ⊙ o ⊙ (1 − tu²); the o pre-activation gradient (stride ldo). */ \
    void smtl_lstm_output_backward_##S(int n, int d, const T *dh, const T *o, int ldo, const T *tu,   \
                                       T *dc, T *dzo);                                                \
    /* The optimizer updates over n parameters (Optimizer.swift), bit for bit the scalar loops. */    \
    void smtl_opt_sgd_##S(int n, T *w, const T *g, T lr, T l2);                                       \
    void smtl_opt_adagrad_##S(int n, T *w, const T *g, T *G, T lr, T l2);                             \
    void smtl_opt_adam_##S(int n, T *w, const T *g, T *m, T *v, T lr, T l2, T b1, T b2, T eps, T c1,  \
                           T c2);

SMTL_KERNEL_DECLS(float, f)
SMTL_KERNEL_DECLS(double, d)

#endif
