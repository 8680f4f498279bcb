/// Training diverged: a task's loss became NaN or infinite, or an update overflowed the
/// parameters. The run stops before the non-finite values reach a checkpoint.
public struct DivergenceError: Error, CustomStringConvertible {
    public var step: Int
    /// The task whose loss is non-finite, with that loss; nil when the parameters overflowed.
    public var task: String?
    public var loss: Float?
    public var learningRate: Double
    public var lastCheckpoint: String?
    public var description: String {
        let what =
            task.map { "the loss of task \($0) is \(loss ?? .nan); training stopped before applying this step" }
            ?? "an update made parameters non-finite; training stopped before writing them"
        return "step \(step): \(what), and no checkpoint holds non-finite values. Lower the learning rate (now "
            + "\(learningRate)), or bound the updates with `training.clip_norm`"
            + (lastCheckpoint.map { "; the last checkpoint is \($0)" } ?? "")
    }
}
