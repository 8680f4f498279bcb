import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// `smtl bench`'s report: the memory-kernel level it names (and SMTL_KERNELS caps), the FLOP
/// count per token, and a tokens/s column found by its header (as launch/bench-scaling reads it).
final class BenchCommandTests: MPITestCase {
    func testBenchReportsKernelsFlopsAndTokensPerSecond() throws {
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["SMTL_KERNELS"] = "baseline"
        let (p, out) = try start(
            Self.binary, ["bench", "--seconds", "0.01", "--batch-size", "2", "--architectures", "lstm,arc-ii"],
            environment: env)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("memory kernels baseline (SSE2)"), text)
        XCTAssertTrue(text.contains("GFLOP/s"), text)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard let header = lines.first(where: { $0.first == "model" }), let col = header.firstIndex(of: "tokens/s")
        else {
            return XCTFail("no header with tokens/s: \(text)")
        }
        let rows = lines.filter { ["LSTM", "ARC-II"].contains($0.first ?? "") }
        XCTAssertEqual(rows.count, 4, text)
        for row in rows {
            // "length" spans two fields ("sentence 10-30").
            XCTAssertGreaterThan(Double(row[col + 1]) ?? 0, 0, row.joined(separator: " "))
            let flops = Int(row[col + 2]) ?? 0
            XCTAssertEqual(flops, row[0] == "LSTM" ? 480_000 : 667_200, row.joined(separator: " "))
        }
    }
}
