import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The progress line's ETA (RemainingTime) with made-up clocks: a pause does not inflate it, the
/// evaluations still to come are counted, and a steady run gets its plain pace.
final class RemainingTimeTests: XCTestCase {
    /// `steps` steps of `seconds` each from `t`; returns the time after the last one.
    func run(_ r: inout RemainingTime, from t: Double, steps: Int, seconds: Double) -> Double {
        var now = t
        for _ in 0..<steps { now += seconds; r.stepped(at: now) }
        return now
    }

    func testSteadyPaceGivesStepsTimesPace() throws {
        var r = RemainingTime()
        r.started(at: 100)
        XCTAssertNil(r.estimate(stepsLeft: 10, evaluationsLeft: 0), "no pace before the first step")
        _ = run(&r, from: 100, steps: 50, seconds: 0.25)
        XCTAssertEqual(try XCTUnwrap(r.estimate(stepsLeft: 1000, evaluationsLeft: 0)), 250, accuracy: 1e-9)
    }

    /// A job stopped for an hour (SIGSTOP) between two steps: the estimate stays the pace's, where
    /// the average since the start (the ETA before) reads 6.7 hours for 1,000 steps left.
    func testPauseIsLeftOut() throws {
        var r = RemainingTime()
        r.started(at: 0)
        var now = run(&r, from: 0, steps: 100, seconds: 0.1)
        now += 3600
        r.stepped(at: now)
        now = run(&r, from: now, steps: 49, seconds: 0.1)
        let eta = try XCTUnwrap(r.estimate(stepsLeft: 1000, evaluationsLeft: 0))
        XCTAssertEqual(eta, 100, accuracy: 1e-6)
        let sinceStart = now / 150 * 1000
        XCTAssertGreaterThan(sinceStart, 6 * 3600, "the rate since the start would say over 6 h")
    }

    /// Steps whose time varies (short and long batches) are all kept: only a gap far above the
    /// median is a pause.
    func testVaryingStepsAreNotTakenForPauses() throws {
        var r = RemainingTime(window: 100, pauseFactor: 20)
        r.started(at: 0)
        var now = 0.0
        for i in 0..<100 { now += i % 10 == 0 ? 1.5 : 0.1; r.stepped(at: now) }
        XCTAssertEqual(try XCTUnwrap(r.secondsPerStep), (10 * 1.5 + 90 * 0.1) / 100, accuracy: 1e-9)
    }

    /// Only the last `window` steps count: a run that slows down (another job starts) is estimated
    /// at its new pace once the window has passed.
    func testWindowFollowsThePace() throws {
        var r = RemainingTime(window: 50)
        r.started(at: 0)
        let now = run(&r, from: 0, steps: 500, seconds: 0.1)
        _ = run(&r, from: now, steps: 50, seconds: 0.3)
        XCTAssertEqual(try XCTUnwrap(r.secondsPerStep), 0.3, accuracy: 1e-9)
    }

    /// An evaluation's time is counted once per evaluation left, and kept out of the steps' pace;
    /// a checkpoint's time is left out.
    func testEvaluationsAndCheckpoints() throws {
        var r = RemainingTime()
        r.started(at: 0)
        var now = run(&r, from: 0, steps: 10, seconds: 0.5)
        now += 30
        r.evaluated(at: now)  // a 30 s evaluation after step 10
        now += 4
        r.skipped(at: now)  // a 4 s checkpoint
        _ = run(&r, from: now, steps: 10, seconds: 0.5)
        XCTAssertEqual(r.evaluationSeconds, 30)
        XCTAssertEqual(try XCTUnwrap(r.secondsPerStep), 0.5, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(r.estimate(stepsLeft: 100, evaluationsLeft: 3)), 50 + 90, accuracy: 1e-9)
    }

    /// evaluationsLeft agrees with the trainer's rule (every evalEvery steps and at the last step),
    /// counted step by step.
    func testEvaluationsLeftMatchesTheTrainersRule() {
        for total in [1, 7, 10, 40, 41, 99] {
            for every in [1, 3, 10, 50] {
                for step in 0...total {
                    let counted = (step + 1 > total ? [] : Array(step + 1...total))
                        .filter { $0 % every == 0 || $0 == total }.count
                    XCTAssertEqual(
                        RemainingTime.evaluationsLeft(step: step, totalSteps: total, evalEvery: every), counted,
                        "step \(step) of \(total), every \(every)")
                }
            }
        }
    }
}

/// The slow-rank warnings: a rank far slower per token than another, or than the run's best
/// window, is reported; even ranks and a run at its usual speed say nothing.
final class SlowRankCheckTests: XCTestCase {
    func testSlowRanksAndASlowerRunAreReported() {
        var check = SlowRankCheck()
        XCTAssertEqual(check.check([10e-6, 11e-6]), [], "within the factor")
        XCTAssertEqual(check.check([10e-6, 0]), [], "a rank that ran no batch is not compared")
        let slow = check.check([10e-6, 30e-6])
        XCTAssertEqual(slow.count, 2, "\(slow)")
        XCTAssertTrue(slow[0].hasPrefix("warning: rank 1 computes at 33% of the speed of rank 0"), slow[0])
        XCTAssertTrue(slow[1].contains("the slowest rank (1) computes 3.0× slower than earlier in this run"), slow[1])
        XCTAssertEqual(check.check([10.5e-6, 11e-6]), [], "back to speed")
        var one = SlowRankCheck()
        XCTAssertEqual(one.check([10e-6]), [])
        XCTAssertEqual(one.check([20e-6]).count, 1, "one process: only the run's own earlier speed")
    }
}
