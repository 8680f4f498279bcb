import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// Times the training step (forward, backward and update) of one architecture on synthetic
/// token sequences: `smtl bench`.
public struct BenchmarkResult: Sendable {
    public var architecture: Architecture
    public var lengths: ClosedRange<Int>
    public var steps: Int
    public var tokens: Int
    public var seconds: Double
    public var tokensPerSecond: Double { Double(tokens) / seconds }
}

extension Architecture {
    /// Model multiply-adds per token of the forward pass: the LSTM's products 4d(E + d); with a
    /// fusion gate 2dW + d² (SPEC §4); per memory block with controller width u, the control 3W·u
    /// and K·W for each of the addressing's dot products and norms, the read and the write's erase
    /// and add (5K·W). The classifier, once per sequence, and the element-wise activations are
    /// left out.
    public func forwardMACsPerToken(_ dims: Dimensions) -> Int {
        let (e, d, k, w) = (dims.embedding, dims.hidden, dims.memoryRows, dims.memoryWidth)
        var macs = 4 * d * (e + d)
        if hasFusion { macs += 2 * d * w + d * d }
        if hasLocalMemory { macs += 3 * w * d + 5 * k * w }
        if hasGlobalMemory { macs += 3 * w * globalControllerWidth(dims) + 5 * k * w }
        return macs
    }

    /// Training FLOPs per token: forward 2·MACs, backward twice the forward.
    public func trainingFLOPsPerToken(_ dims: Dimensions) -> Int { 6 * forwardMACsPerToken(dims) }
}

public enum Benchmark {
    /// The machine's single-call sgemm rate in FLOP/s (C = A·B, n×n by n×n, on the calling
    /// thread's BLAS), the yardstick of `smtl bench`'s "of sgemm" column.
    public static func sgemmRate(n: Int = 512, minSeconds: Double = 1) -> Double {
        var rng = SplitMix64(seed: 3)
        let a = (0..<(n * n)).map { _ in Float(rng.uniform(-1, 1)) }
        let b = (0..<(n * n)).map { _ in Float(rng.uniform(-1, 1)) }
        var c = [Float](repeating: 0, count: n * n)
        func once() {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        Float.gemm(
                            false, false, n, n, n, 1, pa.baseAddress!, n, pb.baseAddress!, n, 0, pc.baseAddress!, n)
                    }
                }
            }
        }
        once()
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < minSeconds || calls < 3 {
            once()
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return 2 * Double(n * n * n) * Double(calls) / elapsed
    }

    public static func run(
        architecture: Architecture, dims: Dimensions, batchSize: Int, lengths: ClosedRange<Int>,
        optimizer: OptimizerSettings.Kind = .adagrad, warmup: Int = 3, minSeconds: Double = 2,
        maxSteps: Int = 10_000, seed: UInt64 = 1
    ) -> BenchmarkResult {
        let c = BenchmarkCase(
            architecture: architecture, dims: dims, batchSize: batchSize, lengths: lengths, optimizer: optimizer,
            warmup: warmup, seed: seed)
        return c.time(minSeconds: minSeconds, maxSteps: maxSteps)
    }
}

/// One case of `smtl bench`: a model, its optimizer and a pool of pre-built batches, so that the
/// timing holds only the training step. `time` can be called again (the variants of
/// `smtl bench --recurrent both` alternate on one case in short rounds, so that the machine's
/// drift touches both alike).
public final class BenchmarkCase {
    let architecture: Architecture
    let lengths: ClosedRange<Int>
    let model: Model<Float>
    let opt: Optimizer<Float>
    let sync: GradientSync<Float>
    let batches: [Batch]
    var next = 0

    public init(
        architecture: Architecture, dims: Dimensions, batchSize: Int, lengths: ClosedRange<Int>,
        optimizer: OptimizerSettings.Kind = .adagrad, warmup: Int = 3, seed: UInt64 = 1
    ) {
        self.architecture = architecture
        self.lengths = lengths
        model = Model<Float>(architecture: architecture, dims: dims, tasks: [TaskSpec(name: "bench", classes: 2)])
        model.initialize(seed: seed)
        var settings = OptimizerSettings()
        settings.kind = optimizer
        opt = Optimizer(settings: settings, model: model)
        sync = GradientSync(model: model)
        var rng = SplitMix64(seed: seed)
        batches = (0..<16).map { _ in
            let seqs = (0..<batchSize).map { _ in
                (0..<(lengths.lowerBound + rng.below(lengths.count))).map { _ in Int32(rng.below(dims.vocabulary)) }
            }
            return Batch(sequences: seqs, labels: seqs.map { _ in rng.below(2) })
        }
        for _ in 0..<warmup { step() }
    }

    @discardableResult func step() -> Int {
        let b = batches[next % batches.count]
        next += 1
        model.accumulateGradients([b])
        sync.reduceSharedGradients()
        opt.step(model, embeddingRows: sync.rows)
        model.clearGradients()
        return b.tokenCount
    }

    /// Steps for at least `minSeconds` (and at least 3 steps).
    public func time(minSeconds: Double, maxSteps: Int = 10_000) -> BenchmarkResult {
        var tokens = 0, steps = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while steps < maxSteps && (elapsed < minSeconds || steps < 3) {
            tokens += step()
            steps += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return BenchmarkResult(
            architecture: architecture, lengths: lengths, steps: steps, tokens: tokens, seconds: elapsed)
    }
}
