import ArgumentParser
import Foundation
import SMTL

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a run config.",
        discussion: """
            Every task takes one mini-batch per step; the shared parameters get the summed gradient.
            Checkpoints go to OUT/checkpoints/{best,final,step-N}.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Override `architecture` (lstm, me-lstm, arc-i, arc-ii).") var architecture: String?
    @Option(name: .customLong("task"), help: "Train only this task of the config (repeat for several); single-task runs of a group config.")
    var onlyTasks: [String] = []
    @Option(help: "Override `name`.") var name: String?
    @Option(help: "Override `training.steps` (0: use epochs).") var steps: Int?
    @Option(help: "Override `training.epochs`.") var epochs: Int?
    @Option(help: "Override `training.seed`.") var seed: Int?
    @Option(help: "Override `training.optimizer` (adagrad, sgd, adam).") var optimizer: String?
    @Option(help: "Override `training.learning_rate`.") var learningRate: Double?
    @Option(help: "Override `training.l2`.") var l2: Double?
    @Option(help: "Override `training.eval_every`.") var evalEvery: Int?
    @Option(help: "Override `training.patience` (evaluations without a better mean dev accuracy before stopping; 0: off).") var patience: Int?
    @Option(help: "Override `training.checkpoint_every`.") var checkpointEvery: Int?
    @Option(help: "Override `training.keep_checkpoints`.") var keepCheckpoints: Int?
    @Flag(help: "Take examples in file order (no shuffling).") var noShuffle = false
    @Option(help: "Resume from a checkpoint folder, or `auto` for the newest one under OUT.") var resume: String?
    @Option(help: "Write one log file per rank and metrics.jsonl (rank 0) to this folder.") var logDir: String?
    @Option(help: "Embedding gradient exchange: sparse (the touched rows, default) or dense (every row).")
    var embeddingExchange = "sparse"
    @Option(help: "Compare the replicas of the shared tensors every N steps (0: only at start).") var checkReplicasEvery = 100

    func run() throws {
        let world = MPICommunicator.world()
        defer { MPICommunicator.finalize() }
        do {
            try checkSlurm(worldSize: world.size)
            var c = try options.load()
            if let architecture {
                guard let a = Architecture(rawValue: architecture) else {
                    throw ValidationError("--architecture must be one of: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                c.architecture = a
            }
            if !onlyTasks.isEmpty {
                let known = c.tasks.map(\.name)
                for t in onlyTasks where !known.contains(t) {
                    throw ValidationError("--task \(t): the config \(options.config) has no such task; it has \(known.joined(separator: ", "))")
                }
                c.tasks = c.tasks.filter { onlyTasks.contains($0.name) }
            }
            if let name { c.name = name }
            if let patience { c.patience = patience }
            if let steps { c.steps = steps }
            if let epochs { c.epochs = epochs }
            if let seed { c.seed = UInt64(seed) }
            if let optimizer {
                guard let k = OptimizerSettings.Kind(rawValue: optimizer) else {
                    throw ValidationError("--optimizer must be adagrad, sgd or adam")
                }
                c.optimizer.kind = k
            }
            if let learningRate { c.optimizer.learningRate = learningRate }
            if let l2 { c.optimizer.l2 = l2 }
            if let evalEvery { c.evalEvery = evalEvery }
            if let checkpointEvery { c.checkpointEvery = checkpointEvery }
            if let keepCheckpoints { c.keepCheckpoints = keepCheckpoints }
            if noShuffle { c.shuffle = false }
            let out = options.outDir(c)
            let trainer: Trainer
            if let resume {
                let dir = resume == "auto" ? try newestCheckpoint(out) : resume
                let loaded = try Checkpoint.load(dir)
                let corpus = try Corpus.load(c, vocabulary: loaded.vocabulary, labels: loaded.labels)
                trainer = try Trainer(config: c, corpus: corpus, outDir: out, resume: loaded, communicator: world)
                if world.rank == 0 { print("resuming from \(dir) at step \(loaded.state.step)") }
            } else {
                trainer = try Trainer(config: c, outDir: out, communicator: world)
            }
            rankTasks = trainer.hosted.map { trainer.corpus.tasks[$0].name }.joined(separator: ", ")
            if world.rank == 0 { print(trainer.placement.describe(trainer.corpus.tasks.map(\.name))) }
            trainer.replicaCheckEvery = checkReplicasEvery
            guard ["sparse", "dense"].contains(embeddingExchange) else { throw ValidationError("--embedding-exchange must be sparse or dense") }
            trainer.denseEmbeddingExchange = embeddingExchange == "dense"
            var observers: [TrainingObserver] = world.rank == 0 ? [ConsoleReporter(logEvery: c.logEvery)] : []
            if world.rank == 0 { observers.append(ResultsWriter(outDir: out)) }
            if let logDir { observers.append(try FileLogger(directory: logDir, rank: world.rank, logEvery: c.logEvery)) }
            // SIGTERM (preemption): checkpoint at the next step boundary on every rank, then exit.
            signal(SIGTERM) { _ in Trainer.stopRequested = 1 }
            try trainer.run(observers: observers)
        } catch let e as ValidationError {
            throw e
        } catch {
            failEverywhere(error, world)
        }
    }

    func newestCheckpoint(_ out: String) throws -> String {
        guard let last = Checkpoint.stepCheckpoints(in: out).last else {
            throw InputError(file: (out as NSString).appendingPathComponent("checkpoints"), "no step checkpoint to resume from",
                             hint: "train with --checkpoint-every N first")
        }
        return last
    }
}
