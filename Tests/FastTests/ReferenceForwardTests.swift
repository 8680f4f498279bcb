import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// An independent forward pass written straight from SPEC §2–§5, one sequence at a time, with
/// plain arrays and no BLAS. The batched network must give the same probabilities: gradient checks
/// prove the backward matches the forward; this proves the forward matches the SPEC.
struct ReferenceModel {
    let arch: Architecture
    let dims: Dimensions
    let tensors: [String: [Double]]
    let task: String

    func t(_ name: String) -> [Double] { tensors[name]! }
    func tk(_ name: String) -> [Double] { tensors["task.\(task).\(name)"]! }

    /// y = W x (+ b), W row-major [rows, x.count].
    func matvec(_ w: [Double], _ x: [Double], _ b: [Double]? = nil) -> [Double] {
        let cols = x.count, rows = w.count / cols
        var y = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var acc: Double = b?[r] ?? 0
            for k in 0..<cols { acc += w[r * cols + k] * x[k] }
            y[r] = acc
        }
        return y
    }
    func sigma(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    struct Memory {
        var m: [[Double]]  // K rows of W
        var key: [Double]
    }

    func start(_ prefix: String) -> Memory {
        let K = dims.memoryRows, W = dims.memoryWidth
        let m0 = t(prefix + "memory0")
        let b = t(prefix + "control.bias")
        return Memory(m: (0..<K).map { Array(m0[($0 * W)..<($0 * W + W)]) }, key: (0..<W).map { tanh(b[$0]) })
    }

    func address(_ mem: Memory) -> [Double] {
        func norm(_ v: [Double]) -> Double { (v.reduce(0) { $0 + $1 * $1 } + 1e-8).squareRoot() }
        let s = mem.m.map { row in zip(row, mem.key).reduce(0) { $0 + $1.0 * $1.1 } / (norm(row) * norm(mem.key)) }
        let top = s.max()!
        let e = s.map { exp($0 - top) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    func read(_ m: [[Double]], _ alpha: [Double]) -> [Double] {
        (0..<dims.memoryWidth).map { j in (0..<m.count).reduce(0) { $0 + alpha[$1] * m[$1][j] } }
    }

    /// control → (k, e, a), then the write with α.
    func controlAndWrite(_ mem: inout Memory, _ prefix: String, _ u: [Double], _ alpha: [Double]) {
        let W = dims.memoryWidth
        let v = matvec(t(prefix + "control.weight"), u, t(prefix + "control.bias"))
        let k = (0..<W).map { tanh(v[$0]) }, e = (0..<W).map { sigma(v[W + $0]) },
            a = (0..<W).map { tanh(v[2 * W + $0]) }
        for r in 0..<mem.m.count {
            for j in 0..<W { mem.m[r][j] = mem.m[r][j] * (1 - alpha[r] * e[j]) + alpha[r] * a[j] }
        }
        mem.key = k
    }

    func probabilities(_ tokens: [Int32]) -> [Double] {
        let (E, d) = (dims.embedding, dims.hidden)
        let emb = t("embedding.weight")
        let localPrefix = "task.\(task).local.", globalPrefix = "global."
        var local = arch.hasLocalMemory ? start(localPrefix) : nil
        var global = arch.hasGlobalMemory ? start(globalPrefix) : nil
        var h = [Double](repeating: 0, count: d), c = h
        for tok in tokens {
            let x = Array(emb[(Int(tok) * E)..<(Int(tok) * E + E)])
            // 1. read of the fused memory (local for ME-LSTM, global for ARC-I and ARC-II)
            var alphaF: [Double] = [], r: [Double] = []
            if arch == .meLSTM { alphaF = address(local!); r = read(local!.m, alphaF) }
            if arch.hasGlobalMemory { alphaF = address(global!); r = read(global!.m, alphaF) }
            // 2. LSTM (§2) and the fusion gate (§4)
            let zx = matvec(tk("lstm.weight_ih"), x, tk("lstm.bias")), zh = matvec(tk("lstm.weight_hh"), h)
            let z = zip(zx, zh).map { $0 + $1 }
            let i = (0..<d).map { sigma(z[$0]) }, f = (0..<d).map { sigma(z[d + $0]) }
            let g = (0..<d).map { tanh(z[2 * d + $0]) }, o = (0..<d).map { sigma(z[3 * d + $0]) }
            c = (0..<d).map { f[$0] * c[$0] + i[$0] * g[$0] }
            if arch == .lstm {
                h = (0..<d).map { o[$0] * tanh(c[$0]) }
            } else {
                let gr = matvec(tk("fusion.weight_r"), r), gc = matvec(tk("fusion.weight_c"), c)
                let gate = (0..<d).map { sigma(gr[$0] + gc[$0]) }
                let q = matvec(tk("fusion.weight_f"), r)
                h = (0..<d).map { o[$0] * tanh(c[$0] + gate[$0] * q[$0]) }
            }
            // 3–4. memory control and write
            switch arch {
            case .lstm: break
            case .meLSTM: controlAndWrite(&local!, localPrefix, h, alphaF)
            case .arc1: controlAndWrite(&global!, globalPrefix, h, alphaF)
            case .arc2:
                let alphaL = address(local!)
                controlAndWrite(&local!, localPrefix, h, alphaL)
                let rL = read(local!.m, alphaL)
                controlAndWrite(&global!, globalPrefix, rL, alphaF)
            }
        }
        let logits = matvec(tk("classifier.weight"), h, tk("classifier.bias"))
        let top = logits.max()!
        let e = logits.map { exp($0 - top) }
        return e.map { $0 / e.reduce(0, +) }
    }
}

final class ReferenceForwardTests: XCTestCase {
    func testBatchedForwardMatchesReference() {
        let dims = Dimensions(embedding: 4, hidden: 5, memoryRows: 3, memoryWidth: 2, vocabulary: 9)
        for arch in Architecture.allCases {
            let model = Model<Double>(
                architecture: arch, dims: dims,
                tasks: [TaskSpec(name: "a", classes: 3), TaskSpec(name: "b", classes: 2)])
            for set in model.parameterSets { set.initializeUniform(seed: 21, scale: 0.7) }
            var tensors: [String: [Double]] = [:]
            for set in model.parameterSets { for e in set.layout.entries { tensors[e.name] = set.array(e.name) } }
            var rng = SplitMix64(seed: 5)
            let seqs = [6, 1, 4, 3].map { n in (0..<n).map { _ in Int32(rng.below(9)) } }
            for (m, task) in ["a", "b"].enumerated() {
                let ref = ReferenceModel(arch: arch, dims: dims, tensors: tensors, task: task)
                let batch = Batch(sequences: seqs)
                model.networks[m].forward(batch)
                for b in 0..<batch.size {
                    let expected = ref.probabilities(seqs[batch.source[b]])
                    let got = model.networks[m].probabilities(slot: b)
                    for (x, y) in zip(got, expected) {
                        XCTAssertEqual(x, y, accuracy: 1e-12, "\(arch.rawValue) task \(task)")
                    }
                    // Not a trivial agreement: the prediction is far from uniform.
                    XCTAssertGreaterThan(expected.max()! - expected.min()!, 1e-3)
                }
            }
        }
    }
}
