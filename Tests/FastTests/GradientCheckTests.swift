import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Finite-difference gradient checks in double precision of every parameter tensor of each of the
/// four architectures, on tiny sizes with uneven sequence lengths.
final class GradientCheckTests: XCTestCase {
    static let dims = Dimensions(embedding: 3, hidden: 4, memoryRows: 3, memoryWidth: 2, vocabulary: 7)

    /// Uneven lengths, repeated tokens (so one embedding row collects several gradients).
    static func batches(tasks: Int, classes: [Int]) -> [Batch] {
        var rng = SplitMix64(seed: 42)
        return (0..<tasks).map { m in
            let lengths = m == 0 ? [3, 1, 5, 2] : [4, 2, 4]
            let seqs = lengths.map { n in (0..<n).map { _ in Int32(rng.below(7)) } }
            let labels = lengths.indices.map { _ in rng.below(classes[m]) }
            return Batch(sequences: seqs, labels: labels)
        }
    }

    func check(
        _ arch: Architecture, tasks specs: [TaskSpec], dropout: Bool = false, read: Double = 0,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let model = Model<Double>(architecture: arch, dims: Self.dims, tasks: specs)
        // Larger than the U(−0.1, 0.1) init, so every nonlinearity is exercised away from 0.
        for set in model.parameterSets { set.initializeUniform(seed: 7, scale: 0.6) }
        let batches = Self.batches(tasks: specs.count, classes: specs.map(\.classes))
        // Fixed masks (the same seeds at every call) make the loss a smooth function of the weights.
        let masks: [Dropout?]? =
            dropout
            ? batches.enumerated().map { m, b in
                Dropout(embedding: 0.3, hidden: 0.4, read: read, seeds: (0..<b.size).map { UInt64(100 * m + $0) })
            } : nil
        func loss() -> Double { model.losses(batches, dropout: masks).reduce(0, +) }
        model.clearGradients()
        model.accumulateGradients(batches, dropout: masks)
        GradientSync(model: model).reduceSharedGradients()  // Σ over the tasks
        let analyticGrads = model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.grads, count: $0.count)) }
        var checked = 0, overall = 0.0
        for (set, analytic) in zip(model.parameterSets, analyticGrads) {
            for entry in set.layout.entries {
                var worst = 0.0, worstAt = -1
                for i in entry.offset..<(entry.offset + entry.count) {
                    let w = set.values[i]
                    // Sixth-order central difference: truncation error O(h⁶), round-off ~1e-13.
                    let h = 1e-3
                    func at(_ v: Double) -> Double { set.values[i] = v; return loss() }
                    let numeric =
                        (at(w + 3 * h) - 9 * at(w + 2 * h) + 45 * at(w + h)
                            - 45 * at(w - h) + 9 * at(w - 2 * h) - at(w - 3 * h)) / (60 * h)
                    set.values[i] = w
                    let a = analytic[i]
                    let err = abs(a - numeric) / max(abs(a), abs(numeric), 1e-6)
                    if err > worst { worst = err; worstAt = i - entry.offset }
                    checked += 1
                }
                overall = max(overall, worst)
                XCTAssertLessThanOrEqual(
                    worst, 1e-6, "\(arch.rawValue) \(entry.name)[\(worstAt)] relative error \(worst)", file: file,
                    line: line)
            }
        }
        print(
            "gradient check \(arch.rawValue) "
                + "tasks=\(specs.count)\(dropout ? " dropout" : "")\(read > 0 ? " read \(read)" : ""): "
                + "\(checked) parameters, "
                + "worst relative error \(overall)"
        )
        // Every tensor of the layout was checked.
        XCTAssertEqual(checked, model.parameterSets.map(\.count).reduce(0, +))
    }

    func testLSTM() { check(.lstm, tasks: [TaskSpec(name: "a", classes: 3)]) }
    func testMELSTM() { check(.meLSTM, tasks: [TaskSpec(name: "a", classes: 3)]) }
    func testARCI() { check(.arc1, tasks: [TaskSpec(name: "a", classes: 3)]) }
    func testARCII() { check(.arc2, tasks: [TaskSpec(name: "a", classes: 2)]) }
    func testARCIMultiTask() {
        check(.arc1, tasks: [TaskSpec(name: "a", classes: 3), TaskSpec(name: "b", classes: 2)])
    }
    func testARCIIMultiTask() {
        check(.arc2, tasks: [TaskSpec(name: "a", classes: 2), TaskSpec(name: "b", classes: 5)])
    }

    /// Dropout with fixed masks on the embedding output and on h before the classifier.
    func testLSTMWithDropout() { check(.lstm, tasks: [TaskSpec(name: "a", classes: 3)], dropout: true) }
    func testARCIIMultiTaskWithDropout() {
        check(.arc2, tasks: [TaskSpec(name: "a", classes: 2), TaskSpec(name: "b", classes: 5)], dropout: true)
    }

    /// Dropout on the memory read that enters the fusion gate as well (`dropout_read`), fixed
    /// masks, for each architecture that has one. A rate of 0.5 drops about half of the read's
    /// units, so the masked and the scaled paths are both checked.
    func testMELSTMWithReadDropout() {
        check(.meLSTM, tasks: [TaskSpec(name: "a", classes: 3)], dropout: true, read: 0.5)
    }
    func testARCIMultiTaskWithReadDropout() {
        check(
            .arc1, tasks: [TaskSpec(name: "a", classes: 3), TaskSpec(name: "b", classes: 2)], dropout: true, read: 0.5)
    }
    func testARCIIMultiTaskWithReadDropout() {
        check(
            .arc2, tasks: [TaskSpec(name: "a", classes: 2), TaskSpec(name: "b", classes: 5)], dropout: true, read: 0.5)
    }
}
