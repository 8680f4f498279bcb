import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The hostile-input corpus of the fault matrix: every input a user can get wrong, fed
/// to the real `smtl train` binary. Each must end with a clear error: a non-zero exit (never a
/// signal or a Swift trap), a message that names what is wrong, and nothing written.
final class HostileInputTests: MPITestCase {
    struct Case {
        var name: String
        /// Changes the tiny config (a JSON object).
        var config: (inout [String: Any]) -> Void = { _ in }
        /// Replaces the training file's bytes.
        var data: Data? = nil
        var args: [String] = []
        /// Replaces the config file's text.
        var rawConfig: String? = nil
        /// A word the message must contain (the key, the file, the option).
        var says: String
    }

    func task(_ c: inout [String: Any], _ key: String, _ value: Any) {
        var tasks = c["tasks"] as! [[String: Any]]
        tasks[0][key] = value
        c["tasks"] = tasks
    }
    func section(_ c: inout [String: Any], _ name: String, _ key: String, _ value: Any) {
        var s = c[name] as? [String: Any] ?? [:]
        s[key] = value
        c[name] = s
    }

    var cases: [Case] {
        func bytes(_ s: String) -> Data { Data(s.utf8) }
        return [
            // The config file.
            Case(name: "config not JSON", rawConfig: "{ \"name\": ", says: "c.json"),
            Case(name: "config empty", rawConfig: "", says: "c.json"),
            Case(name: "config a JSON list", rawConfig: "[1, 2]", says: "c.json"),
            Case(name: "config a binary file", rawConfig: "\u{0}\u{1}\u{2}\u{ff}", says: "c.json"),
            Case(name: "architecture unknown", config: { $0["architecture"] = "arc-iii" }, says: "arc-iii"),
            Case(name: "architecture a number", config: { $0["architecture"] = 2 }, says: "architecture"),
            Case(name: "unknown key", config: { $0["hiden_dim"] = 5 }, says: "hiden_dim"),
            Case(name: "hidden_dim 0", config: { self.section(&$0, "model", "hidden_dim", 0) }, says: "hidden_dim"),
            Case(
                name: "hidden_dim negative", config: { self.section(&$0, "model", "hidden_dim", -5) },
                says: "hidden_dim"),
            Case(
                name: "hidden_dim 1e9", config: { self.section(&$0, "model", "hidden_dim", 1_000_000_000) },
                says: "hidden_dim"),
            Case(
                name: "memory_rows 2e9", config: { self.section(&$0, "model", "memory_rows", 2_000_000_000) },
                says: "memory_rows"),
            Case(
                name: "embedding_dim a string", config: { self.section(&$0, "model", "embedding_dim", "eight") },
                says: "embedding_dim"),
            Case(
                name: "embedding_dim fractional", config: { self.section(&$0, "model", "embedding_dim", 4.5) },
                says: "embedding_dim"),
            Case(
                name: "learning rate negative", config: { self.section(&$0, "training", "learning_rate", -1) },
                says: "learning_rate"),
            Case(name: "batch size 0", config: { self.section(&$0, "training", "batch_size", 0) }, says: "batch_size"),
            Case(name: "steps negative", config: { self.section(&$0, "training", "steps", -5) }, says: "steps"),
            Case(
                name: "optimizer unknown", config: { self.section(&$0, "training", "optimizer", "adam2") },
                says: "adam2"),
            Case(
                name: "dropout above 1", config: { self.section(&$0, "training", "dropout_hidden", 1.5) },
                says: "dropout_hidden"),
            Case(name: "no tasks", config: { $0["tasks"] = [Any]() }, says: "tasks"),
            Case(name: "tasks not a list", config: { $0["tasks"] = "a" }, says: "tasks"),
            Case(
                name: "two tasks of one name",
                config: {
                    let t = ($0["tasks"] as! [[String: Any]])[0]
                    $0["tasks"] = [t, t]
                }, says: "a"),
            Case(name: "train file missing", config: { self.task(&$0, "train", "nowhere.tsv") }, says: "nowhere.tsv"),
            Case(name: "train path a folder", config: { self.task(&$0, "train", ".") }, says: "folder"),
            Case(name: "task weight negative", config: { self.task(&$0, "weight", -1) }, says: "weight"),
            Case(name: "dev larger than the data", config: { self.task(&$0, "dev_size", 1000) }, says: "dev_size"),
            Case(
                name: "declared classes and a stray label", config: { self.task(&$0, "classes", [0, 1]) },
                data: bytes(
                    "0\tgood\n1\tbad\n7\tstray\n" + String(repeating: "0\tfine film\n1\tpoor film\n", count: 20)),
                says: "t.tsv"),
            // The data file.
            Case(
                name: "a line without a tab", data: bytes("0 good film\n" + String(repeating: "1\tbad\n", count: 30)),
                says: "t.tsv:1"),
            Case(
                name: "a label that is not a number",
                data: bytes(String(repeating: "1\tbad\n", count: 30) + "pos\tgood\n"), says: "t.tsv:31"),
            Case(
                name: "a negative label", data: bytes("-1\tbad\n" + String(repeating: "1\tbad\n0\tgood\n", count: 15)),
                says: "t.tsv:1"),
            Case(
                name: "a fractional label",
                data: bytes("0.5\tbad\n" + String(repeating: "1\tbad\n0\tgood\n", count: 15)), says: "t.tsv:1"),
            Case(
                name: "invalid UTF-8",
                data: Data([0x30, 0x09, 0xff, 0xfe, 0x0a]) + bytes(String(repeating: "1\tbad\n", count: 30)),
                says: "t.tsv:1"),
            Case(name: "an empty file", data: Data(), says: "t.tsv"),
            Case(
                name: "gzip header, garbage body", config: { self.task(&$0, "train", "t.tsv.gz") },
                data: Data([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9]), says: "t.tsv.gz"),
            // The command line.
            Case(name: "--learning-rate nan", args: ["--learning-rate", "nan"], says: "learning"),
            Case(name: "--l2 nan", args: ["--l2", "nan"], says: "l2"),
            Case(name: "--learning-rate 1e30", args: ["--learning-rate", "1e30"], says: "learning"),
            Case(name: "--steps=-5", args: ["--steps=-5"], says: "steps"),
            Case(name: "--checkpoint-every=-3", args: ["--checkpoint-every=-3"], says: "checkpoint"),
            Case(name: "--eval-every=-1", args: ["--eval-every=-1"], says: "eval"),
            Case(name: "--keep-checkpoints=0", args: ["--keep-checkpoints=0"], says: "keep"),
            Case(name: "--seed=-1", args: ["--seed=-1"], says: "seed"),
            Case(name: "--collective-timeout=-1", args: ["--collective-timeout=-1"], says: "collective-timeout"),
            Case(name: "--resume a folder that is not a checkpoint", args: ["--resume", "/tmp"], says: "/tmp"),
            Case(
                name: "--resume a missing folder", args: ["--resume", "/nonexistent/ckpt"], says: "/nonexistent/ckpt"),
            Case(name: "embeddings of two widths", config: { $0["embeddings"] = "emb.txt" }, says: "emb.txt"),
            Case(
                name: "embeddings holding NaN",
                config: {
                    $0["embeddings"] = "nan.txt"; self.section(&$0, "model", "embedding_dim", 2)
                },
                says: "nan.txt"),
            Case(
                name: "embeddings holding inf",
                config: {
                    $0["embeddings"] = "inf.txt"; self.section(&$0, "model", "embedding_dim", 2)
                },
                says: "inf.txt"),
            Case(
                name: "embeddings file missing", config: { $0["embeddings"] = "glove.none.txt" }, says: "glove.none.txt"
            ),
            Case(name: "--data-dir missing", args: ["--data-dir", "/nonexistent/data"], says: "/nonexistent"),
        ]
    }

    func testEveryHostileInputEndsWithAClearError() throws {
        let base = Paths.temporaryDirectory()
        _ = Fixture.tinyConfig(base)
        let baseConfig =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + "/c.json")))
            as! [String: Any]
        var silent: [String] = [], crashed: [String] = [], unclear: [String] = [], wrote: [String] = []
        for (i, c) in cases.enumerated() {
            let dir = base + "/case-\(i)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var config = baseConfig
            config["data_dir"] = dir
            c.config(&config)
            _ = Fixture.tinyConfig(dir)  // the good data file t.tsv
            if let d = c.data {
                let name = ((config["tasks"] as? [[String: Any]])?.first?["train"] as? String) ?? "t.tsv"
                FileManager.default.createFile(atPath: dir + "/" + name, contents: d)
            }
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/c.json"))
            if let raw = c.rawConfig { writeFile(dir, "c.json", raw) }
            writeFile(dir, "emb.txt", "good 0.1 0.2\nbad 0.1 0.2 0.3 0.4\n")
            writeFile(dir, "nan.txt", "good 0.1 0.2\nbad nan 0.2\n")
            writeFile(dir, "inf.txt", "good 0.1 0.2\nbad 0.1 -inf\n")
            let args = c.args
            let out = dir + "/out"
            let (p, pipe) = try start(Self.binary, ["train", "--config", dir + "/c.json", "--out", out] + args)
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if p.terminationReason != .exit || text.contains("Fatal error") || text.contains("Illegal instruction") {
                crashed.append("\(c.name): \(text)")
            } else if p.terminationStatus == 0 {
                silent.append(c.name)
            } else if !text.lowercased().contains("error") || !text.contains(c.says) {
                unclear.append("\(c.name) (should name \(c.says)): \(text)")
            }
            let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints")) ?? []
            if !checkpoints.isEmpty { wrote.append("\(c.name): \(checkpoints)") }
        }
        print(
            "hostile inputs: \(cases.count) tried, \(silent.count) accepted, \(crashed.count) crashed, "
                + "\(unclear.count) unclear, \(wrote.count) wrote checkpoints")
        XCTAssertEqual(silent, [], "accepted silently")
        XCTAssertEqual(crashed, [], "crashed")
        XCTAssertEqual(unclear, [], "unclear messages")
        XCTAssertEqual(wrote, [], "wrote checkpoints")
    }
}
