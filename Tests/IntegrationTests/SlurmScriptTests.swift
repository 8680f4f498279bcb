import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// launch/slurm.sbatch's decisions, under a stand-in Slurm: `srun` runs the command itself (a
/// world of one) and `scontrol` writes down what it was asked. Only a signal requeues the job,
/// at most MAX_REQUEUES times; an error exit never does; each job gets its own folder.
final class SlurmScriptTests: MPITestCase {
    /// A folder of stand-ins and the environment of a job inside "Slurm".
    func fakeSlurm(_ dir: String, job: String = "77", restarts: Int = 0) throws -> [String: String] {
        let bin = dir + "/fake-bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        writeFile(bin, "srun", "#!/bin/bash\nwhile [[ \"$1\" == --* ]]; do shift; done\nexec \"$@\"\n")
        // `scontrol show job` answers with FAKE_STATE and FAKE_RESTARTS (Slurm's own restart count).
        writeFile(
            bin, "scontrol",
            """
            #!/bin/bash
            if [ "$1" = show ]; then
              echo "JobId=$3 JobName=smtl"
              echo "   JobState=${FAKE_STATE:-RUNNING} Reason=None Dependency=(null)"
              echo "   Requeue=1 Restarts=${FAKE_RESTARTS:-$SLURM_RESTART_COUNT} BatchFlag=1"
              exit 0
            fi
            echo "$@" >> "\(dir)/scontrol.log"

            """)
        for f in ["srun", "scontrol"] { chmod(bin + "/" + f, 0o755) }
        return [
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? ""),
            "SLURM_JOB_ID": job, "SLURM_JOB_NAME": "smtl", "SLURM_NTASKS": "1", "SLURM_SUBMIT_DIR": dir,
            "SLURM_RESTART_COUNT": "\(restarts)", "SMTL_BIN": Self.binary,
        ]
    }

    func scontrolCalls(_ dir: String) -> String {
        (try? String(contentsOfFile: dir + "/scontrol.log", encoding: .utf8)) ?? ""
    }

    /// A config error: reported, exit status kept, no requeue.
    func testErrorExitIsNotRequeued() throws {
        let dir = Paths.temporaryDirectory()
        let bad = writeFile(dir, "bad.json", #"{"tasks": []}"#)
        let (status, text) = try runScript("launch/slurm.sbatch", [bad], env: try fakeSlurm(dir))
        XCTAssertNotEqual(status, 0, text)
        XCTAssertTrue(text.contains("`tasks` is empty"), text)
        XCTAssertTrue(text.contains("without a signal: not requeued"), text)
        XCTAssertEqual(scontrolCalls(dir), "")
    }

    /// A finished job: its own folder runs/JOBNAME-JOBID, no requeue.
    func testFinishedJobHasItsOwnFolder() throws {
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(dir)
        let (status, text) = try runScript("launch/slurm.sbatch", [cfg], env: try fakeSlurm(dir, job: "91"))
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("finished; results in runs/smtl-91/results.json"), text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/runs/smtl-91/checkpoints/final"))
        XCTAssertEqual(scontrolCalls(dir), "")
    }

    /// SIGTERM to the batch shell (the time-limit warning or preemption): passed to the ranks,
    /// which checkpoint; the job requeues itself, and the requeued job resumes to the end. After
    /// MAX_REQUEUES it stops requeueing and says how to go on. A job Slurm reports as COMPLETING
    /// (a plain scancel) is not requeued; one Slurm has requeued already (scontrol requeue: its
    /// restart count has moved on) is not requeued twice.
    func testSignalCheckpointsAndRequeuesUpToTheCap() throws {
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.tinyConfig(dir, training: #", "checkpoint_every": 1000"#)
        let cases: [(restarts: Int, state: String, slurmRestarts: Int?, expect: String)] = [
            (0, "RUNNING", nil, "requeue"), (5, "RUNNING", nil, "cap"), (0, "COMPLETING", nil, "cancelled"),
            (0, "COMPLETING", 1, "requeued by Slurm"),
        ]
        for (restarts, state, slurmRestarts, expect) in cases {
            try? FileManager.default.removeItem(atPath: dir + "/scontrol.log")
            try? FileManager.default.removeItem(atPath: dir + "/runs")
            var env = try fakeSlurm(dir, restarts: restarts)
            env["FAKE_STATE"] = state
            if let r = slurmRestarts { env["FAKE_RESTARTS"] = "\(r)" }
            env["OMPI_ALLOW_RUN_AS_ROOT"] = nil
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = nil
            env["SMTL_BIN"] = Self.binary
            let (p, pipe) = try start(
                "/bin/bash", [Paths.root + "/launch/slurm.sbatch", cfg, "--steps", "100000"],
                environment: ProcessInfo.processInfo.environment.merging(env) { $1 })
            // Wait until training runs, then signal the batch shell only.
            let log = dir + "/runs/smtl-77/logs/rank-0.log"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").count < 200 {
                usleep(200_000)
            }
            kill(p.processIdentifier, SIGTERM)
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertTrue(text.contains("got SIGTERM; asking every rank to checkpoint and stop"), text)
            XCTAssertFalse(RunFolder(dir + "/runs/smtl-77").stepCheckpoints.isEmpty, text)
            switch expect {
            case "requeue":
                XCTAssertEqual(p.terminationStatus, 0, text)
                XCTAssertTrue(text.contains("requeueing job 77 (requeue 1 of at most 5)"), text)
                XCTAssertEqual(scontrolCalls(dir), "requeue 77\n")
                // The requeued job (same id) resumes in the same folder and finishes.
                var again = try fakeSlurm(dir, restarts: 1)
                again["SMTL_BIN"] = Self.binary
                let (s2, t2) = try runScript("launch/slurm.sbatch", [cfg, "--steps", "30"], env: again)
                XCTAssertEqual(s2, 0, t2)
                XCTAssertTrue(t2.contains("resuming from"), t2)
                XCTAssertTrue(t2.contains("finished"), t2)
            case "cap":
                XCTAssertNotEqual(p.terminationStatus, 0, text)
                XCTAssertTrue(text.contains("after 5 requeues (MAX_REQUEUES=5): not requeued again"), text)
                XCTAssertEqual(scontrolCalls(dir), "")
            case "cancelled":
                XCTAssertTrue(text.contains("job 77 is COMPLETING (cancelled or ended by Slurm): not requeued"), text)
                XCTAssertEqual(scontrolCalls(dir), "")
            default:
                XCTAssertTrue(text.contains("Slurm has requeued job 77 itself (restart 1)"), text)
                XCTAssertEqual(scontrolCalls(dir), "")
            }
        }
    }
}
