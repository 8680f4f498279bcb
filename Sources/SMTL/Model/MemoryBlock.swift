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

    /// M_0 = memory0; k_0 = tanh(k-rows of control.bias), the key of the zero controller; and the
    /// addressing of step 0 (every later step's is done by the write before it, see `write`).
    /// Step 0's rows are rows 0..<slots. A memory state is kept transposed (W rows of K, element
    /// (k, j) at j·K + k) so that the kernels' loops run over the K memory rows.
    func begin(slots: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        let m = memoryPrev.pointer, kp = keyPrev.pointer
        guard slots > 0 else { return }
        for k in 0..<K { for j in 0..<W { m[j * K + k] = memory0[k * W + j] } }
        for j in 0..<W { kp[j] = S.activationTanh(bias[j]) }
        address(row0: 0, count: 1)
        for b in 1..<slots {
            (m + b * kw).update(from: m, count: kw)
            (kp + b * W).update(from: kp, count: W)
            (similarity.pointer + b * K).update(from: similarity.pointer, count: K)
            (rowNorm.pointer + b * K).update(from: rowNorm.pointer, count: K)
            (alpha.pointer + b * K).update(from: alpha.pointer, count: K)
            keyNorm.pointer[b] = keyNorm.pointer[0]
        }
    }

    /// Backward of `begin`: ∂memory0 += Σ_b ∂M_0 (transposed back), ∂bias_k += Σ_b ∂k_0 ⊙ (1 − k_0²).
    func finishBeginBackward(slots: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        let dm = dMemory.pointer, dk = dKey.pointer
        for b in 0..<slots {
            let db = dm + b * kw
            for k in 0..<K { for j in 0..<W { gradMemory0[k * W + j] += db[j * K + k] } }
        }
        for j in 0..<W {
            let k0 = S.activationTanh(bias[j])
            var s: S = 0
            for b in 0..<slots { s += dk[b * W + j] }
            gradBias[j] += s * (1 - k0 * k0)
        }
    }

    // MARK: addressing (7)(8), from M_{t−1} and k_{t−1}
    //
    // The per-token loops of addressing, read and write, forward and backward, are the C kernels
    // of Sources/CKernels (MemoryKernels.swift), written out there side by side.

    /// α_t = softmax_k cos(M_{t−1}[k], k_{t−1}); keeps the similarities and norms for the backward.
    /// Only step 0 calls it (`begin`): step t's addressing needs nothing but M_{t−1} and k_{t−1},
    /// so the write of step t−1 does it in the same pass over the memory.
    func address(row0: Int, count n: Int) {
        let (K, W) = (rows, width)
        S.memAddress(
            n, K, W, memoryPrev.pointer + row0 * K * W, keyPrev.pointer + row0 * W, similarity.pointer + row0 * K,
            rowNorm.pointer + row0 * K, keyNorm.pointer + row0, alpha.pointer + row0 * K)
    }

    /// What the addressing backward of rows row0..<row0+n needs; ∂k_{t−1} goes to `dKey`.
    func addressRows(row0: Int) -> AddressRows<S> {
        let (K, W) = (rows, width)
        return AddressRows(
            key: keyPrev.pointer + row0 * W, similarity: similarity.pointer + row0 * K,
            norm: rowNorm.pointer + row0 * K, keyNorm: keyNorm.pointer + row0, dKey: dKey.pointer)
    }

    // MARK: read (6): r = αᵀ M

    /// r_t = α_tᵀ M_{t−1}, the read before the LSTM step (SPEC §5 step 1; α_t is ready, see
    /// `address`). ARC-II's read after the write (17) is done by `write`.
    func read(row0: Int, count n: Int, into out: UnsafeMutablePointer<S>, stride ld: Int) {
        let (K, W) = (rows, width)
        S.memRead(n, K, W, memoryPrev.pointer + row0 * K * W, alpha.pointer + row0 * K, out, ld)
    }

    /// Backward of `read`: ∂α_k += dr·M_{t−1}[k]; ∂M_{t−1} += α drᵀ; then, row by row while its
    /// memory is in cache, the addressing backward (ds = α ⊙ (dα − α·dα), through the cosine into
    /// ∂M_{t−1} and ∂k_{t−1}; dα is zeroed).
    func readBackward(row0: Int, count n: Int, dr: UnsafePointer<S>, stride ld: Int) {
        let (K, W) = (rows, width)
        S.memReadBackward(
            n, K, W, memoryPrev.pointer + row0 * K * W, alpha.pointer + row0 * K, dr, ld, dAlpha.pointer,
            dMemory.pointer, addressRows(row0: row0))
    }

    // MARK: control (5): [k; e; a] = [tanh; σ; tanh](weight · u + bias)

    func controlForward(row0: Int, count n: Int, input: UnsafePointer<S>, stride ldu: Int) {
        let W = width, w3 = 3 * width
        let v = control.pointer + row0 * w3
        for b in 0..<n { (v + b * w3).update(from: bias, count: w3) }
        S.gemm(false, true, n, w3, inputWidth, 1, input, ldu, weight, inputWidth, 1, v, w3)
        S.controlActivate(n, W, v)  // [tanh; σ; tanh], a kernel (MemoryKernels.swift)
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
    /// nextCount`), or, for a slot whose sequence ends at t, to its final state: no copies. In the
    /// same pass over M_t: the addressing of step t+1 for the slots that go on (α_{t+1} needs only
    /// M_t and k_t), and with `readInto`, the read after the write rL_t = α_tᵀ M_t (ARC-II (17)).
    func write(
        row0: Int, count n: Int, nextRow0: Int, nextCount: Int, readInto r: UnsafeMutablePointer<S>? = nil,
        stride ld: Int = 0
    ) {
        let (K, W) = (rows, width)
        let kw = K * W
        let m = memoryPrev.pointer + row0 * kw, a = alpha.pointer + row0 * K, v = control.pointer + row0 * 3 * W
        let going = Swift.min(nextCount, n)
        if going > 0 {
            let next = AddressOutput(
                similarity: similarity.pointer + nextRow0 * K, norm: rowNorm.pointer + nextRow0 * K,
                keyNorm: keyNorm.pointer + nextRow0, alpha: alpha.pointer + nextRow0 * K)
            S.memWrite(going, K, W, m, a, v, memoryPrev.pointer + nextRow0 * kw, r, ld, next)
        }
        if n > going {
            S.memWrite(
                n - going, K, W, m + going * kw, a + going * K, v + going * 3 * W, memory.pointer + going * kw,
                r.map { $0 + going * ld }, ld, nil)
        }
        for b in 0..<n {
            (b < going ? keyPrev.pointer + (nextRow0 + b) * W : key.pointer + b * W).update(
                from: v + b * 3 * W, count: W)
        }
    }

    /// From ∂M_t and ∂k_t: ∂α, ∂e, ∂a, the control pre-activation gradient, and ∂M_{t−1}. With
    /// `readGradient` (ARC-II's local block), first the backward of the read after the write from
    /// ∂rL_t, in the same pass; with `address`, then the addressing backward (as in `readBackward`).
    func writeBackward(
        row0: Int, count n: Int, readGradient g: UnsafePointer<S>? = nil, stride ld: Int = 0, address: Bool = false
    ) {
        let (K, W) = (rows, width)
        S.memWriteBackward(
            n, K, W, memoryPrev.pointer + row0 * K * W, alpha.pointer + row0 * K, control.pointer + row0 * 3 * W,
            dControl.pointer + row0 * 3 * W, dMemory.pointer, dAlpha.pointer, dKey.pointer, g, ld,
            address ? addressRows(row0: row0) : nil)
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
