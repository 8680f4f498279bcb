import XCTest
@testable import SMTL

/// Which ranks run which tasks, for every relation of ranks N to tasks T.
final class PlacementTests: XCTestCase {
    func testOneRankRunsEveryTask() {
        let p = Placement(taskTokens: [5, 1, 9], ranks: 1)
        XCTAssertEqual(p.tasksOfRank, [[0, 1, 2]])
        XCTAssertEqual(p.ranksOfTask, [[0], [0], [0]])
        XCTAssertEqual(p.lead(of: 2), 0)
    }

    func testOneTaskPerRank() {
        let p = Placement(taskTokens: [5, 1, 9, 3], ranks: 4)
        XCTAssertEqual(p.tasksOfRank, [[0], [1], [2], [3]])
        XCTAssertEqual((0..<4).map { p.lead(of: $0) }, [0, 1, 2, 3])
    }

    /// N < T: contiguous blocks ⌊rT/N⌋ ..< ⌊(r+1)T/N⌋, every task on exactly one rank.
    func testFewerRanksThanTasksGivesContiguousBlocks() {
        let p = Placement(taskTokens: [1, 1, 1, 1, 1], ranks: 2)
        XCTAssertEqual(p.tasksOfRank, [[0, 1], [2, 3, 4]])
        let q = Placement(taskTokens: Array(repeating: 1, count: 16), ranks: 3)
        XCTAssertEqual(q.tasksOfRank.map(\.count), [5, 5, 6])
        XCTAssertEqual(q.tasksOfRank.flatMap { $0 }, Array(0..<16))
        for (m, rs) in q.ranksOfTask.enumerated() { XCTAssertEqual(rs.count, 1, "task \(m)") }
    }

    /// N > T: each extra rank goes to the task with the most tokens per rank; ranks of one task
    /// are consecutive; shards are numbered in rank order.
    func testMoreRanksThanTasksGivesExtraRanksToTheCostliestTask() {
        // Task 1 has 10× the tokens: it takes both extra ranks (10/2 = 5 > 1, then 10/3 > 1).
        let p = Placement(taskTokens: [100, 1000, 50], ranks: 5)
        XCTAssertEqual(p.ranksOfTask, [[0], [1, 2, 3], [4]])
        XCTAssertEqual(p.tasksOfRank, [[0], [1], [1], [1], [2]])
        XCTAssertEqual(p.lead(of: 1), 1)
        XCTAssertEqual(p.shard(of: 3, task: 1).index, 2)
        XCTAssertEqual(p.shard(of: 3, task: 1).count, 3)
        XCTAssertEqual(p.shard(of: 0, task: 0).count, 1)
        // Ties go to the lower task index.
        let q = Placement(taskTokens: [7, 7], ranks: 3)
        XCTAssertEqual(q.ranksOfTask, [[0, 1], [2]])
        XCTAssertTrue(p.describe(["a", "b", "c"]).contains("rank 2: b (2 of 3 ranks)"), p.describe(["a", "b", "c"]))
    }
}
