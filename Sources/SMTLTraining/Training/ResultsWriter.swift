import Foundation
import SMTLDistribution
import SMTLModel

/// Writes `OUT/results.json` when a run finishes (rank 0): per task the best dev accuracy, the
/// test accuracy at that evaluation (per-task model selection) and its step, with the run's
/// settings, wall-clock time and machine. `smtl report` reads these files.
public final class ResultsWriter: TrainingObserver {
    let path: String
    let command: [String]
    /// Wait for `write(_:fineTuned:)` instead of writing when the joint run finishes (a run with
    /// fine-tuning is finished only when every task's fine-tuning is).
    let deferred: Bool

    public init(outDir: String, command: [String] = CommandLine.arguments, deferred: Bool = false) {
        path = (outDir as NSString).appendingPathComponent("results.json")
        self.command = command
        self.deferred = deferred
    }

    public func started(_ t: Trainer) {}
    public func stepped(_ t: Trainer, losses: [Float], tokensPerSecond: Double) {}
    public func evaluated(_ t: Trainer, _ report: EvaluationReport) {}
    public func saved(_ t: Trainer, checkpoint: String) {}

    public func finished(_ t: Trainer) {
        if !deferred { write(t) }
    }

    /// Writes the file. With `fineTuned` (one outcome per task), a task reports its fine-tuning's
    /// best dev evaluation when that beats the joint run's best dev accuracy for the task, else
    /// the joint run's (selection on dev only); both are kept in the file.
    public func write(_ t: Trainer, fineTuned: [FineTuning.Outcome?]? = nil) {
        // A run stopped by a signal is not finished; it resumes and writes the file later.
        guard !t.stoppedEarly else { return }
        var tasks: [String: Any] = [:]
        for (m, task) in t.corpus.tasks.enumerated() {
            var d: [String: Any] = [
                "train": task.train.count, "dev": task.dev.count, "test": task.test.count,
                "classes": task.labels.count,
            ]
            if let v = t.state.bestDev[task.name] { d["best_dev"] = v }
            if let v = t.state.testAtBestDev[task.name] { d["test_at_best_dev"] = v }
            if let v = t.state.bestStep[task.name] { d["best_step"] = v }
            if let o = fineTuned?[m] {
                var f: [String: Any] = [
                    "best_dev": o.bestDev, "best_step": o.bestStep, "steps": o.steps, "training_seconds": o.seconds,
                ]
                if let v = o.testAtBestDev { f["test_at_best_dev"] = v }
                d["fine_tune"] = f
                d["joint"] = d.filter { ["best_dev", "test_at_best_dev", "best_step"].contains($0.key) }
                let better = o.bestDev > (t.state.bestDev[task.name] ?? -1)
                d["selected"] = better ? "fine-tune" : "joint"
                if better {
                    d["best_dev"] = o.bestDev
                    d["test_at_best_dev"] = o.testAtBestDev
                    d["best_step"] = t.step + o.bestStep
                }
            }
            tasks[task.name] = d
        }
        let c = t.config
        var d: [String: Any] = [
            "name": c.name, "architecture": c.architecture.rawValue, "seed": Int(c.seed),
            "task_order": t.corpus.tasks.map(\.name), "tasks": tasks,
            "steps": t.step, "budget_steps": t.totalSteps, "steps_per_epoch": t.stepsPerEpoch,
            "stopped_by_patience": t.stoppedByPatience, "training_seconds": t.state.trainingSeconds,
            "ranks": t.ranks, "machine": Machine.describe(), "blas": BLASLibrary.summary, "command": command,
            "learning_rate": c.optimizer.learningRate, "l2": c.optimizer.l2, "epochs": c.epochs, "patience": c.patience,
            "finished_at": ISO8601DateFormatter().string(from: Date()),
        ]
        if let f = t.initFrom { d["init_from"] = f }
        if !t.state.configChanges.isEmpty { d["config_changes"] = t.state.configChanges }
        if let fineTuned {
            d["fine_tune"] = [
                "epochs": c.fineTune.epochs, "shared": c.fineTune.shared.rawValue,
                "training_seconds": fineTuned.compactMap { $0?.seconds }.reduce(0, +),
            ]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: d, options: [.prettyPrinted, .sortedKeys]) else {
            return
        }
        let tmp = path + ".tmp"
        if FileManager.default.createFile(atPath: tmp, contents: data) { _ = rename(tmp, path) }
    }
}

/// The machine a run ran on, for results files.
public enum Machine {
    public static func describe() -> String {
        var cpu = "unknown CPU"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.hostName)"
    }
}
