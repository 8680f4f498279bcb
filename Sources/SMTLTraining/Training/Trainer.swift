import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// One evaluation: per task, dev and test accuracy (percent).
public struct EvaluationReport: Sendable {
    public var step: Int
    public var tasks: [String]
    public var dev: [Double?]
    public var test: [Double?]
    /// The model-selection record after this evaluation (best dev so far and test at that point).
    public var bestDev: [Double?]
    public var testAtBestDev: [Double?]
    /// The step of each task's best dev accuracy so far.
    public var bestStep: [Int?] = []
    /// Step time and communication share of every rank since the previous evaluation.
    public var timing: RankTiming? = nil
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
    /// The run folder: checkpoints, results, fine-tuning.
    public let folder: RunFolder
    public var outDir: String { folder.path }
    public private(set) var pretrainedRows = 0
    /// The vector files of a new run and what each filled (nil: random init, or resumed).
    public private(set) var vectors: PretrainedEmbeddings.Report?
    /// The safetensors file the initial weights came from (`--init-from`), if any.
    public private(set) var initFrom: String?
    public private(set) var lastLosses: [Float]
    /// Everything that crosses ranks: placement, gradient sync, replicas, checkpoint gather.
    public let sync: GradientSync<Float>
    /// The placement of tasks on ranks, and this rank's tasks.
    public var placement: Placement { sync.placement }
    public var hosted: [Int] { sync.hosted }
    /// The number of ranks in the run.
    public var ranks: Int { sync.world.size }
    public var rank: Int { sync.world.rank }
    /// The timing of the last step.
    public private(set) var lastStep = StepTiming.Sample()
    /// Some rank asked to stop at the last step.
    private var stopAgreed = false
    /// The task whose loss became non-finite at the last step (its update was not applied).
    public private(set) var diverged: (task: Int, loss: Float)?
    /// Model selection and early stopping: what each evaluation decides.
    public let selection: ModelSelection
    /// Makes each step's plan: which examples this rank runs, the loans, the rows the step touches.
    let planner: StepPlanner

    public var labels: [String: [Int]] {
        Dictionary(uniqueKeysWithValues: corpus.tasks.map { ($0.name, $0.labels) })
    }

    /// A new run from a config.
    public convenience init(config: RunConfig, outDir: String, communicator: Communicator = LocalCommunicator()) throws
    {
        let corpus = try Corpus.load(config)
        try self.init(config: config, corpus: corpus, outDir: outDir, resume: nil, communicator: communicator)
    }

    public init(
        config: RunConfig, corpus: Corpus, outDir: String, resume: Checkpoint.Loaded?,
        initFrom: String? = nil, communicator: Communicator = LocalCommunicator()
    ) throws {
        let config = try config.resolvingVectorWidth(source: "the run config")
        self.config = config
        self.corpus = corpus
        folder = RunFolder(outDir)
        for t in corpus.tasks where t.train.isEmpty {
            throw InputError(
                file: config.resolve(config.tasks.first { $0.name == t.name }!.train),
                "no training examples left after hold-outs", task: t.name)
        }
        try config.checkSizes(vocabulary: corpus.vocabulary.count, tasks: corpus.tasks.count, source: "the run config")
        let start = try InitialModel(config: config, corpus: corpus, resume: resume, initFrom: initFrom)
        (model, optimizer, state, vectors) = (start.model, start.optimizer, start.state, start.vectors)
        if let resume { try ResumeCheck.checkData(resume, corpus: corpus) }
        for t in corpus.tasks { state.data.merge(t.fingerprints) { _, now in now } }
        pretrainedRows = vectors?.rows ?? 0
        self.initFrom = resume == nil ? initFrom : nil
        let batchesPerTask = corpus.tasks.map { ($0.train.count + config.batchSize - 1) / config.batchSize }
        // Every task every step: an epoch is a pass over the largest task. One task a step: a
        // pass over every task's data.
        stepsPerEpoch =
            config.taskSchedule == .all ? batchesPerTask.max() ?? 1 : max(batchesPerTask.reduce(0, +), 1)
        totalSteps = config.steps > 0 ? config.steps : config.epochs * stepsPerEpoch
        evalEvery = config.evalEvery > 0 ? config.evalEvery : stepsPerEpoch
        let placement = Placement(
            examples: corpus.tasks.map(\.train.count),
            meanLength: corpus.tasks.map { Double($0.trainTokens) / Double(max($0.train.count, 1)) },
            batchSize: config.batchSize, ranks: communicator.size, strategy: config.placement, scaling: config.scaling,
            lending: config.lending)
        sync = GradientSync(model: model, world: communicator, placement: placement)
        selection = ModelSelection(
            tasks: corpus.tasks.map(\.name), patience: config.patience, taskPatience: config.taskPatience)
        planner = StepPlanner(
            placement: placement, rank: communicator.rank, scaling: config.scaling, vocabulary: model.dims.vocabulary)
        let st = state
        samplers = corpus.tasks.map { task in
            TaskSampler(
                count: task.train.count, batchSize: config.batchSize, seed: config.seed, task: task.name,
                shuffle: config.shuffle, cursor: st.cursors[task.name] ?? TaskCursor())
        }
        lastLosses = [Float](repeating: 0, count: corpus.tasks.count)
        if communicator.size > 1 {
            // Identical replicas from the first step: rank 0's shared tensors (and, on resume,
            // optimizer state) go to every rank, then the checksums are compared.
            sync.broadcastShared(optimizerState: optimizer.state(ofSet: ParameterSets.shared))
            try sync.checkReplicas(step: state.step)
        }
    }

    /// Brings every task's tensors and optimizer state from its lead rank to all ranks, so that
    /// any rank holds the whole model (for checkpoints).
    public func gatherTasks() {
        sync.gatherTasks(optimizerState: corpus.tasks.indices.map { optimizer.state(ofSet: ParameterSets.task($0)) })
    }

    public var step: Int { state.step }

    /// One global step over every task (SPEC §7); returns the per-task losses and the tokens
    /// processed (over all ranks). The step's plan says which examples this rank runs;
    /// `GradientSync` performs the step's collectives (the loans, then one fused reduction),
    /// and the optimizer applies the step's gradient.
    @discardableResult
    public func trainStep() -> (losses: [Float], tokens: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        // Every rank draws every task's step batch, so the data cursors (saved by rank 0) are the
        // same everywhere and every rank knows the embedding rows the step touches and how long
        // every example is.
        let active = activeTasks()
        let draws = corpus.tasks.indices.map { active[$0] ? samplers[$0].next(count: placement.stepBatch[$0]) : [] }
        let plan = planner.plan(step: state.step + 1, draws: draws, active: active) { m, i in
            corpus.tasks[m].train[i].tokens
        }
        sync.beginStep(plan)
        let (batches, weights, dropout, tokens) = assemble(plan)
        let cost = batches.reduce(0.0) { $0 + ($1.map { Placement.batchCost($0.lengths) } ?? 0) }
        let computeStart = DispatchTime.now().uptimeNanoseconds
        var local = model.accumulateGradients(batches, weights: weights, dropout: dropout)
        let computeEnd = DispatchTime.now().uptimeNanoseconds
        for m in local.indices where plan.share(m) != 1 { local[m] *= plan.share(m) }
        let reduced = sync.synchronize(
            plan, localLosses: local, tokens: tokens, stopRequested: Trainer.stopRequested != 0)
        let commEnd = DispatchTime.now().uptimeNanoseconds
        // Every rank has the same reduced losses, so every rank stops here alike.
        if let m = reduced.losses.firstIndex(where: { !$0.isFinite }) {
            diverged = (m, reduced.losses[m])
            model.clearGradients()
            lastLosses = reduced.losses
            return (lastLosses, reduced.tokens)
        }
        // Tasks that did not train this step (another task's turn, or stopped) keep their tensors
        // and optimizer state as they are.
        let skip = frozenSets.union(active.indices.filter { !active[$0] }.map(ParameterSets.task))
        let sets = skip.isEmpty ? sync.updatedSets : sync.updatedSets.filter { !skip.contains($0) }
        optimizer.step(model, embeddingRows: sync.rows, sets: sets)
        model.clearGradients(tasks: plan.cleared)
        state.step += 1
        for (m, task) in corpus.tasks.enumerated() { state.cursors[task.name] = samplers[m].cursor }
        lastLosses = reduced.losses
        stopAgreed = reduced.stop
        let end = DispatchTime.now().uptimeNanoseconds
        lastStep = StepTiming.Sample(
            seconds: Double(end - start) / 1e9, communication: Double(commEnd - computeEnd) / 1e9,
            compute: Double(computeEnd - computeStart) / 1e9, lent: !plan.loans.isEmpty, cost: cost)
        if lastStep.lent { loanSteps += 1 }
        return (lastLosses, reduced.tokens)
    }

    /// This rank's batches of the step (nil: a task it does not run), each task's weight in the
    /// summed loss, the dropout masks' seeds, and the rank's tokens.
    func assemble(_ plan: StepPlan) -> (batches: [Batch?], weights: [Float], dropout: [Dropout?]?, tokens: Int) {
        var batches = [Batch?](repeating: nil, count: corpus.tasks.count)
        var weights = [Float](repeating: 0, count: corpus.tasks.count)
        var dropout: [Dropout?]? = nil
        var tokens = 0
        let dropping = config.dropoutEmbedding > 0 || config.dropoutHidden > 0 || config.dropoutRead > 0
        for (m, task) in corpus.tasks.enumerated() {
            let mine = plan.examples(m)
            if mine.isEmpty { continue }
            let b = Batch(sequences: mine.map { task.train[$0].tokens }, labels: mine.map { task.train[$0].label })
            tokens += b.tokenCount
            batches[m] = b
            if dropping {
                // One seed per example and step: the same masks wherever the example runs.
                if dropout == nil { dropout = [Dropout?](repeating: nil, count: corpus.tasks.count) }
                let taskSeed = deriveSeed(config.seed, stableHash(task.name), UInt64(state.step))
                dropout![m] = Dropout(
                    embedding: config.dropoutEmbedding, hidden: config.dropoutHidden, read: config.dropoutRead,
                    seeds: mine.map { deriveSeed(taskSeed, UInt64($0)) })
            }
            // λ_m times the rank's share of the task's batch: the shares' gradients sum to the
            // gradient of λ_m × the mean loss over the whole batch (SPEC §7).
            let share = plan.share(m)
            weights[m] = share == 1 ? Float(config.tasks[m].weight) : Float(config.tasks[m].weight) * share
        }
        return (batches, weights, dropout, tokens)
    }

    /// Steps in which some rank lent a task to another (since the start of this process).
    public private(set) var loanSteps = 0

    /// Runs `body` in a phase whose collectives may wait longer than a step's.
    func phase<T>(_ p: CollectivePhase, _ body: () throws -> T) rethrows -> T { try sync.during(p, body) }

    /// Notes settings that changed on resume (kept in the state, written to results.json).
    public func recordConfigChanges(_ lines: [String]) {
        state.configChanges += lines.map { "from step \(state.step): \($0)" }
    }

    /// The tasks that train at the current step: every task that has not stopped (`task_patience`),
    /// or with a one-task schedule, the one drawn for the step (the same draw on every rank).
    public func activeTasks() -> [Bool] {
        let running = corpus.tasks.map { !state.stoppedTasks.contains($0.name) }
        if config.taskSchedule == .all { return running }
        let candidates = running.indices.filter { running[$0] }
        guard !candidates.isEmpty else { return running }
        var rng = SplitMix64(seed: deriveSeed(config.seed, stableHash("task-schedule"), UInt64(state.step)))
        var pick = candidates[0]
        switch config.taskSchedule {
        case .all: break
        case .uniform: pick = candidates[rng.below(candidates.count)]
        case .proportional:
            let sizes = candidates.map { Double(corpus.tasks[$0].train.count) }
            var u = Double(rng.next() >> 11) * 0x1p-53 * sizes.reduce(0, +)
            pick = candidates.last!
            for (c, size) in zip(candidates, sizes) {
                if u < size { pick = c; break }
                u -= size
            }
        }
        return corpus.tasks.indices.map { $0 == pick }
    }

    /// Dev accuracy of every task, the test accuracy of the tasks whose dev accuracy improved (or
    /// of every task with `always_test`), and the per-task model-selection record. Only the test
    /// accuracy at a task's best dev evaluation is ever reported, so skipping the others saves
    /// time (IMDB's test set is 25,000 documents) and changes no result. With `ema_decay`, the
    /// moving average of the weights is what is evaluated (and what `best` holds).
    public func evaluate() -> EvaluationReport {
        optimizer.withAverage(model, sets: sync.updatedSets) { evaluateWeights() }
    }

    func evaluateWeights() -> EvaluationReport {
        var report = EvaluationReport(
            step: state.step, tasks: corpus.tasks.map(\.name), dev: [], test: [], bestDev: [], testAtBestDev: [])
        // Each task is evaluated by its lead rank, and every rank gets the lead's numbers: first
        // dev, then test where needed.
        let devs = sync.fromLeads(
            corpus.tasks.indices.map { m in
                sync.leads(m) ? Evaluation.accuracy(model.networks[m], corpus.tasks[m].dev) : nil
            })
        let improved = corpus.tasks.indices.map { selection.improves($0, dev: devs[$0], state) }
        let tests = sync.fromLeads(
            corpus.tasks.enumerated().map { m, task in
                sync.leads(m) && (improved[m] || config.alwaysTest || task.dev.isEmpty)
                    ? Evaluation.accuracy(model.networks[m], task.test) : nil
            })
        report.dev = devs
        report.test = tests
        selection.record(&report, improved: improved, into: &state)
        return report
    }

    /// Writes a checkpoint (collective: every rank calls it; rank 0 writes). It does not depend
    /// on the placement: the shared tensors and each task's tensors are written once.
    public func save(_ name: String) throws -> String {
        let path = folder.checkpoint(name)
        // Never a checkpoint with non-finite values: every rank checks the tensors it updates.
        let local = sync.updatedSets.contains { k in
            let set = model.parameterSets[k]
            return !UnsafeBufferPointer(start: set.values, count: set.count).allSatisfy(\.isFinite)
        }
        if sync.anyRank(local) {
            throw DivergenceError(
                step: state.step, task: nil, loss: nil, learningRate: config.optimizer.learningRate,
                lastCheckpoint: folder.lastGoodCheckpoint)
        }
        gatherTasks()
        var failure: Error?
        if sync.isRoot {
            do {
                try Checkpoint.write(
                    to: path, model: model, optimizer: optimizer, vocabulary: corpus.vocabulary,
                    labels: labels, config: config, state: state)
            } catch {
                failure = error
            }
        }
        let failed = sync.anyRank(failure != nil)
        if let failure { throw failure }
        if failed {
            throw DistributedError(
                rank: rank, task: nil, message: "rank 0 could not write checkpoint \(path)",
                hint: "see rank 0's message")
        }
        return path
    }

    /// Removes all but the newest `keepCheckpoints` step checkpoints (rank 0).
    func pruneCheckpoints() {
        if sync.isRoot { folder.prune(keep: config.keepCheckpoints) }
    }

    /// Trains to the end of the schedule, evaluating, selecting and checkpointing on the way.
    public func run(observer: TrainingObserver? = nil) throws {
        try run(observers: observer.map { [$0] } ?? [])
    }

    /// Set by `stop()` (for example from a SIGTERM handler): the run writes a checkpoint at the
    /// next step boundary, on every rank, and returns.
    nonisolated(unsafe) public static var stopRequested: Int32 = 0

    /// The stop signals' handler (async-signal-safe: flags and write(2) only). The first signal asks
    /// for a checkpoint at the next step boundary; a second Ctrl-C ends the process at once.
    public static func stopSignal(_ sig: Int32) {
        if stopRequested != 0 && sig == SIGINT {
            let m =
                "\nsmtl: second interrupt: ending now, without a checkpoint; the steps since the last step "
                + "checkpoint are lost (resume from it with --resume auto)\n"
            _ = m.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            RunLock.releaseFromSignalHandler()
            _exit(130)
        }
        if stopRequested == 0 && sig == SIGINT {
            let m =
                "\nsmtl: interrupt: stopping at the next step boundary with a checkpoint (Ctrl-C again ends at "
                + "once, losing the steps since the last checkpoint)\n"
            _ = m.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
        stopRequested = 1
    }
    public private(set) var stoppedEarly = false
    /// The run ended before its budget because the mean dev accuracy stopped improving.
    public private(set) var stoppedByPatience = false

    /// A run resumed from its `final` checkpoint has budget left (a larger `--steps` or `epochs`
    /// than it had) and did not end by early stopping: training can go on from there.
    public var canContinue: Bool { state.step < totalSteps && !selection.finished(state) }

    /// Trains to the end of the schedule, evaluating, selecting and checkpointing on the way.
    public func run(observers: [TrainingObserver]) throws {
        observers.forEach { $0.started(self) }
        func saved(_ path: String) { observers.forEach { $0.saved(self, checkpoint: path) } }
        if totalSteps == 0 {
            saved(try phase(.checkpoint) { try save("final") })
            observers.forEach { $0.finished(self) }
            return
        }
        var windowTokens = 0
        var windowStart = DispatchTime.now().uptimeNanoseconds
        var timing = StepTiming()
        var clock = DispatchTime.now().uptimeNanoseconds
        func tick() {
            let now = DispatchTime.now().uptimeNanoseconds
            state.trainingSeconds += Double(now - clock) / 1e9
            clock = now
        }
        while state.step < totalSteps {
            let (losses, tokens) = trainStep()
            if let (m, loss) = diverged {
                throw DivergenceError(
                    step: state.step + 1, task: corpus.tasks[m].name, loss: loss,
                    learningRate: config.optimizer.learningRate, lastCheckpoint: folder.lastGoodCheckpoint)
            }
            tick()
            timing.add(lastStep)
            windowTokens += tokens
            let now = DispatchTime.now().uptimeNanoseconds
            let secs = Double(now - windowStart) / 1e9
            let tps = secs > 0 ? Double(windowTokens) / secs : 0
            observers.forEach { $0.stepped(self, losses: losses, tokensPerSecond: tps) }
            if secs > 5 { windowTokens = 0; windowStart = now }
            if state.step % evalEvery == 0 || state.step == totalSteps {
                var report = phase(.evaluation) { evaluate() }
                report.timing = gatherTiming(timing)
                timing = StepTiming()
                let decision = selection.decide(after: report, &state)
                observers.forEach { $0.evaluated(self, report) }
                for name in decision.stoppedTasks where sync.isRoot && !observers.isEmpty {
                    print("task \(name) stopped: no new best dev accuracy for \(config.taskPatience) evaluations")
                }
                // `best` holds the weights that were evaluated: with `ema_decay`, their average.
                if decision.saveBest {
                    saved(
                        try phase(.checkpoint) {
                            try optimizer.withAverage(model, sets: sync.updatedSets) { try save("best") }
                        })
                }
                windowTokens = 0; windowStart = DispatchTime.now().uptimeNanoseconds
                tick()
                if decision.stopRun {
                    stoppedByPatience = true
                    break
                }
            }
            if config.checkpointEvery > 0 && state.step % config.checkpointEvery == 0 {
                saved(try phase(.checkpoint) { try save(RunFolder.stepName(state.step)) })
                pruneCheckpoints()
            }
            if replicaCheckEvery > 0 && state.step % replicaCheckEvery == 0 { try sync.checkReplicas(step: state.step) }
            // A stop request on any rank (agreed in the step's sync) stops every rank at this step.
            if stopAgreed {
                stoppedEarly = true
                saved(try phase(.checkpoint) { try save(RunFolder.stepName(state.step)) })
                pruneCheckpoints()
                observers.forEach { $0.finished(self) }
                return
            }
        }
        saved(try phase(.checkpoint) { try save("final") })
        observers.forEach { $0.finished(self) }
    }

    /// How the embedding gradient crosses ranks (sparse: the touched rows; dense: every row).
    public var embeddingExchange: EmbeddingExchange {
        get { sync.embeddingExchange }
        set { sync.embeddingExchange = newValue }
    }

    /// Parameter sets the optimizer leaves as they are (0: the shared tensors, m+1: task m), for
    /// fine-tuning with frozen shared tensors.
    public var frozenSets: Set<Int> = []

    /// How often (in steps) the replicas of the shared tensors are compared.
    public var replicaCheckEvery = 100

    /// The compute speed of every rank over the run, for the slow-rank warnings.
    var slowness = SlowRankCheck()

    /// Every rank's mean step time, communication and compute shares since the last evaluation,
    /// with the warnings of a rank that computes far slower than the others or than earlier.
    func gatherTiming(_ t: StepTiming) -> RankTiming {
        let all = sync.fromEveryRank(t.means)
        var timing = RankTiming(
            stepSeconds: all.map { $0[0] }, commShare: all.map { $0[1] }, computeShare: all.map { $0[2] },
            loanShare: placement.lending == .none || t.steps == 0 ? nil : Double(t.stepsWithLoans) / Double(t.steps))
        timing.secondsPerCost = all.map { $0[3] }
        timing.warnings = slowness.check(timing.secondsPerCost)
        return timing
    }
}

/// Warns when a rank computes far slower than it should: slower per token-equivalent of its
/// batches (`Placement.batchCost`, the placement's own cost) than another rank in the same window,
/// or than the run's fastest window. Ranks of one machine compute at one speed; a rank that does
/// not shares its core (another program, or more ranks than cores), and the slowest rank sets
/// every step's pace.
struct SlowRankCheck {
    /// A rank this many times slower than the fastest (or than the run's best) is reported.
    static let factor = 1.6
    /// The fastest seconds per token-equivalent of the slowest rank over the run's windows.
    var best: Double? = nil

    mutating func check(_ secondsPerCost: [Double]) -> [String] {
        let working = secondsPerCost.indices.filter { secondsPerCost[$0] > 0 }
        guard let slow = working.max(by: { secondsPerCost[$0] < secondsPerCost[$1] }),
            let fast = working.min(by: { secondsPerCost[$0] < secondsPerCost[$1] })
        else { return [] }
        func us(_ s: Double) -> String { String(format: "%.1f µs", s * 1e6) }
        var out: [String] = []
        let pace = secondsPerCost[slow]
        if secondsPerCost[slow] > Self.factor * secondsPerCost[fast] {
            out.append(
                "warning: rank \(slow) computes at "
                    + String(format: "%.0f%%", 100 * secondsPerCost[fast] / secondsPerCost[slow])
                    + " of the speed of rank \(fast) (\(us(secondsPerCost[slow])) against "
                    + "\(us(secondsPerCost[fast])) a token), and every step waits for it: is another program "
                    + "running on its core, or do ranks share a core? Check `top`; run at most one rank a core "
                    + "(launch/local does), or --oversubscription idle")
        }
        if let best, pace > Self.factor * best {
            out.append(
                "warning: the slowest rank (\(slow)) computes "
                    + String(format: "%.1f", pace / best) + "× slower than earlier in this run ("
                    + "\(us(pace)) against \(us(best)) a token): has another program started on this machine? "
                    + "Check `top`")
        }
        best = min(best ?? pace, pace)
        return out
    }
}

/// Per-rank step time (seconds), the share of it spent in collectives, and the share in the
/// forward and backward of its batches (the rest is bookkeeping every rank repeats).
public struct RankTiming: Sendable {
    /// Each rank's compute seconds per token-equivalent of its batches (0: it ran none).
    public var secondsPerCost: [Double] = []
    /// Ranks computing far slower than the others or than earlier (`SlowRankCheck`).
    public var warnings: [String] = []
    public var stepSeconds: [Double]
    public var commShare: [Double]
    public var computeShare: [Double] = []
    /// The share of steps in which some rank lent (part of) a task to another (nil: no lending).
    public var loanShare: Double? = nil
    public var summary: String {
        func stats(_ xs: [Double]) -> (Double, Double, Double) {
            (xs.min() ?? 0, xs.reduce(0, +) / Double(max(xs.count, 1)), xs.max() ?? 0)
        }
        let (a, b, c) = stats(stepSeconds), (d, e, f) = stats(commShare)
        return String(
            format: "step time per rank min/mean/max %.1f/%.1f/%.1f ms, communication %.1f/%.1f/%.1f%%",
            a * 1000, b * 1000, c * 1000, d * 100, e * 100, f * 100)
            + (loanShare.map { String(format: ", loans in %.0f%% of steps", $0 * 100) } ?? "")
    }
}
