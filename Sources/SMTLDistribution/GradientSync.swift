import SMTLModel
/// The one owner of everything that crosses ranks in a training run, as PyTorch DDP's `Reducer`
/// owns its gradient buckets. `Model` and `Network` compute; they never see a communicator.
///
/// A step (`synchronize`) is one collective: an allreduce in Double of one fused buffer,
///
///     [ embedding rows of the step × E | dense shared tensors | tasks split over ranks | losses, tokens, stop ]
///
///  * the embedding rows are those of every task's batch of the step: every rank draws every
///    task's examples, so each knows them without exchanging anything, and the buffer grows with
///    the rows a step touches, not with the vocabulary;
///  * the shared gradient is summed over the rank's tasks in task order in Double, over ranks by
///    the allreduce, and rounded once, so the result never depends on where tasks run;
///  * a task whose batch is spread over several ranks has its gradient summed in the same buffer
///    (the other ranks add zeros), and so has a task lent for the step (`Placement.loans`): its
///    borrower's gradient goes to its owner;
///  * each task's loss (weighted by its shards' share of the batch), the tokens, and the stop flag
///    (any rank asked to stop → every rank stops at the same step) ride along.
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
    /// The tasks this rank runs (wholly or in part).
    public let hosted: [Int]
    /// The tasks spread over several ranks, in task order.
    let splitTasks: [Int]
    /// How the embedding gradient crosses ranks: its touched rows (default) or every row.
    public var embeddingExchange = EmbeddingExchange.sparse
    /// The embedding rows of the last reduction (the union over ranks): the rows the optimizer
    /// updates, and the only rows of `embedding.weight`'s gradient that are not zero.
    public let rows: SparseRows
    /// The fused reduction buffer, in Double.
    var reduction: [Double] = []

    /// `placement` defaults to the blocks layout of the model's tasks on `world`.
    public init(model: Model<S>, world: Communicator = LocalCommunicator(), placement: Placement? = nil) {
        self.model = model
        self.world = world
        let placement = placement ?? Placement(tasks: model.tasks.count, ranks: world.size)
        precondition(
            placement.ranks == world.size, "a placement for \(placement.ranks) ranks in a world of \(world.size)")
        self.placement = placement
        hosted = placement.tasksOfRank[world.rank]
        splitTasks = placement.splitTasks
        rows = SparseRows(count: model.dims.vocabulary)
    }

    /// This rank's shard of task m (nil if it does not serve m).
    public func shard(of m: Int) -> Placement.Shard? { placement.shard(of: world.rank, task: m) }

    /// The parameter sets this rank updates: the shared set (0) and its tasks' (m + 1).
    public var updatedSets: [Int] { [ParameterSets.shared] + hosted.map(ParameterSets.task) }

    // MARK: the step

    /// What every rank knows after a step's synchronisation.
    public struct StepStatistics {
        /// Each task's loss on its whole step batch.
        public var losses: [Float]
        /// Tokens of the step over all ranks.
        public var tokens: Int
        /// Some rank asked to stop: every rank stops after this step.
        public var stop: Bool
    }

    /// Everything one training step needs from the other ranks, after this rank's backward:
    /// `localLosses[m]` is the loss of this rank's part of task m, `tokens` this rank's tokens;
    /// the plan names the tasks computed here and the embedding rows of every rank's batches (a
    /// world of one takes the rows this process touched).
    public func synchronize(_ plan: StepPlan, localLosses: [S], tokens: Int, stopRequested: Bool) -> StepStatistics {
        reduce(
            localLosses: localLosses, tokens: tokens, stopRequested: stopRequested, stepRows: plan.rows,
            computed: plan.computed, moved: plan.moved)
    }

    /// The step's first collective, before the rank's forward and backward: the watchdog learns
    /// the step, and each task lent for the step goes from its owner to its borrower (one
    /// exchange of its tensors; nothing when the step has no loans).
    public func beginStep(_ plan: StepPlan) {
        world.enter(step: plan.step)
        guard !plan.loans.isEmpty else { return }
        let rank = world.rank
        let out = plan.loans.first { $0.from == rank }, into = plan.loans.first { $0.to == rank }
        let sent = out.map { model.taskParameters[$0.task] }, received = into.map { model.taskParameters[$0.task] }
        world.exchange(
            send: sent.map { UnsafeRawPointer($0.values) }, bytes: (sent?.count ?? 0) * MemoryLayout<S>.stride,
            to: out?.to ?? 0, receive: received.map { UnsafeMutableRawPointer($0.values) },
            bytes: (received?.count ?? 0) * MemoryLayout<S>.stride, from: into?.from ?? 0)
    }

    /// The fused reduction: `computed` are the tasks this rank computed, `moved` the tasks whose
    /// gradient crosses ranks (split over ranks, or lent for the step).
    // Called from other modules through the generic entry: the Float training path is compiled
    // specialised here (unspecialised, every element of its loops went through witness tables).
    @_specialize(where S == Float)
    func reduce(
        localLosses: [S], tokens: Int, stopRequested: Bool, stepRows: SparseRows?, computed: [Int], moved: [Int]
    ) -> StepStatistics {
        let T = model.tasks.count
        // Rows: the union over ranks (known locally), every row, or this process's.
        let e = model.dims.embedding
        for r in rows.rows { (model.shared.grads + Int(r) * e).update(repeating: 0, count: e) }
        rows.clear()
        if embeddingExchange == .dense && world.size > 1 {
            for r in 0..<model.dims.vocabulary { rows.mark(r) }
        } else if world.size > 1 {
            guard let stepRows else { preconditionFailure("a world of \(world.size) needs the step's rows") }
            for r in stepRows.rows { rows.mark(Int(r)) }
        } else {
            for r in model.touched.rows { rows.mark(Int(r)) }
        }
        let sorted = rows.rows.sorted()
        let shared = model.shared
        let embCount = model.dims.vocabulary * e
        let dense = shared.count - embCount
        let splitSizes = moved.map { model.taskParameters[$0].count }
        let statsAt = sorted.count * e + dense + splitSizes.reduce(0, +)
        let total = statsAt + T + 2
        if reduction.count < total { reduction = [Double](repeating: 0, count: total) }
        var stats = [Double](repeating: 0, count: T + 2)
        reduction.withUnsafeMutableBufferPointer { buf in
            let out = buf.baseAddress!
            out.update(repeating: 0, count: total)
            // The shared gradient: the tasks this rank computed, in task order.
            for m in computed {
                let g = model.taskSharedGrads[m]
                for (k, r) in sorted.enumerated() {
                    let src = g + Int(r) * e, dst = out + k * e
                    S.accumulateWidened(src, into: dst, count: e)
                }
                let src = g + embCount, dst = out + sorted.count * e
                S.accumulateWidened(src, into: dst, count: dense)
            }
            // The tasks spread over ranks or lent: this rank's part of their gradient.
            var at = sorted.count * e + dense
            for (i, m) in moved.enumerated() {
                if computed.contains(m) {
                    let g = model.taskParameters[m].grads
                    S.accumulateWidened(g, into: out + at, count: splitSizes[i])
                }
                at += splitSizes[i]
            }
            for m in computed { out[statsAt + m] = Double(localLosses[m]) }
            out[statsAt + T] = Double(tokens)
            out[statsAt + T + 1] = stopRequested ? 1 : 0
            if world.size > 1 { world.allreduceSum(out, count: total) }
            let sg = shared.grads
            for (k, r) in sorted.enumerated() {
                let dst = sg + Int(r) * e, src = out + k * e
                S.storeNarrowed(src, into: dst, count: e)
            }
            let dst = sg + embCount, src = out + sorted.count * e
            S.storeNarrowed(src, into: dst, count: dense)
            // Back to the ranks that own them (a task's borrower discards its copy).
            at = sorted.count * e + dense
            for (i, m) in moved.enumerated() {
                if hosted.contains(m) {
                    let g = model.taskParameters[m].grads
                    S.storeNarrowed(out + at, into: g, count: splitSizes[i])
                }
                at += splitSizes[i]
            }
            for j in 0..<(T + 2) { stats[j] = out[statsAt + j] }
        }
        return StepStatistics(
            losses: (0..<T).map { Float(stats[$0]) }, tokens: Int(stats[T]), stop: stats[T + 1] > 0)
    }

    /// shared.grads = Σ_m (task m's shared gradient) over every task of every rank (the step's
    /// reduction without its statistics; the gradient checks and `smtl bench` use it).
    public func reduceSharedGradients(stepRows: SparseRows? = nil) {
        _ = reduce(
            localLosses: [S](repeating: 0, count: model.tasks.count), tokens: 0, stopRequested: false,
            stepRows: stepRows, computed: hosted, moved: splitTasks)
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

    /// Sums `values` over ranks.
    public func sumOverRanks(_ values: inout [Double]) {
        if world.size > 1 { world.allreduceSum(&values) }
    }

    /// Each task's value as its lead rank has it, on every rank (nil where the lead has none); the
    /// values of tasks this rank does not lead are not read. One collective.
    public func fromLeads(_ values: [Double?]) -> [Double?] {
        fromOwners(values.map { $0.map { [$0] } }, width: 1, owner: placement.lead(of:)).map { $0?[0] }
    }

    /// Item m's row of `width` values as rank `owner(m)` has it, on every rank (nil where the owner
    /// has none); the rows of items this rank does not own are not read. One collective.
    public func fromOwners(_ rows: [[Double]?], width: Int, owner: (Int) -> Int) -> [[Double]?] {
        let w = width + 1  // per item: has a row, the row
        var slots = [Double](repeating: 0, count: w * rows.count)
        for (m, row) in rows.enumerated() where owner(m) == world.rank {
            guard let row else { continue }
            precondition(row.count == width, "a row of \(row.count) values where \(width) were expected")
            slots[w * m] = 1
            slots.replaceSubrange(w * m + 1..<w * (m + 1), with: row)
        }
        sumOverRanks(&slots)
        return rows.indices.map { m in slots[w * m] > 0 ? Array(slots[w * m + 1..<w * (m + 1)]) : nil }
    }

    /// Every rank's row of `row.count` values, on every rank: `result[r]` is rank r's. One collective.
    public func fromEveryRank(_ row: [Double]) -> [[Double]] {
        let n = row.count
        var all = [Double](repeating: 0, count: n * world.size)
        all.replaceSubrange(n * world.rank..<n * (world.rank + 1), with: row)
        sumOverRanks(&all)
        return (0..<world.size).map { Array(all[n * $0..<n * ($0 + 1)]) }
    }

    /// Runs `body` in `phase`, whose collectives may wait longer than a step's.
    public func during<T>(_ phase: CollectivePhase, _ body: () throws -> T) rethrows -> T {
        try world.during(phase, body)
    }

    /// Waits until every rank arrives, sleeping (after the ranks' uneven fine-tuning).
    public func idleBarrier() { world.idleBarrier() }

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
