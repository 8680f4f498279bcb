import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLTraining

/// The LSTM cell's kernels and the optimizer updates (CellKernels.swift) at every instruction-set
/// level this CPU has, on odd sizes: the cell against the SPEC's formulas in Double with libm's
/// exp and tanh (Float to float32 rounding, Double to double rounding), the optimizer bit for bit
/// against the scalar loops it replaced. The gradient checks run the same kernels in Double.
final class CellKernelTests: XCTestCase {
    override func tearDown() {
        KernelLevel.select(.avx512)
        super.tearDown()
    }

    static var levels: [KernelLevel] { KernelLevel.allCases.filter { $0.rawValue <= KernelLevel.widest.rawValue } }
    static let shapes = [(1, 1), (3, 7), (5, 37), (2, 100), (16, 101)]

    func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// Worst |kernel − reference| over the rows, as a multiple of `unit` (1 ulp-ish at 1).
    func check<S: Scalar>(_: S.Type, tolerance: Double) {
        var rng = SplitMix64(seed: 17)
        for level in Self.levels {
            KernelLevel.select(level)
            for (n, d) in Self.shapes {
                let G = 4 * d
                let z0 = (0..<(n * G)).map { _ in S(rng.uniform(-6, 6)) }
                let cp = (0..<(n * d)).map { _ in S(rng.uniform(-2, 2)) }
                let dc0 = (0..<(n * d)).map { _ in S(rng.uniform(-1, 1)) }
                let dh = (0..<(n * d)).map { _ in S(rng.uniform(-1, 1)) }
                var z = z0, c = [S](repeating: 0, count: n * d), tu = c, h = c
                var dz = [S](repeating: 9, count: n * G), dc = dc0, dcOut = dc0
                z.withUnsafeMutableBufferPointer { zp in
                    S.lstmCell(n, d, zp.baseAddress!, cp, &c)
                    S.lstmOutput(n, d, zp.baseAddress! + 3 * d, G, c, &tu, &h)
                    S.lstmCellBackward(n, d, zp.baseAddress!, &dz, &dc, cp)
                    S.lstmOutputBackward(n, d, dh, zp.baseAddress! + 3 * d, G, tu, &dcOut, &dz[3 * d])
                }
                var worst = 0.0
                func near(_ got: S, _ want: Double, _ what: String) {
                    let err = abs(Double(got) - want) / max(1, abs(want))
                    worst = max(worst, err)
                    if !(err <= tolerance) {
                        XCTFail("\(level) n=\(n) d=\(d) \(what): \(got), expected \(want)")
                    }
                }
                for b in 0..<n {
                    for j in 0..<d {
                        let r = b * G
                        let i = sigmoid(Double(z0[r + j])), f = sigmoid(Double(z0[r + d + j]))
                        let g = Foundation.tanh(Double(z0[r + 2 * d + j])), o = sigmoid(Double(z0[r + 3 * d + j]))
                        near(z[r + j], i, "i")
                        near(z[r + d + j], f, "f")
                        near(z[r + 2 * d + j], g, "g")
                        near(z[r + 3 * d + j], o, "o")
                        // Each later value from the kernel's own inputs, so errors do not compound.
                        let (ki, kf, kg, ko) = (
                            Double(z[r + j]), Double(z[r + d + j]), Double(z[r + 2 * d + j]),
                            Double(z[r + 3 * d + j])
                        )
                        let cv = kf * Double(cp[b * d + j]) + ki * kg
                        near(c[b * d + j], cv, "c")
                        let t = Foundation.tanh(Double(c[b * d + j]))
                        near(tu[b * d + j], t, "tanh(c)")
                        near(h[b * d + j], ko * Double(tu[b * d + j]), "h")
                        let gc = Double(dc0[b * d + j])
                        near(dz[r + j], gc * kg * ki * (1 - ki), "∂i")
                        near(dz[r + d + j], gc * Double(cp[b * d + j]) * kf * (1 - kf), "∂f")
                        near(dz[r + 2 * d + j], gc * ki * (1 - kg * kg), "∂g")
                        near(dc[b * d + j], gc * kf, "∂c ⊙ f")
                        let v = Double(tu[b * d + j]), gh = Double(dh[b * d + j])
                        near(dcOut[b * d + j], gc + gh * ko * (1 - v * v), "∂c + ∂u")
                        near(dz[r + 3 * d + j], gh * v * ko * (1 - ko), "∂o")
                    }
                }
                XCTAssertLessThanOrEqual(worst, tolerance)
            }
        }
    }

    func testFloatCellKernelsAgreeWithTheFormulasToFloatRounding() { check(Float.self, tolerance: 2e-6) }
    func testDoubleCellKernelsAgreeWithTheFormulas() { check(Double.self, tolerance: 1e-14) }

    /// The kernels run on the rows they are given only: the neighbours of a row block stay as they were.
    func testCellKernelsWriteOnlyTheirRows() {
        let (n, d) = (3, 37)
        var z = [Float](repeating: 0.5, count: (n + 2) * 4 * d), c = [Float](repeating: 7, count: (n + 2) * d)
        let cp = [Float](repeating: 0.25, count: n * d)
        z.withUnsafeMutableBufferPointer { zp in
            c.withUnsafeMutableBufferPointer { cpn in
                Float.lstmCell(n, d, zp.baseAddress! + 4 * d, cp, cpn.baseAddress! + d)
            }
        }
        XCTAssertTrue(z[0..<(4 * d)].allSatisfy { $0 == 0.5 } && z[((n + 1) * 4 * d)...].allSatisfy { $0 == 0.5 })
        XCTAssertTrue(c[0..<d].allSatisfy { $0 == 7 } && c[((n + 1) * d)...].allSatisfy { $0 == 7 })
        XCTAssertFalse(c[d..<(2 * d)].contains(7))
    }

    /// Exact values (Double holds every Float exactly, the sign of zero included).
    func bits<S: Scalar>(_ a: [S]) -> [UInt64] { a.map { Double($0).bitPattern } }

    func optimizerBits<S: Scalar>(_: S.Type) {
        var rng = SplitMix64(seed: 23)
        let n = 1037
        func vec(_ lo: Double, _ hi: Double) -> [S] { (0..<n).map { _ in S(rng.uniform(lo, hi)) } }
        let w0 = vec(-1, 1), g = vec(-0.1, 0.1), a0 = vec(0, 0.5), b0 = vec(0, 0.01)
        let (lr, l2) = (S(0.05), S(1e-4))
        for level in Self.levels {
            KernelLevel.select(level)
            var (w1, w2, a1, a2, b1, b2) = (w0, w0, a0, a0, b0, b0)
            Optimizer<S>.sgd(&w1, UnsafeMutablePointer(mutating: g), n, lr, l2)
            Optimizer<S>.sgdReference(&w2, UnsafeMutablePointer(mutating: g), n, lr, l2)
            XCTAssertEqual(bits(w1), bits(w2), "sgd \(level)")
            (w1, w2) = (w0, w0)
            Optimizer<S>.adagrad(&w1, UnsafeMutablePointer(mutating: g), &a1, n, lr, l2)
            Optimizer<S>.adagradReference(&w2, UnsafeMutablePointer(mutating: g), &a2, n, lr, l2)
            XCTAssertEqual(bits(w1), bits(w2), "adagrad \(level)")
            XCTAssertEqual(bits(a1), bits(a2), "adagrad state \(level)")
            (w1, w2, a1, a2) = (w0, w0, a0, a0)
            let args = (S(0.9), S(0.999), S(1e-8), S(0.19), S(0.002))
            Optimizer<S>.adam(
                &w1, UnsafeMutablePointer(mutating: g), &a1, &b1, n, lr, l2, args.0, args.1, args.2, args.3, args.4)
            Optimizer<S>.adamReference(
                &w2, UnsafeMutablePointer(mutating: g), &a2, &b2, n, lr, l2, args.0, args.1, args.2, args.3, args.4)
            XCTAssertEqual(bits(w1), bits(w2), "adam \(level)")
            XCTAssertEqual(bits(b1), bits(b2), "adam second moment \(level)")
            XCTAssertNotEqual(bits(w1), bits(w0))
        }
    }

    func testOptimizerKernelsGiveTheLoopsBits() {
        optimizerBits(Float.self)
        optimizerBits(Double.self)
    }
}

/// The forward recurrent product over W_hhᵀ transposed once per batch (the default) against the
/// reference over W_hh (`SMTL_RECURRENT=blas`).
final class RecurrentProductTests: XCTestCase {
    override func tearDown() {
        RecurrentProducts.transposedOnce = true
        super.tearDown()
    }

    /// A whole training step both ways: the gradients agree to float rounding (all four
    /// architectures, ragged batches), and the transposed weights follow each update.
    func testTrainingGradientsMatchTheBLASPath() {
        let dims = Dimensions(embedding: 6, hidden: 9, memoryRows: 5, memoryWidth: 4, vocabulary: 13)
        var rng = SplitMix64(seed: 3)
        let seqs = [7, 2, 9, 4].map { n in (0..<n).map { _ in Int32(rng.below(13)) } }
        let batch = Batch(sequences: seqs, labels: [0, 1, 2, 1])
        for arch in Architecture.allCases {
            var grads: [[[Float]]] = [], values: [[[Float]]] = []
            for transposed in [true, false] {
                RecurrentProducts.transposedOnce = transposed
                let model = Model<Float>(architecture: arch, dims: dims, tasks: [TaskSpec(name: "a", classes: 3)])
                model.initialize(seed: 11)
                var settings = OptimizerSettings()
                settings.kind = .sgd
                settings.learningRate = 0.5
                let opt = Optimizer(settings: settings, model: model)
                let sync = GradientSync(model: model)
                for step in 0..<3 {
                    model.clearGradients()
                    model.accumulateGradients([batch])
                    if step == 0 {
                        grads.append(
                            model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.grads, count: $0.count)) })
                    }
                    sync.reduceSharedGradients()
                    opt.step(model, embeddingRows: sync.rows)
                }
                values.append(model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) })
            }
            func worst(_ a: [[Float]], _ b: [[Float]]) -> Double {
                var w = 0.0
                for (x, y) in zip(a, b) {
                    let scale = y.map { Double(abs($0)) }.max() ?? 1
                    for (p, q) in zip(x, y) { w = max(w, Double(abs(p - q)) / max(scale, 1e-30)) }
                }
                return w
            }
            XCTAssertLessThan(worst(grads[0], grads[1]), 1e-5, "\(arch) gradients")
            // Three updates: a stale W_hhᵀ would leave the paths apart by the updates' size.
            XCTAssertLessThan(worst(values[0], values[1]), 1e-5, "\(arch) parameters after 3 steps")
            XCTAssertGreaterThan(grads[0].flatMap { $0 }.map { abs($0) }.max() ?? 0, 0)
        }
    }
}
