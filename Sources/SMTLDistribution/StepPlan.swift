import SMTLData
import SMTLModel

/// Everything one training step needs to know about where its work runs, made once per step by
/// `StepPlanner.plan` from the step's draws. The trainer builds this rank's batches from it, and
/// `GradientSync` performs every collective of the step with it (`beginStep`: the loans;
/// `synchronize`: the fused reduction).
public struct StepPlan {
    /// The step being taken (1 for the first).
    public let step: Int
    /// Every task's draw: indices of its training examples, the same on every rank.
    public let draws: [[Int]]
    /// The tasks that train this step (the task schedule, per-task early stopping).
    public let active: [Bool]
    /// For each task, the positions in `draws[m]` this rank runs (after the step's loans).
    public let mine: [[Int]]
    /// The step's loans (none in a world of one, or when no loan pays).
    public let loans: [Placement.Loan]
    /// The tasks this rank computes (some of) this step, and the tasks whose gradient crosses
    /// ranks in the reduction (split over ranks, or lent for the step).
    public let computed: [Int]
    public let moved: [Int]
    /// The tasks whose gradients this rank clears after the update: its own and those it borrowed.
    public let cleared: [Int]
    /// The embedding rows any rank's batches touch this step (nil in a world of one, where the
    /// model's own record of touched rows is the step's).
    public let rows: SparseRows?

    /// The training examples task `m` runs on this rank this step.
    public func examples(_ m: Int) -> [Int] { mine[m].map { draws[m][$0] } }

    /// The share of task `m`'s step batch this rank runs: 1 when it runs all of it (or none).
    public func share(_ m: Int) -> Float {
        mine[m].isEmpty || mine[m].count == draws[m].count ? 1 : Float(Double(mine[m].count) / Double(draws[m].count))
    }
}

/// Makes each step's plan for one rank: the placement's assignment of the step's examples, its
/// loans, and the embedding rows the step touches. Every rank draws every task's batch, so every
/// rank makes the same plan (each keeps its own part).
public final class StepPlanner {
    public let placement: Placement
    public let rank: Int
    public let scaling: ScalingMode
    /// The rows buffer, reused step after step (a world of one needs none).
    private let rows: SparseRows?

    public init(placement: Placement, rank: Int, scaling: ScalingMode, vocabulary: Int) {
        self.placement = placement
        self.rank = rank
        self.scaling = scaling
        rows = placement.ranks > 1 ? SparseRows(count: vocabulary) : nil
    }

    /// The plan of step `step`: `draws[m]` are task m's examples, `tokens(m, i)` the token ids of
    /// task m's training example i. The plan's rows buffer is reused by the next plan.
    public func plan(step: Int, draws: [[Int]], active: [Bool], tokens: (Int, Int) -> [Int32]) -> StepPlan {
        let all = draws.map { Array($0.indices) }
        guard placement.ranks > 1, let rows else {
            return StepPlan(
                step: step, draws: draws, active: active, mine: all.enumerated().map { active[$0] ? $1 : [] },
                loans: [], computed: placement.tasksOfRank[rank], moved: placement.splitTasks,
                cleared: placement.tasksOfRank[rank], rows: nil)
        }
        rows.clear()
        for (m, ids) in draws.enumerated() {
            for i in ids { for w in tokens(m, i) { rows.mark(Int(w)) } }
        }
        let lengths = draws.enumerated().map { m, ids in ids.map { tokens(m, $0).count } }
        var mine = placement.examples(of: rank, lengths: lengths, scaling: scaling)
        let loans = placement.loans(lengths: lengths)
        // A lent part leaves its owner's examples and becomes its borrower's.
        if let out = loans.first(where: { $0.from == rank }) {
            mine[out.task] = mine[out.task].filter { !out.examples.contains($0) }
        }
        if let into = loans.first(where: { $0.to == rank }) { mine[into.task] = into.examples }
        for m in mine.indices where !active[m] { mine[m] = [] }
        let hosted = placement.tasksOfRank[rank]
        return StepPlan(
            step: step, draws: draws, active: active, mine: mine, loans: loans,
            computed: loans.isEmpty ? hosted : placement.computed(by: rank, loans: loans),
            moved: loans.isEmpty ? placement.splitTasks : loans.map(\.task),
            cleared: loans.isEmpty ? hosted : Array(Set(hosted + loans.map(\.task))).sorted(), rows: rows)
    }
}
