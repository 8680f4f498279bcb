/// An external memory block, SPEC §3: `memory0` ∈ R^{K×W} and a control layer that maps a
/// controller vector u to a key k, an erase vector e and an add vector a.
///
/// The block keeps, for every packed token row, what the backward pass needs: the memory before
/// the step (M_{t−1}), the key used for addressing (k_{t−1}), the similarities, norms and the
/// attention α_t, and the activated control outputs [k; e; a]. Per batch slot it keeps the running
/// memory and key (forward) and their gradients (backward). Forward and backward of each piece
/// stand side by side.
final class MemoryBlock<S: Real> {
    let rows: Int  // K
    let width: Int  // W
    let inputWidth: Int  // u: the controller's width
    let memory0: UnsafeMutablePointer<S>, gradMemory0: UnsafeMutablePointer<S>
    let weight: UnsafeMutablePointer<S>, gradWeight: UnsafeMutablePointer<S>
    let bias: UnsafeMutablePointer<S>, gradBias: UnsafeMutablePointer<S>

    // Per token row.
    let memoryPrev = Buffer<S>()  // M_{t−1}, K×W
    let keyPrev = Buffer<S>()  // k_{t−1}, W
    let alpha = Buffer<S>()  // α_t, K
    let similarity = Buffer<S>()  // cos, K
    let rowNorm = Buffer<S>()  // sqrt(|M[k]|² + ε), K
    let keyNorm = Buffer<S>()  // sqrt(|k|² + ε), 1
    let control = Buffer<S>()  // activated [k; e; a], 3W
    let dControl = Buffer<S>()  // gradient of the control pre-activation, 3W
    // Per batch slot.
    let memory = Buffer<S>()  // running M, K×W
    let key = Buffer<S>()  // running previous key, W
    let dMemory = Buffer<S>()  // ∂L/∂M_t, K×W
    let dKey = Buffer<S>()  // ∂L/∂k_t, W
    let dAlpha = Buffer<S>()  // ∂L/∂α_t, K

    static var epsilon: S { S(1e-8) }

    init(set: ParameterSet<S>, prefix: String, rows: Int, width: Int, inputWidth: Int) {
        self.rows = rows
        self.width = width
        self.inputWidth = inputWidth
        memory0 = set.value(prefix + "memory0")
        gradMemory0 = set.grad(prefix + "memory0")
        weight = set.value(prefix + "control.weight")
        gradWeight = set.grad(prefix + "control.weight")
        bias = set.value(prefix + "control.bias")
        gradBias = set.grad(prefix + "control.bias")
    }

    func reserve(tokens: Int, slots: Int) {
        let (k, w) = (rows, width)
        memoryPrev.reserve(tokens * k * w)
        keyPrev.reserve(tokens * w)
        alpha.reserve(tokens * k)
        similarity.reserve(tokens * k)
        rowNorm.reserve(tokens * k)
        keyNorm.reserve(tokens)
        control.reserve(tokens * 3 * w)
        dControl.reserve(tokens * 3 * w)
        memory.reserve(slots * k * w)
        key.reserve(slots * w)
        dMemory.reserve(slots * k * w)
        dKey.reserve(slots * w)
        dAlpha.reserve(slots * k)
    }

    // MARK: start of a sequence

    /// M_0 = memory0; k_0 = tanh(k-rows of control.bias), the key of the zero controller.
    func begin(slots: Int) {
        let kw = rows * width
        let m = memory.pointer, kp = key.pointer
        for b in 0..<slots {
            (m + b * kw).update(from: memory0, count: kw)
            for j in 0..<width { kp[b * width + j] = S.tanh(bias[j]) }
        }
    }

    /// Backward of `begin`: ∂memory0 += Σ_b ∂M_0, ∂bias_k += Σ_b ∂k_0 ⊙ (1 − k_0²).
    func finishBeginBackward(slots: Int) {
        let kw = rows * width
        let dm = dMemory.pointer, dk = dKey.pointer
        for b in 0..<slots {
            for i in 0..<kw { gradMemory0[i] += dm[b * kw + i] }
        }
        for j in 0..<width {
            let k0 = S.tanh(bias[j])
            var s: S = 0
            for b in 0..<slots { s += dk[b * width + j] }
            gradBias[j] += s * (1 - k0 * k0)
        }
    }

    // MARK: addressing (7)(8), from M_{t−1} and k_{t−1}

    func address(row0: Int, count n: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = memoryPrev.pointer + row * kw
            let kv = keyPrev.pointer + row * W
            m.update(from: memory.pointer + b * kw, count: kw)
            kv.update(from: key.pointer + b * W, count: W)
            let s = similarity.pointer + row * K
            let nrm = rowNorm.pointer + row * K
            let a = alpha.pointer + row * K
            S.gemv(false, K, W, 1, m, W, kv, 0, s)  // s_k = M[k]·key
            var kk: S = 0
            for j in 0..<W { kk += kv[j] * kv[j] }
            let nk = (kk + Self.epsilon).squareRoot()
            keyNorm.pointer[row] = nk
            var top = -S.infinity
            for k in 0..<K {
                var mm: S = 0
                let mk = m + k * W
                for j in 0..<W { mm += mk[j] * mk[j] }
                let nm = (mm + Self.epsilon).squareRoot()
                nrm[k] = nm
                s[k] = s[k] / (nm * nk)
                top = Swift.max(top, s[k])
            }
            var z: S = 0
            for k in 0..<K {
                a[k] = S.exp(s[k] - top)
                z += a[k]
            }
            let inv = 1 / z
            for k in 0..<K { a[k] *= inv }
        }
    }

    /// ds = α ⊙ (dα − α·dα); then through the cosine into ∂M_{t−1} and ∂k_{t−1}.
    func addressBackward(row0: Int, count n: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = memoryPrev.pointer + row * kw
            let kv = keyPrev.pointer + row * W
            let a = alpha.pointer + row * K
            let s = similarity.pointer + row * K
            let nrm = rowNorm.pointer + row * K
            let nk = keyNorm.pointer[row]
            let da = dAlpha.pointer + b * K
            let dm = dMemory.pointer + b * kw
            let dk = dKey.pointer + b * W
            var dot: S = 0
            for k in 0..<K { dot += a[k] * da[k] }
            for j in 0..<W { dk[j] = 0 }
            var sumDsS: S = 0
            for k in 0..<K {
                let ds = a[k] * (da[k] - dot)
                let c1 = ds / (nrm[k] * nk)
                let c2 = ds * s[k] / (nrm[k] * nrm[k])
                sumDsS += ds * s[k]
                let mk = m + k * W, dmk = dm + k * W
                for j in 0..<W {
                    dmk[j] += c1 * kv[j] - c2 * mk[j]
                    dk[j] += c1 * mk[j]
                }
                da[k] = 0
            }
            let c3 = sumDsS / (nk * nk)
            for j in 0..<W { dk[j] -= c3 * kv[j] }
        }
    }

    // MARK: read (6): r = αᵀ M

    /// Reads M_{t−1} (`afterWrite == false`) or M_t (`true`, ARC-II's local read (17)).
    func read(row0: Int, count n: Int, afterWrite: Bool, into out: UnsafeMutablePointer<S>, stride ld: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = afterWrite ? memory.pointer + b * kw : memoryPrev.pointer + row * kw
            S.gemv(true, K, W, 1, m, W, alpha.pointer + row * K, 0, out + b * ld)
        }
    }

    /// ∂α_k += dr·M[k]; ∂M += α drᵀ. For a read after the write, M_t is rebuilt from M_{t−1}.
    func readBackward(row0: Int, count n: Int, afterWrite: Bool, dr: UnsafePointer<S>, stride ld: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = memoryPrev.pointer + row * kw
            let a = alpha.pointer + row * K
            let da = dAlpha.pointer + b * K
            let dm = dMemory.pointer + b * kw
            let g = dr + b * ld
            if afterWrite {
                let v = control.pointer + row * 3 * W
                let e = v + W, add = v + 2 * W
                for k in 0..<K {
                    let ak = a[k]
                    var acc: S = 0
                    for j in 0..<W {
                        let mt = m[k * W + j] * (1 - ak * e[j]) + ak * add[j]
                        acc += g[j] * mt
                        dm[k * W + j] += ak * g[j]
                    }
                    da[k] += acc
                }
            } else {
                S.gemv(false, K, W, 1, m, W, g, 1, da)
                for k in 0..<K {
                    let ak = a[k]
                    for j in 0..<W { dm[k * W + j] += ak * g[j] }
                }
            }
        }
    }

    // MARK: control (5): [k; e; a] = [tanh; σ; tanh](weight · u + bias)

    func controlForward(row0: Int, count n: Int, input: UnsafePointer<S>, stride ldu: Int) {
        let W = width, w3 = 3 * width
        let v = control.pointer + row0 * w3
        for b in 0..<n { (v + b * w3).update(from: bias, count: w3) }
        S.gemm(false, true, n, w3, inputWidth, 1, input, ldu, weight, inputWidth, 1, v, w3)
        for b in 0..<n {
            let r = v + b * w3
            for j in 0..<W {
                r[j] = S.tanh(r[j])
                r[W + j] = sigmoid(r[W + j])
                r[2 * W + j] = S.tanh(r[2 * W + j])
            }
        }
    }

    /// ∂u (+)= dV · weight, for the step's rows; dV is the pre-activation gradient.
    func controlBackward(row0: Int, count n: Int, dInput: UnsafeMutablePointer<S>, stride ld: Int, accumulate: Bool) {
        let w3 = 3 * width
        S.gemm(false, false, n, inputWidth, w3, 1, dControl.pointer + row0 * w3, w3, weight, inputWidth,
               accumulate ? 1 : 0, dInput, ld)
    }

    // MARK: write (9): M_t = M_{t−1} ⊙ (1 − α eᵀ) + α aᵀ; the key k_t is kept for step t+1

    func write(row0: Int, count n: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = memoryPrev.pointer + row * kw
            let out = memory.pointer + b * kw
            let a = alpha.pointer + row * K
            let v = control.pointer + row * 3 * W
            let e = v + W, add = v + 2 * W
            for k in 0..<K {
                let ak = a[k]
                for j in 0..<W { out[k * W + j] = m[k * W + j] * (1 - ak * e[j]) + ak * add[j] }
            }
            (key.pointer + b * W).update(from: v, count: W)
        }
    }

    /// From ∂M_t and ∂k_t: ∂α, ∂e, ∂a, the control pre-activation gradient, and ∂M_{t−1}.
    func writeBackward(row0: Int, count n: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = memoryPrev.pointer + row * kw
            let a = alpha.pointer + row * K
            let v = control.pointer + row * 3 * W
            let kv = v, e = v + W, add = v + 2 * W
            let dv = dControl.pointer + row * 3 * W
            let dm = dMemory.pointer + b * kw
            let da = dAlpha.pointer + b * K
            let dk = dKey.pointer + b * W
            for j in 0..<(2 * W) { dv[W + j] = 0 }
            for k in 0..<K {
                let ak = a[k]
                var acc: S = 0
                for j in 0..<W {
                    let g = dm[k * W + j], mv = m[k * W + j]
                    acc += g * (add[j] - mv * e[j])
                    dv[W + j] -= g * ak * mv
                    dv[2 * W + j] += g * ak
                    dm[k * W + j] = g * (1 - ak * e[j])
                }
                da[k] += acc
            }
            for j in 0..<W {
                dv[j] = dk[j] * (1 - kv[j] * kv[j])
                dv[W + j] *= e[j] * (1 - e[j])
                dv[2 * W + j] *= 1 - add[j] * add[j]
            }
        }
    }

    // MARK: whole-batch pieces

    func beginBackward(slots: Int) {
        dMemory.zero(slots * rows * width)
        dKey.zero(slots * width)
        dAlpha.zero(slots * rows)
    }

    /// Weight gradients over every token in one BLAS call, then memory0 and the k_0 bias path.
    func finishBackward(tokens: Int, slots: Int, input: UnsafePointer<S>, stride ldu: Int) {
        let w3 = 3 * width
        S.gemm(true, false, w3, inputWidth, tokens, 1, dControl.pointer, w3, input, ldu, 1, gradWeight, inputWidth)
        let dv = dControl.pointer
        for r in 0..<tokens {
            for j in 0..<w3 { gradBias[j] += dv[r * w3 + j] }
        }
        finishBeginBackward(slots: slots)
    }
}
