import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The study scripts end to end on tiny settings: launch/reproduce runs every cell through
/// mpirun, skips finished runs when run again and writes the tables; launch/fetch-data turns
/// unpacked releases into a data folder.
final class StudyScriptTests: MPITestCase {
    /// launch/reproduce as a user runs it (as root without the OpenMPI root variables in CI).
    func reproduce(_ args: [String]) throws -> (Int32, String) {
        try runScript("launch/reproduce", args)
    }

    /// A tiny product study: its folder, the study folder OUT inside it, and the launch/reproduce
    /// arguments of its single-task LSTM rows for these seeds.
    func lstmStudy(seeds: String, out name: String = "study") throws -> (dir: String, out: String, args: [String]) {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let out = dir + "/" + name
        return (
            dir, out,
            [
                "--table", "4", "--model", "lstm", "--seeds", seeds, "--configs", configs, "--data", Paths.sharedData,
                "--out", out,
            ]
        )
    }

    /// The vector options as a sweep axis (`--set-json`, results/vectors-study.sh): a point
    /// per option, named by its label, whose configs hold the option's value (a list for joined
    /// files), and whose runs start from those vectors with embedding_dim 0 resolved to the width.
    func testSweepTakesVectorOptions() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let glove = Paths.sharedData + "/embeddings/glove.6B.50d.restricted.txt.gz"
        let bin = writeFile(
            dir, "in4.bin", bytes: Fixture.word2vecBinary([("great", [1, 2, 3, 4]), ("book", [5, 6, 7, 8])]))
        let options = #"{"glove50": "\#(glove)", "glove50+in4": ["\#(glove)", "\#(bin)"]}"#
        let args = [
            "--set", "model.embedding_dim=0", "--set-json", "embeddings=" + options, "--table", "4", "--model", "arc-i",
            "--seeds", "1", "--configs", configs, "--data", Paths.sharedData, "--out", dir + "/vectors",
        ]
        let (listed, list) = try runScript("launch/sweep", ["--list"] + args)
        XCTAssertEqual(listed, 0, list)
        XCTAssertTrue(
            list.contains("embedding_dim=0-embeddings=glove50+in4\tmodel.embedding_dim=0;embeddings=[\""), list)
        let (status, text) = try runScript("launch/sweep", args)
        XCTAssertEqual(status, 0, text)
        for (point, files, width) in [("glove50", [glove], 50), ("glove50+in4", [glove, bin], 54)] {
            let folder = "\(dir)/vectors/embedding_dim=0-embeddings=\(point)"
            XCTAssertEqual(try RunConfig.load(folder + "/configs/product-arc-i.json").embeddings, files)
            let log = try String(contentsOfFile: folder + "/product/arc-i/seed-1/train.log", encoding: .utf8)
            XCTAssertTrue(
                log.contains(files.count == 1 ? "(GloVe text, 50 values" : "+ in4.bin (word2vec binary, 4 values"), log)
            let saved = try RunConfig.load(folder + "/product/arc-i/seed-1/checkpoints/final/config.json")
            XCTAssertEqual(saved.embeddingDim, width)
        }
        let (bad, badText) = try runScript("launch/sweep", ["--list", "--set-json", "embeddings=[1, 2]"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(badText.contains("must be a JSON object of LABEL: VALUE pairs"), badText)
    }

    /// launch/sweep: the grid's points run through launch/reproduce (two at a time), the
    /// selection takes each task's best-dev point, a second call skips everything, and the
    /// Slurm array script runs the point of its array index.
    func testSweepRunsPointsAndSelectsOnDev() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let out = dir + "/sweep"
        let common = [
            "--set", "training.learning_rate=0.1,0.02", "--table", "4", "--model", "lstm,arc-i", "--seeds", "1",
            "--configs", configs, "--data", Paths.sharedData, "--out", out,
        ]
        // One point at a time, three points: every point runs (mpirun reads stdin; the points
        // list must not be its stdin, or the later points are skipped).
        let (serial, serialText) = try runScript(
            "launch/sweep",
            [
                "--set", "training.learning_rate=0.1,0.05,0.02", "--table", "4", "--model", "arc-i", "--seeds", "1",
                "--configs", configs, "--data", Paths.sharedData, "--out", dir + "/serial", "--parallel", "1",
            ])
        XCTAssertEqual(serial, 0, serialText)
        for point in ["learning_rate=0.1", "learning_rate=0.05", "learning_rate=0.02"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: "\(dir)/serial/\(point)/product/arc-i/seed-1/results.json"),
                point + ": " + serialText)
        }
        let (listed, list) = try runScript("launch/sweep", ["--list", "--set", "training.learning_rate=0.1,0.02"])
        XCTAssertEqual(listed, 0, list)
        XCTAssertEqual(list.split(separator: "\n").count, 2, list)
        let (status, text) = try runScript("launch/sweep", common + ["--parallel", "2"])
        XCTAssertEqual(status, 0, text)
        for point in ["learning_rate=0.1", "learning_rate=0.02"] {
            let config = try RunConfig.load("\(out)/\(point)/configs/product-lstm.json")
            XCTAssertEqual(config.optimizer.learningRate, point.hasSuffix("0.1") ? 0.1 : 0.02)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(point)/product/arc-i/seed-1/results.json"))
        }
        // Each choice is the point with the highest dev accuracy of that run and task.
        let selection = try SweepSelection.load([out + "/learning_rate=0.1", out + "/learning_rate=0.02"])
        XCTAssertEqual(selection.choices.count, 8)
        for c in selection.choices {
            let devs = selection.points.map { p in p.runs.first { $0.name == c.run }!.tasks[c.task]!.bestDev }
            XCTAssertEqual(c.dev, devs.max())
        }
        XCTAssertTrue(
            try String(contentsOfFile: out + "/selection.md", encoding: .utf8).contains("| product | ARC-I | 1 | 4 |"))
        let (again, againText) = try runScript("launch/sweep", common)
        XCTAssertEqual(again, 0, againText)
        XCTAssertTrue(againText.contains("5 of 5 runs done"), againText)
        let (shown, shownText) = try runScript(
            "launch/sweep", ["--status", "--out", out, "--set", "training.learning_rate=0.1,0.02"])
        XCTAssertEqual(shown, 0)
        XCTAssertTrue(shownText.contains("point 2 (learning_rate=0.02): study"), shownText)
        // Confirmation: seed 2 only at each task's point chosen on seed 1's dev.
        let (confirm, confirmText) = try runScript("launch/sweep", common + ["--confirm-seeds", "2"])
        XCTAssertEqual(confirm, 0, confirmText)
        struct Row: Decodable { let run: String; let task: String; let point: String; let seed: Int; let test: Double }
        let rows = try JSONDecoder().decode(
            [Row].self, from: Data(contentsOf: URL(fileURLWithPath: out + "/confirmed.json")))
        let seed1 = selection.choices.filter { $0.seed == 1 }
        XCTAssertEqual(rows.count, 2 * seed1.count, confirmText)
        for c in seed1 {
            let mine = rows.filter { $0.run == c.run && $0.task == c.task }
            XCTAssertEqual(mine.map(\.seed).sorted(), [1, 2])
            XCTAssertTrue(mine.allSatisfy { $0.point == (c.point as NSString).lastPathComponent }, "\(c.run) \(c.task)")
        }
        for task in ["books", "dvd", "electronics", "kitchen"] {
            let chosen = (seed1.first { $0.run == "product-lstm-\(task)" && $0.task == task }!.point as NSString)
                .lastPathComponent
            for point in ["learning_rate=0.1", "learning_rate=0.02"] {
                XCTAssertEqual(
                    FileManager.default.fileExists(atPath: "\(out)/\(point)/product/lstm-\(task)/seed-2/results.json"),
                    point == chosen, "seed 2 of lstm-\(task) runs at its chosen point only (\(chosen))")
            }
        }
        // A job confirms only its own selection: ARC-I's seed 3 here, and no LSTM run (two sweep
        // jobs on one folder must not confirm each other's runs before their grid is done).
        let (arcOnly, arcOnlyText) = try runScript(
            "launch/sweep",
            [
                "--set", "training.learning_rate=0.1,0.02", "--table", "4", "--model", "arc-i", "--seeds", "1",
                "--configs", configs, "--data", Paths.sharedData, "--out", out, "--confirm-seeds", "3",
            ])
        XCTAssertEqual(arcOnly, 0, arcOnlyText)
        let arcPoints = Set(seed1.filter { $0.run == "product-arc-i" }.map { ($0.point as NSString).lastPathComponent })
        for point in ["learning_rate=0.1", "learning_rate=0.02"] {
            XCTAssertEqual(
                FileManager.default.fileExists(atPath: "\(out)/\(point)/product/arc-i/seed-3/results.json"),
                arcPoints.contains(point), arcOnlyText)
            for task in ["books", "dvd", "electronics", "kitchen"] {
                XCTAssertFalse(
                    FileManager.default.fileExists(atPath: "\(out)/\(point)/product/lstm-\(task)/seed-3"), arcOnlyText)
            }
        }
        // Two jobs confirming on one folder: a chosen point whose run another job is training
        // (its lock held) is put off until this job's other points are done, then trained.
        let booksPoint = (seed1.first { $0.run == "product-lstm-books" }!.point as NSString).lastPathComponent
        let held = "\(out)/\(booksPoint)/product/lstm-books/seed-4"
        try FileManager.default.createDirectory(atPath: held, withIntermediateDirectories: true)
        let (holder, _) = try start("/usr/bin/flock", [held + "/.lock", "sleep", "4"])
        Thread.sleep(forTimeInterval: 0.5)
        let (later, laterText) = try runScript(
            "launch/sweep",
            [
                "--set", "training.learning_rate=0.1,0.02", "--table", "4", "--model", "lstm", "--seeds", "1",
                "--configs", configs, "--data", Paths.sharedData, "--out", out, "--confirm-seeds", "4",
            ])
        holder.waitUntilExit()
        XCTAssertEqual(later, 0, laterText)
        XCTAssertTrue(
            laterText.contains(
                "== confirm: \(booksPoint), lstm books: another job is training one of its runs; put off to the end"),
            laterText)
        let booksRun = laterText.range(of: "== confirm: \(booksPoint), lstm books, seeds 4")
        let kitchenRun = laterText.range(of: "lstm kitchen, seeds 4")
        XCTAssertNotNil(booksRun, laterText)
        XCTAssertNotNil(kitchenRun, laterText)
        if let booksRun, let kitchenRun { XCTAssertLessThan(kitchenRun.lowerBound, booksRun.lowerBound, laterText) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: held + "/results.json"), laterText)
        // The Slurm array script: array task 1 runs point 1 (already done: skipped).
        let (array, arrayText) = try runScript(
            "launch/sweep.sbatch", common, env: ["SLURM_ARRAY_TASK_ID": "1"])
        XCTAssertEqual(array, 0, arrayText)
        XCTAssertTrue(arrayText.contains("== point 1 of 2: learning_rate=0.1"), arrayText)
        XCTAssertFalse(arrayText.contains("point 2 of 2"), arrayText)
    }

    /// A study-level progress line before every run (done, running, left, ETA from finished runs),
    /// the same in OUT/status.txt, and `launch/reproduce --status` prints it; two jobs on one
    /// folder each keep their own line.
    func testReproduceReportsProgressAndStatus() throws {
        let (_, out, common) = try lstmStudy(seeds: "1 2")
        let (none, noneText) = try reproduce(["--status", "--out", out])
        XCTAssertNotEqual(none, 0)
        XCTAssertTrue(noneText.contains("no study status"), noneText)
        let (status, text) = try reproduce(common)
        XCTAssertEqual(status, 0, text)
        // Before the first run nothing is known; before the fifth run (seed 2 of books), one run of
        // each cell has finished, so there is an ETA.
        XCTAssertTrue(text.contains("0 of 8 runs done, 1 running, 7 left; ETA unknown"), text)
        XCTAssertTrue(text.contains("running: product/lstm-books/seed-1"), text)
        XCTAssertTrue(text.contains("4 of 8 runs done, 1 running, 3 left; ETA "), text)
        XCTAssertTrue(text.contains("8 of 8 runs done, 0 running, 0 left; finished"), text)
        let (shown, shownText) = try reproduce(["--status", "--out", out])
        XCTAssertEqual(shown, 0, shownText)
        XCTAssertTrue(shownText.contains("8 of 8 runs done, 0 running, 0 left; finished"), shownText)
        XCTAssertEqual(shownText, try String(contentsOfFile: out + "/status.txt", encoding: .utf8))
        // A second job on the same folder (here one seed of the same runs, all done) keeps its own
        // part: the status shows both jobs, each named by its selection.
        let (second, secondText) = try reproduce(common.map { $0 == "1 2" ? "1" : $0 })
        XCTAssertEqual(second, 0, secondText)
        let (both, bothText) = try reproduce(["--status", "--out", out])
        XCTAssertEqual(both, 0, bothText)
        XCTAssertTrue(
            bothText.contains("(table 4, lstm, seeds 1 2): 8 of 8 runs done, 0 running, 0 left; finished"), bothText)
        XCTAssertTrue(
            bothText.contains("(table 4, lstm, seeds 1): 4 of 4 runs done, 0 running, 0 left; finished"), bothText)
    }

    /// The study ETA counts a run in progress for the part it has left (its last logged step
    /// against the finished runs' steps; at least 5% once it fine-tunes) and divides the time left
    /// among the runs that train side by side. Made-up runs: one cell, seed 1 finished in 1,000 s
    /// and 100 steps.
    func testStudyETACountsTheRunInProgressForWhatItHasLeft() throws {
        let dir = Paths.temporaryDirectory()
        let out = dir + "/out"
        let runs = (1...3).map { "movie/arc-ii/seed-\($0)" }
        writeFile(dir, "plan", runs.joined(separator: "\n") + "\n")
        for d in [runs[0], runs[1] + "/logs"] {
            try FileManager.default.createDirectory(atPath: out + "/" + d, withIntermediateDirectories: true)
        }
        writeFile(out + "/" + runs[0], "results.json", #"{"training_seconds": 1000, "steps": 100}"#)
        writeFile(
            out + "/" + runs[1] + "/logs", "metrics.jsonl",
            #"{"event":"start","total_steps":200}"# + "\n" + #"{"event":"step","step":75}"# + "\n"
                + #"{"event":"eval","dev":{"a":1}}"# + "\n")
        func status() throws -> String {
            let (code, text) = try run(
                "/usr/bin/env", ["python3", Paths.root + "/launch/study-status.py", out, runs[1], dir + "/plan"])
            XCTAssertEqual(code, 0, text)
            return text
        }
        // Seed 2 has a quarter left (250 s), seed 3 all of it (1,000 s).
        let one = try status()
        XCTAssertTrue(one.contains("1 of 3 runs done, 1 running, 1 left; ETA 20m50s (from"), one)
        // Seed 3 taken by another job (its lock held): two runs side by side, (250 + 1,000) / 2.
        let held = out + "/" + runs[2]
        try FileManager.default.createDirectory(atPath: held, withIntermediateDirectories: true)
        let (holder, _) = try start("/usr/bin/flock", [held + "/.lock", "sleep", "3"])
        Thread.sleep(forTimeInterval: 0.5)
        let side = try status()
        holder.waitUntilExit()
        XCTAssertTrue(
            side.contains(
                "1 of 3 runs done, 2 running, 0 left; ETA about 10m25s with 2 runs side by side (20m50s of "
                    + "training left"
            ), side)
        // Seed 2 past its joint steps (fine-tuning): 5% of its time, 50 s.
        try FileManager.default.createDirectory(
            atPath: out + "/" + runs[1] + "/logs/fine-tune-a", withIntermediateDirectories: true)
        let tuning = try status()
        XCTAssertTrue(tuning.contains("ETA 17m30s (from"), tuning)
    }

    /// Jobs that share runs train each run once: a run that another job holds (its lock) is put
    /// off to the end of the plan, then waited for and trained or skipped, and the progress line
    /// counts it as running; two copies of one command started together split the runs between them.
    func testJobsOnOneStudyTrainEachRunOnce() throws {
        let (_, out, common) = try lstmStudy(seeds: "1 2")
        // Another job holds seed 1 of books for a few seconds and leaves it unfinished.
        let held = out + "/product/lstm-books/seed-1"
        try FileManager.default.createDirectory(atPath: held, withIntermediateDirectories: true)
        let (holder, _) = try start("/usr/bin/flock", [held + "/.lock", "sleep", "4"])
        Thread.sleep(forTimeInterval: 0.5)
        let (status, text) = try reproduce(common)
        holder.waitUntilExit()
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(
            text.contains("product/lstm-books/seed-1: another job is training this run; put off to the end"), text)
        // Meanwhile the progress line counts the held run as running (its lock is held), not as left.
        XCTAssertTrue(text.contains("0 of 8 runs done, 2 running, 6 left"), text)
        XCTAssertTrue(text.contains("running: product/lstm-dvd/seed-1, product/lstm-books/seed-1"), text)
        // Put off, not skipped: after the others, it was trained.
        XCTAssertTrue(FileManager.default.fileExists(atPath: held + "/results.json"), text)
        let firstRun = text.range(of: "== \(out)/product/lstm-dvd/seed-1\n")!
        let heldRun = text.range(of: "== \(held)\n")!
        XCTAssertLessThan(firstRun.lowerBound, heldRun.lowerBound, text)
        // Two copies of one command at once, on new seeds: every run trained exactly once.
        let more = common.map { $0 == "1 2" ? "3 4" : $0 }
        let (a, aOut) = try start(
            "/bin/bash", [Paths.root + "/launch/reproduce"] + more, environment: scriptEnvironment())
        let (bStatus, bText) = try reproduce(more)
        let aText = String(decoding: aOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        a.waitUntilExit()
        XCTAssertEqual(a.terminationStatus, 0, aText)
        XCTAssertEqual(bStatus, 0, bText)
        let trained = (aText + bText).components(separatedBy: "   done in ").count - 1
        XCTAssertEqual(trained, 8, aText + bText)
        for seed in [3, 4] {
            for task in ["books", "dvd", "electronics", "kitchen"] {
                let log = try String(
                    contentsOfFile: "\(out)/product/lstm-\(task)/seed-\(seed)/train.log", encoding: .utf8)
                XCTAssertEqual(
                    log.components(separatedBy: "mean test accuracy").count - 1, 1, "\(task) seed \(seed): " + log)
            }
        }
    }

    /// results/archive.sh: `save` keeps each finished run's small files, `restore` puts them
    /// back on a machine that has lost its runs, and the study then skips those runs.
    func testArchiveKeepsFinishedRunsAcrossMachines() throws {
        let (dir, _, common) = try lstmStudy(seeds: "1", out: "runs/study")
        let runs = dir + "/runs"
        let (status, text) = try reproduce(common)
        XCTAssertEqual(status, 0, text)
        let env = ["SMTL_RUNS": runs, "SMTL_ARCHIVE": dir + "/archive", "SMTL_ARCHIVE_EARLIER": "0"]
        let (saved, savedText) = try runScript("results/archive.sh", ["save"], env: env)
        XCTAssertEqual(saved, 0, savedText)
        XCTAssertTrue(savedText.contains("saved 4 new or changed run(s)"), savedText)
        let kept = dir + "/archive/study/product/lstm-books/seed-1"
        for file in ["results.json", "train.log", "metrics.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: kept + "/" + file), file)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: kept + "/checkpoints"))
        let (again, againText) = try runScript("results/archive.sh", ["save"], env: env)
        XCTAssertEqual(again, 0, againText)
        XCTAssertTrue(againText.contains("saved 0 new or changed run(s)"), againText)
        // A new machine: no runs; restore, and the study trains nothing.
        let results = try String(
            contentsOfFile: runs + "/study/product/lstm-books/seed-1/results.json", encoding: .utf8)
        try FileManager.default.removeItem(atPath: runs)
        let (restored, restoredText) = try runScript("results/archive.sh", ["restore"], env: env)
        XCTAssertEqual(restored, 0, restoredText)
        XCTAssertTrue(restoredText.contains("restored 4 run(s)"), restoredText)
        XCTAssertEqual(
            try String(contentsOfFile: runs + "/study/product/lstm-books/seed-1/results.json", encoding: .utf8), results
        )
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: runs + "/study/product/lstm-books/seed-1/logs/metrics.jsonl"))
        let (rerun, rerunText) = try reproduce(common)
        XCTAssertEqual(rerun, 0, rerunText)
        XCTAssertEqual(rerunText.components(separatedBy: ": done, skipped").count - 1, 4, rerunText)
        XCTAssertFalse(rerunText.contains("done in"), rerunText)
    }

    /// More ranks than cores: the runs are oversubscribed, and waiting ranks yield the CPU.
    func testReproduceOversubscribesAndYields() throws {
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let (status, text) = try reproduce(
            [
                "--table", "4", "--model", "arc-ii", "--seeds", "1", "--configs", configs, "--data", Paths.sharedData,
                "--out", dir + "/study", "--dry-run",
            ])
        XCTAssertEqual(status, 0, text)
        let ranks = text.components(separatedBy: " -np ").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        XCTAssertFalse(ranks.isEmpty, text)
        if let r = ranks.first, r > ProcessInfo.processInfo.activeProcessorCount {
            XCTAssertTrue(text.contains("--oversubscribe --mca mpi_yield_when_idle 1"), text)
        } else {
            XCTAssertFalse(text.contains("--oversubscribe"), text)
        }
    }

    func testReproduceRunsSkipsAndReports() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let out = dir + "/study"
        let common = [
            "--table", "4", "--model", "lstm,arc-i", "--seeds", "1 2", "--configs", configs, "--data", Paths.sharedData,
            "--out", out,
        ]
        let (status, text) = try reproduce(common)
        if getuid() == 0 { XCTAssertTrue(text.contains(LaunchScriptTests.notice), text) }
        XCTAssertEqual(status, 0, text)
        // One single-task run per task and seed, one multi-task run per seed.
        for seed in [1, 2] {
            for task in ["books", "dvd", "electronics", "kitchen"] {
                XCTAssertTrue(
                    FileManager.default.fileExists(atPath: "\(out)/product/lstm-\(task)/seed-\(seed)/results.json"),
                    text)
            }
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: "\(out)/product/arc-i/seed-\(seed)/results.json"), text)
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: "\(out)/product/arc-i/seed-\(seed)/logs/metrics.jsonl"))
        }
        let report = try StudyReport.load([out])
        XCTAssertEqual(report.runs.count, 10)
        XCTAssertEqual(report.runs.filter { $0.architecture == .arc1 }.map(\.ranks), [4, 4])
        XCTAssertEqual(report.cell(.lstm, "dvd")?.seeds, [1, 2])
        let tables = try String(contentsOfFile: out + "/tables.md", encoding: .utf8)
        XCTAssertTrue(tables.contains("| ARC-I (multi-task) | ours, 2 seeds |"), tables)
        // Each row's regenerate command names the configs and the folder (not the defaults).
        XCTAssertTrue(
            tables.contains(
                "`launch/reproduce --configs \(configs) --out \(out) --table 4 --model arc-i --seeds \"1 2\"`"),
            tables)
        XCTAssertTrue(try String(contentsOfFile: out + "/results.csv", encoding: .utf8).hasPrefix("group,model"))
        // Export: raw files copied, tables made from the copies.
        let (exported, text4) = try reproduce(["--report-only", "--export", dir + "/docs", "--out", out])
        XCTAssertEqual(exported, 0, text4)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/docs/runs/product/arc-i/seed-2/metrics.jsonl"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/docs/runs/product/lstm-books/seed-1/train.log"))
        XCTAssertEqual(try StudyReport.load([dir + "/docs/runs"]).runs.count, 10)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/docs/cells.json"))
        // Again: everything is done, nothing runs.
        let before = try String(contentsOfFile: "\(out)/product/arc-i/seed-1/results.json", encoding: .utf8)
        let (again, text2) = try reproduce(common)
        XCTAssertEqual(again, 0, text2)
        XCTAssertEqual(text2.components(separatedBy: "done, skipped").count - 1, 10, text2)
        XCTAssertEqual(try String(contentsOfFile: "\(out)/product/arc-i/seed-1/results.json", encoding: .utf8), before)
        // A run interrupted before its first step checkpoint (a best/ only) starts again, the
        // earlier part moved aside, not mixed in (and not refused: smtl train --overwrite).
        let run = "\(out)/product/arc-i/seed-2"
        let fm = FileManager.default
        try fm.removeItem(atPath: run + "/results.json")
        for c in try fm.contentsOfDirectory(atPath: run + "/checkpoints") where c != "best" {
            try fm.removeItem(atPath: run + "/checkpoints/" + c)
        }
        let (restarted, text5) = try reproduce(common)
        XCTAssertEqual(restarted, 0, text5)
        XCTAssertTrue(
            try fm.contentsOfDirectory(atPath: out + "/product/arc-i").contains { $0.hasPrefix("seed-2.replaced-") },
            text5)
        XCTAssertTrue(fm.fileExists(atPath: run + "/results.json"), text5)
        XCTAssertEqual(text5.components(separatedBy: "done, skipped").count - 1, 9, text5)
        // A bad option is refused with a message.
        let (bad, text3) = try reproduce(["--model", "gru"])
        XCTAssertEqual(bad, 2)
        XCTAssertTrue(text3.contains("unknown model 'gru'"), text3)
    }

    /// `--tasks`: the single-task runs of those tasks and the multi-task runs on them alone (one
    /// rank per task, folder <model>-A+B), the same model as one process trained on those tasks;
    /// resumable like the rest, and a subset no group holds is refused.
    func testTasksSubsetTrainsTheMultiTaskModelOnThoseTasks() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let out = dir + "/pair"
        let common = [
            "--table", "4", "--model", "lstm,arc-ii", "--tasks", "dvd,books", "--seeds", "1", "--configs", configs,
            "--data", Paths.sharedData, "--out", out,
        ]
        let (status, text) = try reproduce(common)
        XCTAssertEqual(status, 0, text)
        let fm = FileManager.default
        for run in ["lstm-books", "lstm-dvd", "arc-ii-books+dvd"] {
            XCTAssertTrue(fm.fileExists(atPath: "\(out)/product/\(run)/seed-1/results.json"), run + ": " + text)
        }
        // Nothing of the other tasks, and no four-task run.
        XCTAssertEqual(
            try fm.contentsOfDirectory(atPath: out + "/product").sorted(),
            ["arc-ii-books+dvd", "lstm-books", "lstm-dvd"])
        let report = try StudyReport.load([out])
        let pair = try XCTUnwrap(report.runs.first { $0.architecture == .arc2 })
        XCTAssertEqual(pair.taskOrder, ["books", "dvd"])
        XCTAssertEqual(pair.ranks, 2)
        XCTAssertEqual(pair.name, "product-arc-ii-books+dvd")
        // Two ranks, one task each: the model of one process trained on the same two tasks.
        let single = dir + "/one-process"
        let (s1, t1) = try run(
            Self.binary,
            [
                "train", "--config", configs + "/product-arc-ii.json", "--data-dir", Paths.sharedData, "--seed", "1",
                "--task", "books", "--task", "dvd", "--out", single,
            ])
        XCTAssertEqual(s1, 0, t1)
        let bytes = { (run: String) in fm.contents(atPath: run + "/checkpoints/final/model.safetensors") }
        XCTAssertNotNil(bytes(single))
        XCTAssertEqual(bytes("\(out)/product/arc-ii-books+dvd/seed-1"), bytes(single))
        // The rows' regenerate commands name the subset.
        let tables = try String(contentsOfFile: out + "/tables.md", encoding: .utf8)
        XCTAssertTrue(tables.contains("--tasks dvd,books"), tables)
        // Again: done, skipped.
        let (again, text2) = try reproduce(common)
        XCTAssertEqual(again, 0, text2)
        XCTAssertEqual(text2.components(separatedBy: "done, skipped").count - 1, 3, text2)
        // Spaces separate tasks as commas do.
        let (spaced, spacedText) = try reproduce([
            "--table", "4", "--model", "arc-ii", "--tasks", "dvd, books", "--dry-run",
        ])
        XCTAssertEqual(spaced, 0, spacedText)
        XCTAssertTrue(spacedText.contains("/product/arc-ii-books+dvd/seed-1"), spacedText)
        // Refused: tasks of two groups, a task no group has, and --task with --tasks.
        for (args, message) in [
            (["--tasks", "books,sst1"], "no group of --table all holds all of these tasks"),
            (["--tasks", "books,films"], "no group of --table all holds all of these tasks"),
            (["--task", "books", "--tasks", "books,dvd"], "give --task or --tasks, not both"),
        ] {
            let (bad, badText) = try reproduce(args + ["--dry-run"])
            XCTAssertEqual(bad, 2, badText)
            XCTAssertTrue(badText.contains(message), badText)
        }
    }

    /// `--task` and `--architecture` select a single-task run of a group config, and say what is wrong.
    func testTaskAndArchitectureOverrides() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let configs = Fixture.tinyStudy(dir)
        let (bad, text) = try run(
            Self.binary,
            [
                "train", "--config", configs + "/product-arc-i.json", "--data-dir", Paths.sharedData,
                "--task", "toys", "--out", dir + "/x",
            ])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(text.contains("--task toys") && text.contains("books, dvd, electronics, kitchen"), text)
        let (badArch, text2) = try run(
            Self.binary, ["train", "--config", configs + "/product-arc-i.json", "--architecture", "gru"])
        XCTAssertNotEqual(badArch, 0)
        // The parser refuses it (a typed option) and lists the choices.
        XCTAssertTrue(text2.contains("'gru' is invalid for '--architecture"), text2)
        XCTAssertTrue(text2.contains("'arc-ii'"), text2)
        let (ok, text3) = try run(
            Self.binary,
            [
                "train", "--config", configs + "/product-arc-i.json", "--data-dir", Paths.sharedData,
                "--task", "dvd", "--architecture", "me-lstm", "--out", dir + "/one",
            ])
        XCTAssertEqual(ok, 0, text3)
        let loaded = try Checkpoint.load(dir + "/one/checkpoints/final")
        XCTAssertEqual(loaded.config.tasks.map(\.name), ["dvd"])
        XCTAssertEqual(loaded.config.architecture, .meLSTM)
        XCTAssertNil(loaded.tensors["global.memory0"])
        XCTAssertNotNil(loaded.tensors["task.dvd.local.memory0"])
    }

    func testFetchDataConvertsUnpackedReleases() throws {
        let dir = Paths.temporaryDirectory()
        let dl = dir + "/downloads", out = dir + "/data"
        func put(_ rel: String, _ text: String) {
            let p = (dl as NSString).appendingPathComponent(rel)
            try! FileManager.default.createDirectory(
                atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        }
        // Archives "downloaded" and already unpacked, as fetch-data leaves them.
        for name in [
            "trainDevTestTrees_PTB.zip", "rotten_imdb.tar.gz", "aclImdb_v1.tar.gz", "fudan-mtl-dataset.tar.gz",
            "glove.6B.zip",
        ] {
            put(name, "x")
        }
        put("unpacked/trainDevTestTrees_PTB/trees/train.txt", "(3 (3 Good) (2 fun))\n(0 (0 Bad))\n")
        put("unpacked/trainDevTestTrees_PTB/trees/dev.txt", "(1 (1 Dull))\n")
        put("unpacked/trainDevTestTrees_PTB/trees/test.txt", "(4 (4 Great))\n")
        put("unpacked/rotten_imdb/quote.tok.gt9.5000", "a fun ride\n")
        put("unpacked/rotten_imdb/plot.tok.gt9.5000", "he goes home\n")
        put("unpacked/aclImdb_v1/aclImdb/train/neg/0_1.txt", "Bad film.")
        put("unpacked/aclImdb_v1/aclImdb/train/pos/0_9.txt", "Good film!")
        put("unpacked/aclImdb_v1/aclImdb/test/neg/0_2.txt", "Poor.")
        put("unpacked/aclImdb_v1/aclImdb/test/pos/0_8.txt", "Fine.")
        for d in Prepare.productDomains {
            put(
                "unpacked/fudan-mtl-dataset/mtl-dataset/\(d).task.train",
                "1\tgood \(d)\n0\tawful \(d)\n1\tfine \(d)\n0\tpoor \(d)\n")
            put("unpacked/fudan-mtl-dataset/mtl-dataset/\(d).task.test", "0\tbad\n")
        }
        put(
            "unpacked/glove.6B/glove.6B.50d.txt",
            "good " + Array(repeating: "0.5", count: 50).joined(separator: " ") + "\n")
        let (status, text) = try run(
            "/usr/bin/env",
            [
                "SMTL_BIN=\(Self.binary)", "bash", Paths.root + "/launch/fetch-data",
                "--out", out, "--downloads", dl, "--skip-download",
            ])
        XCTAssertEqual(status, 0, text)
        for f in [
            "sst-1/train.tsv", "sst-2/test.tsv", "subj/all.tsv", "imdb/train.tsv.gz", "imdb/test.tsv.gz",
            "fdu-mtl/kitchen_housewares/train.tsv", "fdu-mtl/books/test.tsv",
            "embeddings/glove.6B.50d.restricted.txt.gz",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), "\(f) missing: \(text)")
        }
        // The prepared folder trains: a config of the repository reads it.
        var c = try RunConfig.load(Paths.root + "/configs/study/product-lstm.json")
        c.dataDir = out
        c.tasks = c.tasks.map {
            var t = $0; t.devSize = 1; t.devFraction = 0; return t
        }
        let corpus = try Corpus.load(c)
        XCTAssertEqual(corpus.tasks.map { $0.train.count }, [3, 3, 3, 3])
        XCTAssertEqual(corpus.tasks.map { $0.dev.count }, [1, 1, 1, 1])
        // Without the archives and with --skip-download, it says what is missing.
        try FileManager.default.removeItem(atPath: dl + "/glove.6B.zip")
        let (missing, text2) = try run(
            "/usr/bin/env",
            [
                "SMTL_BIN=\(Self.binary)", "bash", Paths.root + "/launch/fetch-data",
                "--out", out, "--downloads", dl, "--skip-download",
            ])
        XCTAssertNotEqual(missing, 0)
        XCTAssertTrue(text2.contains("glove.6B.zip is missing"), text2)
    }
}
