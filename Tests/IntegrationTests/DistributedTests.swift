import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Real `mpirun` runs: equivalence of placements, resume, failures, preemption, Slurm.
final class DistributedTests: MPITestCase {
    /// 1 process running all tasks, 4 ranks with one task each, and 2 ranks with two tasks each
    /// reach the same parameters after 20 steps; the same N twice gives bit-identical files.
    func testPlacementsAgree() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir)
        _ = try train(nil, ranks: 1, cfg, out: dir + "/one")
        let four = try train(mpirun, ranks: 4, cfg, out: dir + "/four")
        XCTAssertTrue(four.contains("rank 3: books"), four)
        _ = try train(mpirun, ranks: 2, cfg, out: dir + "/two")
        _ = try train(mpirun, ranks: 2, cfg, out: dir + "/two-again")
        let one = try tensors(dir + "/one")
        let w4 = worst(try tensors(dir + "/four"), one), w2 = worst(try tensors(dir + "/two"), one)
        print("placement equivalence after 20 steps: worst relative difference 4 ranks \(w4), 2 ranks \(w2)")
        XCTAssertLessThanOrEqual(w4, 1e-5)
        XCTAssertLessThanOrEqual(w2, 1e-5)
        let a = FileManager.default.contents(atPath: dir + "/two/checkpoints/final/model.safetensors")
        let b = FileManager.default.contents(atPath: dir + "/two-again/checkpoints/final/model.safetensors")
        XCTAssertNotNil(a)
        XCTAssertEqual(a, b)
        // Loans of part of a batch over MPI (MPI_Alltoallv of the lent task's tensors): the same
        // steps to float32 rounding (SGD, which does not amplify rounding as AdaGrad's ε does).
        // Two review domains twice (each copy draws its own batches): the placement is even on
        // average, and reviews of up to 150 tokens make the steps' batches differ in cost.
        let long = writeFile(
            dir, "long.json",
            """
            { "name": "lending", "architecture": "arc-ii",
              "model": { "embedding_dim": 8, "hidden_dim": 8, "memory_rows": 4, "memory_width": 3 },
              "vocabulary": { "max_length": 150 },
              "training": { "optimizer": "adagrad", "learning_rate": 0.05, "batch_size": 4, "steps": 20,
                            "eval_every": 10 },
              "tasks": [
                { "name": "kitchen", "train": "fdu-mtl/kitchen_housewares/test.tsv",
                  "test_size": 20, "dev_size": 20, "train_limit": 60 },
                { "name": "kitchen-b", "train": "fdu-mtl/kitchen_housewares/test.tsv",
                  "test_size": 20, "dev_size": 20, "train_limit": 60 },
                { "name": "books", "train": "fdu-mtl/books/test.tsv",
                  "test_size": 20, "dev_size": 20, "train_limit": 60 },
                { "name": "books-b", "train": "fdu-mtl/books/test.tsv",
                  "test_size": 20, "dev_size": 20, "train_limit": 60 }
              ] }
            """)
        _ = try train(nil, ranks: 1, long, out: dir + "/one-sgd", ["--optimizer", "sgd"])
        let split = try train(
            mpirun, ranks: 2, long, out: dir + "/two-split", ["--optimizer", "sgd", "--lending", "split"])
        let lent = split.split(separator: "\n").filter { $0.contains("loans in") && !$0.contains("loans in 0% ") }
        XCTAssertFalse(lent.isEmpty, split)
        XCTAssertTrue(split.contains("(lending: split)"), split)
        let ws = worst(try tensors(dir + "/two-split"), try tensors(dir + "/one-sgd"))
        print("placement equivalence, 2 ranks lending part of a batch: worst relative difference \(ws)")
        XCTAssertLessThanOrEqual(ws, 1e-5)
    }

    /// On a host with fewer cores than ranks (`--cores-per-host 2` here, whatever this machine
    /// has), only as many ranks as cores train and the others step aside: 4 ranks then train
    /// exactly as 2, bit for bit, and say so; `share` gives all 4 work again.
    func testIdleRanksOnAnOversubscribedHost() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir)
        _ = try train(mpirun, ranks: 2, cfg, out: dir + "/two", ["--oversubscription", "idle"])
        let idle = try train(
            mpirun, ranks: 4, cfg, out: dir + "/idle", ["--oversubscription", "idle", "--cores-per-host", "2"])
        XCTAssertTrue(idle.contains("oversubscribed host: 2 of 4 ranks train"), idle)
        XCTAssertTrue(idle.contains("rank(s) 2, 3 step aside"), idle)
        XCTAssertTrue(idle.contains("placement: 2 rank(s)"), idle)
        let a = FileManager.default.contents(atPath: dir + "/two/checkpoints/final/model.safetensors")
        let b = FileManager.default.contents(atPath: dir + "/idle/checkpoints/final/model.safetensors")
        XCTAssertNotNil(a)
        XCTAssertEqual(a, b, "4 ranks of which 2 work must train exactly as 2 ranks")
        let share = try train(
            mpirun, ranks: 4, cfg, out: dir + "/share", ["--oversubscription", "share", "--cores-per-host", "2"])
        XCTAssertFalse(share.contains("step aside"), share)
        XCTAssertTrue(share.contains("rank 3: books"), share)
    }

    /// A run stopped at step 10 and resumed (with another number of ranks) reaches the same
    /// parameters as one that never stopped.
    func testResumeWithOtherRankCount() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, extra: #", "checkpoint_every": 10"#)
        _ = try train(mpirun, ranks: 2, cfg, out: dir + "/straight")
        _ = try train(mpirun, ranks: 2, cfg, out: dir + "/stopped", ["--steps", "10"])
        let resumed = try train(mpirun, ranks: 4, cfg, out: dir + "/stopped", ["--resume", "auto"])
        XCTAssertTrue(resumed.contains("resuming from"), resumed)
        let w = worst(try tensors(dir + "/stopped"), try tensors(dir + "/straight"))
        print("resume with 4 ranks after stopping at step 10 of 20 with 2: worst relative difference \(w)")
        XCTAssertLessThanOrEqual(w, 1e-5)
    }

    /// A run whose data folder is missing: an error on every training rank. Returns the exit
    /// status, the output and the seconds the job took.
    func runWithMissingData(ranks: Int, _ extra: [String] = []) throws -> (Int32, String, Double) {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir)
        let start = Date()
        let (status, text) = try run(
            mpirun,
            ["-np", "\(ranks)", "--oversubscribe", Self.binary, "train", "--config", cfg]
                + extra + ["--data-dir", dir + "/missing", "--out", dir + "/out"])
        return (status, text, Date().timeIntervalSince(start))
    }

    /// An error on one rank ends the whole job quickly with a message naming the rank.
    func testErrorOnOneRankAbortsTheJob() throws {
        let (status, text, seconds) = try runWithMissingData(ranks: 2)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("error on rank"), text)
        XCTAssertLessThan(seconds, 30)
    }

    /// The same error with ranks that stepped aside (4 ranks, 2 cores per host): the training
    /// ranks' MPI_Abort goes to the whole job, so the ranks waiting aside end too.
    func testErrorEndsRanksThatSteppedAside() throws {
        let (status, text, seconds) = try runWithMissingData(ranks: 4, ["--cores-per-host", "2"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("step aside"), text)
        XCTAssertTrue(text.contains("error on rank"), text)
        XCTAssertLessThan(seconds, 30)
    }

    /// SIGKILL of one rank mid-run: the job ends with a non-zero status within seconds, naming
    /// the failed rank; resuming then completes the run.
    func testKilledRankEndsJobAndResumeCompletes() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 100_000, extra: #", "checkpoint_every": 20, "keep_checkpoints": 2"#)
        let (job, pipe) = try start(
            mpirun,
            [
                "-np", "2", "--oversubscribe", Self.binary, "train", "--config", cfg,
                "--data-dir", Paths.sharedData, "--out", dir + "/out",
            ])
        waitFor(dir + "/out/checkpoints/step-00000040")
        let ranks = try children(of: job.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "rank processes of mpirun")
        let killed = Date()
        kill(ranks.last!, SIGKILL)
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        let seconds = Date().timeIntervalSince(killed)
        print("a rank killed with SIGKILL: mpirun exited with \(job.terminationStatus) after \(seconds) s")
        XCTAssertNotEqual(job.terminationStatus, 0)
        XCTAssertLessThan(seconds, 15)
        XCTAssertTrue(text.contains("rank 1") || text.contains("rank 0"), text)
        XCTAssertTrue(text.contains("signal 9") || text.contains("Killed"), text)
        // Resume from the newest complete checkpoint and finish a short schedule, 20 steps past the
        // newest checkpoint (how far the run got before the kill depends on the machine's speed).
        let written = try FileManager.default.contentsOfDirectory(atPath: dir + "/out/checkpoints")
            .compactMap { $0.hasPrefix("step-") ? Int($0.dropFirst(5)) : nil }
        let newest = written.max() ?? 0
        XCTAssertGreaterThanOrEqual(newest, 40)
        let resumed = try train(
            mpirun, ranks: 2, cfg, out: dir + "/out", ["--resume", "auto", "--steps", "\(newest + 20)"])
        XCTAssertTrue(resumed.contains("resuming from"), resumed)
        XCTAssertEqual(try Checkpoint.load(dir + "/out/checkpoints/final").state.step, newest + 20)
    }

    /// SIGTERM to mpirun (as a batch system sends on preemption): every rank writes a checkpoint
    /// at the next step boundary and stops; --log-dir has one log per rank and metrics.jsonl.
    func testSigtermWritesCheckpointOnEveryRank() throws {
        let mpirun = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 100_000, extra: #", "checkpoint_every": 20"#)
        let (job, pipe) = try start(
            mpirun,
            [
                "-np", "2", "--oversubscribe", Self.binary, "train", "--config", cfg,
                "--data-dir", Paths.sharedData, "--out", dir + "/out", "--log-dir", dir + "/logs",
            ])
        waitFor(dir + "/out/checkpoints/step-00000020")
        job.terminate()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        // The stop as the ranks' own files record it. mpirun stops relaying output while it ends
        // a job (it sends SIGCONT, SIGTERM, SIGKILL a second apart without reading), so the
        // console's last lines are best effort; the files and the checkpoint are not.
        let metrics = String(
            decoding: FileManager.default.contents(atPath: dir + "/logs/metrics.jsonl") ?? Data(), as: UTF8.self)
        let stopped = metrics.split(separator: "\n").first { $0.contains(#""event":"stopped""#) }.flatMap { line in
            line.components(separatedBy: #""step":"#).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        }
        XCTAssertNotNil(stopped, "metrics.jsonl records the stop: \(metrics.suffix(400))\n\(text.suffix(2000))")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/out/checkpoints").filter {
            $0.hasPrefix("step-")
        }.sorted()
        let last = try Checkpoint.load(dir + "/out/checkpoints/" + names.last!)
        XCTAssertGreaterThan(last.state.step, 20)
        // The stop checkpoint is written at the step the run reports stopping at (which may
        // also be a multiple of checkpoint_every by chance).
        XCTAssertEqual(last.state.step, stopped, "the stop checkpoint is written at the stop step")
        for f in ["rank-0.log", "rank-1.log", "metrics.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/logs/" + f), f)
        }
        for rank in 0..<2 {
            let log = String(
                decoding: FileManager.default.contents(atPath: dir + "/logs/rank-\(rank).log") ?? Data(), as: UTF8.self)
            XCTAssertTrue(
                log.contains("stopped at step \(stopped ?? -1) on request"), "rank \(rank): \(log.suffix(300))")
        }
    }

    /// Under Slurm, a world size that differs from SLURM_NTASKS is a clear start-up error.
    func testSlurmWorldSizeMismatch() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir)
        let (status, text) = try run(
            "/usr/bin/env",
            [
                "SLURM_JOB_ID=1", "SLURM_NTASKS=4", Self.binary, "train", "--config", cfg,
                "--data-dir", Paths.sharedData, "--out", dir + "/out",
            ])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("srun --mpi=pmix"), text)
    }
}
