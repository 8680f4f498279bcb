import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// `--format jsonl` of predict, evaluate and explain: one JSON object a line, with the values
/// the model computes at full precision (bit for bit as Float).
final class OutputFormatTests: MPITestCase {
    func checkpoint() throws -> String {
        guard FileManager.default.fileExists(atPath: Paths.sharedData + "/README.md") else {
            throw XCTSkip("no ../shared/data")
        }
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 6)
        _ = try train(nil, ranks: 1, cfg, out: dir + "/out")
        return dir + "/out/checkpoints/final"
    }

    func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    func testPredictJSONLinesCarryFullPrecisionProbabilitiesAndLogits() throws {
        let ck = try checkpoint()
        let dir = Paths.temporaryDirectory("predictjsonl")
        let texts = ["a wonderful , moving film", "dull and \"boring\"\tcliché", "zzzunknownzzz"]
        let input = writeFile(dir, "in.txt", texts.joined(separator: "\n") + "\n")
        let (status, text) = try run(
            Self.binary,
            [
                "predict", "--checkpoint", ck, "--task", "subj", "--input", input,
                "--format", "jsonl",
            ])
        XCTAssertEqual(status, 0, text)
        let rows = try objects(text)
        XCTAssertEqual(rows.count, 3)
        let loaded = try Checkpoint.load(ck)
        let model = try Checkpoint.model(from: loaded)
        let net = model.networks[model.taskIndex("subj")!]
        for (i, row) in rows.enumerated() {
            XCTAssertEqual(row["text"] as? String, texts[i])
            XCTAssertEqual(row["line"] as? Int, i + 1)
            let p = (row["probabilities"] as! [NSNumber]).map { Float($0.doubleValue) }
            let logits = (row["logits"] as! [NSNumber]).map { Float($0.doubleValue) }
            let ids = loaded.vocabulary.encode(texts[i], tokenizer: loaded.config.tokenizer)
            net.forward(Batch(sequences: [ids]))
            // The same Float bits as the model's own forward pass.
            XCTAssertEqual(p, net.probabilities(slot: 0))
            XCTAssertEqual(logits, net.logits(slot: 0))
            // softmax(logits) = probabilities.
            let e = logits.map { exp(Double($0 - logits.max()!)) }
            for (a, b) in zip(e.map { $0 / e.reduce(0, +) }, p) { XCTAssertEqual(a, Double(b), accuracy: 1e-6) }
            let best = p.indices.max { p[$0] < p[$1] }!
            XCTAssertEqual(row["label"] as? Int, loaded.labels["subj"]![best])
        }
    }

    func testEvaluateJSONLinesCarryCountsAndConfusionMatrix() throws {
        let ck = try checkpoint()
        let (status, text) = try run(
            Self.binary,
            [
                "evaluate", "--checkpoint", ck, "--split", "dev", "--data-dir", Paths.sharedData,
                "--format", "jsonl",
            ])
        XCTAssertEqual(status, 0, text)
        let rows = try objects(text)
        XCTAssertEqual(rows.map { $0["task"] as? String }, ["sst2", "subj", "kitchen", "books"])
        let loaded = try Checkpoint.load(ck)
        var config = loaded.config
        config.dataDir = Paths.sharedData
        let corpus = try Corpus.load(config, vocabulary: loaded.vocabulary, labels: loaded.labels)
        let model = try Checkpoint.model(from: loaded)
        for (m, row) in rows.enumerated() {
            let confusion = row["confusion"] as! [[Int]]
            let n = row["examples"] as! Int
            XCTAssertEqual(n, 20)
            XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), n)
            XCTAssertEqual(confusion.indices.map { confusion[$0][$0] }.reduce(0, +), row["correct"] as? Int)
            // Rows are the true labels: their sums are the label counts of the split.
            let counts = corpus.tasks[m].labels.indices.map { c in corpus.tasks[m].dev.filter { $0.label == c }.count }
            XCTAssertEqual(confusion.map { $0.reduce(0, +) }, counts)
            XCTAssertEqual(row["accuracy"] as? Double, Evaluation.accuracy(model.networks[m], corpus.tasks[m].dev))
        }
    }

    func testExplainJSONLinesCarryPrefixProbabilitiesAndGates() throws {
        let ck = try checkpoint()
        let (status, text) = try run(
            Self.binary,
            [
                "explain", "--checkpoint", ck, "--task", "sst2", "--sentence", "a moving film",
                "--sentence", "not good", "--format", "jsonl",
            ])
        XCTAssertEqual(status, 0, text)
        let rows = try objects(text)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["words"] as? [String], ["a", "moving", "film"])
        let curve = rows[0]["prefix_probability"] as! [Double]
        XCTAssertEqual(curve.count, 3)
        // The last prefix is the whole sentence: its probability is the prediction's (class 1).
        let conf = rows[0]["confidence"] as! Double
        XCTAssertEqual(rows[0]["predicted"] as? Int == 1 ? curve[2] : 1 - curve[2], conf, accuracy: 1e-6)
        let gates = rows[0]["fusion_gates"] as! [[Double]]
        XCTAssertEqual(gates.count, 3)
        XCTAssertEqual(gates[0].count, 8)
        XCTAssertTrue(gates.flatMap { $0 }.allSatisfy { $0 > 0 && $0 < 1 })
    }
}
