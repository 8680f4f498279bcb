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

    /// One case in a real process, its output in `log`.
    func smtl(_ args: [String], log: String, timeout: Double = 60) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
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

    /// `body(i)` for every i < n, two at a time (the cases are independent processes, each with
    /// its own files: the campaign takes half the time on two cores), results in order of i.
    func twoAtATime<T>(_ n: Int, _ body: (Int) -> T) -> [T] {
        var results = [T?](repeating: nil, count: n)
        let lock = NSLock()
        let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        next.initialize(to: 0)
        defer { next.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while true {
                lock.lock()
                let i = next.pointee
                next.pointee += 1
                lock.unlock()
                guard i < n else { return }
                let r = body(i)
                lock.lock()
                results[i] = r
                lock.unlock()
            }
        }
        return results.map { $0! }
    }

    func testNumbersInEveryKeyAndOption() throws {
        let dir = Paths.temporaryDirectory()
        let config = Fixture.tinyConfig(dir)
        let base = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        var tried = 0, refused = 0
        var problems: [String] = []
        var cases: [(what: String, name: String, args: [String], out: String)] = []
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
                let file = dir + "/case-\(cases.count).json", out = dir + "/out-\(cases.count)"
                try JSONSerialization.data(withJSONObject: c).write(to: URL(fileURLWithPath: file))
                cases.append(("\(section ?? "tasks[0]").\(key) = \(v)", key, ["train", "--config", file], out))
            }
        }
        for option in Self.options {
            for v in Self.values + ["nan"] {
                cases.append(
                    ("\(option) \(v)", option, ["train", "--config", config, option, v], dir + "/out-\(cases.count)"))
            }
        }
        let outcomes = twoAtATime(cases.count) { i in
            (try? smtl(cases[i].args + ["--out", cases[i].out], log: cases[i].out + ".log"))
                ?? Outcome(status: -1, signalled: false, output: "did not start", hung: false)
        }
        for (c, o) in zip(cases, outcomes) { check(c.what, c.name, o, out: c.out) }
        print("campaign: \(tried) cases, \(refused) refused, \(problems.count) problems")
        for p in problems { print("campaign problem: \(p)") }
        XCTAssertGreaterThanOrEqual(tried, 190)
        XCTAssertGreaterThan(refused, tried / 3, "most of these values are out of range")
        XCTAssertEqual(problems, [])
    }

    /// The other classes, as a new user would try them, each in a real process: data files with
    /// odd bytes in each split, run names from the config and `--name`, output folders, and
    /// option mistakes. Every case is read as meant (the console's counts are the file's), or
    /// refused naming the file, key or option; none crashes, hangs or writes a run.
    func testMistakesOfEveryClass() throws {
        let dir = Paths.temporaryDirectory()
        func lines(_ n: Int, _ tag: String) -> [String] {
            (0..<n).map { "\($0 % 2)\t\($0 % 2 == 0 ? "good fine" : "bad poor") \(tag)\($0)" }
        }
        let base = ["train": lines(40, "t"), "dev": lines(10, "d"), "test": lines(10, "e")]
        func write(_ name: String, _ bytes: [UInt8]) -> String {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(bytes))
            return name
        }
        func text(_ ls: [String], _ sep: String = "\n") -> [UInt8] { Array((ls.joined(separator: sep) + sep).utf8) }
        var configs = 0
        func config(_ files: [String: String], top: String = #""name": "camp""#) -> String {
            configs += 1
            let file = dir + "/case-\(configs).json"
            try? Data(
                ("{" + top + #", "data_dir": ""# + dir + #"", "architecture": "arc-ii","#
                    + #" "model": {"embedding_dim": 4, "hidden_dim": 4, "memory_rows": 2, "memory_width": 2},"#
                    + #" "training": {"batch_size": 4, "steps": 4, "eval_every": 2},"#
                    + #" "tasks": [{"name": "a", "train": ""# + files["train", default: "train.tsv"]
                    + #"", "dev": ""# + files["dev", default: "dev.tsv"] + #"", "test": ""#
                    + files["test", default: "test.tsv"] + #""}]}"#).utf8
            ).write(to: URL(fileURLWithPath: file))
            return file
        }
        for (split, ls) in base { _ = write(split + ".tsv", text(ls)) }
        struct Case {
            var what: String, args: [String], accepted: Bool, counts: String, fragments: [String], out: String
        }
        var cases: [Case] = []
        var tried: Int { cases.count }
        var problems: [String] = []
        /// `accepted`: the run must train and print the file's own counts; otherwise it must be
        /// refused with every fragment in its error lines and nothing written. (Recorded here, run
        /// two at a time at the end.)
        func check(
            _ what: String, _ args: [String], accepted: Bool, counts: String = "train     40  dev     10  test     10",
            naming fragments: [String] = [], out: String
        ) throws {
            cases.append(
                Case(what: what, args: args, accepted: accepted, counts: counts, fragments: fragments, out: out))
        }
        func listing(_ out: String) -> [String] { (FileManager.default.subpaths(atPath: out) ?? []).sorted() }
        func judge(_ c: Case, _ o: Outcome, before: [String], after: [String]) {
            let (what, accepted, counts, fragments, out) = (c.what, c.accepted, c.counts, c.fragments, c.out)
            if o.signalled || o.hung {
                problems.append("\(what): \(o.hung ? "hung" : "crashed (signal \(o.status))"): \(o.output.suffix(300))")
            } else if accepted {
                if o.status != 0 { problems.append("\(what): refused: \(o.output.suffix(300))") }
                if !o.output.contains(counts) { problems.append("\(what): not read as meant: \(o.output.prefix(400))") }
            } else {
                let error = o.output.split(separator: "\n").filter { $0.contains("rror") }.joined(separator: " | ")
                if o.status == 0 { problems.append("\(what): accepted: \(o.output.prefix(300))") }
                for f in fragments where !error.contains(f) {
                    problems.append("\(what): the error does not name '\(f)': \(error.prefix(300))")
                }
                if after != before { problems.append("\(what): refused, but changed \(out)") }
                if error.contains("NSCocoaErrorDomain") || error.contains("Fatal error") {
                    problems.append("\(what): a raw error: \(error.prefix(300))")
                }
            }
        }
        // Data files: each quirk in each split.
        let quirks: [(name: String, accepted: Bool, make: ([String]) -> [UInt8], naming: [String])] = [
            ("byte-order mark", true, { [0xEF, 0xBB, 0xBF] + text($0) }, []),
            ("CR-only lines", true, { text($0, "\r") }, []),
            ("CRLF lines", true, { text($0, "\r\n") }, []),
            ("a blank line", true, { text(Array($0[..<2]) + [""] + $0[2...]) }, []),
            (
                "a third column", false,
                {
                    var l = $0; l[2] += "\textra"; return text(l)
                }, [":3"]
            ),
            ("an empty file", false, { _ in [] }, ["holds no examples"]),
            (
                "a word label", false,
                {
                    var l = $0; l[1] = "pos\tgood"; return text(l)
                }, [":2"]
            ),
            (
                "a negative label", false,
                {
                    var l = $0; l[1] = "-1\tgood"; return text(l)
                }, [":2"]
            ),
            (
                "an empty text", false,
                {
                    var l = $0; l[1] = "1\t  "; return text(l)
                }, [":2"]
            ),
            (
                "invalid UTF-8", false,
                {
                    var b = text($0); b.insert(0xFF, at: b.firstIndex(of: 0x0A)! + 3); return b
                }, [":2"]
            ),
            (
                "no tab", false,
                {
                    var l = $0; l[3] = "1 good words"; return text(l)
                }, [":4"]
            ),
            (
                "a NUL byte", false,
                {
                    var b = text($0); b.insert(0, at: b.firstIndex(of: 0x0A)! + 4); return b
                }, [":2"]
            ),
            ("UTF-16", false, { [0xFF, 0xFE] + text($0).flatMap { [$0, 0] } }, ["UTF-16"]),
            (
                "a 12-digit label", false,
                {
                    var l = $0; l[4] = "100000000000\tgood"; return text(l)
                }, [":5"]
            ),
            ("only spaces", false, { _ in Array("   \n \n".utf8) }, ["no tab"]),
            ("only blank lines", false, { _ in Array("\n\n\n".utf8) }, ["holds no examples"]),
        ]
        for (q, quirk) in quirks.enumerated() {
            for split in ["train", "dev", "test"] {
                let name = write("q\(q)-\(split).tsv", quirk.make(base[split]!))
                try check(
                    "\(split) file with \(quirk.name)", ["train", "--config", config([split: name])],
                    accepted: quirk.accepted, naming: [name] + quirk.naming, out: dir + "/out-\(tried)")
            }
        }
        for split in ["train", "dev", "test"] {
            _ = write("plain-\(split).tsv.gz", text(base[split]!))
            try check(
                "\(split): a .gz name on a plain file",
                ["train", "--config", config([split: "plain-\(split).tsv.gz"])],
                accepted: true, out: dir + "/out-\(tried)")
            try check(
                "\(split): a missing file", ["train", "--config", config([split: "none.tsv"])], accepted: false,
                naming: ["none.tsv"], out: dir + "/out-\(tried)")
            try FileManager.default.createDirectory(atPath: dir + "/folder", withIntermediateDirectories: true)
            try check(
                "\(split): a folder", ["train", "--config", config([split: "folder"])], accepted: false,
                naming: ["folder"], out: dir + "/out-\(tried)")
        }
        // Run names, from the config and from --name.
        let names: [(String, Bool)] = [
            ("../x", false), ("a/b", false), ("", false), (".", false), ("..", false), ("a b", false),
            ("x\ty", false), ("semi;colon", false), ("$(id)", false), (String(repeating: "n", count: 300), false),
            ("-dash", true), ("Ünïcode", true), ("v1.2+b_3", true),
        ]
        for (name, ok) in names {
            let quoted = name.replacingOccurrences(of: "\t", with: "\\t")
            try check(
                "name '\(quoted)' in the config",
                ["train", "--config", config([:], top: #""name": ""# + quoted + #"""#)],
                accepted: ok, naming: ["name"], out: dir + "/out-\(tried)")
            try check(
                "--name '\(quoted)'", ["train", "--config", config([:]), "--name=" + name], accepted: ok,
                naming: ["name"], out: dir + "/out-\(tried)")
        }
        // Output folders.
        let good = config([:])
        writeFile(dir, "a-file", "x\n")
        try check(
            "--out a file", ["train", "--config", good], accepted: false, naming: ["a-file"], out: dir + "/a-file")
        try check(
            "--out under a file", ["train", "--config", good], accepted: false, naming: ["a-file"],
            out: dir + "/a-file/run")
        try check(
            "--out under /proc", ["train", "--config", good], accepted: false, naming: ["/proc/smtl-run"],
            out: "/proc/smtl-run")
        try check(
            "--out with a 300-byte name", ["train", "--config", good], accepted: false, naming: ["--out"],
            out: dir + "/" + String(repeating: "o", count: 300))
        let finished = dir + "/finished"
        XCTAssertEqual(try smtl(["train", "--config", good, "--out", finished], log: dir + "/finished.log").status, 0)
        try check(
            "--out a finished run", ["train", "--config", good], accepted: false, naming: ["--overwrite"], out: finished
        )
        try check(
            "--out inside a checkpoint", ["train", "--config", good], accepted: false,
            naming: ["inside the checkpoint"],
            out: finished + "/checkpoints/best/x")
        // A live writer: this test process holds the lock.
        let locked = dir + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        writeFile(locked, ".smtl-lock", "\(getpid()) \(ProcessInfo.processInfo.hostName) 2026-12-07T00:00:00Z\n")
        try check(
            "--out a folder another run holds", ["train", "--config", good], accepted: false,
            naming: ["\(getpid())"], out: locked)
        // Option mistakes.
        let optionCases: [(String, [String], [String])] = [
            ("--resume of a missing folder", ["--resume", dir + "/nowhere"], ["nowhere"]),
            ("--resume auto with nothing to resume", ["--resume", "auto"], ["--resume auto"]),
            ("--init-from a missing file", ["--init-from", dir + "/none.safetensors"], ["none.safetensors"]),
            ("--init-from a folder", ["--init-from", dir + "/folder"], ["folder"]),
            ("--overwrite with --resume", ["--overwrite", "--resume", "auto"], ["--overwrite"]),
            ("--task unknown", ["--task", "zzz"], ["--task zzz"]),
            ("--data-dir missing", ["--data-dir", dir + "/no-data"], ["no-data"]),
            ("--log-dir a file", ["--log-dir", dir + "/a-file"], ["a-file"]),
            ("an unknown option", ["--stepz", "5"], ["--stepz"]),
            ("--architecture unknown", ["--architecture", "gru"], ["gru"]),
            ("--placement unknown", ["--placement", "random"], ["random"]),
            ("--allow-change unknown key", ["--allow-change", "nonsense", "--resume", "auto"], ["nonsense"]),
            ("--allow-change without --resume", ["--allow-change", "learning_rate"], ["--allow-change"]),
            ("--resume of a data file", ["--resume", dir + "/train.tsv"], ["train.tsv"]),
        ]
        for (what, args, naming) in optionCases {
            try check(
                what, ["train", "--config", good] + args, accepted: false, naming: naming, out: dir + "/out-\(tried)")
        }
        for (what, config, naming) in [
            ("--config missing", dir + "/none.json", ["none.json"]), ("--config a folder", dir + "/folder", ["folder"]),
            ("--config empty", writeFile(dir, "empty.json", ""), ["empty.json"]),
            ("--config a data file", dir + "/train.tsv", ["train.tsv"]),
        ] {
            try check(what, ["train", "--config", config], accepted: false, naming: naming, out: dir + "/out-\(tried)")
        }
        let runs = twoAtATime(cases.count) { i -> (Outcome, [String], [String]) in
            let c = cases[i], before = listing(c.out)
            let o =
                (try? smtl(c.args + ["--out", c.out], log: dir + "/case-\(i).log"))
                ?? Outcome(status: -1, signalled: false, output: "did not start", hung: false)
            return (o, before, listing(c.out))
        }
        for (c, r) in zip(cases, runs) { judge(c, r.0, before: r.1, after: r.2) }
        print("campaign of mistakes: \(tried) cases, \(problems.count) problems")
        for p in problems { print("campaign problem: \(p)") }
        XCTAssertGreaterThanOrEqual(tried, 100)
        XCTAssertEqual(problems, [])
    }
}
