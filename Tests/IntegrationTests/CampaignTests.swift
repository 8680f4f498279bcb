import Foundation
import TestSupport
import XCTest

/// A campaign of out-of-range and odd numbers, as a new user would try them: every numeric key of
/// the config file and every numeric option of `smtl train`, each with 0, -1, a huge value and a
/// fraction, each in a real process. None may crash (a signal) or hang, every refusal names the
/// key or option, and a refused run writes nothing.
final class CampaignTests: MPITestCase {
    static let values: [String] = ["0", "-1", "1e18", "0.5"]

    static let configKeys: [(section: String?, key: String)] =
        ["embedding_dim", "hidden_dim", "memory_rows", "memory_width", "pretrained_dim"].map { ("model", $0) }
        + [
            "batch_size", "steps", "eval_every", "epochs", "learning_rate", "checkpoint_every", "keep_checkpoints",
            "patience", "task_patience", "log_every", "clip_norm", "ema_decay", "l2", "dropout_embedding",
            "dropout_hidden", "dropout_read", "fine_tune_epochs", "cores_per_host", "seed",
        ].map { ("training", $0) }
        + ["max_length", "min_count", "max_size"].map { ("vocabulary", $0) }
        + ["dev_size", "dev_fraction", "test_size", "test_fraction", "weight", "train_limit", "max_tokens"].map {
            (nil, $0)
        }

    static let options = [
        "--steps", "--epochs", "--seed", "--learning-rate", "--eval-every", "--patience", "--checkpoint-every",
        "--keep-checkpoints", "--fine-tune-epochs", "--cores-per-host", "--collective-timeout",
        "--check-replicas-every",
    ]

    struct Outcome { var status: Int32; var signalled: Bool; var output: String; var hung: Bool }

    func smtl(_ args: [String], timeout: Double = 60) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        let log = Paths.temporaryDirectory("campaign-log") + "/out.txt"
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = h
        p.standardError = h
        try p.run()
        let until = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < until { usleep(10_000) }
        let hung = p.isRunning
        if hung { p.terminate() }
        p.waitUntilExit()
        try h.close()
        return Outcome(
            status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
            output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "", hung: hung)
    }

    func testNumbersInEveryKeyAndOption() throws {
        let dir = Paths.temporaryDirectory()
        let config = Fixture.tinyConfig(dir)
        let base = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        var tried = 0, refused = 0
        var problems: [String] = []
        func check(_ what: String, _ name: String, _ o: Outcome, out: String) {
            tried += 1
            if o.signalled || o.hung {
                problems.append("\(what): \(o.hung ? "hung" : "crashed (signal \(o.status))"): \(o.output.suffix(300))")
                return
            }
            guard o.status != 0 else { return }
            refused += 1
            let error = o.output.split(separator: "\n").filter { $0.contains("rror") }.joined(separator: " | ")
            // An option's value is checked as the config key it sets (`--keep-checkpoints`:
            // `training.keep_checkpoints`); a value in range that makes training diverge is named
            // in words ("the learning rate").
            let key = name.hasPrefix("--") ? name.dropFirst(2).replacingOccurrences(of: "-", with: "_") : name
            if ![name, key, key.replacingOccurrences(of: "_", with: " ")].contains(where: error.contains) {
                problems.append("\(what): the error does not name \(name): \(error.prefix(300))")
            }
            if FileManager.default.fileExists(atPath: out + "/checkpoints") {
                problems.append("\(what): refused, but wrote \(out)/checkpoints")
            }
        }
        for (section, key) in Self.configKeys {
            for v in Self.values {
                var c = base
                let number = Double(v)!
                if let section {
                    var s = c[section] as? [String: Any] ?? [:]
                    s[key] = number
                    c[section] = s
                } else {
                    var tasks = c["tasks"] as! [[String: Any]]
                    tasks[0][key] = number
                    c["tasks"] = tasks
                }
                let file = dir + "/case.json", out = dir + "/out-\(tried)"
                try JSONSerialization.data(withJSONObject: c).write(to: URL(fileURLWithPath: file))
                check(
                    "\(section ?? "tasks[0]").\(key) = \(v)", key, try smtl(["train", "--config", file, "--out", out]),
                    out: out)
            }
        }
        for option in Self.options {
            for v in Self.values + ["nan"] {
                let out = dir + "/out-\(tried)"
                check(
                    "\(option) \(v)", option, try smtl(["train", "--config", config, "--out", out, option, v]), out: out
                )
            }
        }
        print("campaign: \(tried) cases, \(refused) refused, \(problems.count) problems")
        for p in problems { print("campaign problem: \(p)") }
        XCTAssertGreaterThanOrEqual(tried, 190)
        XCTAssertGreaterThan(refused, tried / 3, "most of these values are out of range")
        XCTAssertEqual(problems, [])
    }
}
