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
    /// Embedding rows touched since the last `clearGradients`.
    public let touched: SparseRows

    public init(architecture: Architecture, dims: Dimensions, tasks: [TaskSpec]) {
        self.architecture = architecture
        self.dims = dims
        self.tasks = tasks
        let shared = ParameterSet<S>(layout: .shared(architecture, dims))
        let taskParameters = tasks.map {
            ParameterSet<S>(layout: .task($0.name, architecture, dims, classes: $0.classes))
        }
        let touched = SparseRows(count: dims.vocabulary)
        self.shared = shared
        self.taskParameters = taskParameters
        self.touched = touched
        networks = zip(tasks, taskParameters).map { spec, set in
            Network(architecture: architecture, dims: dims, taskName: spec.name, classes: spec.classes,
                    shared: shared, task: set, touched: touched)
        }
    }

    /// U(−0.1, 0.1) for every tensor (SPEC §1); pretrained embedding rows are set afterwards.
    public func initialize(seed: UInt64) {
        shared.initializeUniform(seed: seed)
        for t in taskParameters { t.initializeUniform(seed: seed) }
    }

    public func taskIndex(_ name: String) -> Int? { tasks.firstIndex { $0.name == name } }

    /// Every parameter set with its tensors, shared first.
    public var parameterSets: [ParameterSet<S>] { [shared] + taskParameters }

    /// Forward and backward of one global step (SPEC §7): each task with a batch adds the gradient
    /// of λ_m·L_m; shared tensors therefore receive Σ_m λ_m ∇L_m. Returns each task's loss.
    @discardableResult
    public func accumulateGradients(_ batches: [Batch?], weights: [S]? = nil) -> [S] {
        var losses = [S](repeating: 0, count: tasks.count)
        for (m, batch) in batches.enumerated() {
            guard let batch else { continue }
            let net = networks[m]
            losses[m] = net.forward(batch)
            net.backward(batch, scale: weights?[m] ?? 1)
        }
        return losses
    }

    /// Forward only: each task's mean cross-entropy on its batch.
    public func losses(_ batches: [Batch?]) -> [S] {
        batches.enumerated().map { m, batch in batch.map { networks[m].forward($0) } ?? 0 }
    }

    /// Zeroes every gradient; the embedding gradient only in the rows that were touched.
    public func clearGradients() {
        let e = dims.embedding
        let g = shared.grad("embedding.weight")
        for r in touched.rows { (g + Int(r) * e).update(repeating: 0, count: e) }
        touched.clear()
        let embCount = dims.vocabulary * e
        (shared.grads + embCount).update(repeating: 0, count: shared.count - embCount)
        for t in taskParameters { t.zeroGrads() }
    }

    /// Copies every value from a model of the same shape (any precision).
    public func copyValues<T: Scalar>(from other: Model<T>) {
        for (dst, src) in zip(parameterSets, other.parameterSets) {
            precondition(dst.count == src.count)
            for i in 0..<dst.count { dst.values[i] = S(src.values[i]) }
        }
    }
}
