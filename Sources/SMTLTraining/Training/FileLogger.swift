import Foundation
import SMTLData
import SMTLDistribution

/// `--log-dir`: one log file per rank (`rank-R.log`), and on rank 0 a machine-readable metrics
/// file (`metrics.jsonl`, one JSON object a line) for plotting.
public final class FileLogger: TrainingObserver {
    let rank: Int
    let log: FileHandle
    let metrics: FileHandle?
    let every: Int
    let directory: String
    /// Set after the first failed write (a full disk): logging stops with one warning, and the
    /// run, which does not depend on its logs, goes on.
    private(set) var failed = false

    public init(directory: String, rank: Int, logEvery: Int) throws {
        self.rank = rank
        self.directory = directory
        every = logEvery
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            var isDirectory: ObjCBool = false
            let isFile =
                FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && !isDirectory.boolValue
            throw InputError(
                file: directory,
                isFile ? "is a file, and --log-dir must be a folder" : "cannot be created: \(RunFolder.reason(error))",
                hint: isFile ? "name a folder for the logs (it is created if missing)" : "choose a writable --log-dir")
        }
        // Append: a resumed run continues the logs of the part before it.
        func open(_ name: String) throws -> FileHandle {
            let path = (directory as NSString).appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw InputError(file: path, "cannot be written", hint: "check --log-dir")
            }
            h.seekToEndOfFile()
            return h
        }
        log = try open("rank-\(rank).log")
        metrics = rank == 0 ? try open("metrics.jsonl") : nil
    }

    func write(_ data: Data, to handle: FileHandle) {
        guard !failed else { return }
        do { try handle.write(contentsOf: data) } catch {
            failed = true
            FileHandle.standardError.write(
                Data(
                    ("smtl: rank \(rank): cannot write the logs in \(directory) (\(error.localizedDescription)); "
                        + "logging stops, training goes on. Free space there or choose another --log-dir.\n").utf8))
        }
    }
    func line(_ s: String) { write(Data((s + "\n").utf8), to: log) }
    func record(_ d: [String: Any]) {
        guard let metrics, let data = try? JSONSerialization.data(withJSONObject: d, options: [.sortedKeys]) else {
            return
        }
        write(data + Data("\n".utf8), to: metrics)
    }

    public func started(_ t: Trainer) {
        line("rank \(rank) of \(t.ranks): tasks \(t.hosted.map { t.corpus.tasks[$0].name }.joined(separator: ", "))")
        line(t.placement.describe(t.corpus.tasks.map(\.name)))
        record([
            "event": "start", "tasks": t.corpus.tasks.map(\.name), "ranks": t.ranks, "total_steps": t.totalSteps,
            "workload": Self.workload(t),
        ])
    }

    /// The facts of the run the scaling model needs (docs/scaling.md): tokens and distinct
    /// embedding rows of a task's step batch (means over tasks; rows from consecutive batches of
    /// the training data), vocabulary, embedding width, dense shared and per-task parameters.
    static func workload(_ t: Trainer) -> [String: Any] {
        let b = t.config.batchSize
        let tasks = t.corpus.tasks
        var tokens = 0.0, rows = 0.0
        for task in tasks {
            tokens += Double(b) * Double(task.trainTokens) / Double(max(task.train.count, 1))
            let batches = max(1, min(8, task.train.count / max(b, 1)))
            var distinct = 0
            for k in 0..<batches {
                var seen = Set<Int32>()
                for e in task.train[(k * b)..<min((k + 1) * b, task.train.count)] {
                    for w in e.tokens { seen.insert(w) }
                }
                distinct += seen.count
            }
            rows += Double(distinct) / Double(batches)
        }
        let n = Double(max(tasks.count, 1))
        let dims = t.model.dims
        return [
            "batch_size": b, "tokens_per_task_step": tokens / n, "rows_per_task_step": rows / n,
            "vocabulary": dims.vocabulary, "embedding": dims.embedding,
            "dense_shared": t.model.shared.count - dims.vocabulary * dims.embedding,
            "task_parameters": Double(t.model.taskParameters.reduce(0) { $0 + $1.count }) / n,
            "checkpoint_every": t.config.checkpointEvery,
        ]
    }

    /// Loss sums since the last record, so that each record holds the mean over its window.
    var lossSums: [Double] = []
    var lossSteps = 0

    public func stepped(_ t: Trainer, losses: [Float], tokensPerSecond: Double) {
        if lossSums.count != losses.count { lossSums = [Double](repeating: 0, count: losses.count); lossSteps = 0 }
        for (m, l) in losses.enumerated() { lossSums[m] += Double(l) }
        lossSteps += 1
        guard t.step % every == 0 || t.step == t.totalSteps else { return }
        let mine = t.hosted.map { "\(t.corpus.tasks[$0].name) \(String(format: "%.4f", losses[$0]))" }.joined(
            separator: " ")
        line(
            String(
                format: "step %d loss %@ step %.1f ms (communication %.1f ms)", t.step, mine as NSString,
                t.lastStep.seconds * 1000, t.lastStep.communication * 1000))
        var loss: [String: Double] = [:]
        for (m, task) in t.corpus.tasks.enumerated() { loss[task.name] = lossSums[m] / Double(max(lossSteps, 1)) }
        // `loss`: each task's mean mini-batch loss over the steps since the previous record.
        record([
            "event": "step", "step": t.step, "loss": loss,
            "last_loss": Dictionary(
                uniqueKeysWithValues: t.corpus.tasks.enumerated().map { ($1.name, Double(losses[$0])) }),
            "tokens_per_second": tokensPerSecond,
        ])
        lossSums = [Double](repeating: 0, count: losses.count)
        lossSteps = 0
    }

    public func evaluated(_ t: Trainer, _ r: EvaluationReport) {
        line(ConsoleReporter.table(r))
        if let timing = r.timing {
            line(timing.summary)
            for w in timing.warnings { line(w) }
        }
        var d: [String: Any] = ["event": "eval", "step": r.step]
        func map(_ xs: [Double?]) -> [String: Double] {
            var out: [String: Double] = [:]
            for (n, x) in zip(r.tasks, xs) { if let x { out[n] = x } }
            return out
        }
        d["dev"] = map(r.dev); d["test"] = map(r.test); d["best_dev"] = map(r.bestDev);
        d["test_at_best_dev"] = map(r.testAtBestDev)
        if let timing = r.timing {
            d["step_seconds"] = timing.stepSeconds; d["comm_share"] = timing.commShare
            d["compute_share"] = timing.computeShare
        }
        record(d)
    }

    public func saved(_ t: Trainer, checkpoint: String) { line("saved \(checkpoint)") }

    public func finished(_ t: Trainer) {
        line(t.stoppedEarly ? "stopped at step \(t.step) on request" : "finished at step \(t.step)")
        record(["event": t.stoppedEarly ? "stopped" : "finished", "step": t.step])
        try? log.synchronize()
        try? metrics?.synchronize()
    }
}
