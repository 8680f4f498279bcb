import CMPI
import Foundation

/// Who is where when a collective has timed out: the watchdog pings every other rank on a
/// duplicate of the world communicator (so that no ping can ever match a training message), and
/// every rank's watchdog answers with what its training thread is doing. A rank that answers
/// while waiting in the same collective has arrived; one that answers while computing has not
/// reached it yet; one that does not answer within the wait is frozen, cut off, or gone.
///
/// The pings and answers run on the watchdog thread while the training thread may be inside a
/// collective, so MPI must have been started with MPI_THREAD_MULTIPLE (`init?` returns nil
/// otherwise, and the watchdog's message then cannot name the ranks).
public final class MPIRollCall: RollCall {
    let comm: MPI_Comm
    let rank: Int
    let size: Int
    static let pingTag: Int32 = 7_301
    static let answerTag: Int32 = 7_302
    /// Buffers of answers in flight (Isend needs them until it completes).
    private var outgoing: [(UnsafeMutablePointer<Double>, MPI_Request?)] = []

    /// A collective (MPI_Comm_dup): every rank creates its roll call at the same point.
    public init?(world: MPI_Comm) {
        var provided: Int32 = 0
        MPI_Query_thread(&provided)
        guard provided >= Int32(MPI_THREAD_MULTIPLE) else { return nil }
        var dup: MPI_Comm? = nil
        guard MPI_Comm_dup(world, &dup) == 0, let d = dup else { return nil }
        comm = d
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(d, &r)
        MPI_Comm_size(d, &s)
        rank = Int(r)
        size = Int(s)
    }

    public func answer(_ state: RollCallState) {
        // Completed answers give their buffers back.
        outgoing.removeAll { buffer, request in
            var r = request
            var done: Int32 = 0
            MPI_Test(&r, &done, MPI_STATUS_IGNORE)
            if done != 0 { buffer.deallocate() }
            return done != 0
        }
        while true {
            var flag: Int32 = 0
            var status = MPI_Status()
            MPI_Iprobe(MPI_ANY_SOURCE, Self.pingTag, comm, &flag, &status)
            if flag == 0 { return }
            var ping: Double = 0
            MPI_Recv(&ping, 1, MPI_DOUBLE, status.MPI_SOURCE, Self.pingTag, comm, MPI_STATUS_IGNORE)
            let buffer = UnsafeMutablePointer<Double>.allocate(capacity: 3)
            buffer[0] = state.inCollective ? 1 : 0
            buffer[1] = Double(state.step)
            buffer[2] = Double(state.collectives)
            var request: MPI_Request? = nil
            MPI_Isend(buffer, 3, MPI_DOUBLE, status.MPI_SOURCE, Self.answerTag, comm, &request)
            outgoing.append((buffer, request))
        }
    }

    public func ask(_ state: RollCallState, seconds: Double) -> [Int: RollCallState] {
        // Not freed: a ping to a frozen rank never completes, and the process ends next.
        let answers = UnsafeMutablePointer<Double>.allocate(capacity: 3 * size)
        let ping = UnsafeMutablePointer<Double>.allocate(capacity: 1)
        ping.pointee = Double(rank)
        var receives = [MPI_Request?](repeating: nil, count: size)
        var sends = [MPI_Request?](repeating: nil, count: size)
        for r in 0..<size where r != rank {
            MPI_Irecv(answers + 3 * r, 3, MPI_DOUBLE, Int32(r), Self.answerTag, comm, &receives[r])
            MPI_Isend(ping, 1, MPI_DOUBLE, Int32(r), Self.pingTag, comm, &sends[r])
        }
        var heard: [Int: RollCallState] = [:]
        let until = Date().addingTimeInterval(seconds)
        while heard.count < size - 1 && Date() < until {
            answer(state)  // the others may be asking at the same moment
            for r in 0..<size where r != rank && heard[r] == nil {
                var done: Int32 = 0
                MPI_Test(&receives[r], &done, MPI_STATUS_IGNORE)
                if done != 0 {
                    heard[r] = RollCallState(
                        inCollective: answers[3 * r] != 0, step: Int(answers[3 * r + 1]),
                        collectives: Int(answers[3 * r + 2]))
                }
            }
            usleep(20_000)
        }
        return heard
    }
}

/// What a rank's training thread is doing, as its watchdog answers a roll call.
public struct RollCallState: Equatable, Sendable {
    public var inCollective: Bool
    public var step: Int
    /// Collectives this rank has completed so far: ranks in the same collective have the same count.
    public var collectives: Int
}

public protocol RollCall: AnyObject {
    /// Answers every ping that has arrived.
    func answer(_ state: RollCallState)
    /// Pings every other rank and waits up to `seconds` for their answers (by rank).
    func ask(_ state: RollCallState, seconds: Double) -> [Int: RollCallState]
}

extension RollCall {
    /// The watchdog's sentence about the other ranks.
    public static func describe(
        _ me: RollCallState, rank: Int, size: Int, answers: [Int: RollCallState], waited seconds: Double
    ) -> String {
        var silent: [Int] = [], computing: [String] = [], elsewhere: [String] = [], arrived: [Int] = []
        for r in 0..<size where r != rank {
            guard let a = answers[r] else { silent.append(r); continue }
            if a.inCollective && a.collectives == me.collectives {
                arrived.append(r)
            } else if a.inCollective {
                elsewhere.append("rank \(r) (collective #\(a.collectives + 1), step \(a.step))")
            } else {
                computing.append("rank \(r) (step \(a.step))")
            }
        }
        func ranks(_ rs: [Int]) -> String {
            (rs.count == 1 ? "rank " : "ranks ") + rs.map(String.init).joined(separator: ", ")
        }
        var parts: [String] = []
        if !silent.isEmpty {
            parts.append(
                "\(ranks(silent)) did not answer within \(String(format: "%g", seconds)) s (frozen, cut off by "
                    + "the network, or the host is gone)"
            )
        }
        if !computing.isEmpty {
            parts.append("still computing, not yet in this collective: " + computing.joined(separator: ", "))
        }
        if !elsewhere.isEmpty { parts.append("waiting in another collective: " + elsewhere.joined(separator: ", ")) }
        if !arrived.isEmpty { parts.append("arrived: \(ranks(arrived))") }
        return parts.joined(separator: "; ")
    }
}
