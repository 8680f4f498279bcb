/// Where a task's data cursor stands: the epoch it is in and the next position in that epoch's order.
public struct TaskCursor: Codable, Equatable, Sendable {
    public var epoch = 0
    public var position = 0
    public init(epoch: Int = 0, position: Int = 0) { self.epoch = epoch; self.position = position }
}

/// Training progress kept with a checkpoint.
public struct TrainingState: Codable, Equatable, Sendable {
    public var step = 0
    public var cursors: [String: TaskCursor] = [:]
    /// Per task: best dev accuracy so far, the test accuracy at that evaluation, and its step.
    public var bestDev: [String: Double] = [:]
    public var testAtBestDev: [String: Double] = [:]
    public var bestStep: [String: Int] = [:]
    public var bestMeanDev: Double = -1
    /// Evaluations since the best mean dev accuracy last improved (for `patience`).
    public var evaluationsWithoutImprovement = 0
    /// Seconds spent training so far, over every resumed part of the run.
    public var trainingSeconds: Double = 0
    /// Per-task early stopping (`task_patience`): evaluations since each task's best dev accuracy,
    /// and the tasks that have stopped training.
    public var taskEvaluationsWithoutImprovement: [String: Int] = [:]
    public var stoppedTasks: [String] = []
    /// Settings changed on resume (`--allow-change`), one line each with the step.
    public var configChanges: [String] = []
    /// The data the run was trained on: `TaskData.fingerprint` of each task's splits, keyed
    /// `task/split`, so that a resume or `smtl evaluate` on other data is caught.
    public var data: [String: String] = [:]
    public init() {}

    enum CodingKeys: String, CodingKey {
        case step, cursors, bestDev, testAtBestDev, bestStep, bestMeanDev, evaluationsWithoutImprovement,
            trainingSeconds, taskEvaluationsWithoutImprovement, stoppedTasks, configChanges, data
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        cursors = try c.decode([String: TaskCursor].self, forKey: .cursors)
        bestDev = try c.decode([String: Double].self, forKey: .bestDev)
        testAtBestDev = try c.decode([String: Double].self, forKey: .testAtBestDev)
        bestStep = try c.decode([String: Int].self, forKey: .bestStep)
        bestMeanDev = try c.decode(Double.self, forKey: .bestMeanDev)
        // Optional keys: a checkpoint written without them reads with their defaults.
        evaluationsWithoutImprovement = try c.decodeIfPresent(Int.self, forKey: .evaluationsWithoutImprovement) ?? 0
        trainingSeconds = try c.decodeIfPresent(Double.self, forKey: .trainingSeconds) ?? 0
        taskEvaluationsWithoutImprovement =
            try c.decodeIfPresent([String: Int].self, forKey: .taskEvaluationsWithoutImprovement) ?? [:]
        stoppedTasks = try c.decodeIfPresent([String].self, forKey: .stoppedTasks) ?? []
        configChanges = try c.decodeIfPresent([String].self, forKey: .configChanges) ?? []
        data = try c.decodeIfPresent([String: String].self, forKey: .data) ?? [:]
    }
}
