import ArgumentParser
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLSupport
import SMTLTraining

struct Bench: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the training step (forward, backward, update) of each architecture, in tokens per second.",
        discussion:
            "Synthetic token ids; build with `swift build -c release` and run with OPENBLAS_NUM_THREADS=1 "
            + "for one-core figures. FLOP/token counts the model's products and memory operations (forward and "
            + "backward); \"of sgemm\" is the rate it reaches as a share of one 512x512x512 sgemm on the same "
            + "thread. SMTL_KERNELS=baseline|avx2|avx512 caps the memory kernels' instruction set."
    )

    @Option(help: "Sequences per batch.") var batchSize = 16
    @Option(help: "Embedding width E.") var embedding = 100
    @Option(help: "Hidden width d.") var hidden = 100
    @Option(help: "Memory rows K.") var memoryRows = 50
    @Option(help: "Memory row width W.") var memoryWidth = 20
    @Option(help: "Vocabulary size.") var vocabulary = 20_000
    @Option(help: "Seconds to time each case.") var seconds = 3.0
    @Option(
        help:
            "Only these architectures, comma-separated (\(Bench.choices)).",
        transform: Bench.architectureList)
    var architectures: [Architecture] = Architecture.allCases
    @Option(help: "Optimizer.") var optimizer = OptimizerSettings.Kind.adagrad
    @Option(
        help: ArgumentHelp(
            "The LSTM's forward recurrent product h·W_hhᵀ: transposed (over W_hhᵀ transposed once per batch), "
                + "blas (the reference, over W_hh), or both (each case timed with both, alternating in rounds "
                + "of 0.25 s). "
                + "Default: the start-up choice (SMTL_RECURRENT)."))
    var recurrent: RecurrentChoice?

    enum RecurrentChoice: String, ExpressibleByArgument, CaseIterable { case transposed, blas, both }

    static let choices = Architecture.allCases.map(\.rawValue).joined(separator: ", ")

    static func architectureList(_ s: String) throws -> [Architecture] {
        try s.split(separator: ",").map { n in
            guard let a = Architecture(rawValue: String(n)) else {
                throw ValidationError(
                    "unknown architecture '\(n)'; choose from \(choices)"
                )
            }
            return a
        }
    }

    func execute() throws {
        try requireRange("--batch-size", batchSize, 1...4096)
        try requireRange("--embedding", embedding, 1...4096)
        try requireRange("--hidden", hidden, 1...4096)
        try requireRange("--memory-rows", memoryRows, 1...1024)
        try requireRange("--memory-width", memoryWidth, 1...1024)
        try requireRange("--vocabulary", vocabulary, 1...1_000_000)
        try requireRange("--seconds", seconds, 0.01...3600)
        let (opt, archs) = (optimizer, architectures)
        let dims = Dimensions(
            embedding: embedding, hidden: hidden, memoryRows: memoryRows, memoryWidth: memoryWidth,
            vocabulary: vocabulary)
        let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset"
        print(
            "smtl bench: batch \(batchSize), E=\(embedding) d=\(hidden), memory \(memoryRows)x\(memoryWidth), "
                + "vocabulary \(vocabulary), \(opt.rawValue), OPENBLAS_NUM_THREADS=\(threads)\n"
                + "  \(BLASLibrary.summary); recurrent products \(RecurrentProducts.name)"
        )
        let sgemm = Benchmark.sgemmRate(minSeconds: min(1, seconds))
        print(String(format: "  sgemm 512x512x512 on this thread: %.1f GFLOP/s", sgemm / 1e9))
        print(
            pad("model", 8) + " " + pad("length", 18) + " " + pad("steps", 8, left: true) + " "
                + pad("tokens", 10, left: true) + " " + pad("tokens/s", 12, left: true) + " "
                + pad("FLOP/token", 11, left: true) + " " + pad("GFLOP/s", 8, left: true) + " "
                + pad("of sgemm", 9, left: true))
        let variants: [Bool] =
            switch recurrent {
            case nil: [RecurrentProducts.transposedOnce]
            case .transposed: [true]
            case .blas: [false]
            case .both: [true, false]
            }
        let startUp = RecurrentProducts.transposedOnce
        defer { RecurrentProducts.transposedOnce = startUp }
        for a in archs {
            for (label, range) in [("sentence", 10...30), ("document", 200...400)] {
                let c = BenchmarkCase(architecture: a, dims: dims, batchSize: batchSize, lengths: range, optimizer: opt)
                var results = [BenchmarkResult?](repeating: nil, count: variants.count)
                let round = variants.count > 1 ? 0.25 : seconds
                var spent = 0.0
                repeat {
                    for (k, v) in variants.enumerated() {
                        RecurrentProducts.transposedOnce = v
                        let r = c.time(minSeconds: round)
                        if var sum = results[k] {
                            sum.steps += r.steps
                            sum.tokens += r.tokens
                            sum.seconds += r.seconds
                            results[k] = sum
                        } else {
                            results[k] = r
                        }
                        spent += r.seconds
                    }
                } while spent < seconds * Double(variants.count)
                let flops = a.trainingFLOPsPerToken(dims)
                for (k, v) in variants.enumerated() {
                    guard let r = results[k] else { continue }
                    let rate = Double(flops) * r.tokensPerSecond
                    let name = variants.count > 1 ? a.displayName + (v ? " W^T" : " ref") : a.displayName
                    print(
                        pad(name, 8) + " " + pad("\(label) \(range.lowerBound)-\(range.upperBound)", 18)
                            + String(
                                format: " %8d %10d %12.0f %11d %8.1f %8.0f%%", r.steps, r.tokens, r.tokensPerSecond,
                                flops, rate / 1e9, 100 * rate / sgemm))
                }
                fflush(stdout)
            }
        }
    }
}
