import ArgumentParser
import Foundation
import SMTL

struct Train: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a run config.",
        discussion: """
            Every task takes one mini-batch per step; the shared parameters get the summed gradient.
            Checkpoints go to OUT/checkpoints/{best,final,step-N}.
            """)

    @OptionGroup var options: ConfigOptions
    @OptionGroup(title: "Overrides of the run config") var overrides: TrainingOverrides

    @Option(help: "Resume from a checkpoint folder, or `auto` for the newest one under OUT.") var resume: String?
    @Option(
        help: ArgumentHelp(
            "Start from the weights in this safetensors file (SPEC §6 names and shapes, e.g. written by "
                + "PyTorch or numpy, or a checkpoint's model.safetensors), with fresh optimizer state."))
    var initFrom: String?
    @Option(help: "Write one log file per rank and metrics.jsonl (rank 0) to this folder.") var logDir: String?
    @Option(help: "Embedding gradient exchange: the touched rows (sparse) or every row (dense).")
    var embeddingExchange = EmbeddingExchange.sparse
    @Option(help: "Compare the replicas of the shared tensors every N steps (0: only at start).")
    var checkReplicasEvery = 100

    func execute() throws {
        let world = MPICommunicator.world()
        activeWorld = world
        defer { MPICommunicator.finalize() }
        try checkSlurm(worldSize: world.size)
        if let wrong = BLASLibrary.selfCheck() { throw BLASError(wrong) }
        var c = try options.load()
        try overrides.apply(to: &c, configFile: options.config)
        let out = options.outDir(c)
        let trainer: Trainer
        if initFrom != nil && resume != nil {
            throw ValidationError("--init-from starts a new run and --resume continues one: give one of them")
        }
        if let resume {
            let dir = resume == "auto" ? try newestCheckpoint(out) : resume
            let loaded = try Checkpoint.load(dir)
            let corpus = try Corpus.load(c, vocabulary: loaded.vocabulary, labels: loaded.labels)
            trainer = try Trainer(config: c, corpus: corpus, outDir: out, resume: loaded, communicator: world)
            if world.rank == 0 { print("resuming from \(dir) at step \(loaded.state.step)") }
        } else {
            let corpus = try Corpus.load(c)
            trainer = try Trainer(
                config: c, corpus: corpus, outDir: out, resume: nil, initFrom: initFrom, communicator: world)
            if world.rank == 0, let initFrom { print("initial weights from \(initFrom); optimizer state starts fresh") }
        }
        rankTasks = trainer.hosted.map { trainer.corpus.tasks[$0].name }.joined(separator: ", ")
        if world.rank == 0 { print(trainer.placement.describe(trainer.corpus.tasks.map(\.name))) }
        trainer.replicaCheckEvery = checkReplicasEvery
        trainer.embeddingExchange = embeddingExchange
        var observers: [TrainingObserver] = world.rank == 0 ? [ConsoleReporter(logEvery: c.logEvery)] : []
        if world.rank == 0 { observers.append(ResultsWriter(outDir: out)) }
        if let logDir { observers.append(try FileLogger(directory: logDir, rank: world.rank, logEvery: c.logEvery)) }
        // SIGTERM (preemption): checkpoint at the next step boundary on every rank, then exit.
        signal(SIGTERM) { _ in Trainer.stopRequested = 1 }
        try trainer.run(observers: observers)
    }

    func newestCheckpoint(_ out: String) throws -> String {
        guard let last = Checkpoint.stepCheckpoints(in: out).last else {
            throw InputError(
                file: (out as NSString).appendingPathComponent("checkpoints"), "no step checkpoint to resume from",
                hint: "train with --checkpoint-every N first")
        }
        return last
    }
}
