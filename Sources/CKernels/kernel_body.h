// The kernels' bodies, included by kernels.c once per (scalar type × instruction-set level) with
//   KT      the scalar (float, double)
//   KN(x)   the mangled name of kernel x for this type and level
//   KATTR   the target attribute of the level
//   KEXP    exp for KT (float: the vectorisable polynomial of Activations.swift)
//   KSQRT   sqrt without errno
//
// A memory state is stored transposed, W rows of K (smtl_kernels.h): every loop below runs over
// the K memory rows, the long dimension, with the W columns outside, so each inner loop is a
// plain vector loop (no short W = 20 rows, no horizontal sums per memory row). Each public kernel
// calls its body with the SPEC's K = 50, W = 20 as constants when they are, so the compiler
// unrolls; any other shape takes the same body with K and W variable. Sums are reassociated (as
// Swift's Relaxed.multiplyAdd allows), so they vectorise.

#define KBODY static inline __attribute__((always_inline)) KATTR

// MARK: addressing (7)(8)

// From the dot products s[k] = M[k]·key and squared norms nrm[k] = |M[k]|² (overwritten with
// the norms and the cosines): α = softmax_k cos. A cosine lies in [−1, 1], so exp cannot overflow
// and the softmax needs no shift by its maximum.
KBODY void KN(address_finish)(int K, KT *restrict s, KT *restrict nrm, KT nk, KT *restrict a) {
#pragma clang fp reassociate(on)
    KT z = 0;
    for (int k = 0; k < K; k++) {
        const KT nm = KSQRT(nrm[k] + (KT)1e-8);
        nrm[k] = nm;
        s[k] = s[k] / (nm * nk);
        a[k] = KEXP(s[k]);
        z += a[k];
    }
    const KT inv = 1 / z;
    for (int k = 0; k < K; k++) a[k] *= inv;
}

KBODY KT KN(key_norm)(int W, const KT *restrict kv) {
#pragma clang fp reassociate(on)
    KT kk = 0;
    for (int j = 0; j < W; j++) kk += kv[j] * kv[j];
    return KSQRT(kk + (KT)1e-8);
}

// α = softmax_k cos(M[k], key), with cos = M[k]·key / (sqrt(|M[k]|² + ε) sqrt(|key|² + ε)).
KBODY void KN(address_body)(int n, int K, int W, const KT *restrict m, const KT *restrict key,
                            KT *restrict sim, KT *restrict norm, KT *restrict keyNorm,
                            KT *restrict alpha) {
#pragma clang fp reassociate(on)
    const size_t kw = (size_t)K * W;
    for (int b = 0; b < n; b++) {
        const KT *mb = m + b * kw, *kv = key + (size_t)b * W;
        KT *s = sim + (size_t)b * K, *nrm = norm + (size_t)b * K, *a = alpha + (size_t)b * K;
        const KT nk = KN(key_norm)(W, kv);
        keyNorm[b] = nk;
        for (int k = 0; k < K; k++) { s[k] = 0; nrm[k] = 0; }
        for (int j = 0; j < W; j++) {
            const KT kj = kv[j];
            const KT *row = mb + (size_t)j * K;
            for (int k = 0; k < K; k++) {
                s[k] += kj * row[k];
                nrm[k] += row[k] * row[k];
            }
        }
        KN(address_finish)(K, s, nrm, nk, a);
    }
}

// Addressing backward of one token row: ds = α ⊙ (dα − α·dα); c1 = ds/(|M_k||key|),
// c2 = ds·cos/|M_k|²: dM_k += c1·key − c2·M_k; dKey = Σ_k c1·M_k − (Σ_k ds·cos)/|key|² · key
// (overwritten). dα is zeroed.
KBODY void KN(address_backward_row)(int K, int W, const KT *restrict mb, const KT *restrict kv,
                                    const KT *restrict a, const KT *restrict s,
                                    const KT *restrict nrm, KT nk, KT *restrict da,
                                    KT *restrict dm, KT *restrict dk) {
#pragma clang fp reassociate(on)
    KT c1[K], c2[K];
    KT dotv = 0;
    for (int k = 0; k < K; k++) dotv += a[k] * da[k];
    KT sumDsS = 0;
    for (int k = 0; k < K; k++) {
        const KT ds = a[k] * (da[k] - dotv);
        c1[k] = ds / (nrm[k] * nk);
        c2[k] = ds * s[k] / (nrm[k] * nrm[k]);
        sumDsS += ds * s[k];
        da[k] = 0;
    }
    const KT c3 = sumDsS / (nk * nk);
    for (int j = 0; j < W; j++) {
        const KT kj = kv[j];
        const KT *row = mb + (size_t)j * K;
        KT *drow = dm + (size_t)j * K;
        KT acc = 0;
        for (int k = 0; k < K; k++) {
            drow[k] += c1[k] * kj - c2[k] * row[k];
            acc += c1[k] * row[k];
        }
        dk[j] = acc - c3 * kj;
    }
}

// The addressing inputs of the rows, for a backward that ends with the addressing backward.
#define KADDRESS_ARGS const KT *restrict key, const KT *restrict sim, const KT *restrict norm, \
                      const KT *restrict keyNorm
#define KADDRESS_ROW(b, mb, a, da, dm, dk)                                                     \
    KN(address_backward_row)(K, W, mb, key + (size_t)(b) * W, a, sim + (size_t)(b) * K,        \
                             norm + (size_t)(b) * K, keyNorm[b], da, dm, dk)

// MARK: read (6): r = αᵀ M

KBODY void KN(read_body)(int n, int K, int W, const KT *restrict m, const KT *restrict alpha,
                         KT *restrict out, int ld) {
#pragma clang fp reassociate(on)
    const size_t kw = (size_t)K * W;
    for (int b = 0; b < n; b++) {
        const KT *mb = m + b * kw, *a = alpha + (size_t)b * K;
        KT *o = out + (size_t)b * ld;
        for (int j = 0; j < W; j++) {
            const KT *row = mb + (size_t)j * K;
            KT acc = 0;
            for (int k = 0; k < K; k++) acc += a[k] * row[k];
            o[j] = acc;
        }
    }
}

// dα_k += g·M[k]; dM += α gᵀ; with `doAddress`, then the addressing backward of the row, while
// its memory is in cache (dKey overwritten with ∂k_{t−1}).
KBODY void KN(read_backward_body)(int n, int K, int W, const KT *restrict m,
                                  const KT *restrict alpha, const KT *restrict g, int ld,
                                  KT *restrict dAlpha, KT *restrict dM, int doAddress,
                                  KADDRESS_ARGS, KT *restrict dKey) {
#pragma clang fp reassociate(on)
    const size_t kw = (size_t)K * W;
    for (int b = 0; b < n; b++) {
        const KT *mb = m + b * kw, *a = alpha + (size_t)b * K, *gb = g + (size_t)b * ld;
        KT *da = dAlpha + (size_t)b * K, *dm = dM + b * kw;
        for (int j = 0; j < W; j++) {
            const KT gj = gb[j];
            const KT *row = mb + (size_t)j * K;
            KT *drow = dm + (size_t)j * K;
            for (int k = 0; k < K; k++) {
                da[k] += gj * row[k];
                drow[k] += a[k] * gj;
            }
        }
        if (doAddress) KADDRESS_ROW(b, mb, a, da, dm, dKey + (size_t)b * W);
    }
}

// MARK: write (9): M_t = M_{t−1} ⊙ (1 − α eᵀ) + α aᵀ

// The write, and in the same pass over M_t: with `doRead`, ARC-II's read after the write
// r = α_tᵀ M_t (17) into readOut (stride ld); with `doNext`, the addressing of step t+1, which
// needs only M_t and k_t (the k-rows of control): its similarities, norms and α into next*.
KBODY void KN(write_body)(int n, int K, int W, const KT *restrict m, const KT *restrict alpha,
                          const KT *restrict control, KT *restrict out, int doRead,
                          KT *restrict readOut, int ld, int doNext, KT *restrict nextSim,
                          KT *restrict nextNorm, KT *restrict nextKeyNorm,
                          KT *restrict nextAlpha) {
#pragma clang fp reassociate(on)
    const size_t kw = (size_t)K * W;
    for (int b = 0; b < n; b++) {
        const KT *mb = m + b * kw, *a = alpha + (size_t)b * K;
        const KT *kv = control + (size_t)b * 3 * W, *e = kv + W, *add = e + W;
        KT *ob = out + b * kw;
        KT *s = 0, *nrm = 0;
        if (doNext) {
            s = nextSim + (size_t)b * K;
            nrm = nextNorm + (size_t)b * K;
            for (int k = 0; k < K; k++) { s[k] = 0; nrm[k] = 0; }
        }
        for (int j = 0; j < W; j++) {
            const KT ej = e[j], aj = add[j], kj = kv[j];
            const KT *row = mb + (size_t)j * K;
            KT *orow = ob + (size_t)j * K;
            KT racc = 0;
            for (int k = 0; k < K; k++) {
                const KT v = row[k] * (1 - a[k] * ej) + a[k] * aj;
                orow[k] = v;
                if (doRead) racc += a[k] * v;
                if (doNext) {
                    s[k] += kj * v;
                    nrm[k] += v * v;
                }
            }
            if (doRead) readOut[(size_t)b * ld + j] = racc;
        }
        if (doNext) {
            const KT nk = KN(key_norm)(W, kv);
            nextKeyNorm[b] = nk;
            KN(address_finish)(K, s, nrm, nk, nextAlpha + (size_t)b * K);
        }
    }
}

// From ∂M_t (dM, overwritten with ∂M_{t−1}) and ∂k_t: dα_k += Σ_j ∂M_t·(a − M·e); the
// pre-activation gradients of k (tanh), e (σ) and a (tanh) into dControl. With `doRead`, first
// the backward of the read after the write r = α_tᵀ M_t from its gradient g (stride ld):
// ∂M_t += α gᵀ and dα_k += g·M_t[k], M_t rebuilt from M_{t−1} in the same pass. With
// `doAddress`, then the addressing backward of the row (ARC-II's local block: its α_t came from
// M_{t−1} and k_{t−1}), while its memory is in cache: dKey, read as ∂k_t, is overwritten with
// ∂k_{t−1}.
KBODY void KN(write_backward_body)(int n, int K, int W, const KT *restrict m,
                                   const KT *restrict alpha, const KT *restrict control,
                                   KT *restrict dControl, KT *restrict dM, KT *restrict dAlpha,
                                   KT *restrict dKey, int doRead, const KT *restrict g, int ld,
                                   int doAddress, KADDRESS_ARGS) {
#pragma clang fp reassociate(on)
    const size_t kw = (size_t)K * W;
    for (int b = 0; b < n; b++) {
        const KT *mb = m + b * kw, *a = alpha + (size_t)b * K;
        const KT *kv = control + (size_t)b * 3 * W, *e = kv + W, *add = e + W;
        KT *dv = dControl + (size_t)b * 3 * W, *dm = dM + b * kw, *da = dAlpha + (size_t)b * K;
        KT *dk = dKey + (size_t)b * W;
        for (int j = 0; j < W; j++) {
            const KT ej = e[j], aj = add[j], gj = doRead ? g[(size_t)b * ld + j] : 0;
            const KT *row = mb + (size_t)j * K;
            KT *drow = dm + (size_t)j * K;
            KT sumE = 0, sumA = 0;
            for (int k = 0; k < K; k++) {
                const KT mv = row[k];
                KT gv = drow[k];
                KT dak = 0;
                if (doRead) {
                    gv += a[k] * gj;
                    dak = gj * (mv * (1 - a[k] * ej) + a[k] * aj);
                }
                da[k] += dak + gv * (aj - mv * ej);
                sumE += gv * a[k] * mv;
                sumA += gv * a[k];
                drow[k] = gv * (1 - a[k] * ej);
            }
            dv[j] = dk[j] * (1 - kv[j] * kv[j]);
            dv[W + j] = -sumE * ej * (1 - ej);
            dv[2 * W + j] = sumA * (1 - aj * aj);
        }
        if (doAddress) KADDRESS_ROW(b, mb, a, da, dm, dk);
    }
}

// MARK: the public entry points of this level: the SPEC's K = 50, W = 20 as constants, else as given.

#define KSPECIALISE(call)          \
    do {                           \
        if (K == 50 && W == 20) {  \
            call(50, 20);          \
        } else {                   \
            call(K, W);            \
        }                          \
    } while (0)

KATTR void KN(address)(int n, int K, int W, const KT *m, const KT *key, KT *sim, KT *norm,
                       KT *keyNorm, KT *alpha) {
#define C(k, w) KN(address_body)(n, k, w, m, key, sim, norm, keyNorm, alpha)
    KSPECIALISE(C);
#undef C
}

KATTR void KN(read)(int n, int K, int W, const KT *m, const KT *alpha, KT *out, int ld) {
#define C(k, w) KN(read_body)(n, k, w, m, alpha, out, ld)
    KSPECIALISE(C);
#undef C
}

KATTR void KN(read_backward)(int n, int K, int W, const KT *m, const KT *alpha, const KT *g, int ld,
                             KT *dAlpha, KT *dM, const KT *key, const KT *sim, const KT *norm,
                             const KT *keyNorm, KT *dKey) {
#define C(k, w)                                                                                   \
    do {                                                                                          \
        if (key)                                                                                  \
            KN(read_backward_body)(n, k, w, m, alpha, g, ld, dAlpha, dM, 1, key, sim, norm,       \
                                   keyNorm, dKey);                                                \
        else                                                                                      \
            KN(read_backward_body)(n, k, w, m, alpha, g, ld, dAlpha, dM, 0, 0, 0, 0, 0, 0);       \
    } while (0)
    KSPECIALISE(C);
#undef C
}

KATTR void KN(write)(int n, int K, int W, const KT *m, const KT *alpha, const KT *control, KT *out,
                     KT *readOut, int ld, KT *nextSim, KT *nextNorm, KT *nextKeyNorm,
                     KT *nextAlpha) {
    const int doRead = readOut != 0, doNext = nextSim != 0;
#define C(k, w)                                                                                   \
    do {                                                                                          \
        if (doRead && doNext)                                                                     \
            KN(write_body)(n, k, w, m, alpha, control, out, 1, readOut, ld, 1, nextSim, nextNorm, \
                           nextKeyNorm, nextAlpha);                                               \
        else if (doRead)                                                                          \
            KN(write_body)(n, k, w, m, alpha, control, out, 1, readOut, ld, 0, 0, 0, 0, 0);       \
        else if (doNext)                                                                          \
            KN(write_body)(n, k, w, m, alpha, control, out, 0, 0, 0, 1, nextSim, nextNorm,        \
                           nextKeyNorm, nextAlpha);                                               \
        else                                                                                      \
            KN(write_body)(n, k, w, m, alpha, control, out, 0, 0, 0, 0, 0, 0, 0, 0);              \
    } while (0)
    KSPECIALISE(C);
#undef C
}

KATTR void KN(write_backward)(int n, int K, int W, const KT *m, const KT *alpha,
                              const KT *control, KT *dControl, KT *dM, KT *dAlpha, KT *dKey,
                              const KT *g, int ld, const KT *key, const KT *sim, const KT *norm,
                              const KT *keyNorm) {
#define C(k, w)                                                                                   \
    do {                                                                                          \
        if (g && key)                                                                             \
            KN(write_backward_body)(n, k, w, m, alpha, control, dControl, dM, dAlpha, dKey, 1, g,  \
                                    ld, 1, key, sim, norm, keyNorm);                              \
        else if (g)                                                                               \
            KN(write_backward_body)(n, k, w, m, alpha, control, dControl, dM, dAlpha, dKey, 1, g,  \
                                    ld, 0, 0, 0, 0, 0);                                           \
        else if (key)                                                                             \
            KN(write_backward_body)(n, k, w, m, alpha, control, dControl, dM, dAlpha, dKey, 0, 0,  \
                                    0, 1, key, sim, norm, keyNorm);                               \
        else                                                                                      \
            KN(write_backward_body)(n, k, w, m, alpha, control, dControl, dM, dAlpha, dKey, 0, 0,  \
                                    0, 0, 0, 0, 0, 0);                                            \
    } while (0)
    KSPECIALISE(C);
#undef C
}

#undef KSPECIALISE
#undef KADDRESS_ARGS
#undef KADDRESS_ROW
#undef KBODY

// MARK: the element-wise pieces around the memory: the fusion gate (SPEC §4) and the control's
// activations (5). Same formulas as Network.swift's plain-LSTM path.

#define KBODY static inline __attribute__((always_inline)) KATTR

KBODY KT KN(sigmoid)(KT x) { return 1 / (1 + KEXP(-x)); }
KBODY KT KN(tanh)(KT x) { return KTANH(x); }

// Each row is a function of restrict parameters: clang honours restrict only on parameters, and
// without it the vectorised loops sit behind run-time overlap checks.

KBODY void KN(control_row)(int W, KT *restrict k, KT *restrict e, KT *restrict a) {
    for (int j = 0; j < W; j++) k[j] = KN(tanh)(k[j]);
    for (int j = 0; j < W; j++) e[j] = KN(sigmoid)(e[j]);
    for (int j = 0; j < W; j++) a[j] = KN(tanh)(a[j]);
}

// [k; e; a] = [tanh; σ; tanh](v) in place, n rows of 3W.
KATTR void KN(control_activate)(int n, int W, KT *v) {
    for (int b = 0; b < n; b++) {
        KT *r = v + (size_t)b * 3 * W;
        KN(control_row)(W, r, r + W, r + 2 * W);
    }
}

KBODY void KN(fuse_forward_row)(int d, const KT *restrict q, KT *restrict gate,
                                const KT *restrict c, const KT *restrict o, KT *restrict tu,
                                KT *restrict h) {
    for (int j = 0; j < d; j++) {
        const KT gj = KN(sigmoid)(gate[j]);
        gate[j] = gj;
        const KT t = KN(tanh)(c[j] + gj * q[j]);
        tu[j] = t;
        h[j] = o[j] * t;
    }
}

// Per row: gate = σ(gate pre-activation) in place (second half of qg, row stride 2d); u = c + gate ⊙ q;
// tu = tanh(u); h = o ⊙ tu (o: the output gate, row stride ldo).
KATTR void KN(fuse_forward)(int n, int d, KT *qg, const KT *c, const KT *o, int ldo, KT *tu, KT *h) {
    for (int b = 0; b < n; b++) {
        KT *q = qg + (size_t)b * 2 * d;
        KN(fuse_forward_row)(d, q, q + d, c + (size_t)b * d, o + (size_t)b * ldo, tu + (size_t)b * d,
                             h + (size_t)b * d);
    }
}

KBODY void KN(fuse_backward_row)(int d, const KT *restrict dh, const KT *restrict o,
                                 const KT *restrict tu, const KT *restrict q,
                                 const KT *restrict gate, KT *restrict dq, KT *restrict dgate,
                                 KT *restrict dc, KT *restrict dzo) {
    for (int j = 0; j < d; j++) {
        const KT g = dh[j], v = tu[j], oj = o[j], gt = gate[j];
        const KT du = g * oj * (1 - v * v);
        dc[j] += du;
        dzo[j] = g * v * oj * (1 - oj);
        dq[j] = du * gt;
        dgate[j] = du * q[j] * gt * (1 - gt);
    }
}

// From ∂h (dh, slot rows): du = ∂h ⊙ o ⊙ (1 − tu²); ∂c += du; ∂o pre-activation; ∂q = du ⊙ gate;
// ∂gate pre-activation = du ⊙ q ⊙ gate ⊙ (1 − gate).
KATTR void KN(fuse_backward)(int n, int d, const KT *dh, const KT *o, int ldo, const KT *tu,
                             const KT *qg, KT *dq, KT *dc, KT *dzo) {
    for (int b = 0; b < n; b++) {
        const KT *q = qg + (size_t)b * 2 * d;
        KT *dqr = dq + (size_t)b * 2 * d;
        KN(fuse_backward_row)(d, dh + (size_t)b * d, o + (size_t)b * ldo, tu + (size_t)b * d, q, q + d,
                              dqr, dqr + d, dc + (size_t)b * d, dzo + (size_t)b * ldo);
    }
}

#undef KBODY

// MARK: the LSTM cell (SPEC §2) and its plain output, forward and backward. Same formulas as
// the Swift loops they replace (Network.swift); compiled per level, so the activations run as
// wide as the CPU allows. n rows: gate rows of 4d ([i; f; g; o], stride 4d), cell rows of d.

#define KBODY static inline __attribute__((always_inline)) KATTR

KBODY void KN(lstm_cell_row)(int d, KT *restrict zi, KT *restrict zf, KT *restrict zg,
                             KT *restrict zo, const KT *restrict cp, KT *restrict c) {
    for (int j = 0; j < d; j++) {
        const KT i = KN(sigmoid)(zi[j]), f = KN(sigmoid)(zf[j]), g = KN(tanh)(zg[j]);
        zi[j] = i;
        zf[j] = f;
        zg[j] = g;
        c[j] = f * cp[j] + i * g;
    }
    for (int j = 0; j < d; j++) zo[j] = KN(sigmoid)(zo[j]);
}

// i, f, o = σ and g = tanh of the gate pre-activations z (in place); c = f ⊙ c_{t−1} + i ⊙ g.
KATTR void KN(lstm_cell)(int n, int d, KT *z, const KT *cp, KT *c) {
    for (int b = 0; b < n; b++) {
        KT *zi = z + (size_t)b * 4 * d;
        KN(lstm_cell_row)(d, zi, zi + d, zi + 2 * d, zi + 3 * d, cp + (size_t)b * d, c + (size_t)b * d);
    }
}

KBODY void KN(lstm_cell_backward_row)(int d, const KT *restrict zi, const KT *restrict zf,
                                      const KT *restrict zg, const KT *restrict cp,
                                      KT *restrict dzi, KT *restrict dzf, KT *restrict dzg,
                                      KT *restrict dc) {
    for (int j = 0; j < d; j++) {
        const KT i = zi[j], f = zf[j], g = zg[j], gc = dc[j];
        dzi[j] = gc * g * i * (1 - i);
        dzf[j] = gc * cp[j] * f * (1 - f);
        dzg[j] = gc * i * (1 - g * g);
        dc[j] = gc * f;
    }
}

// From ∂c_t (dc, one row per slot, overwritten with ∂c_{t−1} = ∂c_t ⊙ f): the i, f, g gate
// pre-activation gradients into dz (stride 4d; the o gradient is the output's).
KATTR void KN(lstm_cell_backward)(int n, int d, const KT *z, KT *dz, KT *dc, const KT *cp) {
    for (int b = 0; b < n; b++) {
        const KT *zi = z + (size_t)b * 4 * d;
        KT *dzi = dz + (size_t)b * 4 * d;
        KN(lstm_cell_backward_row)(d, zi, zi + d, zi + 2 * d, cp + (size_t)b * d, dzi, dzi + d,
                                   dzi + 2 * d, dc + (size_t)b * d);
    }
}

KBODY void KN(lstm_output_row)(int d, const KT *restrict o, const KT *restrict c, KT *restrict tu,
                               KT *restrict h) {
    for (int j = 0; j < d; j++) {
        const KT t = KN(tanh)(c[j]);
        tu[j] = t;
        h[j] = o[j] * t;
    }
}

// Without a fusion gate: tu = tanh(c), h = o ⊙ tu (o with row stride ldo).
KATTR void KN(lstm_output)(int n, int d, const KT *o, int ldo, const KT *c, KT *tu, KT *h) {
    for (int b = 0; b < n; b++)
        KN(lstm_output_row)(d, o + (size_t)b * ldo, c + (size_t)b * d, tu + (size_t)b * d, h + (size_t)b * d);
}

KBODY void KN(lstm_output_backward_row)(int d, const KT *restrict dh, const KT *restrict o,
                                        const KT *restrict tu, KT *restrict dc, KT *restrict dzo) {
    for (int j = 0; j < d; j++) {
        const KT g = dh[j], v = tu[j], oj = o[j];
        dc[j] += g * oj * (1 - v * v);
        dzo[j] = g * v * oj * (1 - oj);
    }
}

// Its backward from ∂h (dh, one row per slot): ∂c += ∂h ⊙ o ⊙ (1 − tu²); ∂o pre-activation.
KATTR void KN(lstm_output_backward)(int n, int d, const KT *dh, const KT *o, int ldo, const KT *tu,
                                    KT *dc, KT *dzo) {
    for (int b = 0; b < n; b++)
        KN(lstm_output_backward_row)(d, dh + (size_t)b * d, o + (size_t)b * ldo, tu + (size_t)b * d,
                                     dc + (size_t)b * d, dzo + (size_t)b * ldo);
}

// MARK: the optimizer updates (Optimizer.swift), element-wise over n parameters. No
// contraction into FMA, and sqrt and division are correctly rounded at every width, so these
// give the bits of the scalar loops they replace on every level.

KATTR void KN(opt_sgd)(int n, KT *restrict w, const KT *restrict g, KT lr, KT l2) {
#pragma clang fp contract(off)
    for (int i = 0; i < n; i++) w[i] -= lr * (g[i] + l2 * w[i]);
}

// G ← G + g², w ← w − lr · g / (√G + 1e−10), with g the gradient plus l2 · w.
KATTR void KN(opt_adagrad)(int n, KT *restrict w, const KT *restrict g, KT *restrict G, KT lr, KT l2) {
#pragma clang fp contract(off)
    const KT eps = (KT)1e-10;
    for (int i = 0; i < n; i++) {
        const KT gi = g[i] + l2 * w[i];
        const KT s = G[i] + gi * gi;
        G[i] = s;
        w[i] -= lr * gi / (KSQRT(s) + eps);
    }
}

KATTR void KN(opt_adam)(int n, KT *restrict w, const KT *restrict g, KT *restrict m, KT *restrict v,
                        KT lr, KT l2, KT b1, KT b2, KT eps, KT c1, KT c2) {
#pragma clang fp contract(off)
    for (int i = 0; i < n; i++) {
        const KT gi = g[i] + l2 * w[i];
        const KT mi = b1 * m[i] + (1 - b1) * gi;
        const KT vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= lr * (mi / c1) / (KSQRT(vi / c2) + eps);
    }
}

#undef KBODY
