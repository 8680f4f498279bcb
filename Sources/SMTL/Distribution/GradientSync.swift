/// The one owner of everything that crosses ranks in a training run, as PyTorch DDP's `Reducer`
/// owns its gradient buckets. `Model` and `Network` compute; they never see a communicator.
///
/// Per step (`synchronize`), in the same order on every rank:
///
///  1. the union of the embedding rows touched on any rank (a MAX allreduce of one byte a row);
///  2. `shared.grads` = Σ over tasks and ranks of the tasks' shared gradients: each rank sums its
///     tasks' private buffers in task order in Double, one allreduce in Double, rounded once
///     (so the result never depends on where tasks run);
///  3. for a task served by several ranks (N > T), the sum of its gradients over its ranks;
///  4. the step's statistics (each task's loss, the tokens) summed over ranks;
///  5. the stop flag (any rank asked to stop → every rank stops at the same step).
///
/// Outside the step it also owns the start-up broadcast of the shared tensors, the replica
/// checks, the checkpoint gather and the small reductions of evaluation and timing.
///
/// A world of one is the same code with every collective the identity: the single-node
/// simulation, and what the gradient checks use to get Σ over tasks.
public final class GradientSync<S: Scalar> {
    public let model: Model<S>
    public let world: Communicator
    public let placement: Placement
    /// The tasks this rank runs.
    public let hosted: [Int]
    /// The ranks serving this rank's task, when there are several (N > T); else nil.
    let taskCommunicator: Communicator?
    /// How the embedding gradient crosses ranks: its touched rows (default) or every row.
    public var embeddingExchange = EmbeddingExchange.sparse
    /// The embedding rows of the last reduction (the union over ranks): the rows the optimizer
    /// updates, and the only rows of `embedding.weight`'s gradient that are not zero.
    public let rows: SparseRows
    /// The reduction buffer: touched embedding rows, then the dense shared tensors, in Double.
    var reduction: [Double] = []

    /// `placement` defaults to the one for the model's tasks on `world` with equal costs.
    public init(model: Model<S>, world: Communicator = LocalCommunicator(), placement: Placement? = nil) {
        self.model = model
        self.world = world
        let placement = placement ?? Placement(taskTokens: model.tasks.map { _ in 1 }, ranks: world.size)
        precondition(
            placement.ranks == world.size, "a placement for \(placement.ranks) ranks in a world of \(world.size)")
        self.placement = placement
        hosted = placement.tasksOfRank[world.rank]
        let served = placement.ranksOfTask[hosted[0]]
        // Every rank takes part in the split; ranks sharing a task get a task communicator.
        let sub = world.size > 1 ? world.split(color: served[0], key: world.rank) : nil
        taskCommunicator = served.count > 1 ? sub : nil
        rows = SparseRows(count: model.dims.vocabulary)
    }

    /// For task m on this rank: this rank's index among the task's ranks, and their number.
    public func shard(of m: Int) -> (index: Int, count: Int) { placement.shard(of: world.rank, task: m) }

    /// The parameter sets this rank updates: the shared set (0) and its tasks' (m + 1).
    public var updatedSets: [Int] { [0] + hosted.map { $0 + 1 } }

    // MARK: the step

    /// What every rank knows after a step's synchronisation.
    public struct StepStatistics {
        /// Each task's loss (for a task split over ranks, the mean of its shards).
        public var losses: [Float]
        /// Tokens of the step over all ranks.
        public var tokens: Int
        /// Some rank asked to stop: every rank stops after this step.
        public var stop: Bool
    }

    /// Everything one training step needs from the other ranks, after this rank's backward:
    /// `localLosses[m]` is task m's loss on this rank (hosted tasks), `tokens` this rank's tokens.
    public func synchronize(localLosses: [S], tokens: Int, stopRequested: Bool) -> StepStatistics {
        reduceSharedGradients()
        let T = model.tasks.count
        var stats = [Double](repeating: 0, count: T + 1)
        for m in hosted { stats[m] = Double(localLosses[m]) / Double(shard(of: m).count) }
        stats[T] = Double(tokens)
        if let tc = taskCommunicator {
            let set = model.taskParameters[hosted[0]]
            Self.allreduceSum(tc, set.grads, count: set.count)
        }
        if world.size > 1 { world.allreduceSum(&stats) }
        var stop: Int32 = stopRequested ? 1 : 0
        world.allreduceMax(&stop, count: 1)
        return StepStatistics(losses: (0..<T).map { Float(stats[$0]) }, tokens: Int(stats[T]), stop: stop != 0)
    }

    /// shared.grads = Σ_m (task m's shared gradient) over every task of every rank, summed in
    /// task order in Double and over ranks with one allreduce in Double, then rounded once. Only
    /// the union of the touched embedding rows (the same list on every rank) and the dense shared
    /// tensors are exchanged: a sparse exchange of the embedding gradient. With `.dense`,
    /// every embedding row is exchanged instead (kept for measurement).
    public func reduceSharedGradients() {
        let e = model.dims.embedding
        let shared = model.shared
        let embCount = model.dims.vocabulary * e
        // The previous reduction's rows go back to zero, so that `shared.grads` holds exactly
        // this reduction.
        for r in rows.rows { (shared.grads + Int(r) * e).update(repeating: 0, count: e) }
        rows.clear()
        if embeddingExchange == .dense && world.size > 1 {
            for r in 0..<model.dims.vocabulary { rows.mark(r) }
        } else if world.size > 1 {
            var flags = model.touched.bytes()
            let n = flags.count
            flags.withUnsafeMutableBufferPointer { world.allreduceMax($0.baseAddress!, count: n) }
            rows.merge(flags)
        } else {
            for r in model.touched.rows { rows.mark(Int(r)) }
        }
        let sorted = rows.rows.sorted()
        let dense = shared.count - embCount
        let total = sorted.count * e + dense
        if reduction.count < total { reduction = [Double](repeating: 0, count: total) }
        reduction.withUnsafeMutableBufferPointer { buf in
            let out = buf.baseAddress!
            out.update(repeating: 0, count: total)
            for m in hosted {
                let g = model.taskSharedGrads[m]
                for (k, r) in sorted.enumerated() {
                    let src = g + Int(r) * e, dst = out + k * e
                    for j in 0..<e { dst[j] += Double(src[j]) }
                }
                let src = g + embCount, dst = out + sorted.count * e
                for j in 0..<dense { dst[j] += Double(src[j]) }
            }
            if world.size > 1 { world.allreduceSum(out, count: total) }
            let sg = shared.grads
            for (k, r) in sorted.enumerated() {
                let dst = sg + Int(r) * e, src = out + k * e
                for j in 0..<e { dst[j] = S(src[j]) }
            }
            let dst = sg + embCount, src = out + sorted.count * e
            for j in 0..<dense { dst[j] = S(src[j]) }
        }
    }

    /// An in-place sum of a Float or Double buffer.
    static func allreduceSum(_ c: Communicator, _ p: UnsafeMutablePointer<S>, count n: Int) {
        if S.self == Float.self {
            p.withMemoryRebound(to: Float.self, capacity: n) { c.allreduceSum($0, count: n) }
        } else {
            precondition(S.self == Double.self, "gradients are Float or Double")
            p.withMemoryRebound(to: Double.self, capacity: n) { c.allreduceSum($0, count: n) }
        }
    }

    // MARK: replicas

    /// Identical replicas from the first step: rank 0's shared tensors and their optimizer state
    /// go to every rank.
    public func broadcastShared(optimizerState: [UnsafeMutablePointer<S>]) {
        guard world.size > 1 else { return }
        let set = model.shared
        world.broadcast(set.values, bytes: set.count * MemoryLayout<S>.stride, root: 0)
        for buffer in optimizerState { world.broadcast(buffer, bytes: set.count * MemoryLayout<S>.stride, root: 0) }
    }

    /// Brings every task's tensors and optimizer state (`optimizerState[m]` for task m) from its
    /// lead rank to all ranks, so that any rank holds the whole model (for checkpoints).
    public func gatherTasks(optimizerState: [[UnsafeMutablePointer<S>]]) {
        guard world.size > 1 else { return }
        for m in 0..<model.tasks.count {
            let set = model.taskParameters[m]
            let root = placement.lead(of: m)
            world.broadcast(set.values, bytes: set.count * MemoryLayout<S>.stride, root: root)
            for buffer in optimizerState[m] {
                world.broadcast(buffer, bytes: set.count * MemoryLayout<S>.stride, root: root)
            }
        }
    }

    /// A checksum of the shared tensors; every rank must have rank 0's.
    public func sharedChecksum() -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        let p = UnsafeRawBufferPointer(start: model.shared.values, count: model.shared.count * MemoryLayout<S>.stride)
        var i = 0
        while i + 4 <= p.count {
            h = (h ^ UInt64(p.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* 0x100_0000_01B3
            i += 4
        }
        return h
    }

    /// Stops the job with a clear message if the replicas of the shared tensors differ.
    public func checkReplicas(step: Int) throws {
        guard world.size > 1 else { return }
        let mine = sharedChecksum()
        var root = mine
        withUnsafeMutableBytes(of: &root) { world.broadcast($0.baseAddress!, bytes: 8, root: 0) }
        var differs: Int32 = root == mine ? 0 : 1
        world.allreduceMax(&differs, count: 1)
        if differs != 0 {
            throw DistributedError(
                rank: world.rank, task: nil,
                message: "the replicas of the shared tensors differ at step \(step)"
                    + (root == mine ? "" : " (this rank differs from rank 0)"),
                hint: "this is a bug or a faulty node; resume from the last checkpoint")
        }
    }

    // MARK: small reductions

    /// Sums `values` over ranks (evaluation results, timing tables).
    public func sumOverRanks(_ values: inout [Double]) {
        if world.size > 1 { world.allreduceSum(&values) }
    }

    /// Whether the flag is set on any rank (for example, a failed checkpoint write on rank 0).
    public func anyRank(_ flag: Bool) -> Bool {
        var v: Int32 = flag ? 1 : 0
        world.allreduceMax(&v, count: 1)
        return v != 0
    }

    /// Whether this rank evaluates task m and writes what only one rank writes.
    public func leads(_ m: Int) -> Bool { placement.lead(of: m) == world.rank }
    public var isRoot: Bool { world.rank == 0 }
}

/// How the embedding gradient crosses ranks: the union of the touched rows (sparse), or every
/// row (dense, a plain allreduce of the whole table, kept for measurement).
public enum EmbeddingExchange: String, CaseIterable, Sendable { case sparse, dense }
