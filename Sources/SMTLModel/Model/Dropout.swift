/// Inverted dropout for one training pass (not in SPEC; `training.dropout_embedding`,
/// `training.dropout_hidden` and `training.dropout_read`): each kept unit is scaled by 1/(1 − p),
/// so evaluation runs the network unchanged. Three places: the embedding output x_t (every
/// token), h at each sequence's last token, where the classifier reads it, and the memory read
/// r_t that enters the fusion gate (§4; every token, architectures with a memory only). Dropping
/// r_t changes only what the fusion gate sees: the memory's addressing and writes are untouched.
///
/// Masks come from one seed per example (the caller's order), so an example's masks do not
/// depend on the batch it sits in or on the rank that runs it: a task split over ranks draws the
/// same masks as one process.
public struct Dropout: Sendable {
    public var embedding: Double
    public var hidden: Double
    public var read: Double
    /// One seed per sequence of the batch, in the order given to `Batch(sequences:)`.
    public var seeds: [UInt64]

    public init(embedding: Double, hidden: Double, read: Double = 0, seeds: [UInt64]) {
        self.embedding = embedding
        self.hidden = hidden
        self.read = read
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

    /// The embedding mask of every token row, the hidden mask of every slot of `batch` and the
    /// read mask (width W) of every token row; a nil buffer is not drawn. Each has its own stream
    /// per example, so adding one kind leaves the masks of the others as they were.
    func masks<S: Scalar>(
        for batch: Batch, embeddingDim E: Int, hidden d: Int, x: UnsafeMutablePointer<S>?,
        h: UnsafeMutablePointer<S>?, memoryWidth W: Int = 0, r: UnsafeMutablePointer<S>? = nil
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
            if let r {
                var rng = SplitMix64(seed: deriveSeed(seed, 3))
                for t in 0..<batch.lengths[b] { Self.fill(r + (batch.offsets[t] + b) * W, W, p: read, &rng) }
            }
        }
    }
}
