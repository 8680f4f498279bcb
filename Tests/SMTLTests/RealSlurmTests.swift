import Foundation
import XCTest
@testable import SMTL

/// launch/slurm.sbatch under a real one-node Slurm (munged, slurmctld and slurmd started here,
/// with their own config, ports and spool in a temporary folder): a plain run with srun and with
/// mpirun, an error exit that is not requeued, `scancel --signal=TERM` (checkpoint, requeue,
/// resume, and the bytes of an uninterrupted run), and the time-limit warning.
final class RealSlurmTests: MPITestCase {
    var dir = ""
    var env: [String: String] = [:]

    func which(_ name: String) -> String? {
        for d in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(d)/\(name)") {
            return "\(d)/\(name)"
        }
        return nil
    }

    func startSlurm() throws {
        // Not yet reliable inside the test runner (the daemons' start can block it): opt in.
        guard ProcessInfo.processInfo.environment["SMTL_REAL_SLURM"] == "1" else {
            throw XCTSkip("set SMTL_REAL_SLURM=1 to run the one-node Slurm test")
        }
        guard getuid() == 0 else { throw XCTSkip("starting Slurm's daemons needs root") }
        guard let munged = which("munged"), let mungekey = which("mungekey"), let ctld = which("slurmctld"),
            let slurmd = which("slurmd"), which("sbatch") != nil
        else { throw XCTSkip("Slurm is not installed (launch/install-deps installs slurm-wlm and munge)") }
        _ = try requireMPI()
        dir = Paths.temporaryDirectory("slurm")
        for d in ["munge", "state", "spool", "log"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        let host = try run("/bin/hostname", ["-s"]).1.trimmingCharacters(in: .whitespacesAndNewlines)
        let port = 20_000 + Int(getpid() % 10_000)
        writeFile(
            dir, "slurm.conf",
            """
            ClusterName=smtltest
            SlurmctldHost=\(host)(127.0.0.1)
            SlurmctldPort=\(port)
            SlurmdPort=\(port + 1)
            AuthType=auth/munge
            AuthInfo=socket=\(dir)/munge/sock
            CredType=cred/munge
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU
            SlurmUser=root
            SlurmdUser=root
            StateSaveLocation=\(dir)/state
            SlurmdSpoolDir=\(dir)/spool
            SlurmctldPidFile=\(dir)/slurmctld.pid
            SlurmdPidFile=\(dir)/slurmd.pid
            SlurmctldLogFile=\(dir)/log/slurmctld.log
            SlurmdLogFile=\(dir)/log/slurmd.log
            MpiDefault=none
            ReturnToService=2
            JobRequeue=1
            KillWait=30
            NodeName=\(host) NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
            PartitionName=smtl Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4

            """)
        env = ProcessInfo.processInfo.environment
        env["SLURM_CONF"] = dir + "/slurm.conf"
        env["SMTL_BIN"] = Self.binary
        env["OMPI_ALLOW_RUN_AS_ROOT"] = nil
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = nil
        let key = dir + "/munge/munge.key"
        XCTAssertEqual(try run(mungekey, ["-c", "-f", "-k", key]).0, 0)
        chmod(key, 0o600)
        // The daemons detach; their output goes to files, so that no pipe is left open.
        let daemons = [
            "\(munged) --force -S \(dir)/munge/sock --key-file=\(key) --pid-file=\(dir)/munge/pid "
                + "--log-file=\(dir)/munge/log --seed-file=\(dir)/munge/seed",
            "\(ctld) -i", slurmd,
        ]
        let startLog = dir + "/log/start.log"
        FileManager.default.createFile(atPath: startLog, contents: nil)
        for daemon in daemons {
            // No pipe: a detached daemon would keep it open.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", daemon + " < /dev/null"]
            p.environment = env
            let log = FileHandle(forWritingAtPath: startLog)!
            log.seekToEndOfFile()
            p.standardOutput = log
            p.standardError = log
            try p.run()
            p.waitUntilExit()
            if p.terminationStatus != 0 {
                let text = (try? String(contentsOfFile: startLog, encoding: .utf8)) ?? ""
                throw XCTSkip("cannot start \(daemon): \(text)")
            }
        }
        let until = Date().addingTimeInterval(30)
        while Date() < until {
            if try sh(["sinfo", "-h", "-o", "%t"]).1.contains("idle") { return }
            usleep(300_000)
        }
        let info = (try? sh(["sinfo"]).1) ?? ""
        throw XCTSkip("the one-node Slurm did not come up: \(info)")
    }

    override func tearDown() {
        for pid in ["slurmd.pid", "slurmctld.pid", "munge/pid"] {
            if let text = try? String(contentsOfFile: dir + "/" + pid, encoding: .utf8),
                let p = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(p, SIGTERM)
            }
        }
        usleep(500_000)
        super.tearDown()
    }

    /// A Slurm command with this cluster's config.
    @discardableResult
    func sh(_ args: [String]) throws -> (Int32, String) {
        let (p, out) = try start("/usr/bin/env", args, environment: env)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Submits launch/slurm.sbatch; returns the job id.
    func submit(_ sbatch: [String], _ args: [String], out: String, extra: [String: String] = [:]) throws -> String {
        var saved = env
        env["OUT"] = out
        for (k, v) in extra { env[k] = v }
        defer { env = saved; saved = [:] }
        let (s, t) = try sh(
            ["sbatch", "--parsable", "--chdir", Paths.root, "--output", dir + "/job-%j.out"] + sbatch
                + [Paths.root + "/launch/slurm.sbatch"] + args)
        XCTAssertEqual(s, 0, t)
        return t.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func output(_ job: String) -> String {
        (try? String(contentsOfFile: dir + "/job-\(job).out", encoding: .utf8)) ?? ""
    }

    /// Waits until the job's output holds `text` (a requeued job is released at once).
    func waitFor(_ job: String, _ text: String, limit: Double = 120) throws -> Bool {
        let until = Date().addingTimeInterval(limit)
        while Date() < until {
            if output(job).contains(text) { return true }
            let state = try sh(["squeue", "-h", "-j", job, "-o", "%r"]).1
            if state.contains("BeginTime") { try sh(["scontrol", "update", "JobId=\(job)", "StartTime=now"]) }
            usleep(300_000)
        }
        return false
    }

    func config(_ steps: Int) -> String {
        tinyConfig(dir, training: #", "checkpoint_every": 100, "eval_every": 500"#).withSteps(steps, dir: dir)
    }

    func testSlurmScriptUnderRealSlurm() throws {
        try startSlurm()
        let cfg = config(1500)
        // A plain run, srun --mpi=pmix.
        let plain = try submit(["--ntasks=2"], [cfg], out: dir + "/plain")
        XCTAssertTrue(try waitFor(plain, "smtl: finished"), output(plain))
        // The same under MPI_LAUNCH=mpirun: the same bytes.
        let mpi = try submit(["--ntasks=2"], [cfg], out: dir + "/mpi", extra: ["MPI_LAUNCH": "mpirun"])
        XCTAssertTrue(try waitFor(mpi, "smtl: finished"), output(mpi))
        let reference = FileManager.default.contents(atPath: dir + "/plain/checkpoints/final/model.safetensors")
        XCTAssertNotNil(reference)
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/mpi/checkpoints/final/model.safetensors"), reference)
        // An error exit: reported, not requeued.
        let bad = writeFile(dir, "bad.json", #"{"tasks": []}"#)
        let failed = try submit(["--ntasks=1"], [bad], out: dir + "/bad")
        XCTAssertTrue(try waitFor(failed, "not requeued"), output(failed))
        usleep(2_000_000)
        XCTAssertEqual(try sh(["squeue", "-h", "-j", failed]).1.trimmingCharacters(in: .whitespacesAndNewlines), "")
        // scancel --signal=TERM to the running job: checkpoint, requeue, resume, the same bytes.
        let cancelled = try submit(["--ntasks=2"], [cfg], out: dir + "/term")
        let started = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: dir + "/term/checkpoints/step-00000100") && Date() < started {
            usleep(100_000)
        }
        XCTAssertEqual(try sh(["scancel", "--signal=TERM", cancelled]).0, 0)
        XCTAssertTrue(try waitFor(cancelled, "requeueing job \(cancelled) (requeue 1"), output(cancelled))
        XCTAssertTrue(try waitFor(cancelled, "smtl: finished"), output(cancelled))
        XCTAssertTrue(output(cancelled).contains("resuming from"), output(cancelled))
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/term/checkpoints/final/model.safetensors"), reference)
        // The time-limit warning (here 50 s before a 1-minute limit, so at once) reaches the batch
        // shell, which checkpoints and requeues; then the job is cancelled.
        let limited = try submit(["--ntasks=2", "--time=1", "--signal=B:TERM@50"], [config(100_000)], out: dir + "/limit")
        XCTAssertTrue(try waitFor(limited, "got SIGTERM; asking every rank to checkpoint and stop"), output(limited))
        XCTAssertTrue(try waitFor(limited, "requeueing job \(limited) (requeue 1"), output(limited))
        try sh(["scancel", limited])
    }
}

extension String {
    /// A tiny config file with another step count (a copy beside it).
    func withSteps(_ steps: Int, dir: String) -> String {
        let text = (try? String(contentsOfFile: self, encoding: .utf8)) ?? ""
        return writeFile(dir, "c-\(steps).json", text.replacingOccurrences(of: #""steps": 6"#, with: #""steps": \#(steps)"#))
    }
}
