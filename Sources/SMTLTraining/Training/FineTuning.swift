import Foundation
import SMTLData
import SMTLDistribution

/// Per-task fine-tuning after joint training, the protocol of the paper's companion (Liu, Qiu &
/// Huang, IJCAI 2016): each task continues alone from the joint run's `best` checkpoint (the
/// best mean dev accuracy), with its own tensors, the shared tensors (trainable, or frozen) and
/// their optimizer state, for `fine_tune_epochs` passes over its own training set. It is
/// evaluated on its own dev set, first at its step 0 (the joint model), and keeps the test
/// accuracy of its best dev evaluation.
///
/// A task's fine-tuning is a single-task run in a world of one, on one rank (the tasks are spread
/// over the ranks by their size, `owners`), in
/// `OUT/fine-tune/TASK` (its own checkpoints; interrupted, it resumes from its newest step
/// checkpoint; finished, its `final` checkpoint is read back). The ranks fine-tune their tasks
/// side by side and meet once at the end, waiting without spinning.
public enum FineTuning {
    /// One task's result.
    public struct Outcome: Equatable, Sendable {
        public var bestDev: Double
        public var testAtBestDev: Double?
        /// Steps of fine-tuning at the best dev evaluation (0: the joint model itself).
        public var bestStep: Int
        public var steps: Int
        public var seconds: Double
    }

    /// The folder of task `name`'s fine-tuning under a run's output folder.
    public static func directory(_ outDir: String, task name: String) -> String {
        ((outDir as NSString).appendingPathComponent("fine-tune") as NSString).appendingPathComponent(name)
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
        // Per task: has an outcome, best dev, test at best dev, has a test, best step, steps, seconds;
        // then one slot: stopped.
        let width = 7
        var slots = [Double](repeating: 0, count: width * T + 1)
        let owner = owners(costs: joint.corpus.tasks.map { Double($0.trainTokens) }, ranks: joint.ranks)
        for m in 0..<T where owner[m] == joint.rank && slots[width * T] == 0 {
            guard let o = try fineTune(task: m, of: joint, observers: observers) else {
                slots[width * T] = 1
                break
            }
            slots.replaceSubrange(
                width * m..<width * (m + 1),
                with: [
                    1, o.bestDev, o.testAtBestDev ?? 0, o.testAtBestDev == nil ? 0 : 1, Double(o.bestStep),
                    Double(o.steps), o.seconds,
                ])
        }
        joint.phase(.fineTuning) {
            joint.sync.world.idleBarrier()
            joint.sync.sumOverRanks(&slots)
        }
        if slots[width * T] > 0 { return nil }
        return (0..<T).map { m in
            let s = Array(slots[width * m..<width * (m + 1)])
            guard s[0] > 0 else { return nil }
            return Outcome(
                bestDev: s[1], testAtBestDev: s[3] > 0 ? s[2] : nil, bestStep: Int(s[4]), steps: Int(s[5]),
                seconds: s[6])
        }
    }

    /// The rank that fine-tunes each task: the tasks' costs (training tokens a pass) spread over
    /// the ranks, costliest first, each to the least loaded rank (the same on every rank).
    public static func owners(costs: [Double], ranks: Int) -> [Int] {
        var load = [Double](repeating: 0, count: max(ranks, 1))
        var owner = [Int](repeating: 0, count: costs.count)
        for m in costs.indices.sorted(by: { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }) {
            let r = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            owner[m] = r
            load[r] += costs[m]
        }
        return owner
    }

    /// Task `m`'s fine-tuning on this rank: read back when finished, resumed when interrupted;
    /// nil when it stopped at a signal.
    static func fineTune(
        task m: Int, of joint: Trainer, observers: (String) throws -> [TrainingObserver]
    ) throws -> Outcome? {
        let task = joint.corpus.tasks[m]
        let dir = directory(joint.outDir, task: task.name)
        let final = ((dir as NSString).appendingPathComponent("checkpoints") as NSString)
            .appendingPathComponent("final")
        if FileManager.default.fileExists(atPath: (final as NSString).appendingPathComponent("state.json")) {
            return outcome(try Checkpoint.load(final).state, task: task.name)
        }
        let c = config(of: joint.config, task: m, trainExamples: task.train.count)
        var start: Checkpoint.Loaded
        if let step = Checkpoint.stepCheckpoints(in: dir).last {
            start = try Checkpoint.load(step)
        } else {
            // The joint model: its tensors for this task and the shared ones (the other tasks'
            // are not read), with their optimizer state; the fine-tuning's own progress is new.
            let best = joint.checkpointPath("best")
            let from = FileManager.default.fileExists(atPath: best) ? best : joint.checkpointPath("final")
            start = try Checkpoint.load(from)
            start.config = c
            start.state = TrainingState()
        }
        let corpus = Corpus(vocabulary: joint.corpus.vocabulary, tasks: [task])
        let trainer = try Trainer(
            config: c, corpus: corpus, outDir: dir, resume: start, communicator: LocalCommunicator())
        if joint.config.fineTune.shared == .frozen { trainer.frozenSets = [0] }
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
