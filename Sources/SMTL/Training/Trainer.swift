import Foundation

/// One evaluation: per task, dev and test accuracy (percent).
public struct EvaluationReport: Sendable {
    public var step: Int
    public var tasks: [String]
    public var dev: [Double?]
    public var test: [Double?]
    /// The model-selection record after this evaluation (best dev so far and test at that point).
    public var bestDev: [Double?]
    public var testAtBestDev: [Double?]
}

/// What the trainer tells the outside world while it runs.
public protocol TrainingObserver: AnyObject {
    func started(_ trainer: Trainer)
    func stepped(_ trainer: Trainer, losses: [Float], tokensPerSecond: Double)
    func evaluated(_ trainer: Trainer, _ report: EvaluationReport)
    func saved(_ trainer: Trainer, checkpoint: String)
    func finished(_ trainer: Trainer)
}

/// Training in one process (SPEC §7): every task takes one mini-batch per global step, the shared
/// tensors get the summed gradient, and one optimizer update follows.
public final class Trainer {
    public let config: RunConfig
    public let corpus: Corpus
    public let model: Model<Float>
    public let optimizer: Optimizer<Float>
    public private(set) var samplers: [TaskSampler]
    public private(set) var state: TrainingState
    public let totalSteps: Int
    public let stepsPerEpoch: Int
    public let evalEvery: Int
    public let outDir: String
    public private(set) var pretrainedRows = 0
    public private(set) var lastLosses: [Float]

    public var labels: [String: [Int]] {
        Dictionary(uniqueKeysWithValues: corpus.tasks.map { ($0.name, $0.labels) })
    }

    /// A new run from a config.
    public convenience init(config: RunConfig, outDir: String) throws {
        let corpus = try Corpus.load(config)
        try self.init(config: config, corpus: corpus, outDir: outDir, resume: nil)
    }

    public init(config: RunConfig, corpus: Corpus, outDir: String, resume: Checkpoint.Loaded?) throws {
        self.config = config
        self.corpus = corpus
        self.outDir = outDir
        for t in corpus.tasks where t.train.isEmpty {
            throw InputError(file: config.resolve(config.tasks.first { $0.name == t.name }!.train), "no training examples left after hold-outs", task: t.name)
        }
        let dims = Dimensions(embedding: config.embeddingDim, hidden: config.hiddenDim, memoryRows: config.memoryRows,
                              memoryWidth: config.memoryWidth, vocabulary: corpus.vocabulary.count)
        if let resume {
            model = try Checkpoint.model(from: resume)
            precondition(model.dims == dims)
            optimizer = Optimizer(settings: config.optimizer, model: model)
            try Checkpoint.restore(optimizer, model: model, from: resume)
            state = resume.state
        } else {
            model = Model(architecture: config.architecture, dims: dims,
                          tasks: corpus.tasks.map { TaskSpec(name: $0.name, classes: $0.labels.count) })
            model.initialize(seed: config.seed)
            if let e = config.embeddings {
                pretrainedRows = try PretrainedEmbeddings.load(config.resolve(e), vocabulary: corpus.vocabulary,
                                                               into: model.shared.value("embedding.weight"), dimension: dims.embedding)
            }
            optimizer = Optimizer(settings: config.optimizer, model: model)
            state = TrainingState()
        }
        stepsPerEpoch = corpus.tasks.map { ($0.train.count + config.batchSize - 1) / config.batchSize }.max() ?? 1
        totalSteps = config.steps > 0 ? config.steps : config.epochs * stepsPerEpoch
        evalEvery = config.evalEvery > 0 ? config.evalEvery : stepsPerEpoch
        let st = state
        samplers = corpus.tasks.map {
            TaskSampler(count: $0.train.count, batchSize: config.batchSize, seed: config.seed, task: $0.name,
                        shuffle: config.shuffle, cursor: st.cursors[$0.name] ?? TaskCursor())
        }
        lastLosses = [Float](repeating: 0, count: corpus.tasks.count)
    }

    public var step: Int { state.step }

    /// One global step over every task; returns the per-task losses and the tokens processed.
    @discardableResult
    public func trainStep() -> (losses: [Float], tokens: Int) {
        var batches: [Batch?] = []
        var tokens = 0
        for (m, task) in corpus.tasks.enumerated() {
            let ids = samplers[m].next()
            let b = Batch(sequences: ids.map { task.train[$0].tokens }, labels: ids.map { task.train[$0].label })
            tokens += b.tokenCount
            batches.append(b)
        }
        let weights = config.tasks.map { Float($0.weight) }
        let losses = model.accumulateGradients(batches, weights: weights)
        optimizer.step(model)
        model.clearGradients()
        state.step += 1
        for (m, task) in corpus.tasks.enumerated() { state.cursors[task.name] = samplers[m].cursor }
        lastLosses = losses
        return (losses, tokens)
    }

    /// Dev and test accuracy of every task, and the per-task model-selection record.
    public func evaluate() -> EvaluationReport {
        var report = EvaluationReport(step: state.step, tasks: corpus.tasks.map(\.name), dev: [], test: [], bestDev: [], testAtBestDev: [])
        for (m, task) in corpus.tasks.enumerated() {
            let dev = Evaluation.accuracy(model.networks[m], task.dev)
            let test = Evaluation.accuracy(model.networks[m], task.test)
            report.dev.append(dev)
            report.test.append(test)
            if let dev, dev > (state.bestDev[task.name] ?? -1) {
                state.bestDev[task.name] = dev
                state.testAtBestDev[task.name] = test
                state.bestStep[task.name] = state.step
            }
            report.bestDev.append(state.bestDev[task.name])
            report.testAtBestDev.append(state.testAtBestDev[task.name])
        }
        return report
    }

    public func checkpointPath(_ name: String) -> String {
        ((outDir as NSString).appendingPathComponent("checkpoints") as NSString).appendingPathComponent(name)
    }

    public func save(_ name: String) throws -> String {
        let path = checkpointPath(name)
        try Checkpoint.write(to: path, model: model, optimizer: optimizer, vocabulary: corpus.vocabulary,
                             labels: labels, config: config, state: state)
        return path
    }

    /// Removes all but the newest `keepCheckpoints` step checkpoints.
    func pruneCheckpoints() {
        let dir = (outDir as NSString).appendingPathComponent("checkpoints")
        let steps = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("step-") }.sorted()
        for old in steps.dropLast(config.keepCheckpoints) {
            try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(old))
        }
    }

    /// Trains to the end of the schedule, evaluating, selecting and checkpointing on the way.
    public func run(observer: TrainingObserver? = nil) throws {
        observer?.started(self)
        if totalSteps == 0 {
            let path = try save("final")
            observer?.saved(self, checkpoint: path)
            observer?.finished(self)
            return
        }
        var windowTokens = 0
        var windowStart = DispatchTime.now().uptimeNanoseconds
        while state.step < totalSteps {
            let (losses, tokens) = trainStep()
            windowTokens += tokens
            let now = DispatchTime.now().uptimeNanoseconds
            let secs = Double(now - windowStart) / 1e9
            let tps = secs > 0 ? Double(windowTokens) / secs : 0
            observer?.stepped(self, losses: losses, tokensPerSecond: tps)
            if secs > 5 { windowTokens = 0; windowStart = now }
            if state.step % evalEvery == 0 || state.step == totalSteps {
                let report = evaluate()
                let devs = report.dev.compactMap { $0 }
                let meanDev = devs.isEmpty ? 0 : devs.reduce(0, +) / Double(devs.count)
                let improved = meanDev > state.bestMeanDev
                if improved { state.bestMeanDev = meanDev }
                observer?.evaluated(self, report)
                if improved {
                    let path = try save("best")
                    observer?.saved(self, checkpoint: path)
                }
                windowTokens = 0; windowStart = DispatchTime.now().uptimeNanoseconds
            }
            if config.checkpointEvery > 0 && state.step % config.checkpointEvery == 0 {
                let path = try save(String(format: "step-%08d", state.step))
                observer?.saved(self, checkpoint: path)
                pruneCheckpoints()
            }
        }
        let path = try save("final")
        observer?.saved(self, checkpoint: path)
        observer?.finished(self)
    }
}
