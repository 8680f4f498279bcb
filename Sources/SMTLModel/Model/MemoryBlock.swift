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

    /// The activation buffers, in a workspace that the blocks of the same role in all tasks of a
    /// model share (tasks run one after another).
    let ws: MemoryWorkspace<S>

    static var epsilon: S { S(1e-8) }

    // MARK: where the memory states live (recomputation for long batches)
    //
    // The state at the start of step t, M_{t−1} (K·W per token row), is what the backward reads at
    // step t. A long batch's states do not fit in cache (16 documents of 300 tokens: 19 MB per
    // block), and streaming them out in the forward and back in the backward costs more than the
    // arithmetic. Above `MemoryRecompute.aboveBytes`, only every `MemoryRecompute.every`-th
    // step's states are kept; the forward passes the others through a two-step ring, and the backward rebuilds a
    // segment's states from its first one with the same write kernel, bit for bit (they are the
    // same products in the same order), into a scratch that stays in cache.

    /// 0: every step's states are kept; else the segment length of this batch.
    private(set) var every = 0
    private var storeOffset: [Int] = []  // per step: first row in `memoryPrev` (kept steps)
    private var rowOffset: [Int] = []  // per step: first packed token row
    private var activeSlots: [Int] = []
    private var slots = 0
    private var rebuiltSegment = -1

    /// `grads` is the gradient buffer laid out like `set` (the set's own, or a task's private
    /// buffer for the shared tensors).
    init(
        set: ParameterSet<S>, grads: UnsafeMutablePointer<S>, prefix: String, rows: Int, width: Int, inputWidth: Int,
        workspace: MemoryWorkspace<S>
    ) {
        ws = workspace
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
        ws.keyPrev.reserve(tokens * w)
        ws.alpha.reserve(tokens * k)
        ws.similarity.reserve(tokens * k)
        ws.rowNorm.reserve(tokens * k)
        ws.keyNorm.reserve(tokens)
        ws.control.reserve(tokens * 3 * w)
        ws.dControl.reserve(tokens * 3 * w)
        ws.memory.reserve(slots * k * w)
        ws.key.reserve(slots * w)
        ws.dMemory.reserve(slots * k * w)
        ws.dKey.reserve(slots * w)
        ws.dAlpha.reserve(slots * k)
    }

    /// Lays out the states of `batch` (call after `reserve`, before `begin`).
    func plan(_ batch: Batch) {
        let kw = rows * width
        slots = batch.size
        activeSlots = batch.active
        rowOffset = batch.offsets
        every = batch.tokenCount * kw * MemoryLayout<S>.size > MemoryRecompute.aboveBytes ? MemoryRecompute.every : 0
        storeOffset = [Int](repeating: 0, count: batch.steps)
        var kept = 0
        for t in 0..<batch.steps where every == 0 || t % every == 0 {
            storeOffset[t] = kept
            kept += batch.active[t]
        }
        ws.memoryPrev.reserve(Swift.max(kept, 1) * kw)
        if every > 0 {
            ws.ring.reserve(2 * slots * kw)
            ws.scratch.reserve(every * slots * kw)
        }
        rebuiltSegment = -1
    }

    /// M_{t−1}, the state at the start of step t, of the step's slots (in the forward: written by
    /// the write of step t−1; in the backward: kept or rebuilt).
    @inline(__always) func state(_ t: Int, backward: Bool = false) -> UnsafeMutablePointer<S> {
        let kw = rows * width
        if every == 0 || t % every == 0 { return ws.memoryPrev.pointer + storeOffset[t] * kw }
        return backward ? ws.scratch.pointer + (t % every) * slots * kw : ws.ring.pointer + (t % 2) * slots * kw
    }

    /// Before the backward of step t: rebuilds the states of t's segment when they are not kept.
    func prepareBackward(_ t: Int) {
        guard every > 0, t % every != 0, rebuiltSegment != t / every else { return }
        let (K, W) = (rows, width)
        let first = t - t % every, last = Swift.min(first + every, activeSlots.count) - 1
        for u in (first + 1)...last {
            let r = rowOffset[u - 1]
            S.memWrite(
                activeSlots[u], K, W, state(u - 1, backward: true), ws.alpha.pointer + r * K,
                ws.control.pointer + r * 3 * W,
                state(u, backward: true), nil, 0, nil)
        }
        rebuiltSegment = t / every
    }

    // MARK: start of a sequence

    /// M_0 = memory0; k_0 = tanh(k-rows of control.bias), the key of the zero controller; and the
    /// addressing of step 0 (every later step's is done by the write before it, see `write`).
    /// Step 0's rows are rows 0..<slots. A memory state is kept transposed (W rows of K, element
    /// (k, j) at j·K + k) so that the kernels' loops run over the K memory rows.
    func begin(slots: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        let m = ws.memoryPrev.pointer, kp = ws.keyPrev.pointer
        guard slots > 0 else { return }
        for k in 0..<K { for j in 0..<W { m[j * K + k] = memory0[k * W + j] } }
        for j in 0..<W { kp[j] = S.activationTanh(bias[j]) }
        address(row0: 0, count: 1)
        for b in 1..<slots {
            (m + b * kw).update(from: m, count: kw)
            (kp + b * W).update(from: kp, count: W)
            (ws.similarity.pointer + b * K).update(from: ws.similarity.pointer, count: K)
            (ws.rowNorm.pointer + b * K).update(from: ws.rowNorm.pointer, count: K)
            (ws.alpha.pointer + b * K).update(from: ws.alpha.pointer, count: K)
            ws.keyNorm.pointer[b] = ws.keyNorm.pointer[0]
        }
    }

    /// Backward of `begin`: ∂memory0 += Σ_b ∂M_0 (transposed back), ∂bias_k += Σ_b ∂k_0 ⊙ (1 − k_0²).
    func finishBeginBackward(slots: Int) {
        let (K, W) = (rows, width)
        let kw = K * W
        let dm = ws.dMemory.pointer, dk = ws.dKey.pointer
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
            n, K, W, ws.memoryPrev.pointer + row0 * K * W, ws.keyPrev.pointer + row0 * W,
            ws.similarity.pointer + row0 * K,
            ws.rowNorm.pointer + row0 * K, ws.keyNorm.pointer + row0, ws.alpha.pointer + row0 * K)
    }

    /// What the addressing backward of rows row0..<row0+n needs; ∂k_{t−1} goes to `dKey`.
    func addressRows(row0: Int) -> AddressRows<S> {
        let (K, W) = (rows, width)
        return AddressRows(
            key: ws.keyPrev.pointer + row0 * W, similarity: ws.similarity.pointer + row0 * K,
            norm: ws.rowNorm.pointer + row0 * K, keyNorm: ws.keyNorm.pointer + row0, dKey: ws.dKey.pointer)
    }

    // MARK: read (6): r = αᵀ M

    /// r_t = α_tᵀ M_{t−1}, the read before the LSTM step (SPEC §5 step 1; α_t is ready, see
    /// `address`). ARC-II's read after the write (17) is done by `write`.
    func read(_ s: StepRows, into out: UnsafeMutablePointer<S>, stride ld: Int) {
        let (K, W) = (rows, width)
        S.memRead(s.count, K, W, state(s.t), ws.alpha.pointer + s.row0 * K, out, ld)
    }

    /// Backward of `read`: ∂α_k += dr·M_{t−1}[k]; ∂M_{t−1} += α drᵀ; then, row by row while its
    /// memory is in cache, the addressing backward (ds = α ⊙ (dα − α·dα), through the cosine into
    /// ∂M_{t−1} and ∂k_{t−1}; dα is zeroed).
    func readBackward(_ s: StepRows, dr: UnsafePointer<S>, stride ld: Int) {
        let (K, W) = (rows, width)
        prepareBackward(s.t)
        S.memReadBackward(
            s.count, K, W, state(s.t, backward: true), ws.alpha.pointer + s.row0 * K, dr, ld, ws.dAlpha.pointer,
            ws.dMemory.pointer, addressRows(row0: s.row0))
    }

    // MARK: control (5): [k; e; a] = [tanh; σ; tanh](weight · u + bias)

    func controlForward(row0: Int, count n: Int, input: UnsafePointer<S>, stride ldu: Int) {
        let W = width, w3 = 3 * width
        let v = ws.control.pointer + row0 * w3
        for b in 0..<n { (v + b * w3).update(from: bias, count: w3) }
        S.gemm(false, true, n, w3, inputWidth, 1, input, ldu, weight, inputWidth, 1, v, w3)
        S.controlActivate(n, W, v)  // [tanh; σ; tanh], a kernel (MemoryKernels.swift)
    }

    /// ∂u (+)= dV · weight, for the step's rows; dV is the pre-activation gradient.
    func controlBackward(row0: Int, count n: Int, dInput: UnsafeMutablePointer<S>, stride ld: Int, accumulate: Bool) {
        let w3 = 3 * width
        S.gemm(
            false, false, n, inputWidth, w3, 1, ws.dControl.pointer + row0 * w3, w3, weight, inputWidth,
            accumulate ? 1 : 0, dInput, ld)
    }

    // MARK: write (9): M_t = M_{t−1} ⊙ (1 − α eᵀ) + α aᵀ; the key k_t is kept for step t+1

    /// M_t and k_t go straight to the slot's row of step t+1 (rows `nextRow0 ..< nextRow0 +
    /// nextCount`), or, for a slot whose sequence ends at t, to its final state: no copies. In the
    /// same pass over M_t: the addressing of step t+1 for the slots that go on (α_{t+1} needs only
    /// M_t and k_t), and with `readInto`, the read after the write rL_t = α_tᵀ M_t (ARC-II (17)).
    func write(_ s: StepRows, readInto r: UnsafeMutablePointer<S>? = nil, stride ld: Int = 0) {
        let (K, W) = (rows, width)
        let kw = K * W
        let (row0, n, nextRow0, nextCount) = (s.row0, s.count, s.nextRow0, s.nextCount)
        let m = state(s.t), a = ws.alpha.pointer + row0 * K, v = ws.control.pointer + row0 * 3 * W
        let going = Swift.min(nextCount, n)
        if going > 0 {
            let next = AddressOutput(
                similarity: ws.similarity.pointer + nextRow0 * K, norm: ws.rowNorm.pointer + nextRow0 * K,
                keyNorm: ws.keyNorm.pointer + nextRow0, alpha: ws.alpha.pointer + nextRow0 * K)
            S.memWrite(going, K, W, m, a, v, state(s.t + 1), r, ld, next)
        }
        if n > going {
            S.memWrite(
                n - going, K, W, m + going * kw, a + going * K, v + going * 3 * W, ws.memory.pointer + going * kw,
                r.map { $0 + going * ld }, ld, nil)
        }
        for b in 0..<n {
            (b < going ? ws.keyPrev.pointer + (nextRow0 + b) * W : ws.key.pointer + b * W).update(
                from: v + b * 3 * W, count: W)
        }
    }

    /// From ∂M_t and ∂k_t: ∂α, ∂e, ∂a, the control pre-activation gradient, and ∂M_{t−1}. With
    /// `readGradient` (ARC-II's local block), first the backward of the read after the write from
    /// ∂rL_t, in the same pass; with `address`, then the addressing backward (as in `readBackward`).
    func writeBackward(
        _ s: StepRows, readGradient g: UnsafePointer<S>? = nil, stride ld: Int = 0, address: Bool = false
    ) {
        let (K, W) = (rows, width)
        let (row0, n) = (s.row0, s.count)
        prepareBackward(s.t)
        S.memWriteBackward(
            n, K, W, state(s.t, backward: true), ws.alpha.pointer + row0 * K, ws.control.pointer + row0 * 3 * W,
            ws.dControl.pointer + row0 * 3 * W, ws.dMemory.pointer, ws.dAlpha.pointer, ws.dKey.pointer, g, ld,
            address ? addressRows(row0: row0) : nil)
    }

    // MARK: whole-batch pieces

    func beginBackward(slots: Int) {
        ws.dMemory.zero(slots * rows * width)
        ws.dKey.zero(slots * width)
        ws.dAlpha.zero(slots * rows)
    }

    /// Weight gradients over every token in one BLAS call, then memory0 and the k_0 bias path.
    func finishBackward(tokens: Int, slots: Int, input: UnsafePointer<S>, stride ldu: Int) {
        let w3 = 3 * width
        S.gemm(true, false, w3, inputWidth, tokens, 1, ws.dControl.pointer, w3, input, ldu, 1, gradWeight, inputWidth)
        let dv = ws.dControl.pointer
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
    let memoryPrev = Buffer<S>()  // M_{t−1}, K×W (transposed), of the kept steps (`plan`)
    let ring = Buffer<S>()  // the forward's states of the steps not kept: two steps of slots
    let scratch = Buffer<S>()  // the backward's rebuilt states of one segment
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

/// When `MemoryBlock` recomputes memory states instead of keeping them (see `MemoryBlock.plan`).
public enum MemoryRecompute {
    /// Batches whose memory states (per block) exceed this many bytes are recomputed.
    nonisolated(unsafe) public static var aboveBytes = 512 << 10
    /// The segment length: one step's states kept in `every`.
    nonisolated(unsafe) public static var every = 8
}
