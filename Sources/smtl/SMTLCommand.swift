import ArgumentParser
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLOptions
import SMTLTraining

@main
struct SMTLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtl",
        abstract: "Memory-augmented multi-task text classification (Liu, Qiu & Huang, EMNLP 2016).",
        subcommands: [
            Train.self, Evaluate.self, Predict.self, Explain.self, Report.self, Select.self, Curves.self, Prepare.self,
            Bench.self, BenchAllreduce.self, Scaling.self, Init.self,
        ])

    /// First the BLAS kernel (which may restart the program), then the command.
    static func main() {
        BLASKernelChoice.restartWithWiderKernelIfAny()
        main(nil)
    }
}

/// A subcommand whose errors are shown the way users should see them: a usage error
/// (`ValidationError`) goes back to the parser, which prints it with the usage; any other error
/// is printed as `smtl: error: …` and the process exits with status 1 (in a distributed run,
/// every rank ends with MPI_Abort). Each command writes `execute()`; this is the one `run()`.
protocol Subcommand: ParsableCommand {
    func execute() throws
}

extension Subcommand {
    func run() throws {
        do {
            try execute()
        } catch let e as ValidationError {
            throw e
        } catch {
            fail(error)
        }
    }
}

// The choices of the typed options: `--help` lists them and the parser refuses anything else.
extension EmbeddingExchange: ExpressibleByArgument {}
extension Split: ExpressibleByArgument {}

/// How `predict`, `evaluate` and `explain` print: tables for people, or one JSON object a line at
/// full precision for programs.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text, jsonl
}

/// The world of a distributed run, once `train` has started MPI: an error then ends every rank.
nonisolated(unsafe) var activeWorld: Communicator?
/// Every rank of the job (`activeWorld` may be the training ranks only, when some stepped aside
/// on an oversubscribed host): MPI_Abort goes here, so that they end too.
nonisolated(unsafe) var jobWorld: Communicator?
/// The run folder's writer lock held by this process (rank 0 of `train`), released on every exit.
nonisolated(unsafe) var activeLock: RunLock?
/// The tasks this rank runs, once the placement is known (for error messages).
nonisolated(unsafe) var rankTasks = ""

/// Prints an error the way users should see it and ends the process with status 1. In a
/// distributed run an error on any rank ends the whole job with MPI_Abort, so that no rank is
/// left waiting in a collective; the message names the rank and its tasks.
func fail(_ error: Error) -> Never {
    activeLock?.release()
    guard let world = activeWorld, max(world.size, jobWorld?.size ?? 0) > 1 else {
        FileHandle.standardError.write(Data("smtl: error: \(error)\n".utf8))
        exit(1)
    }
    let tasks = rankTasks.isEmpty ? "" : " (tasks: \(rankTasks))"
    FileHandle.standardError.write(Data("smtl: error on rank \(world.rank) of \(world.size)\(tasks): \(error)\n".utf8))
    if let job = jobWorld, job.size > world.size { job.abort(1) }
    world.abort(1)
}

/// Refuses an option's value outside its range (NaN included), naming the option and the range,
/// before anything is allocated.
func requireRange<T: Comparable>(_ option: String, _ value: T, _ range: ClosedRange<T>) throws {
    guard range.contains(value) else {
        throw ValidationError("\(option) must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
    }
}

/// The common `--config` / `--data-dir` handling.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Run config (JSON). See configs/.")
    var config: String

    @Option(name: .long, help: "Folder the config's data paths are relative to (overrides `data_dir`).")
    var dataDir: String?

    @Option(name: .long, help: "Output folder for checkpoints (default: `out_dir`, else runs/NAME).")
    var out: String?

    func load() throws -> RunConfig {
        var c = try RunConfig.load(config)
        if let dataDir { c.dataDir = dataDir }
        return c
    }

    func outDir(_ c: RunConfig) -> String { out ?? c.outDir ?? "runs/\(c.name)" }
}

/// Under Slurm the world must have SLURM_NTASKS ranks; a plain `smtl train` inside a batch
/// allocation would otherwise silently train as a world of one per task slot.
func checkSlurm(worldSize: Int) throws {
    let env = ProcessInfo.processInfo.environment
    guard let s = env["SLURM_NTASKS"], let n = Int(s), env["SLURM_JOB_ID"] != nil else { return }
    // mpirun inside the allocation decides its own world (launch/reproduce oversubscribes one
    // Slurm task with several ranks); the check is for srun without pmix (a world of one per task).
    if env["OMPI_COMM_WORLD_SIZE"] != nil { return }
    if n != worldSize {
        throw InputError(
            file: "SLURM_NTASKS", "the job has \(n) Slurm tasks but MPI sees a world of \(worldSize)",
            hint: "launch with `srun --mpi=pmix smtl train …`, or with `mpirun smtl train …` inside the allocation")
    }
}
