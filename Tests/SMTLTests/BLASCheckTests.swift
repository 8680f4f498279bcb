import Foundation
import XCTest
@testable import SMTL

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
        let cfg = config(dir, steps: 2)
        for kernel in ["Haswell", "Prescott"] {
            let (status, text) = try run(
                "/usr/bin/env",
                ["OPENBLAS_CORETYPE=\(kernel)", Self.binary, "train", "--config", cfg, "--data-dir", Paths.sharedData,
                 "--out", dir + "/" + kernel])
            XCTAssertEqual(status, 0, text)
            XCTAssertTrue(text.contains("OpenBLAS kernel \(kernel)"), text)
            let results = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir + "/\(kernel)/results.json"))) as? [String: Any]
            XCTAssertTrue((results?["blas"] as? String)?.hasPrefix("OpenBLAS kernel \(kernel)") ?? false)
        }
    }
}
