import Foundation
import XCTest
@testable import SMTL

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
                s.reduceSharedGradients()
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

    /// k ranks serving one task walk one order together: their slices of a step are disjoint,
    /// together they are the k·batch examples a single walker takes, and their cursors agree.
    func testShardedSamplingPartitionsTheSteps() {
        let k = 3
        var whole = TaskSampler(count: 40, batchSize: 4 * k, seed: 1, task: "a", shuffle: true)
        var shards = (0..<k).map { j in
            TaskSampler(count: 40, batchSize: 4, seed: 1, task: "a", shuffle: true, shard: (j, k))
        }
        for step in 0..<9 {  // across three epochs
            let all = whole.next()
            let parts = (0..<k).map { shards[$0].next() }
            XCTAssertEqual(parts.flatMap { $0 }, all, "step \(step)")
            for p in parts { XCTAssertEqual(p.count, 4) }
            for s in shards { XCTAssertEqual(s.cursor, whole.cursor) }
        }
    }

    static func corpus() -> Corpus {
        var rng = SplitMix64(seed: 77)
        func examples(_ n: Int, classes: Int) -> [EncodedExample] {
            (0..<n).map { _ in
                let label = rng.below(classes)
                // Label-dependent tokens, so training has something to learn.
                let tokens = (0..<(2 + rng.below(7))).map { _ in Int32(1 + label * 8 + rng.below(10)) }
                return EncodedExample(tokens: tokens, label: label)
            }
        }
        let tasks = Self.specs.enumerated().map { m, spec in
            TaskData(
                name: spec.name, labels: Array(0..<spec.classes), train: examples(20 + 6 * m, classes: spec.classes),
                dev: examples(8, classes: spec.classes), test: examples(8, classes: spec.classes))
        }
        return Corpus(
            vocabulary: Vocabulary(words: [Vocabulary.unknownToken] + (1..<Self.dims.vocabulary).map { "w\($0)" }),
            tasks: tasks)
    }

    static func config() -> RunConfig {
        var c = RunConfig()
        c.name = "threads"
        c.architecture = .arc2
        (c.embeddingDim, c.hiddenDim, c.memoryRows, c.memoryWidth) = (4, 5, 3, 2)
        c.batchSize = 4
        c.steps = 12
        c.evalEvery = 6
        c.seed = 3
        c.optimizer.learningRate = 0.1
        c.tasks = Self.specs.map { TaskConfig(name: $0.name, train: "-") }
        return c
    }

    /// Whole training runs on 1 process and on 2 and 4 rank threads (N ≤ T) end with the same
    /// parameters (as with mpirun); the same N twice gives the same bits.
    func testTrainersOnThreadsAgreeWithOneProcess() throws {
        let dir = Paths.temporaryDirectory()
        let (corpus, config) = (Self.corpus(), Self.config())
        try Trainer(config: config, corpus: corpus, outDir: dir + "/one", resume: nil).run(observers: [])
        let one = try Checkpoint.load(dir + "/one/checkpoints/final").tensors
        for (ranks, name) in [(2, "two"), (4, "four"), (4, "four-again")] {
            _ = try ThreadCommunicator.run(ranks: ranks) { c in
                try Trainer(config: config, corpus: corpus, outDir: dir + "/" + name, resume: nil, communicator: c)
                    .run(observers: [])
            }
            let got = try Checkpoint.load(dir + "/\(name)/checkpoints/final").tensors
            var worst = 0.0
            for (k, t) in one {
                let d = zip(t.values, got[k]!.values).map { Double(abs($0 - $1)) }.max() ?? 0
                worst = max(worst, d / Double(max(t.values.map { abs($0) }.max() ?? 1, 1e-30)))
            }
            print("threads: \(ranks) ranks against 1 process after 12 steps, worst relative difference \(worst)")
            XCTAssertLessThanOrEqual(worst, 1e-5, name)
        }
        XCTAssertEqual(
            FileManager.default.contents(atPath: dir + "/four/checkpoints/final/model.safetensors"),
            FileManager.default.contents(atPath: dir + "/four-again/checkpoints/final/model.safetensors"))
    }

    /// 6 ranks for 4 tasks (two tasks served by two ranks each): the checkpoint that rank 0 writes
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
        XCTAssertEqual(Set(got.map(\.tasks)).count, 4, "every task is placed")
        XCTAssertEqual(got.filter { $0.tasks.count == 1 }.count, 6)
        XCTAssertEqual(got.map(\.tasks).flatMap { $0 }.count, 6, "two tasks get a second rank")
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
