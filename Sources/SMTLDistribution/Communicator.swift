import CMPI
import Foundation
import SMTLSupport

/// The collectives the trainer needs. Every rank calls the same collectives in the same order.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// In-place sum over all ranks.
    func allreduceSum(_ data: UnsafeMutablePointer<Float>, count: Int)
    func allreduceSum(_ data: UnsafeMutablePointer<Double>, count: Int)
    /// In-place maximum over all ranks.
    func allreduceMax(_ data: UnsafeMutablePointer<UInt8>, count: Int)
    func allreduceMax(_ data: UnsafeMutablePointer<Int32>, count: Int)
    /// Copies `bytes` bytes from `root` to every rank.
    func broadcast(_ data: UnsafeMutableRawPointer, bytes: Int, root: Int)
    /// Pairwise copies, one collective: every rank calls it; a rank sends at most one buffer
    /// (`send`, to rank `to`) and receives at most one (`receive`, from rank `from`). The
    /// senders and receivers must agree on who sends what to whom and how many bytes.
    func exchange(
        send: UnsafeRawPointer?, bytes sendBytes: Int, to: Int,
        receive: UnsafeMutableRawPointer?, bytes receiveBytes: Int, from: Int)
    /// Ranks with the same color form a new communicator, ordered by key.
    func split(color: Int, key: Int) -> Communicator
    /// Ends the whole job (every rank) with `code`.
    func abort(_ code: Int32) -> Never
    /// Waits until every rank arrives, sleeping instead of spinning: for long, uneven phases (each
    /// rank fine-tuning its own tasks), so that waiting ranks leave the cores to working ones.
    func idleBarrier()
    /// This rank's index among the ranks of its host (nil: unknown, e.g. threads in one process).
    func nodeLocalRank() -> Int?
    /// The training step whose collectives follow (a watched communicator names it when one hangs).
    func enter(step: Int)
    /// Runs `body` in `phase`, whose collectives may wait longer than a step's (evaluation,
    /// checkpoints, fine-tuning).
    func during<T>(_ phase: CollectivePhase, _ body: () throws -> T) rethrows -> T
    /// A way to ask every rank whether it is still there, outside the collectives (nil: none).
    func makeRollCall() -> RollCall?
    /// Stops what the communicator runs beside the ranks' work (a watchdog's thread).
    func shutdown()
}

/// What the collectives of a stretch of a run belong to: how long a watched communicator lets
/// them wait (`WatchedCommunicator.allowance`).
public enum CollectivePhase: String, Sendable {
    case step, evaluation, checkpoint, fineTuning = "fine-tuning"
}

extension Communicator {
    public func nodeLocalRank() -> Int? { nil }
    public func enter(step: Int) {}
    public func makeRollCall() -> RollCall? { nil }
    public func shutdown() {}
    public func during<T>(_ phase: CollectivePhase, _ body: () throws -> T) rethrows -> T { try body() }
    public func allreduceSum(_ values: inout [Double]) {
        let n = values.count
        values.withUnsafeMutableBufferPointer { allreduceSum($0.baseAddress!, count: n) }
    }
    public func broadcast(_ values: inout [Float], root: Int) {
        let n = values.count
        values.withUnsafeMutableBytes { broadcast($0.baseAddress!, bytes: n * 4, root: root) }
    }
    /// Broadcasts a byte string (length first) from `root`.
    public func broadcast(_ data: inout [UInt8], root: Int) {
        var n = Int32(data.count)
        withUnsafeMutableBytes(of: &n) { broadcast($0.baseAddress!, bytes: 4, root: root) }
        if data.count != Int(n) { data = [UInt8](repeating: 0, count: Int(n)) }
        if n > 0 { data.withUnsafeMutableBytes { broadcast($0.baseAddress!, bytes: Int(n), root: root) } }
    }
}

/// A world of one, without MPI: every collective is the identity.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ data: UnsafeMutablePointer<Float>, count: Int) {}
    public func allreduceSum(_ data: UnsafeMutablePointer<Double>, count: Int) {}
    public func allreduceMax(_ data: UnsafeMutablePointer<UInt8>, count: Int) {}
    public func allreduceMax(_ data: UnsafeMutablePointer<Int32>, count: Int) {}
    public func broadcast(_ data: UnsafeMutableRawPointer, bytes: Int, root: Int) {}
    public func exchange(
        send: UnsafeRawPointer?, bytes sendBytes: Int, to: Int, receive: UnsafeMutableRawPointer?,
        bytes receiveBytes: Int, from: Int
    ) {
        if let send, let receive { receive.copyMemory(from: send, byteCount: min(sendBytes, receiveBytes)) }
    }
    public func split(color: Int, key: Int) -> Communicator { LocalCommunicator() }
    public func abort(_ code: Int32) -> Never { exit(code) }
    public func idleBarrier() {}
}

/// OpenMPI. Started without `mpirun`, MPI_Init gives a singleton: a world of one.
public final class MPICommunicator: Communicator {
    let comm: MPI_Comm
    public let rank: Int
    public let size: Int

    /// MPI_COMM_WORLD, initialising MPI on first use. MPI_THREAD_MULTIPLE is asked for: the
    /// watchdog thread answers the other ranks' roll calls while training waits in a collective.
    public static func world() -> MPICommunicator {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided)
        }
        return MPICommunicator(MPI_COMM_WORLD)
    }

    /// The roll call of this communicator's ranks (a collective), if MPI allows threads.
    public func makeRollCall() -> RollCall? { MPIRollCall(world: comm) }

    init(_ comm: MPI_Comm) {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    public func allreduceSum(_ data: UnsafeMutablePointer<Float>, count: Int) {
        MPI_Allreduce(MPI_IN_PLACE, data, Int32(count), MPI_FLOAT, MPI_SUM, comm)
    }
    public func allreduceSum(_ data: UnsafeMutablePointer<Double>, count: Int) {
        MPI_Allreduce(MPI_IN_PLACE, data, Int32(count), MPI_DOUBLE, MPI_SUM, comm)
    }
    public func allreduceMax(_ data: UnsafeMutablePointer<UInt8>, count: Int) {
        MPI_Allreduce(MPI_IN_PLACE, data, Int32(count), MPI_UINT8_T, MPI_MAX, comm)
    }
    public func allreduceMax(_ data: UnsafeMutablePointer<Int32>, count: Int) {
        MPI_Allreduce(MPI_IN_PLACE, data, Int32(count), MPI_INT, MPI_MAX, comm)
    }
    public func broadcast(_ data: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        MPI_Bcast(data, Int32(bytes), MPI_CHAR, Int32(root), comm)
    }
    /// MPI_Alltoallv with one non-zero count at most each way.
    public func exchange(
        send: UnsafeRawPointer?, bytes sendBytes: Int, to: Int, receive: UnsafeMutableRawPointer?,
        bytes receiveBytes: Int, from: Int
    ) {
        var sendCounts = [Int32](repeating: 0, count: size), receiveCounts = sendCounts
        let zeros = [Int32](repeating: 0, count: size)
        if send != nil { sendCounts[to] = Int32(sendBytes) }
        if receive != nil { receiveCounts[from] = Int32(receiveBytes) }
        var dummy: UInt8 = 0
        withUnsafeMutablePointer(to: &dummy) { d in
            _ = MPI_Alltoallv(
                send ?? UnsafeRawPointer(d), sendCounts, zeros, MPI_CHAR, receive ?? UnsafeMutableRawPointer(d),
                receiveCounts, zeros, MPI_CHAR, comm)
        }
    }
    public func split(color: Int, key: Int) -> Communicator {
        var out: MPI_Comm? = nil
        MPI_Comm_split(comm, Int32(color), Int32(key), &out)
        return MPICommunicator(out!)
    }
    /// From the launcher: mpirun's OMPI_COMM_WORLD_LOCAL_RANK, Slurm's SLURM_LOCALID (srun),
    /// MPICH's MPI_LOCALRANKID. Not MPI_Comm_split_type(MPI_COMM_TYPE_SHARED): with the test's
    /// network-namespace hosts it deadlocked here (some ranks left its internal allgather early).
    public func nodeLocalRank() -> Int? {
        let env = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"] {
            if let v = env[key], let r = Int(v) { return r }
        }
        return nil
    }
    public func idleBarrier() { idleBarrier(until: { false }) }
    /// `idleBarrier`, leaving the process (status 1, with a message) when `giveUp` says so
    /// (asked about once a second). The poll interval grows from 1 ms to 50 ms: a rank that waits
    /// for a whole training run (stepped aside) would otherwise wake 500 times a second on a core
    /// that a working rank needs, and the phases it waits for last seconds to hours.
    public func idleBarrier(until giveUp: () -> Bool) {
        var request: MPI_Request? = nil
        MPI_Ibarrier(comm, &request)
        var done: Int32 = 0
        var interval: UInt32 = 1000
        var slept: UInt32 = 0
        while true {
            MPI_Test(&request, &done, MPI_STATUS_IGNORE)
            if done != 0 { return }
            usleep(interval)
            slept += interval
            interval = min(interval * 2, 50_000)
            if slept >= 1_000_000 {
                slept = 0
                if !giveUp() { continue }
                FileHandle.standardError.write(Data("smtl: rank \(rank): the launcher is gone; leaving\n".utf8))
                exit(1)
            }
        }
    }
    public func abort(_ code: Int32) -> Never {
        ConsoleRelay.finish(within: 1)  // what this rank printed before the error
        MPI_Abort(comm, code)
        exit(code)
    }
}
