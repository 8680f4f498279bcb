// Run-time choice of the memory kernels' instruction set (smtl_kernels.h). kernel_body.h is
// compiled once per level and scalar type; a table of function pointers per type holds the level
// in use. The choice is made once, at load, from the CPU (cpuid through the compiler's
// __builtin_cpu_supports) and the SMTL_KERNELS environment variable.
#include "smtl_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// exp for float: the Cephes polynomial of Activations.swift (relative error below 3e-7), written
// so that it vectorises.
#define SMTL_EXPF_BODY                                                                     \
    float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);                             \
    const float shifter = 12582912.0f;                                                    \
    float t = xc * 1.44269504f + shifter;                                                 \
    float nn = t - shifter;                                                               \
    float r = (xc - nn * 0.693359375f) + nn * 2.1219444e-4f;                              \
    float p = 1.98756915e-4f;                                                             \
    p = p * r + 1.39819995e-3f;                                                           \
    p = p * r + 8.3334519e-3f;                                                            \
    p = p * r + 4.16657959e-2f;                                                           \
    p = p * r + 1.66666655e-1f;                                                           \
    p = p * r + 5.00000012e-1f;                                                           \
    float y = p * r * r + r + 1;                                                          \
    uint32_t tb;                                                                          \
    memcpy(&tb, &t, 4);                                                                   \
    uint32_t sb = (tb - 0x4B400000u + 127u) << 23;                                        \
    float scale;                                                                          \
    memcpy(&scale, &sb, 4);                                                               \
    return y * scale;

// sqrt without errno (its arguments here are ≥ 1e-8), so it stays one instruction and vectorises.
#define smtl_sqrtf(v) __builtin_elementwise_sqrt(v)
#define smtl_sqrt(v) __builtin_elementwise_sqrt(v)

// tanh for float as Activations.swift: 1 − 2 / (e^{2x} + 1).
#define DEFINE_LEVEL(LEVEL, ATTR)                                                          \
    static inline __attribute__((always_inline)) ATTR float smtl_expf_##LEVEL(float x) {  \
        SMTL_EXPF_BODY                                                                     \
    }                                                                                      \
    static inline __attribute__((always_inline)) ATTR float smtl_tanhf_##LEVEL(float x) { \
        return 1 - 2 / (smtl_expf_##LEVEL(2 * x) + 1);                                     \
    }

#if defined(__x86_64__)
#define ATTR_BASELINE
#define ATTR_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe")))
#define ATTR_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512cd,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe")))
#else
#define ATTR_BASELINE
#endif

// The three levels (kernel_level.h: float and double of kernel_body.h each).
#define KLEVEL baseline
#define KATTR ATTR_BASELINE
#include "kernel_level.h"
#undef KLEVEL
#undef KATTR

#if defined(__x86_64__)
#define KLEVEL avx2
#define KATTR ATTR_AVX2
#include "kernel_level.h"
#undef KLEVEL
#undef KATTR

#define KLEVEL avx512
#define KATTR ATTR_AVX512
#include "kernel_level.h"
#undef KLEVEL
#undef KATTR
#endif

// MARK: dispatch

#define KERNEL_TABLE(T, S)                                                                          \
    struct table_##S {                                                                              \
        void (*address)(int, int, int, const T *, const T *, T *, T *, T *, T *);                  \
        void (*read)(int, int, int, const T *, const T *, T *, int);                               \
        void (*write)(int, int, int, const T *, const T *, const T *, T *, T *, int, T *, T *, T *, \
                      T *);                                                                         \
        void (*read_backward)(int, int, int, const T *, const T *, const T *, int, T *, T *,       \
                              const T *, const T *, const T *, const T *, T *);                     \
        void (*write_backward)(int, int, int, const T *, const T *, const T *, T *, T *, T *, T *, \
                               const T *, int, const T *, const T *, const T *, const T *);         \
        void (*control_activate)(int, int, T *);                                                    \
        void (*fuse_forward)(int, int, T *, const T *, const T *, int, T *, T *);                   \
        void (*fuse_backward)(int, int, const T *, const T *, int, const T *, const T *, T *, T *,  \
                              T *);                                                                 \
        void (*lstm_cell)(int, int, T *, const T *, T *);                                           \
        void (*lstm_cell_backward)(int, int, const T *, T *, T *, const T *);                       \
        void (*lstm_output)(int, int, const T *, int, const T *, T *, T *);                         \
        void (*lstm_output_backward)(int, int, const T *, const T *, int, const T *, T *, T *);     \
        void (*opt_sgd)(int, T *, const T *, T, T);                                                 \
        void (*opt_adagrad)(int, T *, const T *, T *, T, T);                                        \
        void (*opt_adam)(int, T *, const T *, T *, T *, T, T, T, T, T, T, T);                       \
    };
KERNEL_TABLE(float, f)
KERNEL_TABLE(double, d)

#define TABLE(S, LEVEL)                                                                        \
    {smtl_k_address_##S##_##LEVEL, smtl_k_read_##S##_##LEVEL, smtl_k_write_##S##_##LEVEL,      \
     smtl_k_read_backward_##S##_##LEVEL, smtl_k_write_backward_##S##_##LEVEL,                  \
     smtl_k_control_activate_##S##_##LEVEL, smtl_k_fuse_forward_##S##_##LEVEL,                 \
     smtl_k_fuse_backward_##S##_##LEVEL, smtl_k_lstm_cell_##S##_##LEVEL,                       \
     smtl_k_lstm_cell_backward_##S##_##LEVEL, smtl_k_lstm_output_##S##_##LEVEL,                \
     smtl_k_lstm_output_backward_##S##_##LEVEL, smtl_k_opt_sgd_##S##_##LEVEL,                  \
     smtl_k_opt_adagrad_##S##_##LEVEL, smtl_k_opt_adam_##S##_##LEVEL}

#if defined(__x86_64__)
static const struct table_f tables_f[3] = {TABLE(f, baseline), TABLE(f, avx2), TABLE(f, avx512)};
static const struct table_d tables_d[3] = {TABLE(d, baseline), TABLE(d, avx2), TABLE(d, avx512)};
#else
static const struct table_f tables_f[1] = {TABLE(f, baseline)};
static const struct table_d tables_d[1] = {TABLE(d, baseline)};
#endif

static int current_level = -1;

int smtl_kernels_max_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
        return SMTL_KERNELS_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return SMTL_KERNELS_AVX2;
#endif
    return SMTL_KERNELS_BASELINE;
}

int smtl_kernels_select(int level) {
    const int top = smtl_kernels_max_level();
    if (level < 0) level = 0;
    current_level = level < top ? level : top;
    return current_level;
}

static void choose(void) {
    int level = smtl_kernels_max_level();
    const char *env = getenv("SMTL_KERNELS");
    if (env && *env) {
        if (strcmp(env, "baseline") == 0) level = SMTL_KERNELS_BASELINE;
        else if (strcmp(env, "avx2") == 0) level = SMTL_KERNELS_AVX2;
        else if (strcmp(env, "avx512") == 0) level = SMTL_KERNELS_AVX512;
    }
    smtl_kernels_select(level);
}

__attribute__((constructor)) static void smtl_kernels_init(void) { choose(); }

int smtl_kernels_level(void) {
    if (current_level < 0) choose();
    return current_level;
}

const char *smtl_kernels_name(int level) {
    switch (level) {
    case SMTL_KERNELS_AVX2: return "AVX2+FMA";
    case SMTL_KERNELS_AVX512: return "AVX-512";
    default: return "baseline (SSE2)";
    }
}

#define PUBLIC(T, S)                                                                              \
    void smtl_mem_address_##S(int n, int K, int W, const T *m, const T *key, T *sim, T *norm,      \
                              T *keyNorm, T *alpha) {                                              \
        tables_##S[current_level].address(n, K, W, m, key, sim, norm, keyNorm, alpha);             \
    }                                                                                              \
    void smtl_mem_read_##S(int n, int K, int W, const T *m, const T *alpha, T *out, int ld) {      \
        tables_##S[current_level].read(n, K, W, m, alpha, out, ld);                                \
    }                                                                                              \
    void smtl_mem_write_##S(int n, int K, int W, const T *m, const T *alpha, const T *control,     \
                            T *out, T *readOut, int ld, T *nextSim, T *nextNorm, T *nextKeyNorm,   \
                            T *nextAlpha) {                                                        \
        tables_##S[current_level].write(n, K, W, m, alpha, control, out, readOut, ld, nextSim,     \
                                        nextNorm, nextKeyNorm, nextAlpha);                         \
    }                                                                                              \
    void smtl_mem_read_backward_##S(int n, int K, int W, const T *m, const T *alpha, const T *g,   \
                                    int ld, T *dAlpha, T *dM, const T *key, const T *sim,          \
                                    const T *norm, const T *keyNorm, T *dKey) {                    \
        tables_##S[current_level].read_backward(n, K, W, m, alpha, g, ld, dAlpha, dM, key, sim,    \
                                                norm, keyNorm, dKey);                              \
    }                                                                                              \
    void smtl_mem_write_backward_##S(int n, int K, int W, const T *m, const T *alpha,             \
                                     const T *control, T *dControl, T *dM, T *dAlpha, T *dKey,    \
                                     const T *g, int ld, const T *key, const T *sim,               \
                                     const T *norm, const T *keyNorm) {                            \
        tables_##S[current_level].write_backward(n, K, W, m, alpha, control, dControl, dM, dAlpha, \
                                                 dKey, g, ld, key, sim, norm, keyNorm);            \
    }                                                                                              \
    void smtl_control_activate_##S(int n, int W, T *v) {                                           \
        tables_##S[current_level].control_activate(n, W, v);                                       \
    }                                                                                              \
    void smtl_fuse_forward_##S(int n, int d, T *qg, const T *c, const T *o, int ldo, T *tu, T *h) { \
        tables_##S[current_level].fuse_forward(n, d, qg, c, o, ldo, tu, h);                        \
    }                                                                                              \
    void smtl_fuse_backward_##S(int n, int d, const T *dh, const T *o, int ldo, const T *tu,       \
                                const T *qg, T *dq, T *dc, T *dzo) {                               \
        tables_##S[current_level].fuse_backward(n, d, dh, o, ldo, tu, qg, dq, dc, dzo);            \
    }                                                                                              \
    void smtl_lstm_cell_##S(int n, int d, T *z, const T *cp, T *c) {                               \
        tables_##S[current_level].lstm_cell(n, d, z, cp, c);                                       \
    }                                                                                              \
    void smtl_lstm_cell_backward_##S(int n, int d, const T *z, T *dz, T *dc, const T *cp) {        \
        tables_##S[current_level].lstm_cell_backward(n, d, z, dz, dc, cp);                         \
    }                                                                                              \
    void smtl_lstm_output_##S(int n, int d, const T *o, int ldo, const T *c, T *tu, T *h) {        \
        tables_##S[current_level].lstm_output(n, d, o, ldo, c, tu, h);                             \
    }                                                                                              \
    void smtl_lstm_output_backward_##S(int n, int d, const T *dh, const T *o, int ldo,             \
                                       const T *tu, T *dc, T *dzo) {                               \
        tables_##S[current_level].lstm_output_backward(n, d, dh, o, ldo, tu, dc, dzo);             \
    }                                                                                              \
    void smtl_opt_sgd_##S(int n, T *w, const T *g, T lr, T l2) {                                   \
        tables_##S[current_level].opt_sgd(n, w, g, lr, l2);                                        \
    }                                                                                              \
    void smtl_opt_adagrad_##S(int n, T *w, const T *g, T *G, T lr, T l2) {                         \
        tables_##S[current_level].opt_adagrad(n, w, g, G, lr, l2);                                 \
    }                                                                                              \
    void smtl_opt_adam_##S(int n, T *w, const T *g, T *m, T *v, T lr, T l2, T b1, T b2, T eps,     \
                           T c1, T c2) {                                                           \
        tables_##S[current_level].opt_adam(n, w, g, m, v, lr, l2, b1, b2, eps, c1, c2);            \
    }
PUBLIC(float, f)
PUBLIC(double, d)
