import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The start-up self-check of the BLAS products, and the kernel named in banners and results.
final class BLASCheckTests: MPITestCase {
    func testSelfCheckPassesAndCatchesAWrongKernel() {
        XCTAssertNil(BLASLibrary.selfCheck())
        // A "kernel" that drops the last term of every dot product.
        let broken: BLASLibrary.SGEMM = { ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            Float.gemm(ta, tb, m, n, max(k - 1, 0), alpha, a, lda, b, ldb, beta, c, ldc)
        }
        let wrong = BLASLibrary.selfCheck(broken)
        XCTAssertNotNil(wrong)
        XCTAssertTrue(wrong?.hasPrefix("sgemm(NT, m=1 n=1 k=1)") ?? false, wrong ?? "")
        XCTAssertTrue(BLASError(wrong!).description.contains("OPENBLAS_CORETYPE"))
    }

    /// Each kernel OpenBLAS offers for this CPU passes the check and is named in the banner and in
    /// results.json.
    func testKernelIsNamedAndChecked() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 2)
        for kernel in ["Haswell", "Prescott"] {
            let (status, text) = try run(
                "/usr/bin/env",
                [
                    "OPENBLAS_CORETYPE=\(kernel)", Self.binary, "train", "--config", cfg, "--data-dir",
                    Paths.sharedData,
                    "--out", dir + "/" + kernel,
                ])
            XCTAssertEqual(status, 0, text)
            XCTAssertTrue(text.contains("OpenBLAS kernel \(kernel)"), text)
            let results =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: dir + "/\(kernel)/results.json"))) as? [String: Any]
            XCTAssertTrue((results?["blas"] as? String)?.hasPrefix("OpenBLAS kernel \(kernel)") ?? false)
        }
    }
}

/// The OpenBLAS kernel for this CPU (`BLASKernelChoice`): when OpenBLAS's own pick uses narrower
/// vectors than the CPU has, smtl restarts itself with OPENBLAS_CORETYPE set, on every rank.
/// OpenBLAS picks this CPU's kernel correctly, so SMTL_BLAS_ASSUME_PICKED stands in for its pick
/// (Prescott, as Debian's OpenBLAS 0.3.21 picks on an Intel Xeon "Emerald Rapids"); the restart,
/// the variable and the kernel OpenBLAS then loads are real.
final class BLASKernelChoiceTests: MPITestCase {
    /// Runs a command with the environment mpirun needs as root, without OPENBLAS_CORETYPE, plus `extra`.
    func runWithout(_ args: [String], _ extra: [String: String]) throws -> (Int32, String) {
        var env = scriptEnvironment(extra)
        env["OPENBLAS_CORETYPE"] = extra["OPENBLAS_CORETYPE"]
        let (p, out) = try start(args[0], Array(args.dropFirst()), environment: env)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testNarrowPickIsReplacedOnEveryRankAndCanBeKept() throws {
        _ = try requireMPI()
        guard let wider = BLASLibrary.betterCore(than: "Prescott", cpu: BLASLibrary.cpuFlags) else {
            throw XCTSkip("this CPU has no vector instructions beyond Prescott's kernel")
        }
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 2)
        let local = ["/bin/bash", Paths.root + "/launch/local", "-n", "2", cfg, "--data-dir", Paths.sharedData]
        let pretend = ["SMTL_BLAS_ASSUME_PICKED": "Prescott"]

        // Through launch/local as root: the banner and results.json name smtl's choice.
        let (status, text) = try runWithout(local + ["--out", dir + "/auto"], pretend)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("OpenBLAS kernel \(wider) (smtl's choice for this CPU"), text)
        XCTAssertTrue(text.contains("picked Prescott"), text)
        let results =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir + "/auto/results.json"))) as? [String: Any]
        XCTAssertTrue((results?["blas"] as? String)?.hasPrefix("OpenBLAS kernel \(wider)") ?? false)

        // Every process mpirun starts restarts by itself (`smtl bench` prints its header on each).
        let (s1, both) = try runWithout(
            [
                "/usr/bin/env", "mpirun", "--allow-run-as-root", "-np", "2", "--oversubscribe", "-x",
                "OPENBLAS_NUM_THREADS=1",
                Self.binary, "bench", "--seconds", "0.01", "--architectures", "lstm",
            ], pretend)
        XCTAssertEqual(s1, 0, both)
        XCTAssertEqual(both.components(separatedBy: "OpenBLAS kernel \(wider) (smtl's choice").count - 1, 2, both)

        // SMTL_BLAS_AUTO=0 keeps OpenBLAS's pick.
        let (s2, kept) = try runWithout(
            local + ["--out", dir + "/kept"], pretend.merging(["SMTL_BLAS_AUTO": "0"]) { $1 })
        XCTAssertEqual(s2, 0, kept)
        XCTAssertFalse(kept.contains("smtl's choice"), kept)

        // A user's own OPENBLAS_CORETYPE is kept, with a hint when it is narrower than the CPU.
        let (s3, asked) = try runWithout(
            [Self.binary, "bench", "--seconds", "0.01", "--architectures", "lstm"], ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(s3, 0, asked)
        XCTAssertTrue(
            asked.contains(
                "OpenBLAS kernel Prescott (OPENBLAS_CORETYPE; this CPU has wider vectors: unset it and smtl asks for "
                    + "\(wider))"), asked)
    }
}

/// The BLAS build option (`SMTL_BLAS=blis PKG_CONFIG_PATH=Sources/CBLAS`): the BLIS build names its
/// library and kernel, passes the start-up self-check, and trains the same model as the OpenBLAS
/// build to float32 rounding (the two libraries round their products differently).
final class BLASBuildOptionTests: MPITestCase {
    func testBLISBuildTrainsTheSameModel() throws {
        _ = try requireMPI()
        guard FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/libblis.so") else {
            throw XCTSkip("BLIS is not installed (launch/install-deps --test installs libblis-dev)")
        }
        let scratch = Paths.root + "/.build-blis-test"
        var env = ProcessInfo.processInfo.environment
        env["SMTL_BLAS"] = "blis"
        env["PKG_CONFIG_PATH"] = Paths.root + "/Sources/CBLAS"
        let (built, log) = try start(
            "/usr/bin/env",
            ["swift", "build", "--package-path", Paths.root, "--scratch-path", scratch, "--product", "smtl"],
            environment: env)
        let buildText = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        built.waitUntilExit()
        XCTAssertEqual(built.terminationStatus, 0, buildText)
        let blis = scratch + "/debug/smtl"
        let (ldd, linked) = try run("/usr/bin/ldd", [blis])
        XCTAssertEqual(ldd, 0)
        XCTAssertTrue(linked.contains("libblis"), linked)
        XCTAssertFalse(linked.contains("libopenblas"), linked)

        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 10)
        var outs: [String] = []
        for (name, exe) in [("openblas", Self.binary), ("blis", blis)] {
            let out = dir + "/" + name
            // SGD: AdaGrad's first steps turn a rounding difference in a near-zero gradient into a
            // full-size step, so only SGD keeps two roundings of the same maths close.
            let (status, text) = try run(
                exe, ["train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", out, "--optimizer", "sgd"])
            XCTAssertEqual(status, 0, text)
            XCTAssertTrue(text.contains(name == "blis" ? "BLIS kernel " : "OpenBLAS kernel "), text)
            outs.append(out)
        }
        let difference = worst(try tensors(outs[1]), try tensors(outs[0]))
        print("BLIS vs OpenBLAS after 10 SGD steps, worst relative difference over tensors: \(difference)")
        XCTAssertLessThan(difference, 1e-4, "BLIS and OpenBLAS builds trained different models")
    }
}
