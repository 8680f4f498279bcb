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
    /// When k ranks serve one task, they walk one order together, taking k·batch examples a
    /// step, and rank j keeps the j-th slice of them.
    public let shard: (index: Int, count: Int)

    public init(
        count: Int, batchSize: Int, seed: UInt64, task: String, shuffle: Bool, cursor: TaskCursor = TaskCursor(),
        shard: (index: Int, count: Int) = (0, 1)
    ) {
        self.count = count
        self.batchSize = batchSize
        self.shard = shard
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

    public mutating func next() -> [Int] {
        var out: [Int] = []
        let total = min(batchSize * shard.count, count * shard.count)
        out.reserveCapacity(total)
        while out.count < total {
            if cursor.position >= count {
                cursor = TaskCursor(epoch: cursor.epoch + 1, position: 0)
                order = orderFor(epoch: cursor.epoch)
            }
            out.append(order[cursor.position])
            cursor.position += 1
        }
        if shard.count == 1 { return out }
        let per = total / shard.count
        return Array(out[(shard.index * per)..<((shard.index + 1) * per)])
    }
}
