/// The memory side of one task's network: which blocks it has, which one the fusion gate reads
/// (SPEC §5 step 1), and how h_t drives the controllers and writes (steps 3–4). Each
/// architecture has one path, and `Network` calls the path's pairs without asking which
/// architecture it runs:
///
///     read / readBackward        step 1: read the fused memory (addressed with k_{t−1}, M_{t−1} by the write of t−1)
///     update / updateBackward    steps 3–4: control from h_t, write (ARC-II: local, then global)
///     finishBackward             weight gradients of the blocks over every token at once
///
/// Adding an architecture: a case in `Architecture`, a case here with its path type, and a line
/// in `make` (the compiler lists the switches that need it, all in this file); the gradient checks
/// then cover it.
enum MemoryPath<S: Scalar> {
    /// The plain LSTM: no memory.
    case none
    /// ME-LSTM (its local block) and ARC-I (the global block).
    case fused(FusedMemoryPath<S>)
    /// ARC-II.
    case stacked(StackedMemoryPath<S>)

    /// The path of an architecture, with its blocks over the task's and the shared tensors.
    static func make(
        _ architecture: Architecture, dims: Dimensions, task: ParameterSet<S>, taskPrefix: String,
        shared: ParameterSet<S>, sharedGrads: UnsafeMutablePointer<S>, workspace: Workspace<S>
    ) -> MemoryPath<S> {
        let (d, k, w) = (dims.hidden, dims.memoryRows, dims.memoryWidth)
        func local() -> MemoryBlock<S> {
            MemoryBlock(
                set: task, grads: task.grads, prefix: taskPrefix + "local.", rows: k, width: w, inputWidth: d,
                workspace: workspace.local)
        }
        func global() -> MemoryBlock<S> {
            MemoryBlock(
                set: shared, grads: sharedGrads, prefix: "global.", rows: k, width: w,
                inputWidth: architecture.globalControllerWidth(dims), workspace: workspace.global)
        }
        switch architecture {
        case .lstm: return .none
        case .meLSTM: return .fused(FusedMemoryPath(block: local(), hiddenWidth: d))
        case .arc1: return .fused(FusedMemoryPath(block: global(), hiddenWidth: d))
        case .arc2:
            return .stacked(
                StackedMemoryPath(
                    local: local(), global: global(), hiddenWidth: d, readLocal: workspace.readLocal,
                    dReadLocal: workspace.dReadLocal))
        }
    }

    /// Every block of the path, in the order they are begun.
    var blocks: [MemoryBlock<S>] {
        switch self {
        case .none: return []
        case .fused(let p): return [p.block]
        case .stacked(let p): return [p.local, p.global]
        }
    }

    /// The block whose read enters the fusion gate; nil for the plain LSTM.
    var fused: MemoryBlock<S>? {
        switch self {
        case .none: return nil
        case .fused(let p): return p.block
        case .stacked(let p): return p.global
        }
    }

    func reserve(tokens: Int, slots: Int) {
        if case .stacked(let p) = self { p.reserveReads(tokens: tokens, slots: slots) }
        for m in blocks { m.reserve(tokens: tokens, slots: slots) }
    }

    /// Lays out the blocks' memory states for `batch` (MemoryBlock.plan).
    func plan(_ batch: Batch) {
        for m in blocks { m.plan(batch) }
    }

    func begin(slots: Int) {
        for m in blocks { m.begin(slots: slots) }
    }

    func beginBackward(slots: Int) {
        for m in blocks { m.beginBackward(slots: slots) }
    }

    /// Step 1: r_t = read of the fused memory with the previous key, into `r` (row stride W). Its
    /// addressing α_t (from k_{t−1}, M_{t−1}) was done by the previous step's write, or by `begin`.
    @inline(__always) func read(_ s: StepRows, into r: UnsafeMutablePointer<S>) {
        guard let m = fused else { return }
        m.read(s, into: r + s.row0 * m.width, stride: m.width)
    }

    /// Backward of `read`, from ∂r_t of the step's slots (row stride W).
    @inline(__always) func readBackward(_ s: StepRows, dRead: UnsafePointer<S>) {
        guard let m = fused else { return }
        m.readBackward(s, dr: dRead, stride: m.width)  // and the addressing's
    }

    /// Steps 3–4 from h_t (`hidden` holds every token row, stride d).
    @inline(__always) func update(_ s: StepRows, hidden: UnsafePointer<S>) {
        switch self {
        case .none: break
        case .fused(let p): p.update(s, hidden: hidden)
        case .stacked(let p): p.update(s, hidden: hidden)
        }
    }

    /// Backward of `update`: adds into ∂h_t of the step's slots (`dHidden`, stride d).
    @inline(__always) func updateBackward(_ s: StepRows, dHidden: UnsafeMutablePointer<S>) {
        switch self {
        case .none: break
        case .fused(let p): p.updateBackward(s, dHidden: dHidden)
        case .stacked(let p): p.updateBackward(s, dHidden: dHidden)
        }
    }

    /// The blocks' weight gradients over every token (`hidden`: h of every token row).
    func finishBackward(tokens: Int, slots: Int, hidden: UnsafePointer<S>) {
        switch self {
        case .none: break
        case .fused(let p): p.finishBackward(tokens: tokens, slots: slots, hidden: hidden)
        case .stacked(let p): p.finishBackward(tokens: tokens, slots: slots, hidden: hidden)
        }
    }
}

/// ME-LSTM and ARC-I: one block, read by the fusion gate and controlled by h_t (eq. 13–16).
final class FusedMemoryPath<S: Scalar> {
    let block: MemoryBlock<S>
    let hiddenWidth: Int

    init(block: MemoryBlock<S>, hiddenWidth: Int) {
        self.block = block
        self.hiddenWidth = hiddenWidth
    }

    func update(_ s: StepRows, hidden: UnsafePointer<S>) {
        let d = hiddenWidth
        block.controlForward(row0: s.row0, count: s.count, input: hidden + s.row0 * d, stride: d)
        block.write(s)
    }

    func updateBackward(_ s: StepRows, dHidden: UnsafeMutablePointer<S>) {
        block.writeBackward(s)
        block.controlBackward(row0: s.row0, count: s.count, dInput: dHidden, stride: hiddenWidth, accumulate: true)
    }

    func finishBackward(tokens: Int, slots: Int, hidden: UnsafePointer<S>) {
        block.finishBackward(tokens: tokens, slots: slots, input: hidden, stride: hiddenWidth)
    }
}

/// ARC-II (eq. 17–19): h_t drives the local memory; its read after the write, rL_t, drives the
/// global memory; the fusion gate reads the global memory.
final class StackedMemoryPath<S: Scalar> {
    let local: MemoryBlock<S>
    let global: MemoryBlock<S>
    let hiddenWidth: Int
    /// rL_t of every token row (W), the global controller's input.
    let readLocal: Buffer<S>
    /// ∂L/∂rL_t of the running step's slots (W).
    let dReadLocal: Buffer<S>

    init(
        local: MemoryBlock<S>, global: MemoryBlock<S>, hiddenWidth: Int, readLocal: Buffer<S>, dReadLocal: Buffer<S>
    ) {
        self.readLocal = readLocal
        self.dReadLocal = dReadLocal
        self.local = local
        self.global = global
        self.hiddenWidth = hiddenWidth
    }

    func reserveReads(tokens: Int, slots: Int) {
        readLocal.reserve(tokens * local.width)
        dReadLocal.reserve(slots * local.width)
    }

    func update(_ s: StepRows, hidden: UnsafePointer<S>) {
        let (d, w) = (hiddenWidth, local.width)
        let rl = readLocal.pointer + s.row0 * w
        // αL_t is ready (the previous step's write addressed it); the write reads rL_t = αL_tᵀ L_t.
        local.controlForward(row0: s.row0, count: s.count, input: hidden + s.row0 * d, stride: d)
        local.write(s, readInto: rl, stride: w)
        global.controlForward(row0: s.row0, count: s.count, input: rl, stride: w)
        global.write(s)
    }

    func updateBackward(_ s: StepRows, dHidden: UnsafeMutablePointer<S>) {
        let (d, w) = (hiddenWidth, local.width)
        let drl = dReadLocal.pointer
        global.writeBackward(s)
        global.controlBackward(row0: s.row0, count: s.count, dInput: drl, stride: w, accumulate: false)
        // The local write's backward, with its read-after-write's before and its addressing's after.
        local.writeBackward(s, readGradient: drl, stride: w, address: true)
        local.controlBackward(row0: s.row0, count: s.count, dInput: dHidden, stride: d, accumulate: true)
    }

    func finishBackward(tokens: Int, slots: Int, hidden: UnsafePointer<S>) {
        local.finishBackward(tokens: tokens, slots: slots, input: hidden, stride: hiddenWidth)
        global.finishBackward(tokens: tokens, slots: slots, input: readLocal.pointer, stride: local.width)
    }
}

/// The packed rows of one time step: rows `row0 ..< row0 + count` now, and the first
/// `nextCount` of them continue at `nextRow0` in step t+1.
struct StepRows {
    let t: Int
    let row0: Int
    let count: Int
    let nextRow0: Int
    let nextCount: Int

    init(_ batch: Batch, _ t: Int) {
        self.t = t
        row0 = batch.offsets[t]
        count = batch.active[t]
        nextRow0 = batch.offsets[t + 1]
        nextCount = t + 1 < batch.steps ? batch.active[t + 1] : 0
    }
}
