import ArgumentParser
import SMTLData
import SMTLDistribution
import SMTLModel

/// The `train` options that override the run config, applied in one place. A library of its
/// own (below the command line) so that the fuzz target parses and applies them as `smtl train`
/// does, together with the config file they override.
public struct TrainingOverrides: ParsableArguments {
    public init() {}

    @Option(help: "Override `architecture`.") var architecture: Architecture?
    @Option(
        name: .customLong("task"),
        help: "Train only this task of the config (repeat for several); single-task runs of a group config.")
    var onlyTasks: [String] = []
    @Option(help: "Override `name`.") var name: String?
    @Option(help: "Override `training.steps` (0: use epochs).") var steps: Int?
    @Option(help: "Override `training.epochs`.") var epochs: Int?
    @Option(help: "Override `training.seed`.") var seed: Int?
    @Option(help: "Override `training.optimizer`.") var optimizer: OptimizerSettings.Kind?
    @Option(help: "Override `training.learning_rate`.") var learningRate: Double?
    @Option(help: "Override `training.l2`.") var l2: Double?
    @Option(help: "Override `training.eval_every`.") var evalEvery: Int?
    @Option(
        help:
            ArgumentHelp(
                "Override `training.patience` (evaluations in a row without a new best dev accuracy of any task "
                    + "before stopping; 0: off).")
    )
    var patience: Int?
    @Option(help: "Override `training.checkpoint_every`.") var checkpointEvery: Int?
    @Option(help: "Override `training.keep_checkpoints`.") var keepCheckpoints: Int?
    @Flag(help: "Take examples in file order (no shuffling).") var noShuffle = false
    @Flag(help: "Set `training.phrase_level`: train on each task's `phrases` file (SST), where it names one.")
    var phraseLevel = false
    @Option(help: "Override `training.fine_tune_epochs` (per-task fine-tuning after joint training; 0: off).")
    var fineTuneEpochs: Int?
    @Option(help: "Override `training.fine_tune_shared`: the shared tensors during fine-tuning.")
    var fineTuneShared: FineTuneSettings.Shared?
    @Option(
        help: ArgumentHelp(
            "Override `training.scaling`: strong (a task's batch stays batch_size; its ranks split it) or weak "
                + "(each of a task's ranks takes batch_size examples)."))
    var scaling: Placement.Scaling?
    @Option(
        help: ArgumentHelp(
            "Override `training.placement`: balanced (even cost per rank, splitting batches where that helps) "
                + "or blocks (tasks in config order)."))
    var placement: Placement.Strategy?
    @Option(
        help: ArgumentHelp(
            "Override `training.oversubscription`: idle (on a host with fewer cores than ranks, only as many "
                + "ranks as cores get work; the others wait sleeping) or share (every rank works)."))
    var oversubscription: Placement.Oversubscription?
    @Option(help: "Override `training.cores_per_host` (0: the CPUs each rank may run on).")
    var coresPerHost: Int?
    @Option(
        help: ArgumentHelp(
            "Override `training.lending`: whole (default: each step the busiest rank may lend one whole task to "
                + "the least busy; one process's bits), split (part or all of one task's batch: even steps, the same "
                + "to float32 rounding) or none."))
    var lending: Placement.Lending?

    /// Applies every override given on the command line to `c`.
    public func apply(to c: inout RunConfig, configFile: String) throws {
        if let seed, seed < 0 { throw ValidationError("--seed must be at least 0, not \(seed)") }
        if let architecture { c.architecture = architecture }
        if !onlyTasks.isEmpty {
            let known = c.tasks.map(\.name)
            for t in onlyTasks where !known.contains(t) {
                throw ValidationError(
                    "--task \(t): the config \(configFile) has no such task; it has \(known.joined(separator: ", "))")
            }
            c.tasks = c.tasks.filter { onlyTasks.contains($0.name) }
        }
        if let name { c.name = name }
        if let patience { c.patience = patience }
        if let steps { c.steps = steps }
        if let epochs { c.epochs = epochs }
        if let seed { c.seed = UInt64(seed) }
        if let optimizer { c.optimizer.kind = optimizer }
        if let learningRate { c.optimizer.learningRate = learningRate }
        if let l2 { c.optimizer.l2 = l2 }
        if let evalEvery { c.evalEvery = evalEvery }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let keepCheckpoints { c.keepCheckpoints = keepCheckpoints }
        if noShuffle { c.shuffle = false }
        if phraseLevel { c.phraseLevel = true }
        if let fineTuneEpochs { c.fineTune.epochs = fineTuneEpochs }
        if let fineTuneShared { c.fineTune.shared = fineTuneShared }
        if let scaling { c.scaling = scaling }
        if let placement { c.placement = placement }
        if let oversubscription { c.oversubscription = oversubscription }
        if let coresPerHost { c.coresPerHost = coresPerHost }
        if let lending { c.lending = lending }
        // The overridden values go through the config file's own checks.
        c = try c.validated(source: "\(configFile) with the command-line overrides")
    }
}

// The config's enums as option values (the command line's other enums conform in `smtl`).
extension Architecture: ExpressibleByArgument {}
extension OptimizerSettings.Kind: ExpressibleByArgument {}
extension Placement.Scaling: ExpressibleByArgument {}
extension FineTuneSettings.Shared: ExpressibleByArgument {}
extension Placement.Strategy: ExpressibleByArgument {}
extension Placement.Oversubscription: ExpressibleByArgument {}
extension Placement.Lending: ExpressibleByArgument {}
