import Foundation
import SMTLData

/// Which ranks run which part of which task's batch.
///
/// Every step, each task takes `stepBatch[m]` examples (every rank draws the same ones); a rank
/// runs its *shards*: for each task it serves, a contiguous range of those examples. A task whose
/// examples are spread over several ranks gets its gradient summed over them.
///
/// * **Strong scaling** (default): a task's step batch stays `batch_size`, whatever the number of
///   ranks; ranks that share a task split it. 1, 2, 4 or 6 ranks compute the same step.
///   - `balanced` (default): tasks are placed to even out the expected cost per rank (tokens
///     per step: the step batch times the task's mean length). Without splitting, longest
///     processing time first (each task to the least-loaded rank). When that leaves the slowest
///     rank more than 5% above an even share, or there are more ranks than tasks, tasks are laid
///     out in config order and cut at each rank's even share (McNaughton's wrap-around rule), so a
///     rank can run part of one task's batch and whole other tasks.
///   - `blocks`: N ≤ T: contiguous blocks of tasks (rank r runs tasks ⌊rT/N⌋ ..< ⌊(r+1)T/N⌋);
///     N > T: each extra rank to the task with the most tokens per rank, its batch split evenly.
/// * **Weak scaling** (`training.scaling: "weak"`): the `blocks` layout, and each of a task's k
///   ranks takes a whole `batch_size` of examples, so the task's step batch is k·batch_size.
/// * N = 1: one process runs every task — the single-node simulation.
public struct Placement: Equatable, Sendable {
    public typealias Strategy = PlacementStrategy
    public typealias Scaling = ScalingMode
    public typealias Lending = SMTLData.Lending
    public typealias Oversubscription = SMTLData.Oversubscription

    /// A rank's part of a task's step batch: examples `lower ..< upper` of the step's draw.
    public struct Shard: Equatable, Sendable {
        public let task: Int
        public let lower: Int
        public let upper: Int
        public var count: Int { upper - lower }
    }

    /// Per rank, its shards in task order.
    public let shardsOfRank: [[Shard]]
    /// Per task, the examples it takes per step (all its shards together).
    public let stepBatch: [Int]
    /// Per task, the expected cost of one example (its mean length in tokens).
    public let costPerExample: [Double]
    /// Per rank, the tasks it serves (wholly or in part), in task order.
    public let tasksOfRank: [[Int]]
    /// Per task, the ranks that serve it, in rank order.
    public let ranksOfTask: [[Int]]

    /// The loans ranks may make each step (see `loans(lengths:)`); `.none` where the placement
    /// does not lend (weak scaling, `blocks`, one rank, or tasks split over ranks already).
    public let lending: Lending

    /// `examples[m]`: task m's training examples; `meanLength[m]`: their mean length in tokens.
    /// `lending`: the step-by-step loans of `loans(lengths:)` (balanced strong placements whose
    /// tasks each run on one rank).
    public init(
        examples: [Int], meanLength: [Double], batchSize: Int, ranks: Int, strategy: Strategy = .balanced,
        scaling: Scaling = .strong, lending: Lending = .whole
    ) {
        precondition(!examples.isEmpty && ranks > 0 && examples.allSatisfy { $0 > 0 })
        costPerExample = meanLength.map { max($0, 1e-9) }
        (stepBatch, shardsOfRank) = Self.layout(
            examples: examples, perExample: costPerExample, batchSize: batchSize, ranks: ranks, strategy: strategy,
            scaling: scaling)
        tasksOfRank = shardsOfRank.map { $0.map(\.task) }
        var owners = [[Int]](repeating: [], count: examples.count)
        for (r, shards) in shardsOfRank.enumerated() { for s in shards { owners[s.task].append(r) } }
        ranksOfTask = owners
        let lends = strategy == .balanced && scaling == .strong && ranks > 1 && owners.allSatisfy { $0.count == 1 }
        self.lending = lends ? lending : .none
    }

    /// The step batch of every task and the shards of every rank (see the type's description).
    static func layout(
        examples: [Int], perExample: [Double], batchSize: Int, ranks: Int, strategy: Strategy, scaling: Scaling
    ) -> (stepBatch: [Int], shards: [[Shard]]) {
        let t = examples.count
        let tokens = (0..<t).map { Double(examples[$0]) * perExample[$0] }
        if scaling == .weak {
            let owners = blocks(tokens: tokens, ranks: ranks)
            let batch = (0..<t).map { m in min(batchSize * owners[m].count, examples[m] * owners[m].count) }
            return (batch, evenShards(owners, stepBatch: batch, ranks: ranks))
        }
        let batch = (0..<t).map { min(batchSize, examples[$0]) }
        if strategy == .blocks || ranks == 1 {
            return (batch, evenShards(blocks(tokens: tokens, ranks: ranks), stepBatch: batch, ranks: ranks))
        }
        let cost = (0..<t).map { Double(batch[$0]) * perExample[$0] }
        let even = cost.reduce(0, +) / Double(ranks)
        if ranks <= t {
            let packed = longestFirst(cost: cost, ranks: ranks)
            let load = packed.map { $0.map { cost[$0] }.reduce(0, +) }
            if load.max()! <= 1.05 * even || batch.allSatisfy({ $0 == 1 }) {
                return (batch, packed.map { $0.map { Shard(task: $0, lower: 0, upper: batch[$0]) } })
            }
        }
        if let wrapped = wrapAround(cost: perExample, batch: batch, ranks: ranks, even: even) {
            return (batch, wrapped)
        }
        // Too few examples to give every rank a share: the blocks layout.
        return (batch, evenShards(blocks(tokens: cost, ranks: ranks), stepBatch: batch, ranks: ranks))
    }

    /// The `blocks` layout with equal costs (tests, and a model without data).
    public init(tasks: Int, ranks: Int, batchSize: Int = 16) {
        self.init(
            examples: Array(repeating: batchSize, count: tasks), meanLength: Array(repeating: 1, count: tasks),
            batchSize: batchSize, ranks: ranks, strategy: .blocks)
    }

    public var ranks: Int { shardsOfRank.count }
    public var tasks: Int { stepBatch.count }

    /// The tasks whose batch is spread over several ranks.
    public var splitTasks: [Int] { ranksOfTask.enumerated().filter { $0.element.count > 1 }.map(\.offset) }

    /// This step's examples of each task for one rank, from the lengths of every task's step draw
    /// (`lengths[m][i]`: tokens of the i-th example drawn for task m; every rank knows them all).
    /// A task on one rank: all its examples. A task shared by several ranks: its examples, longest
    /// first, each to the one of its ranks with the least load so far this step (its whole tasks'
    /// tokens, then what it was given), so that the ranks' actual work is even step by step and
    /// not only on average. Every rank computes the same assignment. Weak scaling keeps the fixed
    /// slices (each rank a whole batch).
    public func examples(of rank: Int, lengths: [[Int]], scaling: Scaling = .strong) -> [[Int]] {
        var mine = [[Int]](repeating: [], count: tasks)
        let owners = ranksOfTask
        if scaling == .weak || owners.allSatisfy({ $0.count == 1 }) {
            for s in shardsOfRank[rank] { mine[s.task] = Array(s.lower..<s.upper) }
            return mine
        }
        var load = [Int](repeating: 0, count: ranks)
        for (m, rs) in owners.enumerated() where rs.count == 1 {
            load[rs[0]] += lengths[m].reduce(0, +)
            if rs[0] == rank { mine[m] = Array(lengths[m].indices) }
        }
        for (m, rs) in owners.enumerated() where rs.count > 1 {
            let order = lengths[m].indices.sorted {
                lengths[m][$0] != lengths[m][$1] ? lengths[m][$0] > lengths[m][$1] : $0 < $1
            }
            for i in order {
                let r = rs.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
                load[r] += lengths[m][i]
                if r == rank { mine[m].append(i) }
            }
            mine[m].sort()
        }
        return mine
    }

    /// Part or all of a task's step batch computed by a rank other than the task's own, for one
    /// step: `to` runs the examples `examples` (indices into the task's step draw) with a copy of
    /// the task's tensors from `from`, and its gradient goes back to `from` (the owner, which
    /// runs the rest and updates the task) in the step's reduction.
    public struct Loan: Equatable, Sendable {
        public let task: Int
        public let from: Int
        public let to: Int
        public let examples: [Int]
        /// The whole batch: the owner computes nothing of the task this step.
        public let whole: Bool
    }

    /// The cost of one batch in token-equivalents: its tokens, plus `timeStepCost` for each of its
    /// time steps (a batch runs as many steps as its longest example, and every step costs
    /// something beyond its tokens: BLAS calls on few rows, the memory kernels' passes).
    /// Fitted on product ARC-II steps (batch 16, 2 ranks): 9.7 µs a token, 8.8 µs a time step.
    public static func batchCost(_ lengths: [Int]) -> Double {
        guard let longest = lengths.max() else { return 0 }
        return Double(lengths.reduce(0, +)) + timeStepCost * Double(longest)
    }
    public static let timeStepCost = 0.9

    /// This step's loans, from the lengths of every task's step draw (every rank knows them all,
    /// so every rank computes the same loans). The placement evens out the expected cost; the
    /// batches actually drawn vary from step to step (product reviews: ±24% between 2 ranks),
    /// and the slowest rank sets the pace. So, repeatedly, the costliest rank lends the cheapest
    /// one the part of one of its tasks' batches — its k longest or k shortest examples, or all —
    /// that best evens out the two, as long as that lowers the costlier by at least
    /// `minimumGain` of its cost (a loan costs a copy of the task's tensors and its gradient in
    /// the reduction), or the two swap one whole task each, if that evens them out better. A rank
    /// lends at most once and borrows at most once a step. `whole`: only whole tasks. A part of a
    /// batch is a task split over ranks for that step: its gradient is summed in another order,
    /// the same to float32 rounding (docs/decisions.md).
    public func loans(lengths: [[Int]], minimumGain: Double = 0.02) -> [Loan] {
        guard lending != .none else { return [] }
        let cost = lengths.map(Self.batchCost)
        var load = tasksOfRank.map { $0.map { cost[$0] }.reduce(0, +) }
        var done = [Bool](repeating: false, count: ranks)
        var out: [Loan] = []
        while true {
            let free = load.indices.filter { !done[$0] }
            guard let h = free.max(by: { load[$0] != load[$1] ? load[$0] < load[$1] : $0 > $1 }),
                let l = free.min(by: { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }), h != l
            else { break }
            var best: (task: Int, examples: [Int], top: Double, kept: Double, moved: Double)? = nil
            for m in tasksOfRank[h] where !lengths[m].isEmpty {
                let len = lengths[m], n = len.count
                let order = len.indices.sorted { len[$0] != len[$1] ? len[$0] > len[$1] : $0 < $1 }
                for k in (lending == .whole ? n : 1)...n {
                    // The k longest or the k shortest; what the owner keeps is the other end.
                    let splits =
                        k == n
                        ? [(order[...], order[n...])]
                        : [(order[..<k], order[k...]), (order[(n - k)...], order[..<(n - k)])]
                    for (part, rest) in splits {
                        let moved = Self.batchCost(part.map { len[$0] })
                        let kept = Self.batchCost(rest.map { len[$0] })
                        let top = max(load[h] - cost[m] + kept, load[l] + moved)
                        if top < (best?.top ?? load[h]) { best = (m, part.sorted(), top, kept, moved) }
                    }
                }
            }
            // Or a swap of whole tasks: h lends m and borrows n from l (each still lends once and
            // borrows once); whole tasks keep one process's arithmetic.
            var swap: (m: Int, n: Int, top: Double)? = nil
            for m in tasksOfRank[h] where cost[m] > 0 {
                for n in tasksOfRank[l] where cost[n] > 0 && cost[n] < cost[m] {
                    let top = max(load[h] - cost[m] + cost[n], load[l] + cost[m] - cost[n])
                    if top < (swap?.top ?? best?.top ?? load[h]) { swap = (m, n, top) }
                }
            }
            if let sw = swap, load[h] - sw.top >= minimumGain * load[h] {
                out.append(Loan(task: sw.m, from: h, to: l, examples: Array(lengths[sw.m].indices), whole: true))
                out.append(Loan(task: sw.n, from: l, to: h, examples: Array(lengths[sw.n].indices), whole: true))
                load[h] += cost[sw.n] - cost[sw.m]; load[l] += cost[sw.m] - cost[sw.n]
                done[h] = true; done[l] = true
                continue
            }
            guard let b = best, load[h] - b.top >= minimumGain * load[h] else { break }
            out.append(
                Loan(
                    task: b.task, from: h, to: l, examples: b.examples, whole: b.examples.count == lengths[b.task].count
                ))
            load[h] += b.kept - cost[b.task]; load[l] += b.moved
            done[h] = true; done[l] = true
        }
        return out.sorted { $0.task < $1.task }
    }

    /// The tasks rank `rank` computes (some of) this step: its own, less those it lends whole,
    /// plus those it borrows.
    public func computed(by rank: Int, loans: [Loan]) -> [Int] {
        let whole = Set(loans.filter { $0.from == rank && $0.whole }.map(\.task))
        let borrowed = loans.filter { $0.to == rank }.map(\.task)
        return Array(Set(tasksOfRank[rank].filter { !whole.contains($0) } + borrowed)).sorted()
    }

    /// The rank that evaluates a task and whose copy of its tensors is authoritative.
    public func lead(of task: Int) -> Int { ranksOfTask[task][0] }

    /// Rank `rank`'s shard of `task`, if it serves it.
    public func shard(of rank: Int, task: Int) -> Shard? { shardsOfRank[rank].first { $0.task == task } }

    /// The expected cost per step of each rank (tokens).
    public var predictedLoad: [Double] {
        shardsOfRank.map { $0.map { Double($0.count) * costPerExample[$0.task] }.reduce(0, +) }
    }

    public func describe(_ names: [String]) -> String {
        let load = predictedLoad
        let top = load.max() ?? 0, mean = load.reduce(0, +) / Double(max(load.count, 1))
        var lines = [
            "placement: \(ranks) rank(s), \(names.count) task(s); predicted load per step (tokens): "
                + "slowest rank \(Int(top.rounded())), mean \(Int(mean.rounded()))"
                + (top > 0 ? " (the others idle \(pct(1 - mean / top)) of the step on average)" : "")
        ]
        for (r, shards) in shardsOfRank.enumerated() {
            let parts = shards.map { s -> String in
                s.count == stepBatch[s.task]
                    ? names[s.task] : "\(names[s.task]) (about \(s.count) of \(stepBatch[s.task]) examples a step)"
            }
            lines.append("  rank \(r): " + parts.joined(separator: ", ") + "  [\(Int(load[r].rounded())) tokens]")
        }
        switch lending {
        case .split:
            lines.append(
                "  each step, the busiest rank may lend part or all of one task's batch to the least busy "
                    + "(lending: split)"
            )
        case .whole:
            lines.append(
                "  each step, the busiest rank may lend one whole task to the least busy, or swap one (lending: whole)")
        case .none: break
        }
        return lines.joined(separator: "\n")
    }

    func pct(_ x: Double) -> String { "\(Int((100 * x).rounded()))%" }

    // MARK: layouts

    /// N ≤ T: contiguous blocks; N > T: every task one rank, each extra rank to the task with the
    /// most tokens per rank so far (ties: the lower task index); ranks of one task consecutive.
    static func blocks(tokens: [Double], ranks: Int) -> [[Int]] {
        let t = tokens.count
        var ranksOfTask = [[Int]](repeating: [], count: t)
        if ranks <= t {
            for m in 0..<t {
                var r = 0
                while (r + 1) * t / ranks <= m { r += 1 }
                ranksOfTask[m].append(r)
            }
            return ranksOfTask
        }
        var count = [Int](repeating: 1, count: t)
        for _ in 0..<(ranks - t) {
            var best = 0
            for m in 1..<t where tokens[m] / Double(count[m]) > tokens[best] / Double(count[best]) { best = m }
            count[best] += 1
        }
        var r = 0
        for m in 0..<t {
            for _ in 0..<count[m] {
                ranksOfTask[m].append(r)
                r += 1
            }
        }
        return ranksOfTask
    }

    /// Each task's step batch split evenly over its ranks (the first ranks take one more).
    static func evenShards(_ ranksOfTask: [[Int]], stepBatch: [Int], ranks: Int) -> [[Shard]] {
        var shards = [[Shard]](repeating: [], count: ranks)
        for (m, rs) in ranksOfTask.enumerated() {
            var lower = 0
            for (j, r) in rs.enumerated() {
                let n = stepBatch[m] / rs.count + (j < stepBatch[m] % rs.count ? 1 : 0)
                shards[r].append(Shard(task: m, lower: lower, upper: lower + n))
                lower += n
            }
        }
        return shards.map { $0.sorted { $0.task < $1.task } }
    }

    /// Longest processing time first: each task (costliest first) to the least-loaded rank.
    public static func longestFirst(cost: [Double], ranks: Int) -> [[Int]] {
        var load = [Double](repeating: 0, count: ranks)
        var tasks = [[Int]](repeating: [], count: ranks)
        for m in cost.indices.sorted(by: { cost[$0] != cost[$1] ? cost[$0] > cost[$1] : $0 < $1 }) {
            let r = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            load[r] += cost[m]
            tasks[r].append(m)
        }
        return tasks.map { $0.sorted() }
    }

    /// McNaughton's wrap-around rule in whole examples: tasks in order, each rank filled up to the
    /// even share, the task at the boundary cut there. Nil when some rank would get nothing.
    static func wrapAround(cost: [Double], batch: [Int], ranks: Int, even: Double) -> [[Shard]]? {
        var shards = [[Shard]](repeating: [], count: ranks)
        var load = [Double](repeating: 0, count: ranks)
        var r = 0
        for m in batch.indices {
            var lower = 0
            while lower < batch[m] {
                let left = batch[m] - lower
                var n = left
                if r < ranks - 1 {
                    let room = even - load[r]
                    n = min(left, Int((room / cost[m]).rounded()))
                    if n <= 0 {
                        r += 1
                        continue
                    }
                }
                shards[r].append(Shard(task: m, lower: lower, upper: lower + n))
                load[r] += Double(n) * cost[m]
                lower += n
                if lower < batch[m] || load[r] >= even - 0.5 * cost[m] { r = min(r + 1, ranks - 1) }
            }
        }
        return shards.contains { $0.isEmpty } ? nil : shards
    }
}

extension Oversubscription {
    /// The ranks that train, and this rank's communicator among them (nil: this rank steps
    /// aside). A collective over `world`: every rank reports whether it is within its
    /// host's cores (`coresPerHost`, else the CPUs it may run on), so that all agree.
    public func team(_ world: Communicator, coresPerHost: Int) -> (team: Communicator?, working: [Int]) {
        let all = Array(0..<world.size)
        guard world.size > 1, self == .idle, let local = world.nodeLocalRank() else { return (world, all) }
        let cores = coresPerHost > 0 ? coresPerHost : ProcessInfo.processInfo.activeProcessorCount
        var flags = [Double](repeating: 0, count: world.size)
        flags[world.rank] = local < cores ? 1 : 0
        world.allreduceSum(&flags)
        let working = all.filter { flags[$0] > 0 }
        if working.count == world.size || !working.contains(0) { return (world, all) }
        let team = world.split(color: flags[world.rank] > 0 ? 0 : 1, key: world.rank)
        return (flags[world.rank] > 0 ? team : nil, working)
    }
}
