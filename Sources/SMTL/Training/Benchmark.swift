import Foundation

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

public enum Benchmark {
    public static func run(
        architecture: Architecture, dims: Dimensions, batchSize: Int, lengths: ClosedRange<Int>,
        optimizer: OptimizerSettings.Kind = .adagrad, warmup: Int = 3, minSeconds: Double = 2,
        maxSteps: Int = 10_000, seed: UInt64 = 1
    ) -> BenchmarkResult {
        let model = Model<Float>(architecture: architecture, dims: dims, tasks: [TaskSpec(name: "bench", classes: 2)])
        model.initialize(seed: seed)
        var settings = OptimizerSettings()
        settings.kind = optimizer
        let opt = Optimizer(settings: settings, model: model)
        let sync = GradientSync(model: model)
        var rng = SplitMix64(seed: seed)
        // A pool of pre-built batches, so the timing holds only the training step.
        let batches: [Batch] = (0..<16).map { _ in
            let seqs = (0..<batchSize).map { _ in
                (0..<(lengths.lowerBound + rng.below(lengths.count))).map { _ in Int32(rng.below(dims.vocabulary)) }
            }
            return Batch(sequences: seqs, labels: seqs.map { _ in rng.below(2) })
        }
        func step(_ b: Batch) {
            model.accumulateGradients([b])
            sync.reduceSharedGradients()
            opt.step(model, embeddingRows: sync.rows)
            model.clearGradients()
        }
        for i in 0..<warmup { step(batches[i % batches.count]) }
        var tokens = 0, steps = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while steps < maxSteps && (elapsed < minSeconds || steps < 3) {
            let b = batches[steps % batches.count]
            step(b)
            tokens += b.tokenCount
            steps += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return BenchmarkResult(
            architecture: architecture, lengths: lengths, steps: steps, tokens: tokens, seconds: elapsed)
    }
}
