import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The measurement and fitting commands behind docs/scaling.md.
final class ScalingCommandTests: MPITestCase {
    /// `smtl bench-allreduce` under mpirun writes one JSON line per size.
    func testBenchAllreduceWritesItsMeasurements() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let json = dir + "/allreduce.jsonl"
        let (status, text) = try run(
            mpirun,
            [
                "-np", "2", "--oversubscribe", Self.binary, "bench-allreduce", "--sizes", "8,4096", "--seconds", "0.01",
                "--json", json, "--label", "test",
            ])
        XCTAssertEqual(status, 0, text)
        let lines = try String(contentsOfFile: json, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        XCTAssertEqual(first?["ranks"] as? Int, 2)
        XCTAssertEqual(first?["bytes"] as? Int, 8)
        XCTAssertGreaterThan(first?["seconds"] as? Double ?? 0, 0)
    }

    /// results/scaling/report.md is what `smtl scaling` makes of the stored measurements
    /// (the published fit, check and prediction are regenerated, not edited).
    func testPublishedReportRegeneratesFromTheMeasurements() throws {
        let stored = Paths.root + "/results/scaling"
        let dir = Paths.temporaryDirectory()
        let (status, text) = try run(
            Self.binary,
            [
                "scaling", "--allreduce", stored + "/allreduce.jsonl", "--runs", stored + "/runs.jsonl",
                "--markdown", dir + "/report.md", "--svg", dir + "/scaling.svg", "--here-cores", "2",
            ])
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(
            try String(contentsOfFile: dir + "/report.md", encoding: .utf8),
            try String(contentsOfFile: stored + "/report.md", encoding: .utf8))
        XCTAssertEqual(
            try String(contentsOfFile: dir + "/scaling.svg", encoding: .utf8),
            try String(contentsOfFile: stored + "/scaling.svg", encoding: .utf8))
    }
}
