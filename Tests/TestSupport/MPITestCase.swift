import Foundation
import XCTest
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLStudy
import SMTLSupport
import SMTLTraining

/// Helpers for real `mpirun` runs of the `smtl` binary on tiny slices of the real data.
open class MPITestCase: XCTestCase {
    public static var binary: String {
        // The test bundle sits beside the products (on Linux the bundle URL is that folder).
        var dir = Bundle(for: MPITestCase.self).bundleURL
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("smtl").path
    }

    public func requireMPI() throws -> String {
        guard FileManager.default.fileExists(atPath: Paths.sharedData + "/README.md") else {
            throw XCTSkip("no ../shared/data")
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/mpirun"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw XCTSkip("mpirun is not installed (launch/install-deps installs openmpi-bin)")
    }

    /// Runs a command; returns its exit status and combined output.
    @discardableResult
    public func run(_ exe: String, _ args: [String]) throws -> (Int32, String) {
        let (p, out) = try start(exe, args)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a launch script the way a user runs it: without the OpenMPI root variables (the
    /// script must cope as root by itself), with the test's debug binary as SMTL_BIN.
    public func runScript(
        _ script: String, _ args: [String], env extra: [String: String] = [:]
    ) throws -> (Int32, String) {
        let (p, out) = try start("/bin/bash", [Paths.root + "/" + script] + args, environment: scriptEnvironment(extra))
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The environment of a launch script as a user runs it: as root without the OpenMPI root
    /// variables, with the test build as SMTL_BIN.
    public func scriptEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = nil
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = nil
        env["SMTL_BIN"] = Self.binary
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Starts a command in the background, with the environment mpirun needs as root and one
    /// BLAS thread (or the given environment); returns the process and a pipe of its output.
    public func start(_ exe: String, _ args: [String], environment: [String: String]? = nil) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = environment ?? env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        return (p, out)
    }

    /// With mpirun every rank works (`--oversubscription share`), also beyond the machine's cores:
    /// these tests check the maths of N working ranks; `DistributedTests` checks idle ranks.
    public func train(_ mpirun: String?, ranks: Int, _ cfg: String, out: String, _ more: [String] = []) throws -> String
    {
        let args =
            ["train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", out]
            + (mpirun != nil && !more.contains("--oversubscription") ? ["--oversubscription", "share"] : []) + more
        let (status, text) =
            mpirun.map { m in
                (try? run(m, ["-np", "\(ranks)", "--oversubscribe", Self.binary] + args)) ?? (
                    -1, "mpirun failed to start"
                )
            } ?? ((try? run(Self.binary, args)) ?? (-1, "smtl failed to start"))
        XCTAssertEqual(status, 0, text)
        return text
    }

    public func tensors(_ out: String, _ name: String = "final") throws -> [String: SafeTensors.Tensor] {
        try Checkpoint.load(out + "/checkpoints/" + name).tensors
    }

    /// Worst relative difference over tensors: max|a−b| / max|b| per tensor.
    public func worst(_ a: [String: SafeTensors.Tensor], _ b: [String: SafeTensors.Tensor]) -> Double {
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        var w = 0.0
        for (k, x) in a {
            guard let y = b[k] else { continue }
            let diff = zip(x.values, y.values).map { Double(abs($0 - $1)) }.max() ?? 0
            let scale = y.values.map { Double(abs($0)) }.max() ?? 1
            w = max(w, diff / max(scale, 1e-30))
        }
        return w
    }

    public func children(of pid: Int32) throws -> [Int32] {
        let (_, text) = try run("/usr/bin/env", ["pgrep", "-P", "\(pid)"])
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Waits until a checkpoint folder appears (the run is under way), at most `limit` seconds.
    public func waitFor(_ path: String, limit: Double = 60) {
        let end = Date().addingTimeInterval(limit)
        while !FileManager.default.fileExists(atPath: path) && Date() < end { usleep(50_000) }
    }

    /// A process that has exited but is not yet reaped (or is gone).
    public func isZombie(_ pid: pid_t) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }
}
