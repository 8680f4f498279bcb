import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Safe resumes: checksummed checkpoints, `--resume auto` falling back
/// past damaged ones, stale folders removed, and a resume that checks the config.
final class ResumeSafetyTests: MPITestCase {
    func trainTiny(_ dir: String, _ more: [String]) throws -> (Int32, String) {
        try run(
            Self.binary,
            [
                "train", "--config", Fixture.tinyConfig(dir, training: #", "checkpoint_every": 2"#),
                "--out", dir + "/out",
            ] + more)
    }

    /// A flipped byte or a missing file in a checkpoint is found on load, with the file named.
    func testChecksumsFindDamage() throws {
        let dir = Paths.temporaryDirectory()
        let (status, text) = try trainTiny(dir, [])
        XCTAssertEqual(status, 0, text)
        let ckpt = dir + "/out/checkpoints/final"
        XCTAssertNoThrow(try Checkpoint.load(ckpt))
        let model = ckpt + "/model.safetensors"
        var bytes = [UInt8](FileManager.default.contents(atPath: model)!)
        bytes[bytes.count - 3] ^= 0x40
        FileManager.default.createFile(atPath: model, contents: Data(bytes))
        assertInputError([model, "does not match its checksum"]) { _ = try Checkpoint.load(ckpt) }
        let other = dir + "/out/checkpoints/best"
        try FileManager.default.removeItem(atPath: other + "/optimizer.safetensors")
        assertInputError([other + "/optimizer.safetensors", "is missing from the checkpoint"]) {
            _ = try Checkpoint.load(other)
        }
    }

    /// `--resume auto` skips a damaged newest checkpoint (saying which and why) and resumes from
    /// the one before, to the same final weights as an undisturbed run; leftovers of interrupted
    /// writes are removed at start-up.
    func testResumeAutoFallsBackAndCleansUp() throws {
        let dir = Paths.temporaryDirectory()
        let whole = dir + "/whole"
        try FileManager.default.createDirectory(atPath: whole, withIntermediateDirectories: true)
        XCTAssertEqual(try trainTiny(whole, ["--steps", "8"]).0, 0)
        let part = dir + "/part"
        try FileManager.default.createDirectory(atPath: part, withIntermediateDirectories: true)
        XCTAssertEqual(try trainTiny(part, ["--steps", "6"]).0, 0)
        let ckpts = part + "/out/checkpoints"
        // An interrupted run has no final checkpoint.
        try FileManager.default.removeItem(atPath: ckpts + "/final")
        // Damage step 6, and leave what interrupted writes and prunes leave behind.
        let state = ckpts + "/step-00000006/state.json"
        FileManager.default.createFile(atPath: state, contents: Data("{ broken".utf8))
        for stale in [".tmp-step-00000008-123", ".deleting-step-00000002"] {
            try FileManager.default.createDirectory(atPath: ckpts + "/" + stale, withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: ckpts + "/step-00000007", withIntermediateDirectories: true)
        writeFile(ckpts + "/step-00000007", "config.json", "{}")
        let (status, text) = try trainTiny(part, ["--steps", "8", "--resume", "auto"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("skipping \(ckpts)/step-00000006"), text)
        XCTAssertTrue(text.contains("does not match its checksum"), text)
        XCTAssertTrue(text.contains("resuming from \(ckpts)/step-00000004"), text)
        for stale in [".tmp-step-00000008-123", ".deleting-step-00000002", "step-00000007"] {
            XCTAssertTrue(text.contains("removed \(ckpts)/\(stale)"), text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: ckpts + "/" + stale))
        }
        XCTAssertEqual(
            FileManager.default.contents(atPath: ckpts + "/final/model.safetensors"),
            FileManager.default.contents(atPath: whole + "/out/checkpoints/final/model.safetensors"))
    }

    /// A resume with another learning rate is refused unless allowed, and then recorded; one with
    /// other sizes is refused with the difference named, before anything is allocated.
    func testResumeChecksTheConfig() throws {
        let dir = Paths.temporaryDirectory()
        XCTAssertEqual(try trainTiny(dir, ["--steps", "4"]).0, 0)
        let (s1, t1) = try trainTiny(dir, ["--steps", "6", "--resume", "auto", "--learning-rate", "0.5"])
        XCTAssertEqual(s1, 1, t1)
        XCTAssertTrue(t1.contains("training.learning_rate: 0.01 in the checkpoint, 0.5 now"), t1)
        XCTAssertTrue(t1.contains("--allow-change learning_rate"), t1)
        let (s2, t2) = try trainTiny(
            dir, ["--steps", "6", "--resume", "auto", "--learning-rate", "0.5", "--allow-change", "learning_rate"])
        XCTAssertEqual(s2, 0, t2)
        let results =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/results.json"))) as? [String: Any]
        XCTAssertEqual(
            results?["config_changes"] as? [String],
            ["from step 4: training.learning_rate: 0.01 in the checkpoint, 0.5 now"])
        // Other sizes: refused, whatever is allowed.
        let cfg = try String(contentsOfFile: dir + "/c.json", encoding: .utf8)
        let bigger = writeFile(
            dir, "d.json", cfg.replacingOccurrences(of: #""hidden_dim": 5"#, with: #""hidden_dim": 7"#))
        let (s3, t3) = try run(
            Self.binary,
            ["train", "--config", bigger, "--out", dir + "/out", "--resume", "auto", "--allow-change", "hidden_dim"])
        XCTAssertEqual(s3, 1, t3)
        XCTAssertTrue(t3.contains("what a run cannot change"), t3)
        XCTAssertTrue(t3.contains("model.hidden_dim: 5 in the checkpoint, 7 now"), t3)
        // Free settings (a longer budget, another evaluation interval) need nothing.
        let (s4, t4) = try trainTiny(
            dir,
            [
                "--steps", "10", "--resume", "auto", "--eval-every", "5",
                "--learning-rate", "0.5", "--allow-change", "learning_rate",
            ])
        XCTAssertEqual(s4, 0, t4)
    }

    /// Phrase level is part of what a run is only where a task names a phrases file: a single-task
    /// IMDB run saved without it resumes under a config that sets it, and an SST run does not.
    func testPhraseLevelMattersOnlyWithAPhrasesFile() throws {
        var saved = RunConfig()
        saved.tasks = [TaskConfig(name: "imdb", train: "imdb/train.tsv.gz")]
        var requested = saved
        requested.phraseLevel = true
        XCTAssertEqual(ResumeCheck.differences(saved: saved, requested: requested), [])
        saved.tasks[0].phrases = "sst-1/train.phrases.tsv.gz"
        requested.tasks[0].phrases = saved.tasks[0].phrases
        XCTAssertTrue(
            ResumeCheck.differences(saved: saved, requested: requested).map(\.key).contains("training.phrase_level"))
        XCTAssertThrowsError(
            try ResumeCheck.check(saved: saved, requested: requested, allowed: ["phrase_level"], checkpoint: "c"))
    }

    /// A finished run with fine-tuning, resumed with a larger --steps: the joint run goes on from
    /// its final checkpoint to the bytes of a run that had the larger budget from the start, and
    /// fine-tuning starts again from the new best (the earlier one kept aside).
    func testALargerBudgetContinuesAFinishedJointRun() throws {
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(dir, training: #", "fine_tune_epochs": 1, "fine_tune_eval_every": 2"#)
        func train(_ out: String, _ more: [String]) throws -> String {
            let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", dir + "/" + out] + more)
            XCTAssertEqual(status, 0, text)
            return text
        }
        _ = try train("long", ["--steps", "12"])
        _ = try train("short", ["--steps", "6"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/short/fine-tune/a/checkpoints/final"))
        let text = try train("short", ["--steps", "12", "--resume", "auto"])
        XCTAssertTrue(text.contains("the joint run ended at step 6 and now has 12 steps: continuing it"), text)
        XCTAssertTrue(text.contains("moved to \(dir)/short/fine-tune-before-step-6"), text)
        let model = "/checkpoints/final/model.safetensors"
        XCTAssertEqual(try Checkpoint.load(dir + "/short/checkpoints/final").state.step, 12)
        XCTAssertEqual(
            FileManager.default.contents(atPath: dir + "/short" + model),
            FileManager.default.contents(atPath: dir + "/long" + model))
        XCTAssertEqual(
            FileManager.default.contents(atPath: dir + "/short/fine-tune/a" + model),
            FileManager.default.contents(atPath: dir + "/long/fine-tune/a" + model))
        // Resumed again with the same budget: nothing to continue, fine-tuning is done.
        let again = try train("short", ["--steps", "12", "--resume", "auto"])
        XCTAssertTrue(again.contains("the joint run has finished"), again)
    }
}
