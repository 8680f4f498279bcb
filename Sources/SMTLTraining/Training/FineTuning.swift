import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// Per-task fine-tuning after joint training, the protocol of the paper's companion (Liu, Qiu &
/// Huang, IJCAI 2016): each task continues alone from the joint run's `best` checkpoint (the
/// best mean dev accuracy), with its own tensors, the shared tensors (trainable, or frozen) and
/// their optimizer state, for `fine_tune_epochs` passes over its own training set. It is
/// evaluated on its own dev set, first at its step 0 (the joint model), and keeps the test
/// accuracy of its best dev evaluation.
///
/// A task's fine-tuning is a single-task run in a world of one, on one rank (the tasks are spread
/// over the ranks by their size, `owners`), in its own run folder `OUT/fine-tune/TASK`
/// (`RunFolder.fineTune`): interrupted, it resumes from its newest step checkpoint; finished, its
/// `final` checkpoint is read back. The ranks fine-tune their tasks side by side and meet once at
/// the end, waiting without spinning.
public enum FineTuning {
    /// One task's result.
    public struct Outcome: Equatable, Sendable {
        public var bestDev: Double
        public var testAtBestDev: Double?
        /// Steps of fine-tuning at the best dev evaluation (0: the joint model itself).
        public var bestStep: Int
        public var steps: Int
        public var seconds: Double

        /// The outcome as a row of numbers (to cross ranks) and back.
        static let width = 6
        var row: [Double] {
            [bestDev, testAtBestDev ?? 0, testAtBestDev == nil ? 0 : 1, Double(bestStep), Double(steps), seconds]
        }
        init(row s: [Double]) {
            self.init(
                bestDev: s[0], testAtBestDev: s[2] > 0 ? s[1] : nil, bestStep: Int(s[3]), steps: Int(s[4]),
                seconds: s[5])
        }
        public init(bestDev: Double, testAtBestDev: Double?, bestStep: Int, steps: Int, seconds: Double) {
            self.bestDev = bestDev
            self.testAtBestDev = testAtBestDev
            self.bestStep = bestStep
            self.steps = steps
            self.seconds = seconds
        }
    }

    /// The single-task run config of task `m`'s fine-tuning.
    public static func config(of joint: RunConfig, task m: Int, trainExamples: Int) -> RunConfig {
        var c = joint
        let t = joint.tasks[m]
        c.name = "\(joint.name)-fine-tune-\(t.name)"
        c.tasks = [t]
        let epoch = (trainExamples + joint.batchSize - 1) / joint.batchSize
        c.steps = joint.fineTune.epochs * epoch
        c.evalEvery = joint.fineTune.evalEvery > 0 ? joint.fineTune.evalEvery : epoch
        c.patience = joint.fineTune.patience
        c.fineTune = FineTuneSettings()
        c.outDir = nil
        return c
    }

    /// Fine-tunes the tasks this rank leads, then shares every task's outcome with every rank
    /// (collective). `observers` gives the observers of one task's run. Nil when a stop was
    /// requested (SIGTERM) on some rank: the fine-tuning runs have step checkpoints to resume from.
    public static func run(
        after joint: Trainer, observers: (String) throws -> [TrainingObserver]
    ) throws -> [Outcome?]? {
        let T = joint.corpus.tasks.count
        let owner = owners(costs: joint.corpus.tasks.map { Double($0.trainTokens) }, ranks: joint.ranks)
        var mine = [Outcome?](repeating: nil, count: T)
        var stopped = false
        for m in 0..<T where owner[m] == joint.rank {
            guard let o = try fineTune(task: m, of: joint, observers: observers) else {
                stopped = true
                break
            }
            mine[m] = o
        }
        // The ranks meet once, waiting without spinning, and every rank gets every outcome.
        let (rows, anyStopped) = joint.phase(.fineTuning) {
            joint.sync.idleBarrier()
            return (
                joint.sync.fromOwners(mine.map { $0?.row }, width: Outcome.width) { owner[$0] },
                joint.sync.anyRank(stopped)
            )
        }
        return anyStopped ? nil : rows.map { $0.map(Outcome.init(row:)) }
    }

    /// The rank that fine-tunes each task: the tasks' costs (training tokens a pass) spread over
    /// the ranks, costliest first, each to the least loaded rank (the same on every rank).
    public static func owners(costs: [Double], ranks: Int) -> [Int] {
        var owner = [Int](repeating: 0, count: costs.count)
        for (r, tasks) in Placement.longestFirst(cost: costs, ranks: max(ranks, 1)).enumerated() {
            for m in tasks { owner[m] = r }
        }
        return owner
    }

    /// Task `m`'s fine-tuning on this rank: read back when finished, resumed when interrupted;
    /// nil when it stopped at a signal.
    static func fineTune(
        task m: Int, of joint: Trainer, observers: (String) throws -> [TrainingObserver]
    ) throws -> Outcome? {
        let task = joint.corpus.tasks[m]
        let folder = joint.folder.fineTune(task: task.name)
        if folder.finished { return outcome(try Checkpoint.load(folder.final).state, task: task.name) }
        let c = config(of: joint.config, task: m, trainExamples: task.train.count)
        var start: Checkpoint.Loaded
        if let step = folder.stepCheckpoints.last {
            start = try Checkpoint.load(step)
        } else {
            // The joint model: its tensors for this task and the shared ones (the other tasks'
            // are not read), with their optimizer state; the fine-tuning's own progress is new.
            let from =
                FileManager.default.fileExists(atPath: joint.folder.best) ? joint.folder.best : joint.folder.final
            start = try Checkpoint.load(from)
            start.config = c
            start.state = TrainingState()
        }
        let corpus = Corpus(vocabulary: joint.corpus.vocabulary, tasks: [task])
        let trainer = try Trainer(
            config: c, corpus: corpus, outDir: folder.path, resume: start, communicator: LocalCommunicator())
        if joint.config.fineTune.shared == .frozen { trainer.frozenSets = [ParameterSets.shared] }
        // The joint model is the first candidate of the selection.
        if trainer.step == 0 { _ = trainer.evaluate() }
        try trainer.run(observers: try observers(task.name))
        if trainer.stoppedEarly { return nil }
        return outcome(trainer.state, task: task.name)
    }

    static func outcome(_ s: TrainingState, task: String) -> Outcome {
        Outcome(
            bestDev: s.bestDev[task] ?? 0, testAtBestDev: s.testAtBestDev[task], bestStep: s.bestStep[task] ?? 0,
            steps: s.step, seconds: s.trainingSeconds)
    }
}
