import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// What the README promises about training runs, checked.
final class ReadmeClaimsTests: MPITestCase {
    /// "With `--eval-every` larger than N, the only evaluation is the one after the last step,
    /// which also writes `best/`; evaluations never change the parameters or the data order."
    /// And "training is deterministic for a given build, OpenBLAS kernel and machine": the same
    /// command twice gives the same bytes.
    func testEvalEveryBeyondTheRunEvaluatesOnceAtTheEnd() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 5)
        let common = ["--steps", "5", "--optimizer", "sgd", "--l2", "0", "--no-shuffle"]
        _ = try train(
            nil, ranks: 1, cfg, out: dir + "/rare", common + ["--eval-every", "100", "--log-dir", dir + "/logs"])
        _ = try train(nil, ranks: 1, cfg, out: dir + "/often", common + ["--eval-every", "1"])
        _ = try train(nil, ranks: 1, cfg, out: dir + "/again", common + ["--eval-every", "1"])
        let metrics = try String(contentsOfFile: dir + "/logs/metrics.jsonl", encoding: .utf8)
        let evaluations = metrics.split(separator: "\n").filter { $0.contains(#""event":"eval""#) }
        XCTAssertEqual(evaluations.count, 1, metrics)
        XCTAssertTrue(evaluations.first?.contains(#""step":5"#) ?? false, metrics)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/rare/checkpoints/best/model.safetensors"))
        func bytes(_ run: String) -> Data? {
            FileManager.default.contents(atPath: dir + "/\(run)/checkpoints/final/model.safetensors")
        }
        XCTAssertNotNil(bytes("rare"))
        XCTAssertEqual(bytes("rare"), bytes("often"))
        XCTAssertEqual(bytes("often"), bytes("again"))
    }
}
