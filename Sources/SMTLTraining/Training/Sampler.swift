import SMTLModel
/// Mini-batches of one task: its training set in a per-epoch order, seeded by the run seed, the
/// task's name and the epoch (SPEC §7), or in file order when shuffling is off. When the data runs
/// out in the middle of a batch, the next epoch starts and fills the rest, so every batch is full.
public struct TaskSampler: Sendable {
    public let count: Int
    public let batchSize: Int
    public let seed: UInt64
    public let task: String
    public let shuffle: Bool
    public private(set) var cursor: TaskCursor
    private var order: [Int]

    public init(
        count: Int, batchSize: Int, seed: UInt64, task: String, shuffle: Bool, cursor: TaskCursor = TaskCursor()
    ) {
        self.count = count
        self.batchSize = batchSize
        self.seed = seed
        self.task = task
        self.shuffle = shuffle
        self.cursor = cursor
        order = []
        order = orderFor(epoch: cursor.epoch)
    }

    public func orderFor(epoch: Int) -> [Int] {
        var o = Array(0..<count)
        if shuffle {
            var rng = SplitMix64(seed: deriveSeed(seed, stableHash(task), UInt64(epoch)))
            rng.shuffle(&o)
        }
        return o
    }

    /// The next `batchSize` examples.
    public mutating func next() -> [Int] { next(count: min(batchSize, count)) }

    /// The next `total` examples (a task's step batch: the ranks that share the task each take a
    /// slice of it, see `Placement`).
    public mutating func next(count total: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(total)
        while out.count < total {
            if cursor.position >= count {
                cursor = TaskCursor(epoch: cursor.epoch + 1, position: 0)
                order = orderFor(epoch: cursor.epoch)
            }
            out.append(order[cursor.position])
            cursor.position += 1
        }
        return out
    }
}
