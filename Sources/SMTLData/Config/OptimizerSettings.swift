/// Optimizer settings (SPEC §7). `l2` is ρ: the gradient gains ρ·w for every tensor except
/// `embedding.weight`.
public struct OptimizerSettings: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable { case adagrad, sgd, adam }
    public var kind: Kind = .adagrad
    public var learningRate: Double = 0.01
    public var l2: Double = 0
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var adamEpsilon: Double = 1e-8
    /// Keep `embedding.weight` fixed (a variant; the paper fine-tunes the embeddings).
    public var freezeEmbeddings = false
    /// ρ for the embedding rows a step updates (a variant; SPEC §7 leaves the embedding out of L2).
    public var embeddingL2: Double = 0
    /// Gradient-norm clipping (a variant; 0: off): before the update, each parameter set's
    /// gradient (the shared set over the rows it updates; each task's set) is scaled to an L2
    /// norm of at most this. Per set, so that no extra collective is needed and the result does
    /// not depend on the placement.
    public var clipNorm: Double = 0
    /// Decay β of an exponential moving average of the weights (a variant; 0: off): after each
    /// update, a ← β·a + (1 − β)·w for every set the update touches, a starting at the initial
    /// weights. Evaluations, model selection and the `best` checkpoint use a; training uses w.
    public var emaDecay: Double = 0
    public init() {}
}
