import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The sweep's selection reads dev accuracy only: changing every test accuracy changes no choice.
final class SweepSelectionTests: XCTestCase {
    func run(_ name: String, _ tasks: [String: (Double, Double)]) -> StudyReport.Run {
        StudyReport.Run(
            file: "x", name: name, architecture: .arc2, seed: 1, taskOrder: tasks.keys.sorted(),
            tasks: tasks.mapValues { StudyReport.TaskResult(bestDev: $0.0, test: $0.1, bestStep: 1) },
            steps: 1, budgetSteps: 1, stoppedByPatience: false, seconds: 1, ranks: 1, machine: "", command: [])
    }

    func testSelectionNeverReadsTest() {
        func points(_ test: (Double) -> Double) -> [SweepSelection.Point] {
            [
                .init(name: "a", runs: [run("product-arc-ii", ["books": (80, test(70)), "dvd": (70, test(90))])]),
                .init(name: "b", runs: [run("product-arc-ii", ["books": (85, test(60)), "dvd": (70, test(95))])]),
                .init(name: "c", runs: [run("product-arc-ii", ["books": (84, test(99)), "dvd": (69, test(99))])]),
            ]
        }
        let s = SweepSelection(points: points { $0 })
        XCTAssertEqual(s.choices.map(\.point), ["b", "a"])  // books: best dev 85; dvd: a tie, the first
        XCTAssertEqual(s.choices.map(\.test), [60, 90])
        for change in [{ (x: Double) in 100 - x }, { _ in 0 }, { x in x * 7 }] {
            XCTAssertEqual(SweepSelection(points: points(change)).choices.map(\.point), ["b", "a"])
        }
        XCTAssertTrue(s.markdown().contains("| product | ARC-II | 1 | 2 | 75.00 |"), s.markdown())
    }
}
