import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

final class NumericsTests: XCTestCase {
    /// The single-precision activations agree with libm over the whole useful range.
    func testFastExpAndTanhMatchLibm() {
        var worstExp = 0.0, worstTanh = 0.0
        var x: Float = -87
        while x < 88 {
            let e = Double(Float.activationExp(x)), ref = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(e - ref) / ref)
            if abs(x) < 20 {
                worstTanh = max(worstTanh, abs(Double(Float.activationTanh(x)) - Foundation.tanh(Double(x))))
            }
            x += 0.0137
        }
        XCTAssertLessThan(worstExp, 5e-7)
        XCTAssertLessThan(worstTanh, 2e-7)
        XCTAssertEqual(Float.activationTanh(50), 1)
        XCTAssertEqual(Float.activationTanh(-50), -1)
        XCTAssertEqual(Float.activationExp(-1000), Float.activationExp(-87))
        XCTAssertTrue(Float.activationExp(1000).isFinite)
        XCTAssertEqual(sigmoid(Float(-1000)), 0, accuracy: 1e-30)
        XCTAssertEqual(sigmoid(Float(1000)), 1)
    }

    func testShuffleAndSeedsAreDeterministic() {
        var a = Array(0..<20), b = Array(0..<20)
        var r1 = SplitMix64(seed: deriveSeed(1, 2, 3)), r2 = SplitMix64(seed: deriveSeed(1, 2, 3))
        r1.shuffle(&a); r2.shuffle(&b)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, Array(0..<20))
        XCTAssertNotEqual(deriveSeed(1, 2, 3), deriveSeed(1, 2, 4))
        // The stream itself is fixed: a change here changes every run's initialisation.
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
    }

    func testSamplerWrapsIntoTheNextEpoch() {
        var s = TaskSampler(count: 5, batchSize: 4, seed: 1, task: "t", shuffle: false)
        XCTAssertEqual(s.next(), [0, 1, 2, 3])
        XCTAssertEqual(s.next(), [4, 0, 1, 2])
        XCTAssertEqual(s.cursor, TaskCursor(epoch: 1, position: 3))
        var r = TaskSampler(count: 50, batchSize: 50, seed: 1, task: "t", shuffle: true)
        let e0 = r.next(), e1 = r.next()
        XCTAssertEqual(Set(e0), Set(0..<50))
        XCTAssertNotEqual(e0, e1)
    }
}

/// Which OpenBLAS kernel smtl asks for (`BLASLibrary.betterCore`): only a wider one than
/// OpenBLAS's own pick, and only one the CPU can run.
final class BLASKernelChoiceRuleTests: XCTestCase {
    let avx512: Set<String> = [
        "sse4_2", "avx", "fma", "avx2", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd",
    ]

    func testWiderKernelOnlyWhereTheCPUHasWiderVectors() {
        let bf16 = avx512.union(["avx512_bf16"])
        let avx2: Set<String> = ["sse4_2", "avx", "fma", "avx2"]
        // Debian's OpenBLAS 0.3.21 on an Intel Xeon "Emerald Rapids" (Prescott) and on AMD Zen 5 as told
        // (Haswell), and a Skylake-SP without BF16.
        XCTAssertEqual(BLASLibrary.betterCore(than: "Prescott", cpu: bf16), "Cooperlake")
        XCTAssertEqual(BLASLibrary.betterCore(than: "Haswell", cpu: bf16), "Cooperlake")
        XCTAssertEqual(BLASLibrary.betterCore(than: "Zen", cpu: avx512), "SkylakeX")
        XCTAssertEqual(BLASLibrary.betterCore(than: "Sandybridge", cpu: avx2), "Haswell")
        // Picks as wide as the CPU: nothing to change.
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids", "skylakex"] {
            XCTAssertNil(BLASLibrary.betterCore(than: core, cpu: bf16), core)
        }
        XCTAssertNil(BLASLibrary.betterCore(than: "Zen", cpu: avx2))
        XCTAssertNil(BLASLibrary.betterCore(than: "Haswell", cpu: avx2))
        // A CPU without AVX2+FMA, or with an incomplete AVX-512 (F without BW/DQ, as Xeon Phi).
        XCTAssertNil(BLASLibrary.betterCore(than: "Prescott", cpu: ["sse4_2", "avx"]))
        XCTAssertEqual(BLASLibrary.betterCore(than: "Prescott", cpu: avx2.union(["avx512f", "avx512cd"])), "Haswell")
        XCTAssertNil(BLASLibrary.betterCore(than: "Haswell", cpu: avx2.union(["avx512f", "avx512cd"])))
    }
}
