/// A task as the model sees it: a name and a number of classes.
public struct TaskSpec: Codable, Equatable, Sendable {
    public var name: String
    public var classes: Int
    public init(name: String, classes: Int) { self.name = name; self.classes = classes }
}

/// All parameters of a run, in the layout the distributed trainer needs: the shared tensors in
/// one flat buffer (one allreduce), and each task's tensors in a flat buffer of their own.
/// A process holds the tasks it runs; the single-node simulation holds all of them.
public final class Model<S: Scalar> {
    public let architecture: Architecture
    public let dims: Dimensions
    public let tasks: [TaskSpec]
    public let shared: ParameterSet<S>
    public let taskParameters: [ParameterSet<S>]
    public let networks: [Network<S>]
    /// Embedding rows this process's backward touched since the last `clearGradients`.
    public let touched: SparseRows
    /// Each task's private gradient of the shared tensors, summed in task order by
    /// `GradientSync` so the sum never depends on where tasks run.
    package let taskSharedGrads: [UnsafeMutablePointer<S>]

    public init(architecture: Architecture, dims: Dimensions, tasks: [TaskSpec]) {
        self.architecture = architecture
        self.dims = dims
        self.tasks = tasks
        let shared = ParameterSet<S>(layout: .shared(architecture, dims))
        let taskParameters = tasks.map {
            ParameterSet<S>(layout: .task($0.name, architecture, dims, classes: $0.classes))
        }
        let touched = SparseRows(count: dims.vocabulary)
        let grads = tasks.map { _ in
            let p = UnsafeMutablePointer<S>.allocate(capacity: max(shared.count, 1))
            p.initialize(repeating: 0, count: max(shared.count, 1))
            return p
        }
        self.shared = shared
        self.taskParameters = taskParameters
        self.touched = touched
        taskSharedGrads = grads
        // One workspace for every task: they run one after another.
        let workspace = Workspace<S>()
        networks = zip(zip(tasks, taskParameters), grads).map { st, g in
            Network(
                architecture: architecture, dims: dims, taskName: st.0.name, classes: st.0.classes,
                shared: shared, sharedGrads: g, task: st.1, touched: touched, workspace: workspace)
        }
    }

    deinit {
        for p in taskSharedGrads { p.deinitialize(count: max(shared.count, 1)); p.deallocate() }
    }

    /// U(−0.1, 0.1) for every tensor (SPEC §1); pretrained embedding rows are set afterwards.
    public func initialize(seed: UInt64) {
        shared.initializeUniform(seed: seed)
        for t in taskParameters { t.initializeUniform(seed: seed) }
    }

    public func taskIndex(_ name: String) -> Int? { tasks.firstIndex { $0.name == name } }

    /// Every parameter set with its tensors, shared first (indexed as `ParameterSets` says).
    public var parameterSets: [ParameterSet<S>] { [shared] + taskParameters }

    /// Forward and backward of one global step (SPEC §7) on this process's tasks: each task with
    /// a batch adds the gradient of λ_m·L_m (`weights[m]`, default 1) to its own tensors and to its
    /// private buffer of the shared tensors. Summing those buffers into `shared.grads`, over the
    /// tasks and over ranks, is `GradientSync`'s job. Returns each task's loss.
    @discardableResult
    public func accumulateGradients(_ batches: [Batch?], weights: [S]? = nil, dropout: [Dropout?]? = nil) -> [S] {
        var losses = [S](repeating: 0, count: tasks.count)
        for (m, batch) in batches.enumerated() {
            guard let batch else { continue }
            let net = networks[m]
            losses[m] = net.forward(batch, dropout: dropout?[m])
            net.backward(batch, scale: weights?[m] ?? 1)
        }
        return losses
    }

    /// Forward only: each task's mean cross-entropy on its batch (with `dropout`: under its masks).
    public func losses(_ batches: [Batch?], dropout: [Dropout?]? = nil) -> [S] {
        batches.enumerated().map { m, batch in batch.map { networks[m].forward($0, dropout: dropout?[m]) } ?? 0 }
    }

    /// Zeroes every gradient the backward wrote (and `shared.grads` in the same rows); the
    /// embedding gradient only in the rows that were touched. `tasks`: only the gradients of
    /// these tasks were written (a rank's hosted tasks; nil: every task). A rank with one of
    /// 16 tasks would otherwise zero the other 15 tasks' untouched gradients every step, work
    /// that every rank repeats (docs/scaling.md).
    public func clearGradients(tasks: [Int]? = nil) {
        let e = dims.embedding
        let embCount = dims.vocabulary * e
        let written = tasks ?? Array(taskParameters.indices)
        for g in [shared.grads] + written.map({ taskSharedGrads[$0] }) {
            for r in touched.rows { (g + Int(r) * e).update(repeating: 0, count: e) }
            (g + embCount).update(repeating: 0, count: shared.count - embCount)
        }
        touched.clear()
        for m in written { taskParameters[m].zeroGrads() }
    }

    /// Copies every value from a model of the same shape (any precision).
    public func copyValues<T: Scalar>(from other: Model<T>) {
        for (dst, src) in zip(parameterSets, other.parameterSets) {
            precondition(dst.count == src.count)
            for i in 0..<dst.count { dst.values[i] = S(src.values[i]) }
        }
    }
}
