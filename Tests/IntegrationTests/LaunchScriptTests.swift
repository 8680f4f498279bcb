import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The launch scripts as a user runs them: as root (containers, CI) without the OpenMPI root
/// variables set, they still start mpirun, and say why they pass --allow-run-as-root.
final class LaunchScriptTests: MPITestCase {
    func requireRoot() throws {
        guard getuid() == 0 else { throw XCTSkip("not root: the root path of the launch scripts is not exercised") }
    }

    static let notice = "running as root: passing --allow-run-as-root to mpirun"

    func testLocalRunsAsRoot() throws {
        _ = try requireMPI()
        try requireRoot()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4)
        let (status, text) = try runScript(
            "launch/local", ["-n", "2", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/out"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains(Self.notice), text)
        XCTAssertEqual(try Checkpoint.load(dir + "/out/checkpoints/final").state.step, 4)
        // With both variables set, the script honours them and says nothing.
        let (again, quiet) = try runScript(
            "launch/local", ["-n", "2", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/out2"],
            env: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"])
        XCTAssertEqual(again, 0, quiet)
        XCTAssertFalse(quiet.contains(Self.notice), quiet)
    }

    /// The quickstart trains on every core (one rank a core, at most one a task) through
    /// launch/local, as root; `--ranks 1` trains in one process, to the same bytes.
    func testQuickstartUsesEveryCoreAndOneProcessIsOneFlagAway() throws {
        _ = try requireMPI()
        try requireRoot()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4)
        let ranks = min(4, ProcessInfo.processInfo.activeProcessorCount)
        let env = ["SMTL_DATA": Paths.sharedData]
        var (status, text) = try runScript("launch/quickstart", [cfg, "--", "--out", dir + "/all"], env: env)
        XCTAssertEqual(status, 0, text)
        if ranks > 1 {
            XCTAssertTrue(text.contains("launch/quickstart: \(ranks) ranks on"), text)
            XCTAssertTrue(text.contains(Self.notice), text)
        }
        (status, text) = try runScript(
            "launch/quickstart", ["--ranks", "1", cfg, "--", "--out", dir + "/one"], env: env)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("launch/quickstart: one process"), text)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: dir + "/all/checkpoints/final/model.safetensors")),
            try Data(contentsOf: URL(fileURLWithPath: dir + "/one/checkpoints/final/model.safetensors")),
            "whole-task placement and loans keep one process's bits")
        (status, text) = try runScript("launch/quickstart", ["--ranks", "0", cfg])
        XCTAssertEqual(status, 2, text)
        XCTAssertTrue(text.contains("--ranks must be a whole number from 1"), text)
    }

    func testClusterRunsAsRoot() throws {
        _ = try requireMPI()
        try requireRoot()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4)
        let hosts = writeFile(dir, "hosts", "localhost slots=2\n")
        let (status, text) = try runScript(
            "launch/cluster",
            [hosts, "-n", "2", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/out"],
            env: ["MPIRUN_OPTS": "--oversubscribe"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains(Self.notice), text)
        XCTAssertEqual(try Checkpoint.load(dir + "/out/checkpoints/final").state.step, 4)
    }

    /// The Slurm script's mpirun path, run outside Slurm (no allocation: nothing to requeue).
    func testSlurmScriptMpirunPathRunsAsRoot() throws {
        _ = try requireMPI()
        try requireRoot()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4)
        var env = ["MPI_LAUNCH": "mpirun", "OUT": dir + "/out"]
        env["SLURM_JOB_ID"] = nil
        let (status, text) = try runScript(
            "launch/slurm.sbatch", [cfg, "--data-dir", Paths.sharedData], env: env)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains(Self.notice), text)
        XCTAssertEqual(try Checkpoint.load(dir + "/out/checkpoints/final").state.step, 4)
    }
}
