import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Faults with real processes: SIGKILL at random moments, a full disk while
/// checkpointing. Every resume must end on the bytes of the uninterrupted run.
final class FaultMatrixTests: MPITestCase {
    /// A config big enough to take a few seconds, on synthetic files.
    func slowConfig(_ dir: String, steps: Int, hidden: Int = 24) throws -> String {
        let cfg = Fixture.tinyConfig(
            dir, training: #", "checkpoint_every": 50, "keep_checkpoints": 2, "eval_every": 100"#)
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
            .replacingOccurrences(of: #""hidden_dim": 5"#, with: #""hidden_dim": \#(hidden)"#)
            .replacingOccurrences(of: #""steps": 6"#, with: #""steps": \#(steps)"#)
        return writeFile(dir, "slow.json", text)
    }

    func finalModel(_ out: String) -> Data? {
        FileManager.default.contents(atPath: out + "/checkpoints/final/model.safetensors")
    }

    /// Three runs killed with SIGKILL at random moments, each resumed (as often as it takes)
    /// with --resume auto: every one ends on the bytes of the run that was never killed.
    func testRandomKillsResumeToTheSameBytes() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = try slowConfig(dir, steps: 1500)
        let args = { (out: String) in
            ["-np", "2", "--oversubscribe", Self.binary, "train", "--config", cfg, "--out", out]
        }
        let (status, text) = try run(mpirun, args(dir + "/whole"))
        XCTAssertEqual(status, 0, text)
        let reference = try XCTUnwrap(finalModel(dir + "/whole"))
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<3 {
            let out = dir + "/trial\(trial)"
            let (job, pipe) = try start(mpirun, args(out))
            waitFor(out + "/checkpoints/step-00000050")
            usleep(UInt32.random(in: 50_000...1_500_000, using: &rng))
            for r in try children(of: job.processIdentifier) { kill(r, SIGKILL) }
            _ = pipe.fileHandleForReading.readDataToEndOfFile()
            job.waitUntilExit()
            var attempts = 0
            while finalModel(out) == nil && attempts < 3 {
                let (s, t) = try run(mpirun, args(out) + ["--resume", "auto"])
                XCTAssertEqual(s, 0, t)
                attempts += 1
            }
            XCTAssertEqual(finalModel(out), reference, "trial \(trial): the resumed run ends on other bytes")
        }
    }

    /// The disk fills while a checkpoint is written (a 1 MB tmpfs): the run stops with a message
    /// that names the file and free space, the earlier checkpoints still verify, and resuming
    /// from them elsewhere ends on the bytes of an undisturbed run.
    func testFullDiskKeepsEarlierCheckpoints() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let dir = Paths.temporaryDirectory()
        let disk = dir + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let (m, mt) = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk])
        if m != 0 { throw XCTSkip("cannot mount a tmpfs here: \(mt)") }
        defer { _ = try? run("/bin/umount", [disk]) }
        // About 400 KB a checkpoint (model and optimizer state): the third write cannot fit.
        let cfg = try slowConfig(dir, steps: 600, hidden: 100)
        let (status, text) = try run(Self.binary, ["train", "--config", cfg, "--out", disk + "/out"])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(text.contains("cannot be written") && text.contains("check free space"), text)
        XCTAssertFalse(text.contains("Fatal error") || text.contains("crashed"), text)
        let steps = RunFolder(disk + "/out").stepCheckpoints
        XCTAssertFalse(steps.isEmpty, text)
        for s in steps { XCTAssertNoThrow(try Checkpoint.load(s), s) }
        // Resume on a disk with room: the same bytes as a run that never met a full disk.
        let (c, ct) = try run("/bin/cp", ["-a", disk + "/out", dir + "/moved"])
        XCTAssertEqual(c, 0, ct)
        let (r, rt) = try run(Self.binary, ["train", "--config", cfg, "--out", dir + "/moved", "--resume", "auto"])
        XCTAssertEqual(r, 0, rt)
        XCTAssertEqual(try run(Self.binary, ["train", "--config", cfg, "--out", dir + "/whole"]).0, 0)
        XCTAssertEqual(finalModel(dir + "/moved"), finalModel(dir + "/whole"))
    }
}
