/// A mini-batch of token sequences of different lengths, packed time-major.
///
/// Sequences are ordered by length, longest first (a stable sort), so the sequences still running
/// at step t are always the first `active[t]` slots. Step t's rows are `offsets[t] ..< offsets[t+1]`
/// and slot b of step t is row `offsets[t] + b`. No padding is stored or computed: a sequence that
/// has ended simply takes no further steps, so its state carries over unchanged (SPEC §5) and
/// nothing depends on the batch it sits in.
public struct Batch: Sendable {
    /// Token ids, packed: row `offsets[t] + b` holds slot b's token at step t.
    public private(set) var tokens: [Int32] = []
    /// Length of each slot, non-increasing.
    public private(set) var lengths: [Int] = []
    /// Class index of each slot (−1 when unknown, e.g. prediction).
    public private(set) var labels: [Int] = []
    /// For each slot, the position of its sequence in the caller's list.
    public private(set) var source: [Int] = []
    /// offsets[t] is the first row of step t; offsets[T] is the token count.
    public private(set) var offsets: [Int] = [0]
    /// active[t] is the number of slots still running at step t.
    public private(set) var active: [Int] = []

    public var size: Int { lengths.count }
    public var steps: Int { active.count }
    public var tokenCount: Int { offsets.last ?? 0 }

    /// `sequences` must be non-empty and every sequence must have at least one token.
    public init(sequences: [[Int32]], labels: [Int]? = nil) {
        precondition(!sequences.isEmpty, "a batch needs at least one sequence")
        let order = sequences.indices.sorted { a, b in
            sequences[a].count != sequences[b].count
                ? sequences[a].count > sequences[b].count : a < b
        }
        source = order
        lengths = order.map { sequences[$0].count }
        precondition(lengths.last! > 0, "every sequence needs at least one token")
        self.labels = order.map { labels?[$0] ?? -1 }
        let steps = lengths[0]
        active.reserveCapacity(steps)
        var n = lengths.count
        for t in 0..<steps {
            while n > 0 && lengths[n - 1] <= t { n -= 1 }
            active.append(n)
            offsets.append(offsets[t] + n)
        }
        tokens = [Int32](repeating: 0, count: offsets[steps])
        for t in 0..<steps {
            for b in 0..<active[t] { tokens[offsets[t] + b] = sequences[order[b]][t] }
        }
    }

    /// The row of slot b's last real token (the classifier reads h there).
    @inline(__always) public func lastRow(_ b: Int) -> Int { offsets[lengths[b] - 1] + b }
}
