import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Which ranks run which part of which task, for every relation of ranks N to tasks T.
final class PlacementTests: XCTestCase {
    func blocks(_ tokens: [Int], ranks: Int, batch: Int = 16, scaling: Placement.Scaling = .strong) -> Placement {
        Placement(
            examples: Array(repeating: 100, count: tokens.count), meanLength: tokens.map { Double($0) / 100 },
            batchSize: batch, ranks: ranks, strategy: .blocks, scaling: scaling)
    }

    /// Every task's step batch is covered exactly once, by contiguous shards in rank order.
    func assertPartition(_ p: Placement, file: StaticString = #filePath, line: UInt = #line) {
        for m in 0..<p.tasks {
            let shards = p.ranksOfTask[m].map { p.shard(of: $0, task: m)! }
            XCTAssertEqual(shards.first?.lower, 0, "task \(m)", file: file, line: line)
            XCTAssertEqual(shards.last?.upper, p.stepBatch[m], "task \(m)", file: file, line: line)
            for (a, b) in zip(shards, shards.dropFirst()) { XCTAssertEqual(a.upper, b.lower, file: file, line: line) }
            XCTAssertTrue(shards.allSatisfy { $0.count > 0 }, file: file, line: line)
        }
        XCTAssertTrue(p.shardsOfRank.allSatisfy { !$0.isEmpty }, "every rank works", file: file, line: line)
    }

    /// The loads per rank of a step after its loans (in `Placement.batchCost` units).
    func loads(_ p: Placement, _ lengths: [[Int]], _ loans: [Placement.Loan]) -> [Double] {
        var mine = [[[Int]]](repeating: lengths.map { _ in [] }, count: p.ranks)
        for r in 0..<p.ranks { for m in p.tasksOfRank[r] { mine[r][m] = Array(lengths[m].indices) } }
        for l in loans {
            mine[l.from][l.task].removeAll { l.examples.contains($0) }
            mine[l.to][l.task] = l.examples
        }
        return mine.map { tasks in
            tasks.enumerated().map { m, ids in Placement.batchCost(ids.map { lengths[m][$0] }) }.reduce(0, +)
        }
    }

    /// Step-by-step loans: when the batches drawn this step make one rank costlier, it lends the
    /// cheapest rank (part of) one task's batch, and the slowest rank's cost falls; even steps
    /// lend nothing; every example still runs exactly once.
    func testLoansEvenOutTheStepsBatches() {
        // One task a rank: no swap can help, so part of a batch is lent.
        let p = Placement(examples: [100, 100], meanLength: [10, 10], batchSize: 4, ranks: 2, lending: .split)
        XCTAssertEqual(p.lending, .split)
        XCTAssertEqual(p.tasksOfRank, [[0], [1]])
        XCTAssertEqual(p.loans(lengths: [[10, 10, 10, 10], [10, 10, 10, 10]]), [], "even steps lend nothing")
        // Rank 0's task drew long examples this step: cost 107 + 0.9·40 = 143 against 49.
        let lengths = [[30, 12, 25, 40], [10, 10, 10, 10]]
        let loans = p.loans(lengths: lengths)
        XCTAssertEqual(loans.count, 1)
        let loan = loans[0]
        XCTAssertEqual(loan.from, 0); XCTAssertEqual(loan.to, 1); XCTAssertEqual(loan.task, 0)
        XCTAssertFalse(loan.whole)
        // The best part: the two shortest examples (108.5 against 106 left).
        XCTAssertEqual(loan.examples, [1, 2])
        let before = loads(p, lengths, []), after = loads(p, lengths, loans)
        XCTAssertLessThan(after.max()!, 0.98 * before.max()!, "the slowest rank's cost falls: \(before) → \(after)")
        XCTAssertEqual(after.max()!, 108.5, accuracy: 1e-9)
        XCTAssertEqual(p.computed(by: 0, loans: loans), [0], "the owner still runs the rest of the lent task")
        XCTAssertEqual(p.computed(by: 1, loans: loans), [0, 1])
        // Whole tasks only: the lent task goes whole, and the owner no longer computes it.
        let whole = Placement(examples: [100, 100, 100, 100], meanLength: [10, 10, 10, 10], batchSize: 4, ranks: 2)
        XCTAssertEqual(whole.lending, .whole, "the default")
        var skewed = [[Int]](repeating: [10, 10, 10, 10], count: 4)
        skewed[whole.tasksOfRank[0][0]] = [40, 40, 40, 40]
        skewed[whole.tasksOfRank[0][1]] = [12, 12, 12, 12]
        let w = whole.loans(lengths: skewed)
        XCTAssertEqual(w.count, 1)
        XCTAssertTrue(w[0].whole); XCTAssertEqual(w[0].examples, [0, 1, 2, 3])
        XCTAssertEqual(w[0].task, whole.tasksOfRank[0][1], "the task that best evens out the two")
        XCTAssertFalse(whole.computed(by: 0, loans: w).contains(w[0].task))
        XCTAssertLessThan(loads(whole, skewed, w).max()!, loads(whole, skewed, []).max()!)
        // No loans where the placement does not lend.
        for q in [
            Placement(
                examples: [100, 100, 100, 100], meanLength: [10, 10, 10, 10], batchSize: 4, ranks: 2, lending: .none),
            Placement(
                examples: [100, 100, 100, 100], meanLength: [10, 10, 10, 10], batchSize: 4, ranks: 2,
                strategy: .blocks),
            Placement(
                examples: [100, 100, 100, 100], meanLength: [10, 10, 10, 10], batchSize: 4, ranks: 2, scaling: .weak),
            Placement(examples: [100, 100], meanLength: [10, 10], batchSize: 4, ranks: 3),
        ] {
            XCTAssertEqual(q.lending, .none)
            XCTAssertEqual(
                q.loans(
                    lengths: q.stepBatch.map { Array(repeating: 1, count: $0) }.enumerated().map { m, l in
                        m == 0 ? l.map { _ in 50 } : l
                    }), [])
        }
    }

    /// A swap of whole tasks where lending one task would even out the two ranks less: rank 0
    /// runs tasks of cost 100 and 60, rank 1 of 70 and 10 (one example each). Lending the 60 leaves
    /// 100 / 140; swapping 100 for 70 (or 60 for 10) leaves 130 / 110.
    func testLoansSwapWholeTasks() {
        let p = Placement(examples: [10, 10, 10, 10], meanLength: [5, 5, 5, 5], batchSize: 1, ranks: 2)
        XCTAssertEqual(p.tasksOfRank, [[0, 2], [1, 3]])
        let lengths = [[100], [70], [60], [10]]
        let loans = p.loans(lengths: lengths)
        XCTAssertEqual(loans.count, 2, "\(loans)")
        XCTAssertTrue(loans.allSatisfy(\.whole))
        XCTAssertEqual(Set(loans.map { [$0.from, $0.to] }), [[0, 1], [1, 0]])
        XCTAssertEqual(loads(p, lengths, loans).max()!, 130 * (1 + Placement.timeStepCost), accuracy: 1e-9)
        XCTAssertEqual(Set(p.computed(by: 0, loans: loans)).count, 2)
        XCTAssertEqual(Set(p.computed(by: 0, loans: loans) + p.computed(by: 1, loans: loans)), [0, 1, 2, 3])
    }

    /// Many ranks: each lends at most once and borrows at most once a step, never to itself.
    func testLoansOnManyRanks() {
        let p = Placement(
            examples: Array(repeating: 100, count: 12), meanLength: Array(repeating: 10, count: 12), batchSize: 8,
            ranks: 4,
            lending: .split)
        var rng = SplitMix64(seed: 9)
        var lent = 0
        for _ in 0..<50 {
            let lengths = (0..<12).map { _ in (0..<8).map { _ in 1 + rng.below(60) } }
            let loans = p.loans(lengths: lengths)
            lent += loans.count
            XCTAssertEqual(Set(loans.map(\.from)).count, loans.count)
            XCTAssertEqual(Set(loans.map(\.to)).count, loans.count)
            for l in loans {
                XCTAssertNotEqual(l.from, l.to)
                // A rank that lends and borrows swaps with one partner.
                if let back = loans.first(where: { $0.to == l.from }) {
                    XCTAssertEqual(back.from, l.to); XCTAssertTrue(l.whole && back.whole)
                }
            }
            for l in loans { XCTAssertTrue(p.tasksOfRank[l.from].contains(l.task)) }
            if !loans.isEmpty { XCTAssertLessThan(loads(p, lengths, loans).max()!, loads(p, lengths, []).max()!) }
        }
        XCTAssertGreaterThan(lent, 50, "random steps on 4 ranks lend")
    }

    func testOneRankRunsEveryTask() {
        for strategy in Placement.Strategy.allCases {
            let p = Placement(
                examples: [50, 50, 50], meanLength: [5, 1, 9], batchSize: 16, ranks: 1, strategy: strategy)
            XCTAssertEqual(p.tasksOfRank, [[0, 1, 2]])
            XCTAssertEqual(p.stepBatch, [16, 16, 16])
            XCTAssertEqual(p.lead(of: 2), 0)
            assertPartition(p)
        }
    }

    /// A task smaller than the batch takes all its examples each step.
    func testStepBatchIsCappedByTheData() {
        let p = Placement(examples: [10, 50], meanLength: [1, 1], batchSize: 16, ranks: 1)
        XCTAssertEqual(p.stepBatch, [10, 16])
    }

    func testBlocksLayout() {
        XCTAssertEqual(blocks([5, 1, 9, 3], ranks: 4).tasksOfRank, [[0], [1], [2], [3]])
        XCTAssertEqual(blocks([1, 1, 1, 1, 1], ranks: 2).tasksOfRank, [[0, 1], [2, 3, 4]])
        let q = blocks(Array(repeating: 1, count: 16), ranks: 3)
        XCTAssertEqual(q.tasksOfRank.map(\.count), [5, 5, 6])
        XCTAssertEqual(q.tasksOfRank.flatMap { $0 }, Array(0..<16))
        // N > T: extra ranks to the costliest task (10× the tokens takes both; ties: lower index);
        // strong scaling splits its batch of 16 evenly.
        let p = blocks([100, 1000, 50], ranks: 5)
        XCTAssertEqual(p.ranksOfTask, [[0], [1, 2, 3], [4]])
        XCTAssertEqual(p.ranksOfTask[1].map { p.shard(of: $0, task: 1)!.count }, [6, 5, 5])
        XCTAssertEqual(p.stepBatch, [16, 16, 16])
        XCTAssertEqual(blocks([7, 7], ranks: 3).ranksOfTask, [[0, 1], [2]])
        XCTAssertTrue(
            p.describe(["a", "b", "c"]).contains("rank 2: b (about 5 of 16 examples a step)"),
            p.describe(["a", "b", "c"]))
        assertPartition(p)
    }

    /// Weak scaling (today's former default): each of a task's k ranks takes a whole batch.
    func testWeakScalingGrowsTheBatchWithTheRanks() {
        let p = blocks([100, 1000, 50], ranks: 5, scaling: .weak)
        XCTAssertEqual(p.stepBatch, [16, 48, 16])
        XCTAssertEqual(p.ranksOfTask[1].map { p.shard(of: $0, task: 1)!.count }, [16, 16, 16])
        assertPartition(p)
    }

    /// Fewer ranks than tasks, unequal costs: longest processing time first, no task split, when
    /// that comes within 5% of an even share.
    func testBalancedPacksWholeTasksWhenThatIsEvenEnough() {
        // Costs per step 16·{10, 9, 8, 7, 6, 5, 3, 2}: LPT gives 25 and 25 (×16).
        let p = Placement(
            examples: Array(repeating: 100, count: 8), meanLength: [10, 9, 8, 7, 6, 5, 3, 2], batchSize: 16, ranks: 2)
        XCTAssertEqual(p.splitTasks, [])
        XCTAssertEqual(p.predictedLoad, [400, 400])
        // Config order in blocks would be 34 against 16.
        XCTAssertEqual(blocks([10, 9, 8, 7, 6, 5, 3, 2].map { $0 * 100 }, ranks: 2).predictedLoad, [544, 256])
        assertPartition(p)
    }

    /// The movie group on 2 ranks: one long-document task outweighs three sentence tasks together,
    /// so it is split: one rank runs the sentence tasks and part of IMDB's batch.
    func testBalancedSplitsTheDominantTask() {
        let p = Placement(
            examples: [8544, 6920, 8100, 22500], meanLength: [19, 19, 24, 270], batchSize: 16, ranks: 2)
        XCTAssertEqual(p.splitTasks, [3])
        XCTAssertEqual(p.tasksOfRank, [[0, 1, 2, 3], [3]])
        let load = p.predictedLoad
        XCTAssertLessThan(load.max()! / load.min()!, 1.1, "\(load)")
        // 4 ranks: still every rank within 10% of the others, every rank has work.
        let q = Placement(
            examples: [8544, 6920, 8100, 22500], meanLength: [19, 19, 24, 270], batchSize: 16, ranks: 4)
        let l4 = q.predictedLoad
        XCTAssertLessThan(l4.max()! / l4.min()!, 1.15, "\(l4)")
        assertPartition(p)
        assertPartition(q)
        // More ranks than tasks: 6 ranks for 4 tasks.
        let r = Placement(examples: [100, 100, 100, 100], meanLength: [10, 12, 30, 8], batchSize: 16, ranks: 6)
        assertPartition(r)
        XCTAssertEqual(r.ranks, 6)
    }
}
