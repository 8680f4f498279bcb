import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The memory kernels (Sources/CKernels) at the SPEC's memory shape K = 50, W = 20, which the
/// kernels compile as constants (the gradient checks' tiny shapes take the general path):
/// a finite-difference spot check in Double at every instruction-set level this CPU has, and the
/// Float kernels of every level against the Double model on the same weights.
final class KernelTests: XCTestCase {
    static let dims = Dimensions(embedding: 6, hidden: 8, memoryRows: 50, memoryWidth: 20, vocabulary: 11)
    static let tasks = [TaskSpec(name: "a", classes: 3), TaskSpec(name: "b", classes: 2)]

    override func tearDown() {
        KernelLevel.select(.avx512)  // back to the widest the CPU has
        MemoryRecompute.aboveBytes = Self.defaultRecompute.0
        MemoryRecompute.every = Self.defaultRecompute.1
        super.tearDown()
    }
    static let defaultRecompute = (MemoryRecompute.aboveBytes, MemoryRecompute.every)

    static var levels: [KernelLevel] { KernelLevel.allCases.filter { $0.rawValue <= KernelLevel.widest.rawValue } }

    static func batches() -> [Batch] {
        var rng = SplitMix64(seed: 5)
        return [[7, 2, 9, 4, 3], [5, 3, 6]].enumerated().map { m, lengths in
            let seqs = lengths.map { n in (0..<n).map { _ in Int32(rng.below(11)) } }
            return Batch(sequences: seqs, labels: seqs.map { _ in rng.below(tasks[m].classes) })
        }
    }

    /// The gradients of every parameter set, after the shared tensors' sum over the tasks.
    static func gradients<S: Scalar>(_ model: Model<S>, _ batches: [Batch]) -> [[S]] {
        model.clearGradients()
        model.accumulateGradients(batches)
        GradientSync(model: model).reduceSharedGradients()
        return model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.grads, count: $0.count)) }
    }

    func testLevelSelection() {
        let widest = KernelLevel.widest
        XCTAssertEqual(KernelLevel.select(.baseline), .baseline)
        XCTAssertEqual(KernelLevel.current, .baseline)
        XCTAssertEqual(KernelLevel.select(.avx512), widest, "a level is capped at what the CPU runs")
        XCTAssertTrue(BLASLibrary.summary.contains("memory kernels \(widest.name)"), BLASLibrary.summary)
    }

    /// Sixth-order central differences on 6 entries of each memory and fusion tensor (every
    /// entry would take minutes at this size), in Double, at every level.
    func testFiniteDifferencesAtTheSpecMemoryShape() {
        finiteDifferences()
    }

    /// The same with every batch's memory states recomputed in segments of 3 steps.
    func testFiniteDifferencesWithRecomputedStates() {
        MemoryRecompute.aboveBytes = 0
        MemoryRecompute.every = 3
        finiteDifferences()
    }

    /// Recomputed states are the kept states, bit for bit: gradients and losses are identical
    /// whatever the segment length, at every level, in Float and in Double.
    func testRecomputationChangesNoBit() {
        let batches = Self.batches()
        func run<S: Scalar>(_: S.Type, _ arch: Architecture) -> [[S]] {
            let tasks = arch.isMultiTask ? Self.tasks : [Self.tasks[0]]
            let model = Model<S>(architecture: arch, dims: Self.dims, tasks: tasks)
            for set in model.parameterSets { set.initializeUniform(seed: 11, scale: 0.5) }
            let bs = arch.isMultiTask ? batches : [batches[0]]
            return Self.gradients(model, bs) + [model.losses(bs)]
        }
        for level in Self.levels {
            KernelLevel.select(level)
            for arch in [Architecture.meLSTM, .arc1, .arc2] {
                MemoryRecompute.aboveBytes = .max
                let (kept, keptD) = (run(Float.self, arch), run(Double.self, arch))
                for every in [2, 3, 8] {
                    MemoryRecompute.aboveBytes = 0
                    MemoryRecompute.every = every
                    XCTAssertEqual(run(Float.self, arch), kept, "\(level.name) \(arch.rawValue) every \(every)")
                    XCTAssertEqual(run(Double.self, arch), keptD, "\(level.name) \(arch.rawValue) every \(every)")
                }
            }
        }
    }

    func finiteDifferences() {
        let batches = Self.batches()
        for level in Self.levels {
            KernelLevel.select(level)
            for arch in [Architecture.meLSTM, .arc1, .arc2] {
                let model = Model<Double>(
                    architecture: arch, dims: Self.dims, tasks: arch.isMultiTask ? Self.tasks : [Self.tasks[0]])
                for set in model.parameterSets { set.initializeUniform(seed: 11, scale: 0.5) }
                let bs = arch.isMultiTask ? batches : [batches[0]]
                let analytic = Self.gradients(model, bs)
                var rng = SplitMix64(seed: 17)
                var checked = 0
                for (s, set) in model.parameterSets.enumerated() {
                    for entry in set.layout.entries
                    where entry.name.contains("memory0") || entry.name.contains("control")
                        || entry.name.contains("fusion")
                    {
                        for _ in 0..<6 {
                            let i = entry.offset + rng.below(entry.count)
                            let w = set.values[i], h = 1e-3
                            func at(_ v: Double) -> Double { set.values[i] = v; return model.losses(bs).reduce(0, +) }
                            let numeric =
                                (at(w + 3 * h) - 9 * at(w + 2 * h) + 45 * at(w + h) - 45 * at(w - h) + 9 * at(w - 2 * h)
                                    - at(w - 3 * h)) / (60 * h)
                            set.values[i] = w
                            let a = analytic[s][i]
                            let err = abs(a - numeric) / max(abs(a), abs(numeric), 1e-7)
                            XCTAssertLessThan(
                                err, 1e-5,
                                "\(level.name) \(arch.rawValue) \(entry.name)[\(i - entry.offset)]: \(a) vs \(numeric)")
                            checked += 1
                        }
                    }
                }
                XCTAssertGreaterThan(checked, 20)
            }
        }
    }

    /// Float at every level against Double on the same weights: losses and every gradient within
    /// float rounding; each level deterministic (a second run gives the same bits).
    func testFloatKernelsAgreeWithDoubleAtEveryLevel() {
        let batches = Self.batches()
        for arch in [Architecture.meLSTM, .arc1, .arc2] {
            let tasks = arch.isMultiTask ? Self.tasks : [Self.tasks[0]]
            let bs = arch.isMultiTask ? batches : [batches[0]]
            let reference = Model<Double>(architecture: arch, dims: Self.dims, tasks: tasks)
            for set in reference.parameterSets { set.initializeUniform(seed: 11, scale: 0.5) }
            KernelLevel.select(.avx512)
            let exact = Self.gradients(reference, bs)
            let exactLoss = reference.losses(bs).reduce(0, +)
            for level in Self.levels {
                KernelLevel.select(level)
                let model = Model<Float>(architecture: arch, dims: Self.dims, tasks: tasks)
                for (f, d) in zip(model.parameterSets, reference.parameterSets) {
                    for i in 0..<d.count { f.values[i] = Float(d.values[i]) }
                }
                let g = Self.gradients(model, bs)
                XCTAssertEqual(
                    g.flatMap { $0 }, Self.gradients(model, bs).flatMap { $0 }, "\(level.name): deterministic")
                XCTAssertEqual(Double(model.losses(bs).reduce(0, +)), exactLoss, accuracy: 1e-5 * abs(exactLoss))
                for (gs, es) in zip(g, exact) {
                    let scale = es.map(abs).max() ?? 1
                    for (a, e) in zip(gs, es) {
                        XCTAssertEqual(Double(a), e, accuracy: 2e-4 * scale + 1e-7, "\(level.name) \(arch.rawValue)")
                    }
                }
            }
        }
    }
}
