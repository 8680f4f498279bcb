/// One task's network over a packed batch: embedding → LSTM (§2) with fusion (§4) and memories
/// (§3, §5) → classifier → softmax cross-entropy. Forward and backward are written out by hand,
/// step by step, in the order SPEC §5 fixes.
///
/// Products that do not depend on the recurrence run once for the whole batch: the input
/// projection X·W_ihᵀ before the time loop, and every weight gradient after it. Inside the loop
/// only the recurrent products remain, each one BLAS call over the step's active rows.
public final class Network<S: Scalar> {
    public let architecture: Architecture
    public let dims: Dimensions
    public let classes: Int

    let shared: ParameterSet<S>
    let task: ParameterSet<S>
    let embedding: UnsafeMutablePointer<S>, gradEmbedding: UnsafeMutablePointer<S>
    let weightIH: UnsafeMutablePointer<S>, gradWeightIH: UnsafeMutablePointer<S>
    let weightHH: UnsafeMutablePointer<S>, gradWeightHH: UnsafeMutablePointer<S>
    let bias: UnsafeMutablePointer<S>, gradBias: UnsafeMutablePointer<S>
    /// [weight_f; weight_r] as one [2d, W] matrix, and weight_c.
    let fusionFR: UnsafeMutablePointer<S>?, gradFusionFR: UnsafeMutablePointer<S>?
    let fusionC: UnsafeMutablePointer<S>?, gradFusionC: UnsafeMutablePointer<S>?
    let classifierW: UnsafeMutablePointer<S>, gradClassifierW: UnsafeMutablePointer<S>
    let classifierB: UnsafeMutablePointer<S>, gradClassifierB: UnsafeMutablePointer<S>

    let local: MemoryBlock<S>?
    let global: MemoryBlock<S>?
    /// The block whose read vector enters the fusion gate: `local` (ME-LSTM) or `global`.
    let fused: MemoryBlock<S>?

    // Per token row.
    let x = Buffer<S>()  // embeddings, E
    let gates = Buffer<S>()  // pre-activations, then activated i, f, g, o: 4d
    let hPrev = Buffer<S>()  // h_{t−1}, d
    let cPrev = Buffer<S>()  // c_{t−1}, d
    let cell = Buffer<S>()  // c_t, d
    let hidden = Buffer<S>()  // h_t, d
    let tanhU = Buffer<S>()  // tanh(c_t + gate ⊙ q_t), d
    let readFused = Buffer<S>()  // r_t fed to the fusion gate, W
    let fusion = Buffer<S>()  // [q = W_f r ; gate], 2d
    let readLocal = Buffer<S>()  // ARC-II: rL_t, the global controller's input, W
    let dGates = Buffer<S>()
    let dFusion = Buffer<S>()  // [∂q ; ∂gate pre-activation], 2d
    let dx = Buffer<S>()
    // Per batch slot.
    let dHidden = Buffer<S>()  // ∂L/∂h_t for the running step, d
    let dCell = Buffer<S>()  // ∂L/∂c_t, d
    let dRead = Buffer<S>()  // ∂L/∂r_t (fused read), W
    let dReadLocal = Buffer<S>()  // ARC-II ∂L/∂rL_t, W
    let hLast = Buffer<S>()
    public let probabilities = Buffer<S>()
    let dLogits = Buffer<S>()

    /// Embedding rows that the last backward wrote into (for the sparse update).
    public let touched: SparseRows

    public private(set) var batchTokens = 0

    /// `sharedGrads` is this task's private gradient buffer for the shared tensors (laid out like
    /// `shared`); the model sums the tasks' buffers in a fixed order.
    public init(architecture: Architecture, dims: Dimensions, taskName: String, classes: Int,
                shared: ParameterSet<S>, sharedGrads: UnsafeMutablePointer<S>, task: ParameterSet<S>, touched: SparseRows)
    {
        self.architecture = architecture
        self.dims = dims
        self.classes = classes
        self.shared = shared
        self.task = task
        self.touched = touched
        let p = "task.\(taskName)."
        embedding = shared.value("embedding.weight")
        gradEmbedding = sharedGrads + shared.layout.offset("embedding.weight")
        weightIH = task.value(p + "lstm.weight_ih"); gradWeightIH = task.grad(p + "lstm.weight_ih")
        weightHH = task.value(p + "lstm.weight_hh"); gradWeightHH = task.grad(p + "lstm.weight_hh")
        bias = task.value(p + "lstm.bias"); gradBias = task.grad(p + "lstm.bias")
        if architecture.hasFusion {
            fusionFR = task.value(p + "fusion.weight_f"); gradFusionFR = task.grad(p + "fusion.weight_f")
            fusionC = task.value(p + "fusion.weight_c"); gradFusionC = task.grad(p + "fusion.weight_c")
        } else {
            fusionFR = nil; gradFusionFR = nil; fusionC = nil; gradFusionC = nil
        }
        classifierW = task.value(p + "classifier.weight"); gradClassifierW = task.grad(p + "classifier.weight")
        classifierB = task.value(p + "classifier.bias"); gradClassifierB = task.grad(p + "classifier.bias")
        let (d, k, w) = (dims.hidden, dims.memoryRows, dims.memoryWidth)
        local = architecture.hasLocalMemory
            ? MemoryBlock(set: task, grads: task.grads, prefix: p + "local.", rows: k, width: w, inputWidth: d) : nil
        global = architecture.hasGlobalMemory
            ? MemoryBlock(set: shared, grads: sharedGrads, prefix: "global.", rows: k, width: w,
                          inputWidth: architecture == .arc1 ? d : w) : nil
        fused = architecture == .meLSTM ? local : global
    }

    func reserve(tokens n: Int, slots b: Int) {
        let (e, d, w) = (dims.embedding, dims.hidden, dims.memoryWidth)
        x.reserve(n * e); dx.reserve(n * e)
        gates.reserve(n * 4 * d); dGates.reserve(n * 4 * d)
        for buf in [hPrev, cPrev, cell, hidden, tanhU] { buf.reserve(n * d) }
        if architecture.hasFusion {
            readFused.reserve(n * w); fusion.reserve(n * 2 * d); dFusion.reserve(n * 2 * d)
        }
        if architecture == .arc2 { readLocal.reserve(n * w); dReadLocal.reserve(b * w) }
        dHidden.reserve(b * d); dCell.reserve(b * d); dRead.reserve(b * w); hLast.reserve(b * d)
        probabilities.reserve(b * classes); dLogits.reserve(b * classes)
        local?.reserve(tokens: n, slots: b)
        global?.reserve(tokens: n, slots: b)
    }

    // MARK: forward

    /// Runs the batch; returns the mean cross-entropy over labelled slots (0 when none is labelled).
    /// Class probabilities per slot are left in `probabilities` (slot order, see `Batch.source`).
    @discardableResult
    public func forward(_ batch: Batch) -> S {
        let (E, d, W) = (dims.embedding, dims.hidden, dims.memoryWidth)
        let G = 4 * d
        let ntok = batch.tokenCount, B = batch.size
        batchTokens = ntok
        reserve(tokens: ntok, slots: B)
        let x = x.pointer, z = gates.pointer, hp = hPrev.pointer, cp = cPrev.pointer
        let c = cell.pointer, h = hidden.pointer, tu = tanhU.pointer
        let r = readFused.pointer, qg = fusion.pointer, rl = readLocal.pointer

        batch.tokens.withUnsafeBufferPointer { tok in
            for row in 0..<ntok { (x + row * E).update(from: embedding + Int(tok[row]) * E, count: E) }
        }
        // Input projections of every step in one product: Z = X·W_ihᵀ + b.
        for row in 0..<ntok { (z + row * G).update(from: bias, count: G) }
        S.gemm(false, true, ntok, G, E, 1, x, E, weightIH, E, 1, z, G)
        // h_0 = c_0 = 0.
        hp.update(repeating: 0, count: batch.active[0] * d)
        cp.update(repeating: 0, count: batch.active[0] * d)
        local?.begin(slots: B)
        global?.begin(slots: B)

        for t in 0..<batch.steps {
            let r0 = batch.offsets[t], n = batch.active[t]
            let r1 = batch.offsets[t + 1], n1 = t + 1 < batch.steps ? batch.active[t + 1] : 0
            // 1. read the fused memory with the previous key and memory
            if let m = fused {
                m.address(row0: r0, count: n)
                m.read(row0: r0, count: n, afterWrite: false, into: r + r0 * W, stride: W)
            }
            // 2. LSTM step (§2)
            if t > 0 { S.gemm(false, true, n, G, d, 1, hp + r0 * d, d, weightHH, d, 1, z + r0 * G, G) }
            for b in 0..<n {
                let row = r0 + b
                let zi = z + row * G, zf = zi + d, zg = zi + 2 * d, zo = zi + 3 * d
                let cr = c + row * d, cpr = cp + row * d
                // One in-place loop per activation, so each vectorises.
                applySigmoid(zi, 2 * d)
                applyTanh(zg, d)
                applySigmoid(zo, d)
                for j in 0..<d { cr[j] = zf[j] * cpr[j] + zi[j] * zg[j] }
            }
            // ... and its output, through the fusion gate (§4) or plain
            if let wfr = fusionFR, let wc = fusionC {
                S.gemm(false, true, n, 2 * d, W, 1, r + r0 * W, W, wfr, W, 0, qg + r0 * 2 * d, 2 * d)
                S.gemm(false, true, n, d, d, 1, c + r0 * d, d, wc, d, 1, qg + r0 * 2 * d + d, 2 * d)
                for b in 0..<n {
                    let row = r0 + b
                    let q = qg + row * 2 * d, qgate = q + d, o = z + row * G + 3 * d
                    let cr = c + row * d, hr = h + row * d, tr = tu + row * d
                    applySigmoid(qgate, d)
                    for j in 0..<d { tr[j] = cr[j] + qgate[j] * q[j] }
                    applyTanh(tr, d)
                    for j in 0..<d { hr[j] = o[j] * tr[j] }
                }
            } else {
                for b in 0..<n {
                    let row = r0 + b
                    let o = z + row * G + 3 * d
                    let cr = c + row * d, hr = h + row * d, tr = tu + row * d
                    tr.update(from: cr, count: d)
                    applyTanh(tr, d)
                    for j in 0..<d { hr[j] = o[j] * tr[j] }
                }
            }
            if n1 > 0 {
                (hp + r1 * d).update(from: h + r0 * d, count: n1 * d)
                (cp + r1 * d).update(from: c + r0 * d, count: n1 * d)
            }
            // 3–4. memory control and write
            switch architecture {
            case .lstm: break
            case .meLSTM, .arc1:
                let m = fused!
                m.controlForward(row0: r0, count: n, input: h + r0 * d, stride: d)
                m.write(row0: r0, count: n, nextRow0: r1, nextCount: n1)
            case .arc2:
                let L = local!, Gm = global!
                L.address(row0: r0, count: n)
                L.controlForward(row0: r0, count: n, input: h + r0 * d, stride: d)
                L.write(row0: r0, count: n, nextRow0: r1, nextCount: n1)
                L.read(row0: r0, count: n, afterWrite: true, nextRow0: r1, nextCount: n1, into: rl + r0 * W, stride: W)
                Gm.controlForward(row0: r0, count: n, input: rl + r0 * W, stride: W)
                Gm.write(row0: r0, count: n, nextRow0: r1, nextCount: n1)
            }
        }
        return classify(batch)
    }

    /// Classifier (20) on h at each slot's last real token, softmax and mean cross-entropy.
    func classify(_ batch: Batch) -> S {
        let d = dims.hidden, C = classes, B = batch.size
        let hl = hLast.pointer, p = probabilities.pointer
        for b in 0..<B { (hl + b * d).update(from: hidden.pointer + batch.lastRow(b) * d, count: d) }
        for b in 0..<B { (p + b * C).update(from: classifierB, count: C) }
        S.gemm(false, true, B, C, d, 1, hl, d, classifierW, d, 1, p, C)
        var loss: S = 0
        var labelled = 0
        for b in 0..<B {
            let lp = p + b * C
            var top = -S.infinity
            for k in 0..<C { top = Swift.max(top, lp[k]) }
            var z: S = 0
            for k in 0..<C { lp[k] = S.activationExp(lp[k] - top); z += lp[k] }
            for k in 0..<C { lp[k] /= z }
            let y = batch.labels[b]
            if y >= 0 { loss -= S.log(lp[y]); labelled += 1 }
        }
        return labelled > 0 ? loss / S(labelled) : 0
    }

    // MARK: backward

    /// Adds the gradient of `scale` × (mean cross-entropy of the last forward) to the task's and
    /// the shared gradient buffers. Must follow `forward` on the same batch.
    public func backward(_ batch: Batch, scale: S = 1) {
        let (E, d, W) = (dims.embedding, dims.hidden, dims.memoryWidth)
        let G = 4 * d, C = classes
        let ntok = batch.tokenCount, B = batch.size
        let x = x.pointer, z = gates.pointer, hp = hPrev.pointer, cp = cPrev.pointer
        let c = cell.pointer, tu = tanhU.pointer
        let r = readFused.pointer, qg = fusion.pointer, rl = readLocal.pointer
        let dz = dGates.pointer, dq = dFusion.pointer
        let dh = dHidden.pointer, dc = dCell.pointer, dr = dRead.pointer, drl = dReadLocal.pointer

        // Classifier and softmax cross-entropy: ∂logits = scale · (p − y) / B.
        let labelled = batch.labels.filter { $0 >= 0 }.count
        let dl = dLogits.pointer, p = probabilities.pointer
        let k = labelled > 0 ? scale / S(labelled) : 0
        for b in 0..<B {
            let y = batch.labels[b]
            let dlb = dl + b * C, pb = p + b * C
            for j in 0..<C { dlb[j] = y >= 0 ? k * (pb[j] - (j == y ? 1 : 0)) : 0 }
        }
        S.gemm(true, false, C, d, B, 1, dl, C, hLast.pointer, d, 1, gradClassifierW, d)
        for b in 0..<B { let dlb = dl + b * C; for j in 0..<C { gradClassifierB[j] += dlb[j] } }
        // ∂h at each slot's last token; nothing else reaches h_T, so slots that end at step t
        // carry exactly this until the loop reaches t.
        S.gemm(false, false, B, d, C, 1, dl, C, classifierW, d, 0, dh, d)
        dc.update(repeating: 0, count: B * d)
        local?.beginBackward(slots: B)
        global?.beginBackward(slots: B)

        for t in stride(from: batch.steps - 1, through: 0, by: -1) {
            let r0 = batch.offsets[t], n = batch.active[t]
            // 4–3. memory write and control, in reverse
            switch architecture {
            case .lstm: break
            case .meLSTM, .arc1:
                let m = fused!
                m.writeBackward(row0: r0, count: n)
                m.controlBackward(row0: r0, count: n, dInput: dh, stride: d, accumulate: true)
            case .arc2:
                let L = local!, Gm = global!
                Gm.writeBackward(row0: r0, count: n)
                Gm.controlBackward(row0: r0, count: n, dInput: drl, stride: W, accumulate: false)
                L.readBackward(row0: r0, count: n, afterWrite: true, dr: drl, stride: W)
                L.writeBackward(row0: r0, count: n)
                L.controlBackward(row0: r0, count: n, dInput: dh, stride: d, accumulate: true)
                L.addressBackward(row0: r0, count: n)
            }
            // 2. output and fusion gate: du = ∂L/∂(c + gate ⊙ q), computed once per unit
            let hasFusion = fusionFR != nil
            for b in 0..<n {
                let row = r0 + b
                let o = z + row * G + 3 * d, tr = tu + row * d
                let dhr = dh + b * d, dcr = dc + b * d, dzo = dz + row * G + 3 * d
                if hasFusion {
                    let q = qg + row * 2 * d, qgate = q + d
                    let dqr = dq + row * 2 * d, dqgate = dqr + d
                    for j in 0..<d {
                        let g = dhr[j], v = tr[j], oj = o[j], gate = qgate[j]
                        let du = g * oj * (1 - v * v)
                        dcr[j] += du
                        dzo[j] = g * v * oj * (1 - oj)
                        dqr[j] = du * gate
                        dqgate[j] = du * q[j] * gate * (1 - gate)
                    }
                } else {
                    for j in 0..<d {
                        let g = dhr[j], v = tr[j], oj = o[j]
                        dcr[j] += g * oj * (1 - v * v)
                        dzo[j] = g * v * oj * (1 - oj)
                    }
                }
            }
            if let wfr = fusionFR, let wc = fusionC {
                S.gemm(false, false, n, d, d, 1, dq + r0 * 2 * d + d, 2 * d, wc, d, 1, dc, d)
                S.gemm(false, false, n, W, 2 * d, 1, dq + r0 * 2 * d, 2 * d, wfr, W, 0, dr, W)
            }
            // LSTM cell (§2)
            for b in 0..<n {
                let row = r0 + b
                let zi = z + row * G, zf = zi + d, zg = zi + 2 * d
                let dzi = dz + row * G, dzf = dzi + d, dzg = dzi + 2 * d
                let dcr = dc + b * d, cpr = cp + row * d
                for j in 0..<d {
                    let i = zi[j], f = zf[j], g = zg[j]
                    let gc = dcr[j]
                    dzi[j] = gc * g * i * (1 - i)
                    dzf[j] = gc * cpr[j] * f * (1 - f)
                    dzg[j] = gc * i * (1 - g * g)
                    dcr[j] = gc * f
                }
            }
            if t > 0 { S.gemm(false, false, n, d, G, 1, dz + r0 * G, G, weightHH, d, 0, dh, d) }
            // 1. the fused read and its addressing
            if let m = fused {
                m.readBackward(row0: r0, count: n, afterWrite: false, dr: dr, stride: W)
                m.addressBackward(row0: r0, count: n)
            }
        }

        // Weight gradients over all tokens at once.
        S.gemm(true, false, G, E, ntok, 1, dz, G, x, E, 1, gradWeightIH, E)
        S.gemm(true, false, G, d, ntok, 1, dz, G, hp, d, 1, gradWeightHH, d)
        for row in 0..<ntok { let dzr = dz + row * G; for j in 0..<G { gradBias[j] += dzr[j] } }
        if let g = gradFusionFR, let gc = gradFusionC {
            S.gemm(true, false, 2 * d, W, ntok, 1, dq, 2 * d, r, W, 1, g, W)
            S.gemm(true, false, d, d, ntok, 1, dq + d, 2 * d, c, d, 1, gc, d)
        }
        switch architecture {
        case .lstm: break
        case .meLSTM, .arc1:
            fused!.finishBackward(tokens: ntok, slots: B, input: hidden.pointer, stride: d)
        case .arc2:
            local!.finishBackward(tokens: ntok, slots: B, input: hidden.pointer, stride: d)
            global!.finishBackward(tokens: ntok, slots: B, input: rl, stride: W)
        }
        // Embedding rows: ∂X = ∂Z·W_ih, added into the touched rows only.
        let dxp = dx.pointer
        S.gemm(false, false, ntok, E, G, 1, dz, G, weightIH, E, 0, dxp, E)
        batch.tokens.withUnsafeBufferPointer { tok in
            for row in 0..<ntok {
                let id = Int(tok[row])
                touched.mark(id)
                let gr = gradEmbedding + id * E, src = dxp + row * E
                for j in 0..<E { gr[j] += src[j] }
            }
        }
    }

    // MARK: inspection

    /// The fusion gate (12) of slot b at every step of its sequence, [length][d]. Empty for LSTM.
    public func fusionGates(slot b: Int, in batch: Batch) -> [[S]] {
        guard architecture.hasFusion else { return [] }
        let d = dims.hidden
        return (0..<batch.lengths[b]).map { t in
            let q = fusion.pointer + (batch.offsets[t] + b) * 2 * d + d
            return Array(UnsafeBufferPointer(start: q, count: d))
        }
    }

    /// h_t of slot b at every step, [length][d].
    public func hiddenStates(slot b: Int, in batch: Batch) -> [[S]] {
        let d = dims.hidden
        return (0..<batch.lengths[b]).map { t in
            Array(UnsafeBufferPointer(start: hidden.pointer + (batch.offsets[t] + b) * d, count: d))
        }
    }

    /// The classifier (20) applied to h_t of slot b at every step: softmax(W h_t + b), [length][C].
    /// Row t is the prediction for the prefix w_1…w_t (the paper's Figure 3 curves).
    public func prefixProbabilities(slot b: Int, in batch: Batch) -> [[S]] {
        let (d, C, L) = (dims.hidden, classes, batch.lengths[b])
        var states = [S](repeating: 0, count: L * d)
        for t in 0..<L { for j in 0..<d { states[t * d + j] = hidden.pointer[(batch.offsets[t] + b) * d + j] } }
        var logits = [S](repeating: 0, count: L * C)
        for t in 0..<L { for k in 0..<C { logits[t * C + k] = classifierB[k] } }
        states.withUnsafeBufferPointer { hs in
            logits.withUnsafeMutableBufferPointer { lg in
                S.gemm(false, true, L, C, d, 1, hs.baseAddress!, d, classifierW, d, 1, lg.baseAddress!, C)
            }
        }
        return (0..<L).map { t in
            let row = logits[(t * C)..<((t + 1) * C)]
            let top = row.max()!
            let e = row.map { S.activationExp($0 - top) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
    }

    /// Class probabilities of slot b after the last forward.
    public func probabilities(slot b: Int) -> [S] {
        Array(UnsafeBufferPointer(start: probabilities.pointer + b * classes, count: classes))
    }
}

/// The set of embedding rows a step touched, kept as a flag array plus a list so that clearing
/// and the sparse update cost only the touched rows.
public final class SparseRows {
    public private(set) var flags: [Bool]
    public private(set) var rows: [Int32] = []
    public init(count: Int) { flags = [Bool](repeating: false, count: count) }
    @inline(__always) public func mark(_ r: Int) {
        if !flags[r] { flags[r] = true; rows.append(Int32(r)) }
    }
    /// Adds every row flagged in `other` (one byte a row): the union over ranks.
    public func merge(_ other: [UInt8]) {
        for r in 0..<min(other.count, flags.count) where other[r] != 0 { mark(r) }
    }
    /// One byte a row, 1 where touched.
    public func bytes() -> [UInt8] { flags.map { $0 ? 1 : 0 } }
    public func clear() {
        for r in rows { flags[Int(r)] = false }
        rows.removeAll(keepingCapacity: true)
    }
}

@inline(__always) func applySigmoid<S: Scalar>(_ p: UnsafeMutablePointer<S>, _ n: Int) {
    for j in 0..<n { p[j] = sigmoid(p[j]) }
}

@inline(__always) func applyTanh<S: Scalar>(_ p: UnsafeMutablePointer<S>, _ n: Int) {
    for j in 0..<n { p[j] = S.activationTanh(p[j]) }
}
