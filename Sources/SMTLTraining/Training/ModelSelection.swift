/// Model selection and early stopping (SPEC §7): the one place that reads and changes the
/// selection record of a run. Per task: the best dev accuracy so far, the test accuracy at that
/// evaluation and its step (what the run reports). For the run: the best mean dev accuracy (the
/// `best` checkpoint), and the counters of `patience` and `task_patience`. The record itself lives
/// in `TrainingState`, so a checkpoint's `state.json` carries it.
///
/// Every rank gets the same evaluation numbers (`GradientSync.fromLeads`), so every rank makes the
/// same decisions.
public struct ModelSelection: Sendable {
    public let tasks: [String]
    /// Evaluations without a new best dev accuracy on any task before the run stops (0: never).
    public let patience: Int
    /// Evaluations without a new best dev accuracy on a task before that task stops (0: never).
    public let taskPatience: Int

    /// What one evaluation decided for the run.
    public struct Decision: Sendable {
        /// The mean dev accuracy is a new best: write the `best` checkpoint.
        public var saveBest: Bool
        /// Tasks that stopped training at this evaluation (`task_patience`).
        public var stoppedTasks: [String]
        /// The run stops here (`patience` spent, or every task stopped).
        public var stopRun: Bool
    }

    /// Whether `dev` is a new best dev accuracy of task m.
    public func improves(_ m: Int, dev: Double?, _ state: TrainingState) -> Bool {
        dev.map { $0 > (state.bestDev[tasks[m]] ?? -1) } ?? false
    }

    /// Records every task's evaluation at `state.step`: a task whose dev accuracy improved keeps
    /// it, its test accuracy and the step. Fills the report's selection columns.
    public func record(_ report: inout EvaluationReport, improved: [Bool], into state: inout TrainingState) {
        report.bestDev = []
        report.testAtBestDev = []
        report.bestStep = []
        for (m, task) in tasks.enumerated() {
            if let dev = report.dev[m], improved[m] {
                state.bestDev[task] = dev
                state.testAtBestDev[task] = report.test[m]
                state.bestStep[task] = state.step
            }
            report.bestDev.append(state.bestDev[task])
            report.testAtBestDev.append(state.testAtBestDev[task])
            report.bestStep.append(state.bestStep[task])
        }
    }

    /// The run-level decisions after an evaluation of the training run (not after the evaluation of
    /// the joint model that opens a fine-tuning): the `best` checkpoint, the patience counters.
    public func decide(after report: EvaluationReport, _ state: inout TrainingState) -> Decision {
        let devs = report.dev.compactMap { $0 }
        let meanDev = devs.isEmpty ? 0 : devs.reduce(0, +) / Double(devs.count)
        let saveBest = meanDev > state.bestMeanDev
        if saveBest { state.bestMeanDev = meanDev }
        // Patience counts evaluations in which no task reached a new best dev accuracy (per-task
        // model selection), so a task still improving keeps the run going.
        if report.bestStep.contains(state.step) {
            state.evaluationsWithoutImprovement = 0
        } else {
            state.evaluationsWithoutImprovement += 1
        }
        var stopped: [String] = []
        if taskPatience > 0 {
            for (m, task) in tasks.enumerated() where !state.stoppedTasks.contains(task) {
                let n = report.bestStep[m] == state.step ? 0 : (state.taskEvaluationsWithoutImprovement[task] ?? 0) + 1
                state.taskEvaluationsWithoutImprovement[task] = n
                if n >= taskPatience {
                    state.stoppedTasks.append(task)
                    stopped.append(task)
                }
            }
        }
        return Decision(saveBest: saveBest, stoppedTasks: stopped, stopRun: finished(state))
    }

    /// Early stopping has ended the run: `patience` is spent, or every task has stopped.
    public func finished(_ state: TrainingState) -> Bool {
        let allTasksStopped = taskPatience > 0 && state.stoppedTasks.count == tasks.count
        return allTasksStopped || (patience > 0 && state.evaluationsWithoutImprovement >= patience)
    }
}
