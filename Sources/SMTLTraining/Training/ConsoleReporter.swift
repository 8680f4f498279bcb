import Foundation
import SMTLDistribution
import SMTLModel
import SMTLSupport

/// Progress for people: a live line on a terminal, one plain line every N steps otherwise, and a
/// per-task accuracy table after each evaluation.
public final class ConsoleReporter: TrainingObserver {
    let isTerminal: Bool
    let logEvery: Int
    var start = DispatchTime.now().uptimeNanoseconds
    var lastDraw: UInt64 = 0
    var liveLineShown = false
    var remaining = RemainingTime()

    static func seconds(_ nanos: UInt64) -> Double { Double(nanos) / 1e9 }

    public init(logEvery: Int, forceTerminal: Bool? = nil) {
        // Under mpirun a rank's stdout is a pseudo-terminal even when the job's output goes to a
        // file, so ranks print plain lines unless SMTL_LIVE=1.
        let env = ProcessInfo.processInfo.environment
        let underMPI = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_RANK"] != nil || env["PMIX_RANK"] != nil
        isTerminal = forceTerminal ?? (isatty(STDOUT_FILENO) == 1 && (!underMPI || env["SMTL_LIVE"] == "1"))
        self.logEvery = logEvery
    }

    func out(_ s: String) {
        if liveLineShown { print("\r\u{1B}[2K", terminator: ""); liveLineShown = false }
        print(s)
        fflush(stdout)
    }

    public func started(_ t: Trainer) {
        start = DispatchTime.now().uptimeNanoseconds
        remaining = RemainingTime()
        remaining.started(at: Self.seconds(start))
        let c = t.config
        out("smtl: \(c.architecture.displayName) on \(t.corpus.tasks.count) task(s), \(c.name)")
        for (m, task) in t.corpus.tasks.enumerated() {
            let declared = m < c.tasks.count && c.tasks[m].classes != nil
            out(
                "  " + pad(task.name, 20)
                    + String(
                        format: " train %6d  dev %6d  test %6d  classes %d  train tokens %d",
                        task.train.count, task.dev.count, task.test.count, task.labels.count, task.trainTokens)
                    + "  labels \(task.labels.map(String.init).joined(separator: " ")) "
                    + (declared ? "(declared)" : "(from the training data; declare them with `classes`)"))
        }
        for o in t.corpus.overlaps { out("  " + o.warning) }
        out(
            "  \(BLASLibrary.summary), "
                + "OPENBLAS_NUM_THREADS=\(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset")"
        )
        let params = t.model.parameterSets.map(\.count).reduce(0, +)
        out(
            "  vocabulary \(t.corpus.vocabulary.count) words (\(t.pretrainedRows) from pretrained vectors), "
                + "\(params) parameters"
        )
        if let v = t.vectors {
            out("  vectors: \(v.description)")
            for f in v.files where f.duplicates > 0 {
                out("  warning: \(f.path) repeats \(f.duplicates) word(s); each keeps its first vector")
            }
        }
        out(
            "  \(c.optimizer.kind.rawValue) lr \(c.optimizer.learningRate) l2 \(c.optimizer.l2), "
                + Self.batchDescription(t) + ", "
                + "\(t.totalSteps) steps (\(t.stepsPerEpoch) per epoch), evaluating every \(t.evalEvery)"
                + (t.step > 0 ? ", resuming at step \(t.step)" : ""))
    }

    /// The effective batch of each task per step (strong scaling: `batch_size` whatever the ranks;
    /// weak scaling: batch_size times the task's ranks), with the scaling named.
    static func batchDescription(_ t: Trainer) -> String {
        let b = t.placement.stepBatch
        let names = t.corpus.tasks.map(\.name)
        let scaling = t.ranks > 1 ? " (\(t.config.scaling.rawValue) scaling)" : ""
        if Set(b).count == 1 { return "batch \(b[0]) per task\(scaling)" }
        return "batch per task " + zip(names, b).map { "\($0) \($1)" }.joined(separator: ", ") + scaling
    }

    public func stepped(_ t: Trainer, losses: [Float], tokensPerSecond: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        remaining.stepped(at: Self.seconds(now))
        let last = t.step == t.totalSteps
        let draw = isTerminal ? (now - lastDraw > 100_000_000 || last) : (t.step % logEvery == 0 || last)
        guard draw else { return }
        // (The line and its ETA are made only when shown, not at every step.)
        let eta =
            remaining.estimate(
                stepsLeft: t.totalSteps - t.step,
                evaluationsLeft: RemainingTime.evaluationsLeft(
                    step: t.step, totalSteps: t.totalSteps, evalEvery: t.evalEvery))
            ?? 0
        let lossText = zip(t.corpus.tasks, losses).map { $0.name + String(format: " %.3f", $1) }.joined(separator: " ")
        let line = String(
            format: "step %d/%d  loss %@  %.1fk tok/s  ETA %@", t.step, t.totalSteps, lossText as NSString,
            tokensPerSecond / 1000, Self.duration(eta) as NSString)
        if isTerminal {
            print("\r\u{1B}[2K" + line, terminator: "")
            fflush(stdout)
            liveLineShown = true
            lastDraw = now
        } else {
            out(line)
        }
    }

    public func evaluated(_ t: Trainer, _ r: EvaluationReport) {
        remaining.evaluated(at: Self.seconds(DispatchTime.now().uptimeNanoseconds))
        out(Self.table(r, epoch: Double(r.step) / Double(t.stepsPerEpoch)))
        if let timing = r.timing {
            out("  " + timing.summary)
            for w in timing.warnings { out("  " + w) }
        }
    }

    public static func table(_ r: EvaluationReport, epoch: Double? = nil) -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%8.2f", $0) } ?? "       -" }
        var lines = [
            "evaluation at step \(r.step)" + (epoch.map { String(format: " (epoch %.2f)", $0) } ?? ""),
            "  " + pad("task", 20) + " " + pad("dev", 8, left: true) + " " + pad("test", 8, left: true) + "  "
                + pad("best dev", 8, left: true) + "   " + pad("test@best", 8, left: true),
        ]
        for (i, name) in r.tasks.enumerated() {
            lines.append(
                "  " + pad(name, 20) + " " + f(r.dev[i]) + " " + f(r.test[i]) + "  " + f(r.bestDev[i]) + "   "
                    + f(r.testAtBestDev[i]))
        }
        func mean(_ xs: [Double?]) -> Double? {
            let v = xs.compactMap { $0 }; return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        lines.append(
            "  " + pad("mean", 20) + " " + f(mean(r.dev)) + " " + f(mean(r.test)) + "  " + f(mean(r.bestDev)) + "   "
                + f(mean(r.testAtBestDev)))
        return lines.joined(separator: "\n")
    }

    public func saved(_ t: Trainer, checkpoint: String) {
        out("  saved \(checkpoint)")
        remaining.skipped(at: Self.seconds(DispatchTime.now().uptimeNanoseconds))
    }

    public func finished(_ t: Trainer) {
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if t.stoppedEarly {
            out("stopped on request at step \(t.step) after \(Self.duration(secs)); resume with --resume auto")
            return
        }
        out(
            "done: \(t.step) steps in \(Self.duration(secs))"
                + (t.stoppedByPatience
                    ? " (early stop: mean dev accuracy did not improve for \(t.config.patience) evaluations)" : ""))
        let names = t.corpus.tasks.map(\.name)
        let test = names.compactMap { t.state.testAtBestDev[$0] }
        if !test.isEmpty {
            out(
                String(
                    format: "model selection by dev accuracy per task: mean test accuracy %.2f%%",
                    test.reduce(0, +) / Double(test.count)))
            for n in names {
                if let d = t.state.bestDev[n] {
                    out(
                        "  " + pad(n, 20)
                            + String(
                                format: " best dev %6.2f at step %d, test %@", d, t.state.bestStep[n] ?? 0,
                                (t.state.testAtBestDev[n].map { String(format: "%.2f", $0) } ?? "-") as NSString))
                }
            }
        }
    }

    public static func duration(_ s: Double) -> String {
        if !s.isFinite { return "?" }
        let t = Int(s.rounded())
        if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", (t % 3600) / 60))m" }
        if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t)s"
    }
}
