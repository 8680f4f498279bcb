import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Properties of the batched model: batch and padding invariance, and that the shared gradient
/// of a multi-task step is the sum of the tasks' gradients.
final class ModelPropertyTests: XCTestCase {
    let dims = Dimensions(embedding: 5, hidden: 6, memoryRows: 4, memoryWidth: 3, vocabulary: 11)

    func sequences(_ lengths: [Int], seed: UInt64) -> [[Int32]] {
        var rng = SplitMix64(seed: seed)
        return lengths.map { n in (0..<n).map { _ in Int32(rng.below(11)) } }
    }

    /// A sequence's class probabilities are the same alone, in a batch with longer and shorter
    /// sequences, and at another position of the batch.
    func testLogitsDoNotDependOnBatchOrPadding() {
        for arch in Architecture.allCases {
            let model = Model<Double>(architecture: arch, dims: dims, tasks: [TaskSpec(name: "a", classes: 3)])
            model.initialize(seed: 3)
            for set in model.parameterSets { set.initializeUniform(seed: 3, scale: 0.5) }
            let net = model.networks[0]
            let probe = sequences([5], seed: 9)[0]
            net.forward(Batch(sequences: [probe]))
            let alone = net.probabilities(slot: 0)
            let others = sequences([9, 2, 5, 1, 7], seed: 10)
            for position in [0, 2, 5] {
                var seqs = others
                seqs.insert(probe, at: position)
                let batch = Batch(sequences: seqs)
                net.forward(batch)
                let slot = batch.source.firstIndex(of: position)!
                let inBatch = net.probabilities(slot: slot)
                for (a, b) in zip(alone, inBatch) {
                    XCTAssertEqual(a, b, accuracy: 1e-13, "\(arch.rawValue) position \(position)")
                }
            }
            // The same in single precision, as trained.
            let f = Model<Float>(architecture: arch, dims: dims, tasks: [TaskSpec(name: "a", classes: 3)])
            f.copyValues(from: model)
            f.networks[0].forward(Batch(sequences: [probe]))
            let fAlone = f.networks[0].probabilities(slot: 0)
            let batch = Batch(sequences: others + [probe])
            f.networks[0].forward(batch)
            let fIn = f.networks[0].probabilities(slot: batch.source.firstIndex(of: others.count)!)
            for (a, b) in zip(fAlone, fIn) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            // And the single-precision model agrees with the double-precision one.
            for (a, b) in zip(fAlone, alone) { XCTAssertEqual(Double(a), b, accuracy: 1e-5) }
        }
    }

    /// The final state of a sequence does not change when it is followed by "padding" steps of
    /// other sequences: its h at the last real token is the classifier's input.
    func testEndedSequencesCarryStateUnchanged() {
        let model = Model<Double>(architecture: .arc2, dims: dims, tasks: [TaskSpec(name: "a", classes: 2)])
        model.initialize(seed: 5)
        let net = model.networks[0]
        let seqs = sequences([2, 8], seed: 4)
        let batch = Batch(sequences: seqs)
        net.forward(batch)
        let short = batch.source.firstIndex(of: 0)!
        let states = net.hiddenStates(slot: short, in: batch)
        XCTAssertEqual(states.count, 2)
        net.forward(Batch(sequences: [seqs[0]]))
        let alone = net.hiddenStates(slot: 0, in: Batch(sequences: [seqs[0]]))
        for (a, b) in zip(states.last!, alone.last!) { XCTAssertEqual(a, b, accuracy: 1e-13) }
    }

    /// With two tasks, the gradient of every shared tensor is the sum of the two tasks' separate
    /// gradients; each task's own tensors get only its own gradient.
    func testSharedGradientIsSumOfTaskGradients() {
        for arch in [Architecture.arc1, .arc2] {
            let model = Model<Double>(
                architecture: arch, dims: dims,
                tasks: [TaskSpec(name: "a", classes: 2), TaskSpec(name: "b", classes: 4)])
            model.initialize(seed: 11)
            let ba = Batch(sequences: sequences([4, 2, 6], seed: 1), labels: [0, 1, 1])
            let bb = Batch(sequences: sequences([3, 5], seed: 2), labels: [3, 0])
            let sync = GradientSync(model: model)
            func grads(_ batches: [Batch?]) -> [[Double]] {
                model.clearGradients()
                model.accumulateGradients(batches)
                sync.reduceSharedGradients()
                return model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.grads, count: $0.count)) }
            }
            let both = grads([ba, bb]), onlyA = grads([ba, nil]), onlyB = grads([nil, bb])
            var nonzero = 0
            for i in 0..<both[0].count {
                XCTAssertEqual(both[0][i], onlyA[0][i] + onlyB[0][i], accuracy: 1e-14)
                if onlyA[0][i] != 0 && onlyB[0][i] != 0 { nonzero += 1 }
            }
            // Both tasks really reach the shared memory block.
            XCTAssertGreaterThan(nonzero, model.dims.memoryRows * model.dims.memoryWidth, arch.rawValue)
            XCTAssertEqual(both[1], onlyA[1])
            XCTAssertEqual(both[2], onlyB[2])
        }
    }

    /// The gradient buffers are cleared completely between steps, including the embedding rows.
    func testClearGradientsLeavesNothingBehind() {
        let model = Model<Float>(architecture: .arc2, dims: dims, tasks: [TaskSpec(name: "a", classes: 2)])
        model.initialize(seed: 1)
        model.accumulateGradients([Batch(sequences: sequences([3, 4], seed: 3), labels: [0, 1])])
        GradientSync(model: model).reduceSharedGradients()
        model.clearGradients()
        for set in model.parameterSets {
            XCTAssertTrue(UnsafeBufferPointer(start: set.grads, count: set.count).allSatisfy { $0 == 0 })
        }
    }

    /// The tasks of a model run one after another, so their activations live in one workspace
    /// (memory per process does not grow with its tasks): every network and memory block of the
    /// same role uses the same buffers, and results do not depend on the order tasks ran in.
    func testTasksShareOneWorkspace() {
        let specs = [TaskSpec(name: "a", classes: 2), TaskSpec(name: "b", classes: 3), TaskSpec(name: "c", classes: 2)]
        let model = Model<Double>(architecture: .arc2, dims: dims, tasks: specs)
        model.initialize(seed: 4)
        let nets = model.networks
        XCTAssertEqual(Set(nets.map { ObjectIdentifier($0.ws.gates) }).count, 1)
        XCTAssertEqual(Set(nets.map { ObjectIdentifier($0.memory.blocks[0].ws.memoryPrev) }).count, 1)
        XCTAssertEqual(Set(nets.map { ObjectIdentifier($0.memory.blocks[1].ws.memoryPrev) }).count, 1)
        XCTAssertNotEqual(
            ObjectIdentifier(nets[0].memory.blocks[0].ws.memoryPrev),
            ObjectIdentifier(nets[0].memory.blocks[1].ws.memoryPrev)
        )
        let batches = specs.indices.map { m in
            Batch(sequences: sequences([5, 2, 7], seed: UInt64(m + 1)), labels: [0, 1, 1])
        }
        // Task c alone, then after the others have filled the workspace with their batches.
        let alone = model.losses([nil, nil, batches[2]])[2]
        let after = model.losses(batches)[2]
        XCTAssertEqual(alone, after)
    }
}
