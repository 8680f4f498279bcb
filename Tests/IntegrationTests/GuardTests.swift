import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Guarded numerics and overrides: values a config file refuses are refused on
/// the command line too; a diverging run stops before a non-finite update; absurd sizes are
/// refused before allocation; a full log disk does not stop training.
final class GuardTests: MPITestCase {
    /// Command-line overrides get the config file's checks: the same message as in a file.
    func testOverridesAreValidatedLikeTheConfigFile() throws {
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(dir)
        let cases: [([String], String)] = [
            (["--learning-rate", "nan"], "`training.learning_rate` must be a finite number, not nan"),
            (["--learning-rate=-1"], "`training.learning_rate` must be a finite number > 0, not -1.0"),
            (["--l2", "nan"], "`training.l2` must be a finite number, not nan"),
            (["--steps=-5"], "`training.steps` must be at least 0, not -5"),
            (["--checkpoint-every=-3"], "`training.checkpoint_every` must be at least 0, not -3"),
            (["--eval-every=-1"], "`training.eval_every` must be at least 0, not -1"),
            (["--keep-checkpoints=0"], "`training.keep_checkpoints` must be at least 1, not 0"),
            (["--seed=-1"], "--seed must be at least 0, not -1"),
        ]
        for (args, message) in cases {
            let out = dir + "/out-\(args[0])"
            let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", out] + args)
            XCTAssertNotEqual(status, 0, "\(args)")
            XCTAssertTrue(text.contains(message), "\(args): \(text)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/checkpoints"), "\(args) wrote nothing")
        }
        // In a file, the same values are refused with the same words.
        let bad = writeFile(
            dir, "bad.json", #"{"training": {"learning_rate": -1}, "tasks": [{"name": "a", "train": "t"}]}"#)
        assertInputError(["`training.learning_rate` must be a finite number > 0, not -1.0"]) {
            _ = try RunConfig.load(bad)
        }
    }

    /// A learning rate that makes the loss overflow: the run stops with the task and the step,
    /// exits non-zero, and no checkpoint it wrote holds a non-finite value.
    func testDivergenceStopsBeforeANonFiniteCheckpoint() throws {
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(
            dir, training: #", "learning_rate": 1e30, "optimizer": "sgd", "checkpoint_every": 1"#)
        let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", dir + "/out", "--steps", "50"])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(
            text.contains("the loss of task a is") || text.contains("an update made parameters non-finite"), text)
        XCTAssertTrue(text.contains("Lower the learning rate (now 1e+30)"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/checkpoints/final"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/results.json"))
        let saved = RunFolder(dir + "/out").stepCheckpoints + [dir + "/out/checkpoints/best"]
        for path in saved where FileManager.default.fileExists(atPath: path) {
            for (name, t) in try Checkpoint.load(path).tensors {
                XCTAssertTrue(t.values.allSatisfy(\.isFinite), "\(path): \(name)")
            }
        }
    }

    /// Sizes that cannot fit are refused before allocation, with the memory they would need.
    func testAbsurdSizesAreRefusedBeforeAllocating() throws {
        var c = RunConfig()
        c.hiddenDim = 1_000_000
        assertInputError(["would need", "GB for the parameters alone", "hidden_dim 1000000"]) {
            try c.checkSizes(vocabulary: 1000, tasks: 4, source: "c.json")
        }
        c.hiddenDim = 100
        c.memoryRows = 2_000_000_000
        c.memoryWidth = 2_000_000_000
        assertInputError(["more than 2^63 bytes"]) { try c.checkSizes(vocabulary: 1000, tasks: 4, source: "c.json") }
        XCTAssertNoThrow(try RunConfig().checkSizes(vocabulary: 40_000, tasks: 16, source: "c.json"))
        // Through the command: a clear error, no crash.
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(dir)
        let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", dir + "/o", "--steps", "1"])
        XCTAssertEqual(status, 0, text)
        let big = writeFile(
            dir, "big.json",
            try String(contentsOfFile: cfg, encoding: .utf8).replacingOccurrences(
                of: #""hidden_dim": 5"#, with: #""hidden_dim": 1000000000"#))
        let (s2, t2) = try run(Self.binary, ["train", "--config", big, "--out", dir + "/big"])
        XCTAssertEqual(s2, 1, t2)
        XCTAssertTrue(t2.contains("would need"), t2)
    }

    /// Logs on a full disk (/dev/full): one warning, and the run finishes.
    func testFullLogDiskDoesNotStopTraining() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(dir)
        let logs = dir + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: logs + "/rank-0.log", withDestinationPath: "/dev/full")
        let (status, text) = try run(
            Self.binary, ["train", "--config", cfg, "--out", dir + "/out", "--log-dir", logs])
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(text.components(separatedBy: "cannot write the logs").count - 1, 1, text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/results.json"))
    }

    /// A task may declare its labels: a stray label is then an error at its line; undeclared,
    /// the labels found are printed.
    func testDeclaredClassesRefuseAStrayLabel() throws {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "t.tsv", "0\tgood\n1\tbad\n7\tstray\n0\tfine\n1\tpoor\n")
        var c = RunConfig()
        c.dataDir = dir
        c.tasks = [
            TaskConfig(
                name: "a", train: "t.tsv", dev: copy(dir, "t.tsv", as: "dev"), test: copy(dir, "t.tsv", as: "test"),
                classes: [0, 1])
        ]
        assertInputError([dir + "/t.tsv:3", "label 7 is not one of the task's classes [0, 1]", "`classes`"]) {
            _ = try Corpus.load(c)
        }
        c.tasks[0].classes = nil
        XCTAssertEqual(try Corpus.load(c).tasks[0].labels, [0, 1, 7])
        let cfg = Fixture.tinyConfig(dir)
        let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", dir + "/o", "--steps", "1"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("labels 0 1 (from the training data; declare them with `classes`)"), text)
        let bad = writeFile(dir, "b.json", #"{"tasks": [{"name": "a", "train": "t", "classes": [1]}]}"#)
        assertInputError(["`tasks[0].classes` must list at least two different labels"]) { _ = try RunConfig.load(bad) }
    }

    /// Clear messages for a symlink loop, a dangling link, --out naming a file, a missing --config
    /// and a folder that is not a checkpoint.
    func testClearMessagesForPathMistakes() throws {
        let dir = Paths.temporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: dir + "/a", withDestinationPath: dir + "/b")
        try FileManager.default.createSymbolicLink(atPath: dir + "/b", withDestinationPath: dir + "/a")
        assertInputError([dir + "/a", "symbolic link in a loop"]) { _ = try FileReader.bytes(dir + "/a") }
        try FileManager.default.createSymbolicLink(atPath: dir + "/c", withDestinationPath: dir + "/nowhere")
        assertInputError([dir + "/c", "symbolic link to \(dir)/nowhere, which does not exist"]) {
            _ = try FileReader.bytes(dir + "/c")
        }
        assertInputError(["file not found", "check the --config path"]) { _ = try RunConfig.load(dir + "/none.json") }
        assertInputError([dir, "is not a checkpoint folder"]) { _ = try Checkpoint.load(dir) }
        let cfg = Fixture.tinyConfig(dir)
        let file = writeFile(dir, "occupied", "x")
        let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", file])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(text.contains("is a file, and the run's output folder (--out) must be a folder"), text)
    }
}
