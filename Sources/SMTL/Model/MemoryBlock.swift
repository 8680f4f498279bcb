import RealModule

/// An external memory block, SPEC §3: `memory0` ∈ R^{K×W} and a control layer that maps a
/// controller vector u to a key k, an erase vector e and an add vector a.
///
/// The block keeps, for every packed token row, what the backward pass needs: the memory before
/// the step (M_{t−1}), the key used for addressing (k_{t−1}), the similarities, norms and the
/// attention α_t, and the activated control outputs [k; e; a]. Per batch slot it keeps the running
/// memory and key (forward) and their gradients (backward). Forward and backward of each piece
/// stand side by side.
final class MemoryBlock<S: Scalar> {
    let rows: Int  // K
    let width: Int  // W
    let inputWidth: Int  // u: the controller's width
    let memory0: UnsafeMutablePointer<S>, gradMemory0: UnsafeMutablePointer<S>
    let weight: UnsafeMutablePointer<S>, gradWeight: UnsafeMutablePointer<S>
    let bias: UnsafeMutablePointer<S>, gradBias: UnsafeMutablePointer<S>

    // Per token row and per batch slot, in a workspace that the blocks of the same role in all
    // tasks of a model share (tasks run one after another).
    let memoryPrev: Buffer<S>
    let keyPrev: Buffer<S>
    let alpha: Buffer<S>
    let similarity: Buffer<S>
    let rowNorm: Buffer<S>
    let keyNorm: Buffer<S>
    let control: Buffer<S>
    let dControl: Buffer<S>
    let memory: Buffer<S>
    let key: Buffer<S>
    let dMemory: Buffer<S>
    let dKey: Buffer<S>
    let dAlpha: Buffer<S>

    static var epsilon: S { S(1e-8) }

    /// `grads` is the gradient buffer laid out like `set` (the set's own, or a task's private
    /// buffer for the shared tensors).
    init(
        set: ParameterSet<S>, grads: UnsafeMutablePointer<S>, prefix: String, rows: Int, width: Int, inputWidth: Int,
        workspace: MemoryWorkspace<S>
    ) {
        memoryPrev = workspace.memoryPrev
        keyPrev = workspace.keyPrev
        alpha = workspace.alpha
        similarity = workspace.similarity
        rowNorm = workspace.rowNorm
        keyNorm = workspace.keyNorm
        control = workspace.control
        dControl = workspace.dControl
        memory = workspace.memory
        key = workspace.key
        dMemory = workspace.dMemory
        dKey = workspace.dKey
        dAlpha = workspace.dAlpha
        self.rows = rows
        self.width = width
        self.inputWidth = inputWidth
        memory0 = set.value(prefix + "memory0")
        gradMemory0 = grads + set.layout.offset(prefix + "memory0")
        weight = set.value(prefix + "control.weight")
        gradWeight = grads + set.layout.offset(prefix + "control.weight")
        bias = set.value(prefix + "control.bias")
        gradBias = grads + set.layout.offset(prefix + "control.bias")
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
    /// Step 0's rows are rows 0..<slots.
    func begin(slots: Int) {
        let kw = rows * width
        let m = memoryPrev.pointer, kp = keyPrev.pointer
        for b in 0..<slots {
            (m + b * kw).update(from: memory0, count: kw)
            let kb = kp + b * width
            for j in 0..<width { kb[j] = S.activationTanh(bias[j]) }
        }
    }

    /// Backward of `begin`: ∂memory0 += Σ_b ∂M_0, ∂bias_k += Σ_b ∂k_0 ⊙ (1 − k_0²).
    func finishBeginBackward(slots: Int) {
        let kw = rows * width
        let dm = dMemory.pointer, dk = dKey.pointer
        for b in 0..<slots {
            let db = dm + b * kw
            for i in 0..<kw { gradMemory0[i] += db[i] }
        }
        for j in 0..<width {
            let k0 = S.activationTanh(bias[j])
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
            let s = similarity.pointer + row * K
            let nrm = rowNorm.pointer + row * K
            let a = alpha.pointer + row * K
            S.gemv(false, K, W, 1, m, W, kv, 0, s)  // s_k = M[k]·key
            let nk = (dot(kv, kv, W) + Self.epsilon).squareRoot()
            keyNorm.pointer[row] = nk
            var top = -S.infinity
            for k in 0..<K {
                let mk = m + k * W
                let nm = (dot(mk, mk, W) + Self.epsilon).squareRoot()
                nrm[k] = nm
                s[k] = s[k] / (nm * nk)
                top = Swift.max(top, s[k])
            }
            var z: S = 0
            for k in 0..<K {
                a[k] = S.activationExp(s[k] - top)
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

    /// Reads M_{t−1} (`afterWrite == false`) or M_t (`true`, ARC-II's local read (17); M_t is
    /// where `write` put it: the slot's row of step t+1, or the slot's final state).
    func read(
        row0: Int, count n: Int, afterWrite: Bool, nextRow0: Int = 0, nextCount: Int = 0,
        into out: UnsafeMutablePointer<S>, stride ld: Int
    ) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m =
                !afterWrite
                ? memoryPrev.pointer + row * kw
                : b < nextCount ? memoryPrev.pointer + (nextRow0 + b) * kw : memory.pointer + b * kw
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
                    let mk = m + k * W, dmk = dm + k * W
                    var acc: S = 0
                    for j in 0..<W {
                        let mt = mk[j] * (1 - ak * e[j]) + ak * add[j]
                        acc = Relaxed.multiplyAdd(g[j], mt, acc)
                        dmk[j] += ak * g[j]
                    }
                    da[k] += acc
                }
            } else {
                S.gemv(false, K, W, 1, m, W, g, 1, da)
                for k in 0..<K {
                    let ak = a[k]
                    let dmk = dm + k * W
                    for j in 0..<W { dmk[j] += ak * g[j] }
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
            let rk = v + b * w3
            applyTanh(rk, W)
            applySigmoid(rk + W, W)
            applyTanh(rk + 2 * W, W)
        }
    }

    /// ∂u (+)= dV · weight, for the step's rows; dV is the pre-activation gradient.
    func controlBackward(row0: Int, count n: Int, dInput: UnsafeMutablePointer<S>, stride ld: Int, accumulate: Bool) {
        let w3 = 3 * width
        S.gemm(
            false, false, n, inputWidth, w3, 1, dControl.pointer + row0 * w3, w3, weight, inputWidth,
            accumulate ? 1 : 0, dInput, ld)
    }

    // MARK: write (9): M_t = M_{t−1} ⊙ (1 − α eᵀ) + α aᵀ; the key k_t is kept for step t+1

    /// M_t and k_t go straight to the slot's row of step t+1 (rows `nextRow0 ..< nextRow0 +
    /// nextCount`), or, for a slot whose sequence ends at t, to its final state: no copies.
    func write(row0: Int, count n: Int, nextRow0: Int, nextCount: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        for b in 0..<n {
            let row = row0 + b
            let m = memoryPrev.pointer + row * kw
            let next = b < nextCount
            let out = next ? memoryPrev.pointer + (nextRow0 + b) * kw : memory.pointer + b * kw
            let a = alpha.pointer + row * K
            let v = control.pointer + row * 3 * W
            let e = v + W, add = v + 2 * W
            for k in 0..<K {
                let ak = a[k]
                let mk = m + k * W, ok = out + k * W
                for j in 0..<W { ok[j] = mk[j] * (1 - ak * e[j]) + ak * add[j] }
            }
            (next ? keyPrev.pointer + (nextRow0 + b) * W : key.pointer + b * W).update(from: v, count: W)
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
            let dvk = dv, dve = dv + W, dva = dv + 2 * W
            for j in 0..<W { dve[j] = 0; dva[j] = 0 }
            for k in 0..<K {
                let ak = a[k]
                let mk = m + k * W, dmk = dm + k * W
                var acc: S = 0
                for j in 0..<W {
                    let g = dmk[j], mv = mk[j]
                    acc = Relaxed.multiplyAdd(g, add[j] - mv * e[j], acc)
                    dve[j] -= g * ak * mv
                    dva[j] += g * ak
                    dmk[j] = g * (1 - ak * e[j])
                }
                da[k] += acc
            }
            for j in 0..<W {
                dvk[j] = dk[j] * (1 - kv[j] * kv[j])
                dve[j] *= e[j] * (1 - e[j])
                dva[j] *= 1 - add[j] * add[j]
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
            let dr = dv + r * w3
            for j in 0..<w3 { gradBias[j] += dr[j] }
        }
        finishBeginBackward(slots: slots)
    }
}

/// The activation buffers of a memory block (SPEC §3): per packed token row, what the backward
/// needs; per batch slot, the running memory and key and their gradients.
final class MemoryWorkspace<S: Scalar> {
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
}
