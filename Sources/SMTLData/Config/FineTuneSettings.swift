/// Per-task fine-tuning after joint training (`training.fine_tune_*`; see `FineTuning`).
public struct FineTuneSettings: Equatable, Sendable {
    /// What happens to the shared tensors (embedding, global memory and its controller) while a
    /// task is fine-tuned alone.
    public enum Shared: String, CaseIterable, Sendable {
        case trainable, frozen
    }
    /// Passes over the task's own training set (0: no fine-tuning).
    public var epochs = 0
    public var shared = Shared.trainable
    /// Evaluate every this many steps (0: once per pass over the task's training set).
    public var evalEvery = 0
    /// Stop a task's fine-tuning after this many evaluations without a new best dev accuracy (0: never).
    public var patience = 0
    public init() {}
}
