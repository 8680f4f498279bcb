import Foundation
import SMTLTraining
import TestSupport
import XCTest

/// Nothing a user does loses a run, with real processes: a new run never replaces an earlier one
/// in silence, one writer per run folder (two real runs at once; a killed writer's lock taken
/// over), and Ctrl-C (a real SIGINT) or SIGHUP keeps the progress, a second Ctrl-C ends at once.
final class RunFolderSafetyTests: MPITestCase {
    /// `smtl train` of the tiny one-task config in the background, its output to a file.
    func launch(_ dir: String, _ args: [String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["train", "--config", dir + "/c.json"] + args
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = h
        p.standardError = h
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        try p.run()
        return p
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Waits until `path` exists (or `seconds` pass).
    func waitForFile(_ path: String, seconds: Double = 60) {
        let until = Date().addingTimeInterval(seconds)
        while !FileManager.default.fileExists(atPath: path) && Date() < until { usleep(20_000) }
    }

    /// Trains into `--out` (the first of `args`' values after it), sends `signals` 0.3 s apart
    /// once the run has held its folder for `after` seconds, and returns its status and output.
    func signalled(_ dir: String, _ args: [String], after: Double, _ signals: [Int32]) throws -> (Int32, String) {
        let out = args[args.firstIndex(of: "--out")! + 1]
        let p = try launch(dir, args, log: out + ".log")
        waitForFile(out + "/.smtl-lock")
        Thread.sleep(forTimeInterval: after)
        for (i, sig) in signals.enumerated() {
            if i > 0 { usleep(300_000) }
            kill(p.processIdentifier, sig)
        }
        p.waitUntilExit()
        return (p.terminationStatus, text(out + ".log"))
    }

    func testANewRunRefusesToReplaceAnEarlierOneAndOverwriteMovesItAside() throws {
        let dir = Paths.temporaryDirectory()
        _ = Fixture.tinyConfig(dir)
        let out = dir + "/out"
        var (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json", "--out", out])
        XCTAssertEqual(status, 0, log)
        let results = try Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))
        (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json", "--out", out, "--seed", "7"])
        XCTAssertEqual(status, 1, log)
        for part in ["holds run `tiny` (finished, with results.json)", "--resume auto", "--out", "--overwrite"] {
            XCTAssertTrue(log.contains(part), "\(part) in: \(log)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/results.json")), results, "nothing replaced")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.smtl-lock"), "the lock is released on an error")
        (status, log) = try run(
            Self.binary, ["train", "--config", dir + "/c.json", "--out", out, "--seed", "7", "--overwrite"])
        XCTAssertEqual(status, 0, log)
        let aside = try XCTUnwrap(
            try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasPrefix("out.replaced-") })
        XCTAssertTrue(log.contains("moved to \(out).replaced-"), log)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + aside + "/results.json")), results)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir + "/" + aside + "/checkpoints/final/model.safetensors"))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/results.json")), results, "a new run")
        // --overwrite is for new runs only.
        (status, log) = try run(
            Self.binary, ["train", "--config", dir + "/c.json", "--out", out, "--overwrite", "--resume", "auto"])
        XCTAssertNotEqual(status, 0, log)
        XCTAssertTrue(log.contains("--overwrite starts a new run"), log)
    }

    func testOneWriterPerRunFolderAndAKilledWritersLockIsTakenOver() throws {
        let dir = Paths.temporaryDirectory()
        _ = Fixture.tinyConfig(dir)
        let out = dir + "/out", lock = out + "/.smtl-lock"
        let long = ["--out", out, "--steps", "100000", "--eval-every", "100000", "--checkpoint-every", "200"]
        let first = try launch(dir, long, log: dir + "/first.log")
        waitForFile(lock)
        let holder = text(lock)
        XCTAssertTrue(holder.hasPrefix("\(first.processIdentifier) "), holder)
        // A second writer, at once: refused, naming the holder; the first is untouched.
        let started = Date()
        let (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json"] + long + ["--resume", "auto"])
        XCTAssertEqual(status, 1, log)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "fails at once")
        XCTAssertTrue(
            log.contains("another smtl run is writing into this folder: process \(first.processIdentifier)"), log)
        XCTAssertTrue(first.isRunning)
        XCTAssertEqual(text(lock), holder)
        // The same under mpirun with two ranks: rank 0 takes the lock, and its refusal ends the job.
        if let mpirun = try? requireMPI() {
            let (s, l) = try run(
                mpirun,
                [
                    "--allow-run-as-root", "--oversubscribe", "-np", "2", Self.binary, "train", "--config",
                    dir + "/c.json",
                ]
                    + long + ["--resume", "auto"])
            XCTAssertNotEqual(s, 0, l)
            XCTAssertTrue(l.contains("another smtl run is writing into this folder"), l)
            XCTAssertTrue(first.isRunning)
            XCTAssertEqual(text(lock), holder)
        }
        // The first writer dies without a word (SIGKILL): its lock stays, and the next run takes
        // it over, saying so, and resumes from the step checkpoint.
        let until = Date().addingTimeInterval(60)
        while RunFolder(out).stepCheckpoints.isEmpty && Date() < until { usleep(20_000) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: lock))
        let (status2, log2) = try run(
            Self.binary,
            [
                "train", "--config", dir + "/c.json", "--out", out, "--steps", "1200", "--eval-every", "600",
                "--resume", "auto",
            ])
        XCTAssertEqual(status2, 0, log2)
        XCTAssertTrue(log2.contains("its writer, process \(first.processIdentifier)"), log2)
        XCTAssertTrue(log2.contains("is gone; taking the run folder over"), log2)
        XCTAssertTrue(log2.contains("resuming from"), log2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock), "released at the end")
        // A lock taken on another host (a shared file system) cannot be checked from here.
        writeFile(out, ".smtl-lock", "4242 other-host.example 2026-12-07T10:00:00Z\n")
        let (status3, log3) = try run(
            Self.binary, ["train", "--config", dir + "/c.json", "--out", out, "--steps", "1300", "--resume", "auto"])
        XCTAssertEqual(status3, 1, log3)
        for part in ["process 4242 on host other-host.example", "cannot be checked from here", "delete \(lock)"] {
            XCTAssertTrue(log3.contains(part), "\(part) in: \(log3)")
        }
    }

    func testCtrlCAndHangUpCheckpointAndASecondCtrlCEndsAtOnce() throws {
        let dir = Paths.temporaryDirectory()
        _ = Fixture.tinyConfig(dir)
        for sig in [SIGINT, SIGHUP] {
            let out = dir + "/out-\(sig)"
            let (status, log) = try signalled(
                dir, ["--out", out, "--steps", "1000000", "--eval-every", "1000000", "--checkpoint-every", "100000"],
                after: 0.5, [sig])
            XCTAssertEqual(status, 0, log)
            XCTAssertTrue(log.contains("resume with --resume auto"), log)
            let steps = RunFolder(out).stepCheckpoints
            XCTAssertEqual(steps.count, 1, log)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.smtl-lock"))
            if sig == SIGINT { XCTAssertTrue(log.contains("Ctrl-C again ends at once"), log) }
        }
        // Every step evaluates a large dev set, so the first Ctrl-C waits for the step boundary
        // long enough for a second one.
        var lines = ""
        for i in 0..<40_000 { lines += "\(i % 2)\t\(i % 2 == 0 ? "good fine" : "bad poor") w\(i % 977) x\(i % 13)\n" }
        writeFile(dir, "big.tsv", lines)
        let c = try String(contentsOfFile: dir + "/c.json", encoding: .utf8)
            .replacingOccurrences(of: #""dev_size": 8"#, with: #""dev_size": 30000"#)
            .replacingOccurrences(of: #""train": "t.tsv""#, with: #""train": "big.tsv""#)
        writeFile(dir, "c.json", c)
        let out = dir + "/out-twice"
        let (status, log) = try signalled(
            dir, ["--out", out, "--steps", "1000000", "--eval-every", "1"], after: 2, [SIGINT, SIGINT])
        XCTAssertEqual(status, 130, log)
        XCTAssertTrue(log.contains("second interrupt: ending now, without a checkpoint"), log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.smtl-lock"), "released on the way out")
    }

    /// Command-line mistakes of the run folder and the options, each with a real process: refused
    /// with what to do, and nothing left behind.
    func testCommandLineMistakesAreRefusedAndLeaveNothing() throws {
        let dir = Paths.temporaryDirectory()
        _ = Fixture.tinyConfig(dir)
        writeFile(dir, "afile", "x\n")
        writeFile(dir, "notes.bin", "not a tensor file\n")
        var (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json", "--out", dir + "/done"])
        XCTAssertEqual(status, 0, log)
        let cases: [([String], [String])] = [
            (["--steps", "0", "--epochs", "0"], ["both 0: the run would train nothing", "--init-from"]),
            (["--log-dir", dir + "/afile"], ["afile: is a file, and --log-dir must be a folder"]),
            (["--init-from", dir + "/notes.bin"], ["notes.bin", "--init-from takes a safetensors file"]),
            (["--name", "../../x"], ["run name '../../x' starts with a dot"]),
        ]
        for (args, fragments) in cases {
            let out = dir + "/refused"
            (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json", "--out", out] + args)
            XCTAssertEqual(status, 1, "\(args): \(log)")
            for f in fragments { XCTAssertTrue(log.contains(f), "\(args): '\(f)' in \(log)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) left \(out) behind")
        }
        (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json", "--out", ""])
        XCTAssertNotEqual(status, 0, log)
        XCTAssertTrue(log.contains("--out is empty"), log)
        (status, log) = try run(
            Self.binary, ["train", "--config", dir + "/c.json", "--out", dir + "/done/checkpoints/final/x"])
        XCTAssertEqual(status, 1, log)
        XCTAssertTrue(log.contains("is inside the checkpoint"), log)
        for (option, value) in [("--hidden", "0"), ("--batch-size", "99999999999"), ("--seconds", "nan")] {
            (status, log) = try run(Self.binary, ["bench", option, value])
            XCTAssertNotEqual(status, 0, log)
            XCTAssertTrue(log.contains("\(option) must be from"), log)
            XCTAssertFalse(log.contains("Fatal error"), log)
        }
        // A read-only volume: a real read-only tmpfs where this process may mount one.
        let ro = dir + "/ro"
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        let (mounted, why) = try run("/bin/mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro])
        guard mounted == 0 else { throw XCTSkip("cannot mount a read-only tmpfs here (\(why)); the rest passed") }
        defer { _ = try? run("/bin/umount", [ro]) }
        (status, log) = try run(Self.binary, ["train", "--config", dir + "/c.json", "--out", ro + "/run"])
        XCTAssertEqual(status, 1, log)
        XCTAssertTrue(log.contains("cannot create the run's output folder (--out): the volume is read-only"), log)
        XCTAssertFalse(log.contains("NSCocoaErrorDomain"), log)
    }

    func testPredictAndEvaluateAndResumeCheckTheirData() throws {
        let dir = Paths.temporaryDirectory(), other = dir + "/other"
        _ = Fixture.tinyConfig(dir)
        let out = dir + "/run", best = out + "/checkpoints/best"
        var (status, log) = try run(
            Self.binary, ["train", "--config", dir + "/c.json", "--out", out, "--checkpoint-every", "3"])
        XCTAssertEqual(status, 0, log)
        // predict reads one text a line; a labelled file would make each label a word.
        (status, log) = try run(Self.binary, ["predict", "--checkpoint", best, "--input", dir + "/t.tsv"])
        XCTAssertEqual(status, 1, log)
        XCTAssertTrue(log.contains("t.tsv: looks like a labelled file"), log)
        XCTAssertTrue(log.contains("smtl evaluate"), log)
        writeFile(dir, "texts.txt", "good fine\nbad\tpoor\n")
        (status, log) = try run(Self.binary, ["predict", "--checkpoint", best, "--input", dir + "/texts.txt"])
        XCTAssertEqual(status, 0, log)
        // The same data in another folder evaluates; other data is refused unless asked for.
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/t.tsv", toPath: other + "/t.tsv")
        (status, log) = try run(Self.binary, ["evaluate", "--checkpoint", best, "--data-dir", other])
        XCTAssertEqual(status, 0, log)
        // Other data: every label flipped (the words are the same; the examples are not).
        let flipped = text(dir + "/t.tsv").split(separator: "\n").map { ($0.first == "0" ? "1" : "0") + $0.dropFirst() }
        writeFile(other, "t.tsv", flipped.joined(separator: "\n") + "\n")
        (status, log) = try run(Self.binary, ["evaluate", "--checkpoint", best, "--data-dir", other])
        XCTAssertEqual(status, 1, log)
        for part in ["the test data is not this run's own", "a/test: 8 examples, ", "--other-data"] {
            XCTAssertTrue(log.contains(part), "\(part) in: \(log)")
        }
        (status, log) = try run(
            Self.binary, ["evaluate", "--checkpoint", best, "--data-dir", other, "--other-data"])
        XCTAssertEqual(status, 0, log)
        // A resume on other data is refused, naming the run's data folder.
        (status, log) = try run(
            Self.binary,
            [
                "train", "--config", dir + "/c.json", "--out", out, "--resume", "auto", "--steps", "9", "--data-dir",
                other,
            ])
        XCTAssertEqual(status, 1, log)
        for part in ["cannot resume: the data is not the data this run was trained on", "a/train:", dir] {
            XCTAssertTrue(log.contains(part), "\(part) in: \(log)")
        }
        (status, log) = try run(
            Self.binary, ["train", "--config", dir + "/c.json", "--out", out, "--resume", "auto", "--steps", "9"])
        XCTAssertEqual(status, 0, log)
    }
}
