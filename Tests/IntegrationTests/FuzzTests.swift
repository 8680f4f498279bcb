import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// A short libFuzzer run of every input reader (launch/fuzz builds Sources/smtl-fuzz with
/// -sanitize=fuzzer): a crash fails the test and leaves the input in fuzz/crashes/. The long runs
/// (10^6 executions a target) and their numbers are in docs/reliability.md.
final class FuzzTests: MPITestCase {
    func testEveryReaderSurvivesAShortFuzzRun() throws {
        let (status, text) = try run("/bin/bash", [Paths.root + "/launch/fuzz", "--runs", "3000"])
        XCTAssertEqual(status, 0, text)
        for target in ["safetensors", "tsv", "config", "vocab", "glove", "options"] {
            XCTAssertTrue(text.contains("== \(target): 3000 executions"), text)
        }
        // libFuzzer's count also includes the corpus it loads first.
        XCTAssertEqual(text.components(separatedBy: "\nDone ").count - 1, 6, text)
    }
}
