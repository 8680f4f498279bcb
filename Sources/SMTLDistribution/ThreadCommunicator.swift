import Foundation

/// A world of N ranks inside one process, one thread per rank: the `Communicator` for tests of
/// placement, gradient sync, sharded sampling and the checkpoint gather without `mpirun`.
///
/// Every collective is two (or three) barrier rounds over shared slots: each rank publishes its
/// buffer, every rank computes the result itself in rank order (so all get the same bits), a
/// barrier makes sure everyone has read before anyone overwrites its buffer.
public final class ThreadCommunicator: Communicator {
    /// The state the ranks of one world share.
    final class World: @unchecked Sendable {
        let size: Int
        let condition = NSCondition()
        var arrived = 0
        var generation = 0
        var slots: [UnsafeMutableRawPointer?]
        var colors: [(color: Int, key: Int)]
        var children: [Int: World] = [:]

        init(size: Int) {
            self.size = size
            slots = [UnsafeMutableRawPointer?](repeating: nil, count: size)
            colors = [(Int, Int)](repeating: (0, 0), count: size)
        }

        func barrier() {
            condition.lock()
            let gen = generation
            arrived += 1
            if arrived == size {
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while gen == generation { condition.wait() }
            }
            condition.unlock()
        }
    }

    let world: World
    public let rank: Int
    public var size: Int { world.size }

    init(world: World, rank: Int) {
        self.world = world
        self.rank = rank
    }

    /// The N communicators of a new world, rank r at index r.
    public static func world(size: Int) -> [ThreadCommunicator] {
        let w = World(size: size)
        return (0..<size).map { ThreadCommunicator(world: w, rank: $0) }
    }

    /// Runs `body(communicator)` on one thread per rank and waits for all; returns the results in
    /// rank order.
    public static func run<T>(ranks: Int, _ body: @escaping @Sendable (ThreadCommunicator) throws -> T) throws -> [T] {
        let comms = world(size: ranks)
        let box = ResultBox<T>(count: ranks)
        let group = DispatchGroup()
        let lock = NSLock()
        var threads: [Thread] = []
        for c in comms {
            group.enter()
            let t = Thread {
                let r = Result { try body(c) }
                lock.lock(); box.results[c.rank] = r; lock.unlock()
                group.leave()
            }
            t.stackSize = 16 << 20
            threads.append(t)
        }
        threads.forEach { $0.start() }
        group.wait()
        return try box.results.map { try $0!.get() }
    }

    /// Each rank's buffer, visible to all, then the result computed by every rank alike.
    private func reduce<T>(_ data: UnsafeMutablePointer<T>, count: Int, _ op: (T, T) -> T) {
        world.slots[rank] = UnsafeMutableRawPointer(data)
        world.barrier()
        let all = (0..<size).map { world.slots[$0]!.assumingMemoryBound(to: T.self) }
        var result = [T]()
        result.reserveCapacity(count)
        for i in 0..<count {
            var acc = all[0][i]
            for r in 1..<size { acc = op(acc, all[r][i]) }
            result.append(acc)
        }
        world.barrier()
        for i in 0..<count { data[i] = result[i] }
    }

    public func allreduceSum(_ data: UnsafeMutablePointer<Float>, count: Int) { reduce(data, count: count, +) }
    public func allreduceSum(_ data: UnsafeMutablePointer<Double>, count: Int) { reduce(data, count: count, +) }
    public func allreduceMax(_ data: UnsafeMutablePointer<UInt8>, count: Int) { reduce(data, count: count, max) }
    public func allreduceMax(_ data: UnsafeMutablePointer<Int32>, count: Int) { reduce(data, count: count, max) }

    public func broadcast(_ data: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        world.slots[rank] = data
        world.barrier()
        if rank != root { data.copyMemory(from: world.slots[root]!, byteCount: bytes) }
        world.barrier()
    }

    public func exchange(
        send: UnsafeRawPointer?, bytes sendBytes: Int, to: Int, receive: UnsafeMutableRawPointer?,
        bytes receiveBytes: Int, from: Int
    ) {
        world.slots[rank] = send.map { UnsafeMutableRawPointer(mutating: $0) }
        world.barrier()
        if let receive { receive.copyMemory(from: world.slots[from]!, byteCount: receiveBytes) }
        world.barrier()
    }

    public func split(color: Int, key: Int) -> Communicator {
        world.colors[rank] = (color, key)
        world.barrier()
        let members = (0..<size).filter { world.colors[$0].color == color }
            .sorted { (world.colors[$0].key, $0) < (world.colors[$1].key, $1) }
        // The first member makes the new world; the others pick it up after the barrier.
        if members.first == rank {
            world.condition.lock(); world.children[color] = World(size: members.count); world.condition.unlock()
        }
        world.barrier()
        world.condition.lock()
        let child = world.children[color]!
        world.condition.unlock()
        world.barrier()
        if members.first == rank { world.condition.lock(); world.children[color] = nil; world.condition.unlock() }
        return ThreadCommunicator(world: child, rank: members.firstIndex(of: rank)!)
    }

    public func abort(_ code: Int32) -> Never { exit(code) }
    /// Threads wait on a condition variable, which does not spin.
    public func idleBarrier() { world.barrier() }
}

/// The results of the rank threads of `ThreadCommunicator.run`, each written under a lock.
private final class ResultBox<T>: @unchecked Sendable {
    var results: [Result<T, Error>?]
    init(count: Int) { results = [Result<T, Error>?](repeating: nil, count: count) }
}
