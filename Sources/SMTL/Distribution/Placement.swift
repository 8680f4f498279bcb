/// Which ranks run which tasks (issue: placement).
///
/// * N = T: rank r runs task r.
/// * N < T: a rank runs several tasks, in contiguous blocks (rank r runs tasks ⌊rT/N⌋ ..< ⌊(r+1)T/N⌋).
/// * N > T: every task gets one rank; each extra rank goes to the task with the most training
///   tokens per rank so far (ties: the lower task index). Ranks of one task are consecutive.
/// * N = 1: one process runs every task — the single-node simulation.
public struct Placement: Equatable, Sendable {
    public let tasksOfRank: [[Int]]
    public let ranksOfTask: [[Int]]

    public init(taskTokens: [Int], ranks: Int) {
        let t = taskTokens.count
        precondition(t > 0 && ranks > 0)
        var tasksOfRank = [[Int]](repeating: [], count: ranks)
        var ranksOfTask = [[Int]](repeating: [], count: t)
        if ranks <= t {
            for m in 0..<t {
                // the rank whose block holds m
                var r = 0
                while (r + 1) * t / ranks <= m { r += 1 }
                tasksOfRank[r].append(m)
                ranksOfTask[m].append(r)
            }
        } else {
            var count = [Int](repeating: 1, count: t)
            for _ in 0..<(ranks - t) {
                var best = 0
                for m in 1..<t
                where Double(taskTokens[m]) / Double(count[m]) > Double(taskTokens[best]) / Double(count[best]) {
                    best = m
                }
                count[best] += 1
            }
            var r = 0
            for m in 0..<t {
                for _ in 0..<count[m] {
                    tasksOfRank[r].append(m)
                    ranksOfTask[m].append(r)
                    r += 1
                }
            }
        }
        self.tasksOfRank = tasksOfRank
        self.ranksOfTask = ranksOfTask
    }

    public var ranks: Int { tasksOfRank.count }

    /// The rank that evaluates a task and whose copy of its tensors is authoritative.
    public func lead(of task: Int) -> Int { ranksOfTask[task][0] }

    /// For a rank serving one task with others: its index among them and their number.
    public func shard(of rank: Int, task: Int) -> (index: Int, count: Int) {
        let rs = ranksOfTask[task]
        return (rs.firstIndex(of: rank) ?? 0, rs.count)
    }

    public func describe(_ names: [String]) -> String {
        var lines = ["placement: \(ranks) rank(s), \(names.count) task(s)"]
        for (r, ts) in tasksOfRank.enumerated() {
            let parts = ts.map { m -> String in
                let rs = ranksOfTask[m]
                return rs.count > 1 ? "\(names[m]) (\(rs.firstIndex(of: r)! + 1) of \(rs.count) ranks)" : names[m]
            }
            lines.append("  rank \(r): " + parts.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
