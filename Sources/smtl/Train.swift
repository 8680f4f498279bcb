import ArgumentParser
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLOptions
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
    @Flag(
        help: ArgumentHelp(
            "Start a new run in an --out folder that holds an earlier run: the earlier run's checkpoints, "
                + "results and logs move to OUT.replaced-DATE first."))
    var overwrite = false
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
        if initFrom != nil && resume != nil {
            throw ValidationError("--init-from starts a new run and --resume continues one: give one of them")
        }
        if overwrite && resume != nil {
            throw ValidationError("--overwrite starts a new run and --resume continues one: give one of them")
        }
        (activeWorld, jobWorld) = (mpi, mpi)
        installStopHandlers()
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
            if !allowChange.isEmpty {
                guard resume != nil else {
                    throw ValidationError("--allow-change names what a resume may change: give it with --resume")
                }
                for k in allowChange where !ResumeCheck.isSetting(k, of: c) {
                    throw ValidationError(
                        "--allow-change \(k): the config has no such setting; a resume may change "
                            + ResumeCheck.changeableKeys(c).joined(separator: ", "))
                }
            }
            if c.steps == 0 && c.epochs == 0 && initFrom == nil && resume == nil {
                throw InputError(
                    file: options.config,
                    "`training.epochs` and `training.steps` are both 0: the run would train nothing",
                    hint: "set epochs or --steps; to evaluate given weights untrained, add --init-from FILE "
                        + "(`smtl init` writes an untrained model)")
            }
            guard let team = trainingTeam(c, mpi) else {
                stepsAside = true
                waitForTheTeam(mpi)
                MPICommunicator.finalize()
                return
            }
            // Every collective of a distributed run is watched: none waits forever (see WatchedCommunicator).
            world =
                team.size > 1 && collectiveTimeout > 0
                ? WatchedCommunicator(
                    team, timeout: collectiveTimeout, stopRequested: { Trainer.stopRequested != 0 },
                    rollCall: team.makeRollCall())
                : team
            activeWorld = world
            let rank = world.rank
            func say(_ line: String) { if rank == 0 { print(line) } }
            let folder = try runFolder(c)
            if rank == 0 { try claim(folder, say: say) }
            let start = try RunStart(
                config: c, folder: folder, resume: resume, initFrom: initFrom, allowChange: Set(allowChange),
                world: world, say: say)
            let trainer = start.trainer
            rankTasks = trainer.hosted.map { trainer.corpus.tasks[$0].name }.joined(separator: ", ")
            say(trainer.placement.describe(trainer.corpus.tasks.map(\.name)))
            trainer.replicaCheckEvery = checkReplicasEvery
            trainer.embeddingExchange = embeddingExchange
            let results = ResultsWriter(outDir: trainer.outDir, deferred: c.fineTune.epochs > 0)
            var observers: [TrainingObserver] = rank == 0 ? [ConsoleReporter(logEvery: c.logEvery), results] : []
            if let logDir { observers.append(try FileLogger(directory: logDir, rank: rank, logEvery: c.logEvery)) }
            if !start.jointFinished || trainer.canContinue { try trainer.run(observers: observers) }
            if c.fineTune.epochs > 0 && !trainer.stoppedEarly { try fineTune(trainer, results: results, rank: rank) }
        } catch {
            activeLock?.release()
            if world.size == 1 { MPICommunicator.finalize() }
            throw error
        }
        activeLock?.release()
        world.shutdown()
        if world.size < mpi.size && !stepsAside { mpi.idleBarrier() }  // releases the ranks that stepped aside
        MPICommunicator.finalize()
    }

    /// SIGTERM (preemption), SIGINT (Ctrl-C), SIGHUP (the terminal closed) or SIGUSR1: checkpoint at
    /// the next step boundary on every rank, say how to resume, and exit; a second Ctrl-C ends the
    /// run at once (`Trainer.stopSignal`). SIGUSR1 too: launch/slurm.sbatch forwards the job's
    /// signal as USR1 through srun or mpirun (mpirun itself ends the job on SIGTERM). A rank that
    /// stepped aside only waits.
    func installStopHandlers() {
        for s in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] { signal(s) { Trainer.stopSignal($0) } }
    }

    /// Rank 0 takes the run folder's writer lock before anything is written, and a new run never
    /// replaces an earlier one in silence: it refuses, or with --overwrite moves it aside.
    func claim(_ folder: RunFolder, say: (String) -> Void) throws {
        if let inside = folder.insideAnotherRun() {
            throw InputError(
                file: folder.path, "is inside \(inside), which a run writes and prunes",
                hint: "give the run an --out folder of its own, for example runs/NAME")
        }
        activeLock = try folder.lock(say: say)
        guard resume == nil, let earlier = folder.earlierRun() else { return }
        guard overwrite else { throw folder.overwriteRefusal(earlier) }
        let aside = try folder.moveAside(logDir: logDir)
        say("--overwrite: the earlier \(earlier) moved to \(aside)")
    }

    /// The ranks that train: on a host with fewer cores than ranks, the ranks beyond the cores step
    /// aside (`training.oversubscription`; nil on such a rank) and the others train among themselves.
    func trainingTeam(_ c: RunConfig, _ mpi: MPICommunicator) -> Communicator? {
        let (team, working) = c.oversubscription.team(mpi, coresPerHost: c.coresPerHost)
        if team != nil && working.count < mpi.size && mpi.rank == 0 {
            let aside = (0..<mpi.size).filter { !working.contains($0) }
            print(
                "oversubscribed host: \(working.count) of \(mpi.size) ranks train (as many as the cores); "
                    + "rank(s) \(aside.map(String.init).joined(separator: ", ")) step aside and wait, sleeping "
                    + "(`--oversubscription share`: every rank trains)")
        }
        return team
    }

    /// The run's output folder (`--out`, else the config's), which must not be a file.
    func runFolder(_ c: RunConfig) throws -> RunFolder {
        let out = options.outDir(c)
        if out.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--out is empty: name the run's output folder, for example runs/\(c.name)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw InputError(
                file: out, "is a file, and the run's output folder (--out) must be a folder",
                hint: "name a folder (it is created if missing), for example runs/\(c.name)")
        }
        return RunFolder(out)
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
                    + "(shared tensors \(c.fineTune.shared.rawValue)), in \(trainer.folder.fineTuneRoot)/")
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
}
