/// One task's network over a packed batch: embedding → LSTM (§2) with fusion (§4) and memories
/// (§3, §5) → classifier → softmax cross-entropy. Forward and backward are written out by hand,
/// step by step, in the order SPEC §5 fixes.
///
/// Products that do not depend on the recurrence run once for the whole batch: the input
/// projection X·W_ihᵀ before the time loop, and every weight gradient after it. Inside the loop
/// only the recurrent products remain, each one BLAS call over the step's active rows: h_{t−1}·W_hhᵀ
/// as an NN product over W_hhᵀ transposed once per batch (`RecurrentProducts`), and ∂z·W_hh.
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

    /// The memory blocks and how they join the LSTM (SPEC §5 steps 1, 3, 4).
    let memory: MemoryPath<S>

    /// The activation buffers, the model's workspace (its tasks run one after another).
    let ws: Workspace<S>
    private(set) var droppingX = false, droppingH = false, droppingR = false

    /// Embedding rows that the last backward wrote into (for the sparse update).
    public let touched: SparseRows

    public private(set) var batchTokens = 0

    /// `sharedGrads` is this task's private gradient buffer for the shared tensors (laid out like
    /// `shared`); the gradient sync sums the tasks' buffers in a fixed order.
    public init(
        architecture: Architecture, dims: Dimensions, taskName: String, classes: Int,
        shared: ParameterSet<S>, sharedGrads: UnsafeMutablePointer<S>, task: ParameterSet<S>,
        touched: SparseRows, workspace: Workspace<S>
    ) {
        ws = workspace
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
        memory = MemoryPath.make(
            architecture, dims: dims, task: task, taskPrefix: p, shared: shared,
            sharedGrads: sharedGrads, workspace: workspace)
    }

    func reserve(tokens n: Int, slots b: Int) {
        let (e, d, w) = (dims.embedding, dims.hidden, dims.memoryWidth)
        ws.x.reserve(n * e); ws.dx.reserve(n * e)
        ws.gates.reserve(n * 4 * d); ws.dGates.reserve(n * 4 * d)
        for buf in [ws.hPrev, ws.cPrev, ws.cell, ws.hidden, ws.tanhU] { buf.reserve(n * d) }
        if architecture.hasFusion {
            ws.readFused.reserve(n * w); ws.fusion.reserve(n * 2 * d); ws.dFusion.reserve(n * 2 * d)
        }
        ws.weightHHt.reserve(d * 4 * d)
        ws.dHidden.reserve(b * d); ws.dCell.reserve(b * d); ws.dRead.reserve(b * w); ws.hLast.reserve(b * d)
        ws.probabilities.reserve(b * classes); ws.dLogits.reserve(b * classes); ws.logitBuffer.reserve(b * classes)
        memory.reserve(tokens: n, slots: b)
    }

    // MARK: the whole pass

    /// Runs the batch; returns the mean cross-entropy over labelled slots (0 when none is labelled).
    /// Class probabilities per slot are left in `probabilities` (slot order, see `Batch.source`).
    /// With `dropout` (training only), its masks apply to x, to h before the classifier and to the
    /// fused read r_t (architectures with a fusion gate), and the following `backward` uses the
    /// same masks.
    @discardableResult
    public func forward(_ batch: Batch, dropout: Dropout? = nil) -> S {
        reserve(tokens: batch.tokenCount, slots: batch.size)
        memory.plan(batch)
        droppingX = (dropout?.embedding ?? 0) > 0
        droppingH = (dropout?.hidden ?? 0) > 0
        droppingR = (dropout?.read ?? 0) > 0 && architecture.hasFusion
        if let dropout, droppingX || droppingH || droppingR {
            if droppingX { ws.maskX.reserve(batch.tokenCount * dims.embedding) }
            if droppingH { ws.maskH.reserve(batch.size * dims.hidden) }
            if droppingR { ws.maskR.reserve(batch.tokenCount * dims.memoryWidth) }
            dropout.masks(
                for: batch, embeddingDim: dims.embedding, hidden: dims.hidden,
                x: droppingX ? ws.maskX.pointer : nil, h: droppingH ? ws.maskH.pointer : nil,
                memoryWidth: dims.memoryWidth, r: droppingR ? ws.maskR.pointer : nil)
        }
        embed(batch)
        memory.begin(slots: batch.size)
        for t in 0..<batch.steps {
            let s = StepRows(batch, t)
            memory.read(s, into: ws.readFused.pointer)  // 1. read the fused memory (k_{t−1}, M_{t−1})
            if droppingR { dropRead(s) }
            lstmStep(s)  // 2. the LSTM cell (§2) ...
            fuse(s)  // ... and its output, through the fusion gate (§4) or plain
            carry(s)
            memory.update(s, hidden: ws.hidden.pointer)  // 3–4. memory control and write
        }
        return classify(batch)
    }

    /// Adds the gradient of `scale` × (mean cross-entropy of the last forward) to the task's and
    /// the shared gradient buffers. Must follow `forward` on the same batch. Each step runs the
    /// forward's pieces backwards, in reverse order.
    public func backward(_ batch: Batch, scale: S = 1) {
        classifyBackward(batch, scale: scale)
        ws.dCell.pointer.update(repeating: 0, count: batch.size * dims.hidden)
        memory.beginBackward(slots: batch.size)
        for t in stride(from: batch.steps - 1, through: 0, by: -1) {
            let s = StepRows(batch, t)
            memory.updateBackward(s, dHidden: ws.dHidden.pointer)  // 4–3.
            fuseBackward(s)  // 2.
            lstmStepBackward(s)
            memory.readBackward(s, dRead: ws.dRead.pointer)  // 1.
        }
        weightGradients(batch)
        memory.finishBackward(tokens: batch.tokenCount, slots: batch.size, hidden: ws.hidden.pointer)
        embedBackward(batch)
    }

    // MARK: embedding and input projection

    /// X = the embedding rows of the batch's tokens; Z = X·W_ihᵀ + b for every step in one
    /// product; h_0 = c_0 = 0.
    func embed(_ batch: Batch) {
        let (E, d) = (dims.embedding, dims.hidden)
        let G = 4 * d, ntok = batch.tokenCount
        batchTokens = ntok
        let x = ws.x.pointer, z = ws.gates.pointer
        batch.tokens.withUnsafeBufferPointer { tok in
            for row in 0..<ntok { (x + row * E).update(from: embedding + Int(tok[row]) * E, count: E) }
        }
        if droppingX { let m = ws.maskX.pointer; for i in 0..<(ntok * E) { x[i] *= m[i] } }
        for row in 0..<ntok { (z + row * G).update(from: bias, count: G) }
        S.gemm(false, true, ntok, G, E, 1, x, E, weightIH, E, 1, z, G)
        ws.hPrev.pointer.update(repeating: 0, count: batch.active[0] * d)
        ws.cPrev.pointer.update(repeating: 0, count: batch.active[0] * d)
        if RecurrentProducts.transposedOnce {
            // W_hhᵀ (d × 4d), so that each step's h·W_hhᵀ is an NN product OpenBLAS does not pack.
            let wt = ws.weightHHt.pointer
            for j in 0..<G { for k in 0..<d { wt[k * G + j] = weightHH[j * d + k] } }
        }
    }

    /// ∂X = ∂Z·W_ih, added into the touched embedding rows only.
    func embedBackward(_ batch: Batch) {
        let (E, G, ntok) = (dims.embedding, 4 * dims.hidden, batch.tokenCount)
        let dxp = ws.dx.pointer
        S.gemm(false, false, ntok, E, G, 1, ws.dGates.pointer, G, weightIH, E, 0, dxp, E)
        if droppingX { let m = ws.maskX.pointer; for i in 0..<(ntok * E) { dxp[i] *= m[i] } }
        batch.tokens.withUnsafeBufferPointer { tok in
            for row in 0..<ntok {
                let id = Int(tok[row])
                touched.mark(id)
                let gr = gradEmbedding + id * E, src = dxp + row * E
                for j in 0..<E { gr[j] += src[j] }
            }
        }
    }

    /// The weight gradients of the LSTM and the fusion gate over all tokens at once.
    func weightGradients(_ batch: Batch) {
        let (E, d, W) = (dims.embedding, dims.hidden, dims.memoryWidth)
        let G = 4 * d, ntok = batch.tokenCount
        let dz = ws.dGates.pointer, dq = ws.dFusion.pointer
        S.gemm(true, false, G, E, ntok, 1, dz, G, ws.x.pointer, E, 1, gradWeightIH, E)
        S.gemm(true, false, G, d, ntok, 1, dz, G, ws.hPrev.pointer, d, 1, gradWeightHH, d)
        for row in 0..<ntok { let dzr = dz + row * G; for j in 0..<G { gradBias[j] += dzr[j] } }
        if let g = gradFusionFR, let gc = gradFusionC {
            S.gemm(true, false, 2 * d, W, ntok, 1, dq, 2 * d, ws.readFused.pointer, W, 1, g, W)
            S.gemm(true, false, d, d, ntok, 1, dq + d, 2 * d, ws.cell.pointer, d, 1, gc, d)
        }
    }

    // MARK: LSTM cell (§2)

    /// Gates and cell of step t: z += h_{t−1}·W_hhᵀ; i, f, o = σ, g = tanh; c_t = f ⊙ c_{t−1} + i ⊙ g.
    func lstmStep(_ s: StepRows) {
        let d = dims.hidden, G = 4 * d
        let (r0, n) = (s.row0, s.count)
        let z = ws.gates.pointer, c = ws.cell.pointer, cp = ws.cPrev.pointer
        if s.t > 0 {
            if RecurrentProducts.transposedOnce {
                S.gemm(
                    false, false, n, G, d, 1, ws.hPrev.pointer + r0 * d, d, ws.weightHHt.pointer, G, 1, z + r0 * G, G)
            } else {
                S.gemm(false, true, n, G, d, 1, ws.hPrev.pointer + r0 * d, d, weightHH, d, 1, z + r0 * G, G)
            }
        }
        // The activations and c_t: a kernel (CellKernels.swift).
        S.lstmCell(n, d, z + r0 * G, cp + r0 * d, c + r0 * d)
    }

    /// From ∂c_t (which `fuseBackward` completed): the gate gradients, ∂c_{t−1} = ∂c_t ⊙ f, and
    /// ∂h_{t−1} = ∂z·W_hh.
    func lstmStepBackward(_ s: StepRows) {
        let d = dims.hidden, G = 4 * d
        let (r0, n) = (s.row0, s.count)
        let z = ws.gates.pointer, dz = ws.dGates.pointer, dc = ws.dCell.pointer, cp = ws.cPrev.pointer
        // ∂i = ∂c ⊙ g ⊙ i(1 − i), ∂f = ∂c ⊙ c_{t−1} ⊙ f(1 − f), ∂g = ∂c ⊙ i ⊙ (1 − g²), ∂c ← ∂c ⊙ f: a kernel.
        S.lstmCellBackward(n, d, z + r0 * G, dz + r0 * G, dc, cp + r0 * d)
        // W_hh is already the K × N operand of this NN product: OpenBLAS's small-matrix kernel.
        if s.t > 0 { S.gemm(false, false, n, d, G, 1, dz + r0 * G, G, weightHH, d, 0, ws.dHidden.pointer, d) }
    }

    /// h_t and c_t become the next step's h_{t−1}, c_{t−1} for the slots that go on.
    func carry(_ s: StepRows) {
        let d = dims.hidden
        guard s.nextCount > 0 else { return }
        (ws.hPrev.pointer + s.nextRow0 * d).update(from: ws.hidden.pointer + s.row0 * d, count: s.nextCount * d)
        (ws.cPrev.pointer + s.nextRow0 * d).update(from: ws.cell.pointer + s.row0 * d, count: s.nextCount * d)
    }

    // MARK: output and fusion gate (§4)

    /// h_t = o ⊙ tanh(c_t + gate ⊙ q_t) with q_t = W_f r_t and gate = σ(W_r r_t + W_c c_t) (12);
    /// without a fusion gate, h_t = o ⊙ tanh(c_t).
    func fuse(_ s: StepRows) {
        let (d, W, G) = (dims.hidden, dims.memoryWidth, 4 * dims.hidden)
        let (r0, n) = (s.row0, s.count)
        let z = ws.gates.pointer, c = ws.cell.pointer, h = ws.hidden.pointer, tu = ws.tanhU.pointer,
            qg = ws.fusion.pointer
        if let wfr = fusionFR, let wc = fusionC {
            S.gemm(false, true, n, 2 * d, W, 1, ws.readFused.pointer + r0 * W, W, wfr, W, 0, qg + r0 * 2 * d, 2 * d)
            S.gemm(false, true, n, d, d, 1, c + r0 * d, d, wc, d, 1, qg + r0 * 2 * d + d, 2 * d)
            // gate = σ(·); tu = tanh(c + gate ⊙ q); h = o ⊙ tu: a kernel (MemoryKernels.swift)
            S.fuseForward(n, d, qg + r0 * 2 * d, c + r0 * d, z + r0 * G + 3 * d, G, tu + r0 * d, h + r0 * d)
        } else {
            S.lstmOutput(n, d, z + r0 * G + 3 * d, G, c + r0 * d, tu + r0 * d, h + r0 * d)  // tu = tanh(c), h = o ⊙ tu
        }
    }

    /// From ∂h_t: ∂o, ∂c_t += ∂u, and with a fusion gate ∂q, ∂gate, their share of ∂c_t and ∂r_t.
    /// du = ∂L/∂(c + gate ⊙ q) is computed once per unit.
    func fuseBackward(_ s: StepRows) {
        let (d, W, G) = (dims.hidden, dims.memoryWidth, 4 * dims.hidden)
        let (r0, n) = (s.row0, s.count)
        let z = ws.gates.pointer, tu = ws.tanhU.pointer, qg = ws.fusion.pointer
        let dz = ws.dGates.pointer, dq = ws.dFusion.pointer, dh = ws.dHidden.pointer, dc = ws.dCell.pointer
        if fusionFR != nil {
            // du = ∂h ⊙ o ⊙ (1 − tu²); ∂c += du; ∂o; ∂q = du ⊙ gate; ∂gate = du ⊙ q ⊙ gate ⊙ (1 − gate)
            S.fuseBackward(
                n, d, dh, z + r0 * G + 3 * d, G, tu + r0 * d, qg + r0 * 2 * d, dq + r0 * 2 * d, dc, dz + r0 * G + 3 * d)
        } else {
            // ∂c += ∂h ⊙ o ⊙ (1 − tu²); ∂o = ∂h ⊙ tu ⊙ o(1 − o)
            S.lstmOutputBackward(n, d, dh, z + r0 * G + 3 * d, G, tu + r0 * d, dc, dz + r0 * G + 3 * d)
        }
        if let wfr = fusionFR, let wc = fusionC {
            S.gemm(false, false, n, d, d, 1, dq + r0 * 2 * d + d, 2 * d, wc, d, 1, dc, d)
            S.gemm(false, false, n, W, 2 * d, 1, dq + r0 * 2 * d, 2 * d, wfr, W, 0, ws.dRead.pointer, W)
            if droppingR {
                // ∂r_t (raw read) = ∂(masked read) ⊙ mask
                let dr = ws.dRead.pointer, m = ws.maskR.pointer + r0 * W
                for i in 0..<(n * W) { dr[i] *= m[i] }
            }
        }
    }

    /// Dropout on the read of step t (`training.dropout_read`): the fusion gate sees r_t ⊙ mask.
    func dropRead(_ s: StepRows) {
        let W = dims.memoryWidth
        let r = ws.readFused.pointer + s.row0 * W, m = ws.maskR.pointer + s.row0 * W
        for i in 0..<(s.count * W) { r[i] *= m[i] }
    }

    // MARK: classifier (20) and softmax cross-entropy

    /// Classifier on h at each slot's last real token, softmax and mean cross-entropy.
    func classify(_ batch: Batch) -> S {
        let d = dims.hidden, C = classes, B = batch.size
        let hl = ws.hLast.pointer, p = ws.probabilities.pointer
        for b in 0..<B { (hl + b * d).update(from: ws.hidden.pointer + batch.lastRow(b) * d, count: d) }
        if droppingH { let m = ws.maskH.pointer; for i in 0..<(B * d) { hl[i] *= m[i] } }
        for b in 0..<B { (p + b * C).update(from: classifierB, count: C) }
        S.gemm(false, true, B, C, d, 1, hl, d, classifierW, d, 1, p, C)
        ws.logitBuffer.pointer.update(from: p, count: B * C)
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

    /// ∂logits = scale · (p − y) / (labelled slots); the classifier's gradients, and ∂h at each
    /// slot's last token. Nothing else reaches h_T, so slots that end at step t carry exactly
    /// this until the backward loop reaches t.
    func classifyBackward(_ batch: Batch, scale: S) {
        let d = dims.hidden, C = classes, B = batch.size
        let labelled = batch.labels.filter { $0 >= 0 }.count
        let dl = ws.dLogits.pointer, p = ws.probabilities.pointer
        let k = labelled > 0 ? scale / S(labelled) : 0
        for b in 0..<B {
            let y = batch.labels[b]
            let dlb = dl + b * C, pb = p + b * C
            for j in 0..<C { dlb[j] = y >= 0 ? k * (pb[j] - (j == y ? 1 : 0)) : 0 }
        }
        S.gemm(true, false, C, d, B, 1, dl, C, ws.hLast.pointer, d, 1, gradClassifierW, d)
        for b in 0..<B { let dlb = dl + b * C; for j in 0..<C { gradClassifierB[j] += dlb[j] } }
        S.gemm(false, false, B, d, C, 1, dl, C, classifierW, d, 0, ws.dHidden.pointer, d)
        if droppingH { let dh = ws.dHidden.pointer, m = ws.maskH.pointer; for i in 0..<(B * d) { dh[i] *= m[i] } }
    }

    // MARK: inspection

    /// The fusion gate (12) of slot b at every step of its sequence, [length][d]. Empty for LSTM.
    public func fusionGates(slot b: Int, in batch: Batch) -> [[S]] {
        guard architecture.hasFusion else { return [] }
        let d = dims.hidden
        return (0..<batch.lengths[b]).map { t in
            let q = ws.fusion.pointer + (batch.offsets[t] + b) * 2 * d + d
            return Array(UnsafeBufferPointer(start: q, count: d))
        }
    }

    /// h_t of slot b at every step, [length][d].
    public func hiddenStates(slot b: Int, in batch: Batch) -> [[S]] {
        let d = dims.hidden
        return (0..<batch.lengths[b]).map { t in
            Array(UnsafeBufferPointer(start: ws.hidden.pointer + (batch.offsets[t] + b) * d, count: d))
        }
    }

    /// The classifier (20) applied to h_t of slot b at every step: softmax(W h_t + b), [length][C].
    /// Row t is the prediction for the prefix w_1…w_t (the paper's Figure 3 curves).
    public func prefixProbabilities(slot b: Int, in batch: Batch) -> [[S]] {
        let (d, C, L) = (dims.hidden, classes, batch.lengths[b])
        var states = [S](repeating: 0, count: L * d)
        for t in 0..<L { for j in 0..<d { states[t * d + j] = ws.hidden.pointer[(batch.offsets[t] + b) * d + j] } }
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

    /// The logits (classifier outputs before the softmax) of slot b after the last forward.
    public func logits(slot b: Int) -> [S] {
        Array(UnsafeBufferPointer(start: ws.logitBuffer.pointer + b * classes, count: classes))
    }

    /// Class probabilities of slot b after the last forward.
    public func probabilities(slot b: Int) -> [S] {
        Array(UnsafeBufferPointer(start: ws.probabilities.pointer + b * classes, count: classes))
    }
}
