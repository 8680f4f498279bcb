import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The pieces of the study: prefix predictions (Figure 3), early stopping, test-on-improvement,
/// results files and their tables, training curves.
final class StudyTests: XCTestCase {
    func config(_ dir: String, arch: Architecture = .arc1) -> RunConfig { Fixture.twoTasks(dir, arch: arch) }

    /// The classifier on h_t of the last word is the sentence's prediction, and on h_1 it is
    /// the prediction for the first word alone.
    func testPrefixPredictionsAgreeWithWholeSentences() throws {
        for arch in Architecture.allCases {
            let dims = Dimensions(embedding: 4, hidden: 5, memoryRows: 3, memoryWidth: 2, vocabulary: 7)
            let model = Model<Double>(architecture: arch, dims: dims, tasks: [TaskSpec(name: "a", classes: 3)])
            model.initialize(seed: 3)
            let net = model.networks[0]
            let sentence: [Int32] = [1, 4, 2, 6, 3]
            let batch = Batch(sequences: [sentence])
            net.forward(batch)
            let whole = net.probabilities(slot: 0)
            let curve = net.prefixProbabilities(slot: 0, in: batch)
            XCTAssertEqual(curve.count, sentence.count)
            for t in 1...sentence.count {
                net.forward(Batch(sequences: [Array(sentence.prefix(t))]))
                let p = net.probabilities(slot: 0)
                for k in 0..<3 { XCTAssertEqual(curve[t - 1][k], p[k], accuracy: 1e-12, "\(arch) prefix \(t)") }
            }
            for k in 0..<3 { XCTAssertEqual(curve.last![k], whole[k], accuracy: 1e-12) }
            net.forward(batch)
            let gates = net.fusionGates(slot: 0, in: batch)
            XCTAssertEqual(gates.count, arch.hasFusion ? sentence.count : 0)
            XCTAssertTrue(gates.joined().allSatisfy { $0 > 0 && $0 < 1 })
        }
    }

    /// Patience: with a zero learning rate nothing improves after the first evaluation, so the
    /// run stops after `patience` more evaluations and says so in results.json.
    func testPatienceStopsTheRunAndResultsAreWritten() throws {
        let dir = Paths.temporaryDirectory()
        var c = config(dir)
        c.optimizer.learningRate = 0
        c.epochs = 20
        c.patience = 2
        let t = try Trainer(config: c, outDir: dir + "/out")
        try t.run(observers: [ResultsWriter(outDir: dir + "/out", command: ["smtl", "train"])])
        XCTAssertTrue(t.stoppedByPatience)
        XCTAssertEqual(t.step, 3 * t.stepsPerEpoch)
        let results =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/results.json")))
            as! [String: Any]
        XCTAssertEqual(results["stopped_by_patience"] as? Bool, true)
        XCTAssertEqual(results["steps"] as? Int, 3 * t.stepsPerEpoch)
        let a = (results["tasks"] as! [String: Any])["a"] as! [String: Any]
        XCTAssertEqual(a["best_step"] as? Int, t.stepsPerEpoch)
        XCTAssertEqual(a["test_at_best_dev"] as? Double, t.state.testAtBestDev["a"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/checkpoints/final/model.safetensors"))
    }

    /// Evaluating the test set only when a task's dev accuracy improves reports exactly what
    /// evaluating it every time reports.
    func testTestOnImprovementGivesTheSameSelection() throws {
        var states: [TrainingState] = []
        for always in [false, true] {
            let dir = Paths.temporaryDirectory("always\(always)")
            var c = config(dir)
            c.epochs = 12
            c.alwaysTest = always
            let t = try Trainer(config: c, outDir: dir + "/out")
            var tested = 0
            final class Count: TrainingObserver {
                var tests = 0, evals = 0
                func started(_ t: Trainer) {}
                func stepped(_ t: Trainer, losses: [Float], tokensPerSecond: Double) {}
                func evaluated(_ t: Trainer, _ r: EvaluationReport) {
                    evals += r.tasks.count; tests += r.test.compactMap { $0 }.count
                }
                func saved(_ t: Trainer, checkpoint: String) {}
                func finished(_ t: Trainer) {}
            }
            let counter = Count()
            try t.run(observers: [counter])
            tested = counter.tests
            if always { XCTAssertEqual(tested, counter.evals) } else { XCTAssertLessThan(tested, counter.evals) }
            states.append(t.state)
        }
        XCTAssertEqual(states[0].bestDev, states[1].bestDev)
        XCTAssertEqual(states[0].testAtBestDev, states[1].testAtBestDev)
        XCTAssertEqual(states[0].bestStep, states[1].bestStep)
    }

    func writeResults(_ dir: String, _ name: String, arch: String, seed: Int, tests: [String: Double]) {
        var tasks: [String: Any] = [:]
        for (t, v) in tests { tasks[t] = ["best_dev": v + 1, "test_at_best_dev": v, "best_step": 10] }
        let d: [String: Any] = [
            "name": name, "architecture": arch, "seed": seed, "task_order": tests.keys.sorted(), "tasks": tasks,
            "steps": 100, "budget_steps": 200, "stopped_by_patience": true, "training_seconds": 65.0,
            "ranks": tests.count, "machine": "test machine",
        ]
        let sub = (dir as NSString).appendingPathComponent("\(name)/seed-\(seed)")
        try! FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        FileManager.default.createFile(
            atPath: sub + "/results.json", contents: try! JSONSerialization.data(withJSONObject: d))
    }

    /// Cells are mean ± sample std over seeds; the group average is over seeds of per-seed means.
    func testReportTables() throws {
        let dir = Paths.temporaryDirectory()
        let product = ["books", "dvd", "electronics", "kitchen"]
        for (seed, base) in [(1, 80.0), (2, 82.0), (3, 84.0)] {
            writeResults(
                dir, "arc2", arch: "arc-ii", seed: seed,
                tests: Dictionary(uniqueKeysWithValues: product.map { ($0, base) }))
            for t in product { writeResults(dir, "lstm-\(t)", arch: "lstm", seed: seed, tests: [t: base - 2]) }
        }
        // A single-task ARC-II run is not a table cell.
        writeResults(dir, "odd", arch: "arc-ii", seed: 1, tests: ["books": 10])
        let r = try StudyReport.load([dir])
        XCTAssertEqual(r.runs.count, 3 + 12 + 1)
        let cell = r.cell(.arc2, "books")!
        XCTAssertEqual(cell.values, [80, 82, 84])
        XCTAssertEqual(cell.std, 2, accuracy: 1e-12)
        let avg = r.average(.arc2, Study.groups[1])!
        XCTAssertEqual(avg.mean, 82, accuracy: 1e-12)
        XCTAssertNil(r.cell(.arc1, "books"))
        XCTAssertNil(r.average(.arc2, Study.groups[0]))
        let md = r.markdown()
        XCTAssertTrue(
            md.contains(
                "| ARC-II (multi-task) | ours, 3 seeds | 82.0 ± 2.0 | 82.0 ± 2.0 | 82.0 ± 2.0 | 82.0 ± 2.0 "
                    + "| 82.0 ± 2.0 |"
            ), md)
        XCTAssertTrue(md.contains("| | paper | 82.8 | 83.0 | 85.5 | 84.0 | 83.8 |"), md)
        XCTAssertTrue(md.contains("| | ours − paper | -0.8 | -1.0 | -3.5 | -2.0 | -1.8 |"), md)
        XCTAssertTrue(md.contains("| LSTM (single task) | ours, 3 seeds | 80.0 ± 2.0 |"), md)
        let csv = r.csv().split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + 12 + 12 + 1)
        // A damaged results file is named.
        writeFile(dir, "bad.json", "{\"name\": 3}")
        assertInputError(["bad.json", "architecture"]) { _ = try StudyReport.load([dir + "/bad.json"]) }
    }

    func testTrainingCurvesReadTheMetricsLog() throws {
        let dir = Paths.temporaryDirectory()
        var c = config(dir)
        c.epochs = 4
        c.logEvery = 2
        let t = try Trainer(config: c, outDir: dir + "/out")
        try t.run(observers: [try FileLogger(directory: dir + "/logs", rank: 0, logEvery: 2)])
        let curves = try TrainingCurves.read(dir + "/logs/metrics.jsonl")
        XCTAssertEqual(curves.tasks, ["a", "b"])
        XCTAssertTrue(curves.windowedLoss)
        XCTAssertEqual(curves.dev["a"]?.count, 4)
        XCTAssertEqual(curves.loss["b"]?.count, t.totalSteps / 2)
        // A resumed run appends to the logs instead of starting them again.
        let again = try FileLogger(directory: dir + "/logs", rank: 0, logEvery: 2)
        again.started(t)
        again.finished(t)
        XCTAssertEqual(try TrainingCurves.read(dir + "/logs/metrics.jsonl").dev["a"]?.count, 4)
        let svg = curves.svg(title: "run <1>")
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("</svg>") && svg.contains("run &lt;1&gt;"))
        writeFile(dir, "bad.jsonl", "{\"event\": \"start\"}\nnot json\n")
        assertInputError(["bad.jsonl:2"]) { _ = try TrainingCurves.read(dir + "/bad.jsonl") }
    }
}
