import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Nothing waits forever: a collective that a rank does not join ends the job
/// within the timeout; evaluation and checkpoints get a longer allowance; a stop request bounds
/// the wait; with real processes, a frozen rank (SIGSTOP) ends the job with a message.
final class WatchdogTests: MPITestCase {
    final class Ended: @unchecked Sendable {
        let lock = NSLock()
        var messages: [String] = []
        func add(_ m: String) { lock.lock(); messages.append(m); lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return messages.count }
        var first: String { lock.lock(); defer { lock.unlock() }; return messages.first ?? "" }
    }

    /// Rank 1 comes late: rank 0's collective ends the job after its allowance, not before.
    /// (`end` only records here; rank 1 then joins, so the threads finish.)
    func lateRank(
        timeout: Double, grace: Double = 60, phase: WatchedCommunicator.Phase = .step, stop: Bool = false,
        lateBy: Double
    ) throws -> (ended: Ended, seconds: Double) {
        let ended = Ended()
        let start = Date()
        _ = try ThreadCommunicator.run(ranks: 2) { c -> Int in
            if c.rank == 0 {
                let w = WatchedCommunicator(
                    c, timeout: timeout, stopGrace: grace, underLauncher: false, stopRequested: { stop },
                    end: { ended.add($0) })
                var x: [Double] = [1]
                w.step = 7
                w.during(phase) { w.allreduceSum(&x) }
            } else {
                let until = Date().addingTimeInterval(lateBy)
                while Date() < until && ended.count == 0 { usleep(20_000) }
                var x: [Double] = [1]
                c.allreduceSum(&x)
            }
            return 0
        }
        return (ended, Date().timeIntervalSince(start))
    }

    func testALateRankEndsTheJobAfterTheTimeout() throws {
        let (ended, seconds) = try lateRank(timeout: 0.5, lateBy: 30)
        XCTAssertEqual(ended.count, 1)
        XCTAssertTrue(
            ended.first.contains("rank 0 of 2: the allreduce of 1 doubles (step phase) at step 7"), ended.first)
        XCTAssertTrue(ended.first.contains("over the collective timeout of 0.5 s"), ended.first)
        XCTAssertTrue(ended.first.contains("Raise --collective-timeout"), ended.first)
        XCTAssertLessThan(seconds, 5)
        // In time: nothing happens.
        let (fine, _) = try lateRank(timeout: 2, lateBy: 0.3)
        XCTAssertEqual(fine.count, 0)
    }

    func testEvaluationMayWaitLongerAndAStopIsBounded() throws {
        // Evaluation: 10 × 0.3 s allowed; a 1 s wait is fine.
        let (eval, _) = try lateRank(timeout: 0.3, phase: .evaluation, lateBy: 1)
        XCTAssertEqual(eval.count, 0, eval.first)
        // A stop request bounds any wait (even fine-tuning's, which has no timeout of its own).
        let (stopped, seconds) = try lateRank(timeout: 100, grace: 0.5, phase: .fineTuning, stop: true, lateBy: 30)
        XCTAssertEqual(stopped.count, 1)
        XCTAssertTrue(stopped.first.contains("a stop was requested"), stopped.first)
        XCTAssertLessThan(seconds, 5)
    }

    /// A 2-rank job on the real data, under way (its first step checkpoint written); its ranks.
    func twoRanks(_ mpirun: String, _ dir: String, steps: Int, _ more: [String]) throws -> (Process, Pipe, [Int32]) {
        let cfg = Fixture.fourTasks(dir, steps: steps, extra: #", "checkpoint_every": 20"#)
        let (job, pipe) = try start(
            mpirun,
            [
                "-np", "2", "--oversubscribe", Self.binary, "train", "--config", cfg, "--data-dir", Paths.sharedData,
                "--out", dir + "/out",
            ] + more)
        waitFor(dir + "/out/checkpoints/step-00000020")
        return (job, pipe, try children(of: job.processIdentifier))
    }

    /// Real processes: one rank frozen with SIGSTOP; the other's watchdog ends the job within
    /// the timeout (and mpirun ends the frozen one), with the message.
    func testFrozenRankEndsTheJob() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let (job, pipe, ranks) = try twoRanks(mpirun, dir, steps: 100_000, ["--collective-timeout", "2"])
        XCTAssertEqual(ranks.count, 2)
        let frozenRank = rankOf(ranks.last!)
        let frozen = Date()
        kill(ranks.last!, SIGSTOP)
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        let seconds = Date().timeIntervalSince(frozen)
        for r in ranks { kill(r, SIGCONT); kill(r, SIGKILL) }
        print("a rank frozen with SIGSTOP: mpirun exited with \(job.terminationStatus) after \(seconds) s")
        XCTAssertNotEqual(job.terminationStatus, 0)
        // 2 s in a step; 20 s if the survivor was in an evaluation's collective.
        XCTAssertTrue(
            text.contains("over the collective timeout of 2 s") || text.contains("over the collective timeout of 20 s"),
            text)
        // The roll call names the frozen rank.
        XCTAssertTrue(text.contains("rank \(frozenRank) did not answer within 2 s (frozen"), text)
        XCTAssertLessThan(seconds, 40)
    }

    /// Every rank suspended at once (as Slurm suspends a job) for longer than the timeout, then
    /// resumed: the suspension does not count as waiting, and the job finishes.
    func testASuspendedJobGoesOn() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let (job, pipe, ranks) = try twoRanks(mpirun, dir, steps: 120, ["--collective-timeout", "2"])
        for r in ranks { kill(r, SIGSTOP) }
        sleep(7)
        for r in ranks { kill(r, SIGCONT) }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        XCTAssertEqual(job.terminationStatus, 0, text)
        XCTAssertFalse(text.contains("collective timeout"), text)
        XCTAssertEqual(try Checkpoint.load(dir + "/out/checkpoints/final").state.step, 120)
    }

    /// mpirun killed outright (SIGKILL, nothing forwarded): the ranks notice that their launcher
    /// is gone and exit instead of spinning in a collective.
    func testRanksExitWhenTheLauncherDies() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let (job, _, ranks) = try twoRanks(mpirun, dir, steps: 100_000, [])
        XCTAssertEqual(ranks.count, 2)
        kill(job.processIdentifier, SIGKILL)
        job.waitUntilExit()
        let end = Date().addingTimeInterval(20)
        var alive = ranks
        while !alive.isEmpty && Date() < end {
            usleep(100_000)
            alive = alive.filter { kill($0, 0) == 0 && !isZombie($0) }
        }
        for r in alive { kill(r, SIGKILL) }
        XCTAssertEqual(alive, [], "ranks still running 20 s after their launcher died")
    }

    /// The roll call's sentence sorts the other ranks by their answers.
    func testRollCallDescribesEveryRank() {
        let me = RollCallState(inCollective: true, step: 40, collectives: 120)
        let answers: [Int: RollCallState] = [
            0: RollCallState(inCollective: true, step: 40, collectives: 120),
            2: RollCallState(inCollective: false, step: 39, collectives: 117),
            3: RollCallState(inCollective: true, step: 41, collectives: 123),
        ]
        let text = MPIRollCall.describe(me, rank: 1, size: 6, answers: answers, waited: 5)
        XCTAssertEqual(
            text,
            "ranks 4, 5 did not answer within 5 s (frozen, cut off by the network, or the host is gone); "
                + "still computing, not yet in this collective: rank 2 (step 39); "
                + "waiting in another collective: rank 3 (collective #124, step 41); arrived: rank 0")
    }

    /// The MPI rank of a process that mpirun started (from its environment).
    func rankOf(_ pid: Int32) -> Int {
        let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data()
        for item in environ.split(separator: 0) {
            let text = String(decoding: item, as: UTF8.self)
            if text.hasPrefix("OMPI_COMM_WORLD_RANK=") { return Int(text.dropFirst(21)) ?? -1 }
        }
        return -1
    }

}
