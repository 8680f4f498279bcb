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
    public init() {}
}
