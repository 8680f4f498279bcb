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
