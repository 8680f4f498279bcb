import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Distribution without `mpirun` and without ../shared/data: ranks are threads of this process
/// (`ThreadCommunicator`), data is synthetic. The MPI tests (DistributedTests) check the same
/// properties with real processes.
final class InProcessDistributionTests: XCTestCase {
    override func setUp() {
        // The ranks are threads; each BLAS call stays on its own thread.
        BLASLibrary.setThreads(1)
    }

    func testCollectives() throws {
        let out = try ThreadCommunicator.run(ranks: 3) { c -> [Double] in
            var d: [Double] = [Double(c.rank), 1.5, -Double(c.rank)]
            c.allreduceSum(&d)
            var f: [Float] = [Float(c.rank) + 0.25]
            f.withUnsafeMutableBufferPointer { c.allreduceSum($0.baseAddress!, count: 1) }
            var bytes: [UInt8] = [c.rank == 1 ? 1 : 0, 0, c.rank == 2 ? 7 : 2]
            bytes.withUnsafeMutableBufferPointer { c.allreduceMax($0.baseAddress!, count: 3) }
            var i: Int32 = Int32(10 - c.rank)
            c.allreduceMax(&i, count: 1)
            var b: [Float] = c.rank == 1 ? [4, 5] : [0, 0]
            c.broadcast(&b, root: 1)
            // Ranks 0 and 2 form one world (ordered by key: 2 first), rank 1 another.
            let sub = c.split(color: c.rank == 1 ? 1 : 0, key: -c.rank)
            var s: [Double] = [Double(c.rank)]
            sub.allreduceSum(&s)
            return d + [Double(f[0])] + bytes.map(Double.init) + [Double(i)] + b.map(Double.init)
                + [Double(sub.rank), Double(sub.size), s[0]]
        }
        XCTAssertEqual(out[0], [3, 4.5, -3, 3.75, 1, 0, 7, 10, 4, 5, 1, 2, 2])
        XCTAssertEqual(out[1], [3, 4.5, -3, 3.75, 1, 0, 7, 10, 4, 5, 0, 1, 1])
        XCTAssertEqual(out[2], [3, 4.5, -3, 3.75, 1, 0, 7, 10, 4, 5, 0, 2, 2])
    }

    static let dims = Dimensions(embedding: 4, hidden: 5, memoryRows: 3, memoryWidth: 2, vocabulary: 30)
    static let specs = (0..<4).map { TaskSpec(name: "t\($0)", classes: 2 + $0 % 2) }

    static func batches() -> [Batch] {
        var rng = SplitMix64(seed: 5)
        return specs.map { spec in
            let seqs = (0..<3).map { _ in (0..<(1 + rng.below(6))).map { _ in Int32(rng.below(30)) } }
            return Batch(sequences: seqs, labels: seqs.map { _ in rng.below(spec.classes) })
        }
    }

    /// The reduced shared gradient of N ranks (each running its placement's tasks) equals that
    /// of one process running every task, on every rank; so do the rows the optimizer updates.
    func testSharedGradientOfNRanksEqualsOneProcess() throws {
        @Sendable func model() -> Model<Double> {
            let m = Model<Double>(architecture: .arc2, dims: Self.dims, tasks: Self.specs)
            m.initialize(seed: 9)
            return m
        }
        let batches = Self.batches()
        let one = model()
        one.accumulateGradients(batches)
        let sync = GradientSync(model: one)
        sync.reduceSharedGradients()
        let reference = Array(UnsafeBufferPointer(start: one.shared.grads, count: one.shared.count))
        let referenceRows = Set(sync.rows.rows)
        XCTAssertGreaterThan(reference.filter { $0 != 0 }.count, 10)
        for ranks in [2, 3, 4] {
            let got = try ThreadCommunicator.run(ranks: ranks) { c -> ([Double], Set<Int32>) in
                let m = model()
                let s = GradientSync(model: m, world: c)
                m.accumulateGradients(batches.indices.map { s.hosted.contains($0) ? batches[$0] : nil })
                // Every rank knows every task's batch, so the rows of the step.
                let rows = SparseRows(count: Self.dims.vocabulary)
                for b in batches { for w in b.tokens { rows.mark(Int(w)) } }
                s.reduceSharedGradients(stepRows: rows)
                return (Array(UnsafeBufferPointer(start: m.shared.grads, count: m.shared.count)), Set(s.rows.rows))
            }
            for (r, (grads, rows)) in got.enumerated() {
                XCTAssertEqual(rows, referenceRows, "\(ranks) ranks, rank \(r)")
                XCTAssertEqual(grads, got[0].0, "every rank holds the same bits (\(ranks) ranks)")
                let worst = zip(grads, reference).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(worst, 1e-15, "\(ranks) ranks")
            }
        }
    }

    /// Every rank draws every task's step batch (the same ids, the same cursors), and the shards
    /// of a task split over ranks partition it.
    func testShardedSamplingPartitionsTheSteps() {
        let p = Placement(examples: [40, 40], meanLength: [1, 10], batchSize: 12, ranks: 3)
        XCTAssertEqual(p.splitTasks, [1])
        var samplers = (0..<3).map { _ in
            (0..<2).map { m in TaskSampler(count: 40, batchSize: 12, seed: 1, task: "t\(m)", shuffle: true) }
        }
        for step in 0..<9 {  // across three epochs
            for m in 0..<2 {
                let draws = (0..<3).map { samplers[$0][m].next(count: p.stepBatch[m]) }
                XCTAssertEqual(draws[1], draws[0], "step \(step)")
                XCTAssertEqual(draws[2], draws[0], "step \(step)")
                let parts = p.ranksOfTask[m].map { r -> [Int] in
                    let s = p.shard(of: r, task: m)!
                    return Array(draws[r][s.lower..<s.upper])
                }
                XCTAssertEqual(parts.flatMap { $0 }, draws[0])
                XCTAssertEqual(samplers[2][m].cursor, samplers[0][m].cursor)
            }
        }
    }

    /// `tasks` tasks (the first four are `specs`); examples of 2 to `longest` tokens.
    static func corpus(tasks: Int = 4, longest: Int = 8) -> Corpus {
        var rng = SplitMix64(seed: 77)
        func examples(_ n: Int, classes: Int) -> [EncodedExample] {
            (0..<n).map { _ in
                let label = rng.below(classes)
                // Label-dependent tokens, so training has something to learn.
                let tokens = (0..<(2 + rng.below(longest - 1))).map { _ in Int32(1 + label * 8 + rng.below(10)) }
                return EncodedExample(tokens: tokens, label: label)
            }
        }
        let tasks = Self.specs(tasks).enumerated().map { m, spec in
            TaskData(
                name: spec.name, labels: Array(0..<spec.classes), train: examples(20 + 6 * m, classes: spec.classes),
                dev: examples(8, classes: spec.classes), test: examples(8, classes: spec.classes))
        }
        return Corpus(
            vocabulary: Vocabulary(words: [Vocabulary.unknownToken] + (1..<Self.dims.vocabulary).map { "w\($0)" }),
            tasks: tasks)
    }

    static func specs(_ n: Int) -> [TaskSpec] { (0..<n).map { TaskSpec(name: "t\($0)", classes: 2 + $0 % 2) } }

    static func config(tasks: Int = 4) -> RunConfig {
        var c = RunConfig()
        c.name = "threads"
        c.architecture = .arc2
        (c.embeddingDim, c.hiddenDim, c.memoryRows, c.memoryWidth) = (4, 5, 3, 2)
        c.batchSize = 4
        c.steps = 12
        c.evalEvery = 6
        c.seed = 3
        c.optimizer.learningRate = 0.1
        c.tasks = Self.specs(tasks).map { TaskConfig(name: $0.name, train: "-") }
        return c
    }

    /// The worst relative difference over tensors of two checkpoints.
    static func worst(_ a: [String: SafeTensors.Tensor], _ b: [String: SafeTensors.Tensor]) -> Double {
        var worst = 0.0
        for (k, t) in a {
            let d = zip(t.values, b[k]!.values).map { Double(abs($0 - $1)) }.max() ?? 0
            worst = max(worst, d / Double(max(t.values.map { abs($0) }.max() ?? 1, 1e-30)))
        }
        return worst
    }

    /// Trains `config` on 1 process and on each number of rank threads; returns the worst relative
    /// difference of each to the one process, and whether its placement split a task.
    func runs(
        _ config: RunConfig, ranks: [Int], _ dir: String, corpus: Corpus = corpus()
    ) throws
        -> [(ranks: Int, worst: Double, split: Bool, loans: Int)]
    {
        try Trainer(config: config, corpus: corpus, outDir: dir + "/one", resume: nil).run(observers: [])
        let one = try Checkpoint.load(dir + "/one/checkpoints/final").tensors
        return try ranks.map { n in
            let (split, loans) = try ThreadCommunicator.run(ranks: n) { c in
                let t = try Trainer(config: config, corpus: corpus, outDir: dir + "/\(n)", resume: nil, communicator: c)
                try t.run(observers: [])
                return (!t.placement.splitTasks.isEmpty, t.loanSteps)
            }[0]
            let w = Self.worst(one, try Checkpoint.load(dir + "/\(n)/checkpoints/final").tensors)
            print(
                "threads: \(n) ranks against 1 process, \(config.optimizer.kind.rawValue), \(config.steps) steps"
                    + (split ? " (a task split over ranks)" : "")
                    + ", loans in \(loans) steps (\(config.lending.rawValue))"
                    + ": worst relative difference \(w)")
            return (n, w, split, loans)
        }
    }

    /// Strong scaling: whole training runs on 1 process and on 2, 3, 4 and 6 rank threads compute
    /// the same steps. Where no task is split over ranks the arithmetic is the same and so are the
    /// bits. Where one is, its gradient is summed in another order, so the results agree to float32
    /// rounding: with SGD over 12 steps; with AdaGrad after one step (over many steps AdaGrad, with
    /// ε = 1e-10, turns rounding noise in gradients that are zero into steps of up to the learning
    /// rate, so split runs are the same model only statistically; docs/decisions.md).
    func testTrainersOnThreadsAgreeWithOneProcess() throws {
        let dir = Paths.temporaryDirectory()
        for r in try runs(Self.config(), ranks: [2, 4], dir + "/adagrad") {
            XCTAssertFalse(r.split, "\(r.ranks) ranks place whole tasks")
            XCTAssertEqual(r.worst, 0, "\(r.ranks) ranks")
        }
        // Loans of whole tasks (the default; 8 tasks of 2 to 30 tokens on 2 ranks): one process's bits.
        for r in try runs(Self.config(tasks: 8), ranks: [2], dir + "/whole", corpus: Self.corpus(tasks: 8, longest: 30))
        {
            XCTAssertGreaterThan(r.loans, 0, "2 ranks lend whole tasks")
            XCTAssertEqual(r.worst, 0, "\(r.ranks) ranks")
        }
        // Loans of part of a batch: that task is split over ranks for the step.
        var lending = Self.config()
        lending.lending = .split
        lending.optimizer.kind = .sgd
        for r in try runs(lending, ranks: [2, 4], dir + "/lending") {
            XCTAssertGreaterThan(r.loans, 0, "\(r.ranks) ranks lend")
            XCTAssertLessThanOrEqual(r.worst, 1e-6, "\(r.ranks) ranks")
        }
        var sgd = Self.config()
        sgd.optimizer.kind = .sgd
        for r in try runs(sgd, ranks: [3, 6], dir + "/sgd") {
            XCTAssertTrue(r.split, "\(r.ranks) ranks split a task")
            XCTAssertLessThanOrEqual(r.worst, 1e-6, "\(r.ranks) ranks")
        }
        var oneStep = Self.config()
        oneStep.steps = 1
        for r in try runs(oneStep, ranks: [3, 6], dir + "/step") {
            XCTAssertTrue(r.split)
            XCTAssertLessThanOrEqual(r.worst, 1e-5, "\(r.ranks) ranks")
        }
        // The same N twice: the same bits.
        let corpus = Self.corpus()
        _ = try ThreadCommunicator.run(ranks: 6) { c in
            try Trainer(config: sgd, corpus: corpus, outDir: dir + "/sgd/6-again", resume: nil, communicator: c)
                .run(observers: [])
        }
        XCTAssertEqual(
            FileManager.default.contents(atPath: dir + "/sgd/6/checkpoints/final/model.safetensors"),
            FileManager.default.contents(atPath: dir + "/sgd/6-again/checkpoints/final/model.safetensors"))
    }

    /// Weak scaling: each of a task's k ranks takes a whole batch, so the task's step batch is
    /// k·batch_size, and the step's tokens are those of the larger batches.
    func testWeakScalingTakesABatchPerRank() throws {
        let dir = Paths.temporaryDirectory()
        var config = Self.config()
        config.scaling = .weak
        config.steps = 3
        let corpus = Self.corpus()
        let out = try ThreadCommunicator.run(ranks: 6) { c -> (batch: [Int], tokens: Int, expected: Int) in
            let t = try Trainer(config: config, corpus: corpus, outDir: dir, resume: nil, communicator: c)
            // What every rank draws this step, from copies of the samplers.
            var probe = t.samplers
            let expected = corpus.tasks.indices.map { m in
                probe[m].next(count: t.placement.stepBatch[m]).map { corpus.tasks[m].train[$0].tokens.count }
                    .reduce(0, +)
            }.reduce(0, +)
            return (t.placement.stepBatch, t.trainStep().tokens, expected)
        }
        XCTAssertEqual(out[0].batch.sorted(), [4, 4, 8, 8])
        for r in out { XCTAssertEqual(r.tokens, r.expected) }
        // Strong scaling on the same 6 ranks keeps every task's batch at 4.
        var strong = Self.config()
        strong.steps = 3
        let p = try ThreadCommunicator.run(ranks: 6) { c in
            try Trainer(config: strong, corpus: corpus, outDir: dir + "/s", resume: nil, communicator: c).placement
                .stepBatch
        }
        XCTAssertEqual(p[0], [4, 4, 4, 4])
    }

    /// 6 ranks for 4 tasks (some tasks split over ranks): the checkpoint that rank 0 writes
    /// after the gather holds each task's tensors exactly as its lead rank has them, and every
    /// rank ends with the same shared tensors.
    func testCheckpointGatherTakesEachTaskFromItsLeadRank() throws {
        let dir = Paths.temporaryDirectory()
        let (corpus, config) = (Self.corpus(), Self.config())
        let got = try ThreadCommunicator.run(ranks: 6) {
            c -> (lead: [String: [Float]], shared: [Float], tasks: [Int]) in
            let t = try Trainer(config: config, corpus: corpus, outDir: dir, resume: nil, communicator: c)
            // Tasks the rank does not run start from the seed's values, which the gather replaces.
            try t.run(observers: [])
            var lead: [String: [Float]] = [:]
            for m in t.hosted where t.placement.lead(of: m) == c.rank {
                for e in t.model.taskParameters[m].layout.entries {
                    lead[e.name] = t.model.taskParameters[m].array(e.name)
                }
            }
            return (
                lead, Array(UnsafeBufferPointer(start: t.model.shared.values, count: t.model.shared.count)), t.hosted
            )
        }
        XCTAssertEqual(Set(got.flatMap(\.tasks)), Set(0..<4), "every task is placed")
        XCTAssertTrue(got.allSatisfy { !$0.tasks.isEmpty }, "every rank works")
        XCTAssertGreaterThan(got.map(\.tasks.count).reduce(0, +), 4, "some tasks are split over ranks")
        let saved = try Checkpoint.load(dir + "/checkpoints/final").tensors
        var compared = 0
        for r in got {
            for (name, values) in r.lead {
                XCTAssertEqual(saved[name]?.values, values, name)
                compared += 1
            }
            XCTAssertEqual(r.shared, got[0].shared)
        }
        XCTAssertEqual(compared, saved.keys.filter { $0.hasPrefix("task.") }.count)
    }
}
