/// Inverted dropout for one training pass (not in SPEC; `training.dropout_embedding` and
/// `training.dropout_hidden`): each kept unit is scaled by 1/(1 − p), so evaluation runs the
/// network unchanged. Two places: the embedding output x_t (every token) and h at each sequence's
/// last token, where the classifier reads it.
///
/// Masks come from one seed per example (the caller's order), so an example's masks do not
/// depend on the batch it sits in or on the rank that runs it: a task split over ranks draws the
/// same masks as one process.
public struct Dropout: Sendable {
    public var embedding: Double
    public var hidden: Double
    /// One seed per sequence of the batch, in the order given to `Batch(sequences:)`.
    public var seeds: [UInt64]

    public init(embedding: Double, hidden: Double, seeds: [UInt64]) {
        self.embedding = embedding
        self.hidden = hidden
        self.seeds = seeds
    }

    /// Fills `mask` with one value per unit: 0 with probability p, else 1/(1 − p).
    static func fill<S: Scalar, G: RandomNumberGenerator>(
        _ mask: UnsafeMutablePointer<S>, _ count: Int, p: Double, _ rng: inout G
    ) {
        let keep = S(1 / (1 - p))
        for j in 0..<count {
            let u = Double(rng.next() >> 11) * 0x1p-53
            mask[j] = u < p ? 0 : keep
        }
    }

    /// The embedding mask of every token row and the hidden mask of every slot of `batch`.
    func masks<S: Scalar>(
        for batch: Batch, embeddingDim E: Int, hidden d: Int, x: UnsafeMutablePointer<S>?,
        h: UnsafeMutablePointer<S>?
    ) {
        for b in 0..<batch.size {
            let seed = seeds[batch.source[b]]
            if let x {
                var rng = SplitMix64(seed: deriveSeed(seed, 1))
                for t in 0..<batch.lengths[b] { Self.fill(x + (batch.offsets[t] + b) * E, E, p: embedding, &rng) }
            }
            if let h {
                var rng = SplitMix64(seed: deriveSeed(seed, 2))
                Self.fill(h + b * d, d, p: hidden, &rng)
            }
        }
    }
}
