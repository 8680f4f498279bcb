import ArgumentParser
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLSupport
import SMTLTraining

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
    @Option(
        help: ArgumentHelp(
            "With --resume: let this training setting differ from the checkpoint's (repeat; e.g. "
                + "learning_rate). The change is recorded in results.json."))
    var allowChange: [String] = []
    @Option(help: "Write one log file per rank and metrics.jsonl (rank 0) to this folder.") var logDir: String?
    @Option(help: "Embedding gradient exchange: the touched rows (sparse) or every row (dense).")
    var embeddingExchange = EmbeddingExchange.sparse
    @Option(
        help: ArgumentHelp(
            "Seconds a collective may wait for the other ranks before the job ends with a message (0: no limit); "
                + "evaluation and checkpoints may take 10 times as long."))
    var collectiveTimeout: Double = 300
    @Option(help: "Compare the replicas of the shared tensors every N steps (0: only at start).")
    var checkReplicasEvery = 100

    func execute() throws {
        // Console output never blocks training (a stop request must reach the step boundary even
        // when mpirun does not drain stdout): see ConsoleRelay.
        ConsoleRelay.start()
        let mpi = MPICommunicator.world()
        if collectiveTimeout < 0 { throw ValidationError("--collective-timeout must be at least 0 (0: off)") }
        activeWorld = mpi
        jobWorld = mpi
        var world: Communicator = mpi
        var stepsAside = false
        // An error skips MPI_Finalize: `fail` then ends the whole job with MPI_Abort (a finalize
        // first would wait for ranks that may never come, and MPI_Abort after it cannot end them).
        do {
            try checkSlurm(worldSize: mpi.size)
            if let wrong = BLASLibrary.selfCheck() { throw BLASError(wrong) }
            var c = try options.load()
            try overrides.apply(to: &c, configFile: options.config)
            c = try c.resolvingVectorWidth(source: options.config)
            // On a host with fewer cores than ranks, the ranks beyond the cores step aside
            // (`training.oversubscription`); the others train among themselves.
            let (team, working) = c.oversubscription.team(mpi, coresPerHost: c.coresPerHost)
            guard let team else {
                stepsAside = true
                // A stop request (Slurm's preemption signal, forwarded to every rank) is for the
                // training ranks, which checkpoint and end; this one only waits for them.
                signal(SIGTERM) { _ in Trainer.stopRequested = 1 }
                signal(SIGUSR1) { _ in Trainer.stopRequested = 1 }
                waitForTheTeam(mpi)
                MPICommunicator.finalize()
                return
            }
            if working.count < mpi.size && mpi.rank == 0 {
                let aside = (0..<mpi.size).filter { !working.contains($0) }
                print(
                    "oversubscribed host: \(working.count) of \(mpi.size) ranks train (as many as the cores); "
                        + "rank(s) \(aside.map(String.init).joined(separator: ", ")) step aside and wait, sleeping "
                        + "(`--oversubscription share`: every rank trains)")
            }
            // Every collective of a distributed run is watched: none waits forever (see WatchedCommunicator).
            world =
                team.size > 1 && collectiveTimeout > 0
                ? WatchedCommunicator(
                    team, timeout: collectiveTimeout, stopRequested: { Trainer.stopRequested != 0 },
                    rollCall: (team as? MPICommunicator)?.makeRollCall())
                : team
            activeWorld = world
            let out = options.outDir(c)
            var outIsDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &outIsDir), !outIsDir.boolValue {
                throw InputError(
                    file: out, "is a file, and the run's output folder (--out) must be a folder",
                    hint: "name a folder (it is created if missing), for example runs/\(c.name)")
            }
            if world.rank == 0 {
                for p in Checkpoint.removeStale(in: out) { print("removed \(p), left by an interrupted checkpoint write") }
            }
            let trainer: Trainer
            var changes: [ResumeCheck.Difference] = []
            if initFrom != nil && resume != nil {
                throw ValidationError("--init-from starts a new run and --resume continues one: give one of them")
            }
            // A run with fine-tuning whose joint part has finished resumes at its fine-tuning.
            let jointFinal = (out as NSString).appendingPathComponent("checkpoints/final")
            let jointDone =
                c.fineTune.epochs > 0 && resume == "auto"
                && FileManager.default.fileExists(atPath: (jointFinal as NSString).appendingPathComponent("state.json"))
            if jointDone {
                let loaded = try Checkpoint.load(jointFinal)
                changes = try ResumeCheck.check(
                    saved: loaded.config, requested: c, allowed: Set(allowChange), checkpoint: jointFinal)
                let corpus = try Corpus.load(c, vocabulary: loaded.vocabulary, labels: loaded.labels)
                trainer = try Trainer(config: c, corpus: corpus, outDir: out, resume: loaded, communicator: world)
                if trainer.canContinue {
                    // A larger budget: the joint run goes on, and fine-tuning starts again from its
                    // new best (the earlier fine-tuning is kept aside, not deleted).
                    let earlier = (out as NSString).appendingPathComponent("fine-tune")
                    let aside = earlier + "-before-step-\(loaded.state.step)"
                    if world.rank == 0 {
                        print(
                            "the joint run ended at step \(loaded.state.step) and now has \(trainer.totalSteps) steps: "
                                + "continuing it from \(jointFinal)")
                        if FileManager.default.fileExists(atPath: earlier) {
                            try? FileManager.default.removeItem(atPath: aside)
                            try FileManager.default.moveItem(atPath: earlier, toPath: aside)
                            print("the earlier fine-tuning (from the shorter joint run) moved to \(aside)")
                        }
                    }
                } else if world.rank == 0 {
                    print("the joint run has finished (\(jointFinal)); resuming its fine-tuning")
                }
            } else if let resume {
                let loaded = resume == "auto" ? try newestCheckpoint(out, rank: world.rank) : try Checkpoint.load(resume)
                let dir = loaded.directory
                changes = try ResumeCheck.check(
                    saved: loaded.config, requested: c, allowed: Set(allowChange), checkpoint: dir)
                let corpus = try Corpus.load(c, vocabulary: loaded.vocabulary, labels: loaded.labels)
                trainer = try Trainer(config: c, corpus: corpus, outDir: out, resume: loaded, communicator: world)
                if world.rank == 0 { print("resuming from \(dir) at step \(loaded.state.step)") }
            } else {
                let corpus = try Corpus.load(c)
                trainer = try Trainer(
                    config: c, corpus: corpus, outDir: out, resume: nil, initFrom: initFrom, communicator: world)
                if world.rank == 0, let initFrom { print("initial weights from \(initFrom); optimizer state starts fresh") }
            }
            if !changes.isEmpty {
                trainer.recordConfigChanges(changes.map(\.description))
                if world.rank == 0 { for d in changes { print("resuming with a changed setting: \(d)") } }
            }
            rankTasks = trainer.hosted.map { trainer.corpus.tasks[$0].name }.joined(separator: ", ")
            if world.rank == 0 { print(trainer.placement.describe(trainer.corpus.tasks.map(\.name))) }
            trainer.replicaCheckEvery = checkReplicasEvery
            trainer.embeddingExchange = embeddingExchange
            var observers: [TrainingObserver] = world.rank == 0 ? [ConsoleReporter(logEvery: c.logEvery)] : []
            let results = ResultsWriter(outDir: out, deferred: c.fineTune.epochs > 0)
            if world.rank == 0 { observers.append(results) }
            if let logDir { observers.append(try FileLogger(directory: logDir, rank: world.rank, logEvery: c.logEvery)) }
            // SIGTERM (preemption) or SIGUSR1: checkpoint at the next step boundary on every rank, then exit.
            // SIGUSR1 too: launch/slurm.sbatch forwards the job's signal as USR1 through srun or
            // mpirun (mpirun itself ends the job on SIGTERM).
            signal(SIGTERM) { _ in Trainer.stopRequested = 1 }
            signal(SIGUSR1) { _ in Trainer.stopRequested = 1 }
            if !jointDone || trainer.canContinue { try trainer.run(observers: observers) }
            if c.fineTune.epochs > 0 && !trainer.stoppedEarly {
                try fineTune(trainer, results: results, rank: world.rank)
            }
        } catch {
            if world.size == 1 { MPICommunicator.finalize() }
            throw error
        }
        (world as? WatchedCommunicator)?.shutdown()
        if world.size < mpi.size && !stepsAside { mpi.idleBarrier() }  // releases the ranks that stepped aside
        MPICommunicator.finalize()
    }

    /// A rank that stepped aside waits, sleeping, for the training ranks to finish (they end the
    /// job with MPI_Abort on an error); it leaves on its own if its launcher is gone.
    func waitForTheTeam(_ mpi: MPICommunicator) {
        let parent = getppid()
        mpi.idleBarrier(until: { getppid() != parent })
    }

    /// Each task alone from the joint model (`training.fine_tune_epochs`), the tasks spread over the ranks; then
    /// rank 0 writes results.json with both selections.
    func fineTune(_ trainer: Trainer, results: ResultsWriter, rank: Int) throws {
        let c = trainer.config
        if rank == 0 {
            print(
                "fine-tuning every task alone from the joint model for \(c.fineTune.epochs) epochs of its own data "
                    + "(shared tensors \(c.fineTune.shared.rawValue)), in \(trainer.outDir)/fine-tune/")
        }
        let outcomes = try FineTuning.run(after: trainer) { task in
            var o: [TrainingObserver] = [ConsoleReporter(logEvery: c.logEvery)]
            if let logDir {
                o.append(
                    try FileLogger(
                        directory: (logDir as NSString).appendingPathComponent("fine-tune-\(task)"), rank: rank,
                        logEvery: c.logEvery))
            }
            return o
        }
        guard let outcomes else { return }  // stopped by a signal; resumes from the step checkpoints
        if rank == 0 {
            results.write(trainer, fineTuned: outcomes)
            print("after fine-tuning (per task, the better of the joint and the fine-tuned run on dev):")
            for (m, task) in trainer.corpus.tasks.enumerated() {
                guard let o = outcomes[m] else { continue }
                let joint = trainer.state.bestDev[task.name] ?? 0
                let pick = o.bestDev > joint
                let test = pick ? o.testAtBestDev : trainer.state.testAtBestDev[task.name]
                let name = task.name.padding(toLength: max(20, task.name.count), withPad: " ", startingAt: 0)
                print(
                    "  \(name) joint dev " + String(format: "%6.2f", joint) + ", fine-tuned dev "
                        + String(format: "%6.2f", o.bestDev) + " (step \(o.bestStep)): "
                        + (pick ? "fine-tuned" : "joint") + ", test "
                        + (test.map { String(format: "%.2f", $0) } ?? "-"))
            }
        }
    }

    /// The newest checkpoint that loads and verifies (`final` of a finished run, else the step
    /// checkpoints, newest first); damaged ones are skipped with the reason.
    func newestCheckpoint(_ out: String, rank: Int) throws -> Checkpoint.Loaded {
        let final = (out as NSString).appendingPathComponent("checkpoints/final")
        let found =
            Checkpoint.stepCheckpoints(in: out)
            + (FileManager.default.fileExists(atPath: (final as NSString).appendingPathComponent("state.json"))
                ? [final] : [])
        // Oldest first by the step each holds (`final` may be older than the step checkpoints of a
        // resumed longer run); at the same step a step checkpoint comes first.
        func step(_ dir: String) -> Int {
            let name = (dir as NSString).lastPathComponent
            if name.hasPrefix("step-"), let n = Int(name.dropFirst(5)) { return n }
            let path = (dir as NSString).appendingPathComponent("state.json")
            return (try? JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: URL(fileURLWithPath: path))))?
                .step ?? -1
        }
        let all = found.enumerated().map { (step: step($1), order: $0, dir: $1) }
            .sorted { ($0.step, -$0.order) < ($1.step, -$1.order) }.map(\.dir)
        var skipped: [String] = []
        for dir in all.reversed() {
            do {
                return try Checkpoint.load(dir)
            } catch {
                skipped.append("\(dir): \(error)")
                if rank == 0 { print("--resume auto: skipping \(dir), which cannot be used: \(error)") }
            }
        }
        throw InputError(
            file: (out as NSString).appendingPathComponent("checkpoints"),
            all.isEmpty
                ? "no step checkpoint to resume from"
                : "no step checkpoint can be used:\n  " + skipped.joined(separator: "\n  "),
            hint: all.isEmpty ? "train with --checkpoint-every N first" : "start the run again without --resume")
    }
}
