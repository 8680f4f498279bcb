import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// The model a run starts from, before any rank talks to another: a resumed checkpoint's model,
/// optimizer state and progress; or a new model (SPEC §6 initialisation, the pretrained vectors,
/// `--init-from` weights) with fresh optimizer state.
struct InitialModel {
    var model: Model<Float>
    var optimizer: Optimizer<Float>
    var state: TrainingState
    /// What the vector files filled (nil: no vectors, or resumed).
    var vectors: PretrainedEmbeddings.Report?

    init(config: RunConfig, corpus: Corpus, resume: Checkpoint.Loaded?, initFrom: String?) throws {
        let dims = config.dimensions(vocabulary: corpus.vocabulary.count)
        if let resume {
            model = try Checkpoint.model(from: resume)
            precondition(model.dims == dims)
            optimizer = Optimizer(settings: config.optimizer, model: model)
            try Checkpoint.restore(optimizer, model: model, from: resume)
            state = resume.state
            return
        }
        model = Model(
            architecture: config.architecture, dims: dims,
            tasks: corpus.tasks.map { TaskSpec(name: $0.name, classes: $0.labels.count) })
        model.initialize(seed: config.seed)
        if !config.embeddings.isEmpty {
            vectors = try PretrainedEmbeddings.load(
                config.embeddingPaths, vocabulary: corpus.vocabulary, into: model.shared.value("embedding.weight"),
                dimension: config.pretrainedDim > 0 ? config.pretrainedDim : dims.embedding, rowWidth: dims.embedding)
        }
        // Given weights (PyTorch, numpy, another run) replace every initial value; the optimizer
        // state starts fresh.
        if let initFrom { try Checkpoint.initialize(model, fromSafeTensors: initFrom) }
        optimizer = Optimizer(settings: config.optimizer, model: model)
        state = TrainingState()
    }
}

/// How `smtl train` begins a run in its folder: a new run, a resumed one (`--resume DIR` or
/// `auto`), or, when the joint run of a run with fine-tuning has finished, its fine-tuning (or,
/// with a larger budget, the rest of the joint run).
public struct RunStart {
    public let trainer: Trainer
    /// The joint run had finished: it trains only if its budget grew (`trainer.canContinue`).
    public let jointFinished: Bool

    /// Builds the run's trainer on `world` (collective). `say` prints a line (rank 0 only).
    public init(
        config c: RunConfig, folder: RunFolder, resume: String?, initFrom: String?, allowChange: Set<String>,
        world: Communicator, say: (String) -> Void
    ) throws {
        for p in world.rank == 0 ? folder.removeStale() : [] {
            say("removed \(p), left by an interrupted checkpoint write")
        }
        var changes: [ResumeCheck.Difference] = []
        func loadResumed(_ loaded: Checkpoint.Loaded) throws -> Trainer {
            changes = try ResumeCheck.check(
                saved: loaded.config, requested: c, allowed: allowChange, checkpoint: loaded.directory)
            let corpus = try Corpus.load(c, vocabulary: loaded.vocabulary, labels: loaded.labels)
            return try Trainer(config: c, corpus: corpus, outDir: folder.path, resume: loaded, communicator: world)
        }
        jointFinished = c.fineTune.epochs > 0 && resume == "auto" && folder.finished
        if jointFinished {
            let loaded = try Checkpoint.load(folder.final)
            trainer = try loadResumed(loaded)
            if trainer.canContinue {
                // A larger budget: the joint run goes on, and fine-tuning starts again from its new
                // best (the earlier fine-tuning is kept aside, not deleted).
                say(
                    "the joint run ended at step \(loaded.state.step) and now has \(trainer.totalSteps) steps: "
                        + "continuing it from \(folder.final)")
                let earlier = folder.fineTuneRoot, aside = earlier + "-before-step-\(loaded.state.step)"
                if world.rank == 0 && FileManager.default.fileExists(atPath: earlier) {
                    try? FileManager.default.removeItem(atPath: aside)
                    try FileManager.default.moveItem(atPath: earlier, toPath: aside)
                    say("the earlier fine-tuning (from the shorter joint run) moved to \(aside)")
                }
            } else {
                say("the joint run has finished (\(folder.final)); resuming its fine-tuning")
            }
        } else if let resume {
            let loaded =
                resume == "auto"
                ? try folder.newestUsableCheckpoint { dir, error in
                    say("--resume auto: skipping \(dir), which cannot be used: \(error)")
                }
                : try Checkpoint.load(resume)
            trainer = try loadResumed(loaded)
            say("resuming from \(loaded.directory) at step \(loaded.state.step)")
        } else {
            let corpus = try Corpus.load(c)
            trainer = try Trainer(
                config: c, corpus: corpus, outDir: folder.path, resume: nil, initFrom: initFrom, communicator: world)
            if let initFrom { say("initial weights from \(initFrom); optimizer state starts fresh") }
        }
        if !changes.isEmpty {
            trainer.recordConfigChanges(changes.map(\.description))
            for d in changes { say("resuming with a changed setting: \(d)") }
        }
    }
}
