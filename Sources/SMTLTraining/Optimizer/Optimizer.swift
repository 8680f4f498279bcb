import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// Applies one update to every parameter set of a model. Each set has its state buffers in the
/// same flat layout as its values, so the state of a shared tensor is the same on every replica.
///
/// The embedding is updated row-sparsely: only the rows the step touched change (SPEC §7), and
/// for Adam their moments too ("lazy" Adam; bias correction uses the global step count).
public final class Optimizer<S: Scalar> {
    public let settings: OptimizerSettings
    /// Per parameter set: AdaGrad's G, or Adam's first moment.
    public let first: [UnsafeMutablePointer<S>]
    /// Per parameter set: Adam's second moment (empty otherwise).
    public let second: [UnsafeMutablePointer<S>]
    /// Per parameter set: the moving average of the weights (`emaDecay` > 0; empty otherwise),
    /// starting at the weights the optimizer was made with.
    public let average: [UnsafeMutablePointer<S>]
    /// Per parameter set: room for the training weights while the average stands in for them
    /// (`withAverage`); empty without an average.
    let parked: [UnsafeMutablePointer<S>]
    let counts: [Int]
    public private(set) var stepCount = 0

    public init(settings: OptimizerSettings, model: Model<S>) {
        self.settings = settings
        counts = model.parameterSets.map { $0.count }
        func zeros(_ n: Int) -> UnsafeMutablePointer<S> {
            let p = UnsafeMutablePointer<S>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        first = settings.kind == .sgd ? [] : counts.map(zeros)
        second = settings.kind == .adam ? counts.map(zeros) : []
        average = settings.emaDecay > 0 ? counts.map(zeros) : []
        parked = settings.emaDecay > 0 ? counts.map(zeros) : []
        for (a, set) in zip(average, model.parameterSets) { a.update(from: set.values, count: set.count) }
    }
    deinit {
        for buffers in [first, second, average, parked] {
            for (p, n) in zip(buffers, counts) { p.deinitialize(count: max(n, 1)); p.deallocate() }
        }
    }

    public func restore(stepCount: Int) { self.stepCount = stepCount }

    /// The state buffers of parameter set k (0 shared, m+1 task m), laid out like its values.
    public func state(ofSet k: Int) -> [UnsafeMutablePointer<S>] {
        [first, second, average].filter { !$0.isEmpty }.map { $0[k] }
    }

    /// Runs `body` with the moving average of the weights in the model's buffers in place of the
    /// training weights, for the sets given (those this rank keeps current), and puts the training
    /// weights back after it. Without an average, just `body`.
    public func withAverage<T>(_ model: Model<S>, sets: [Int], _ body: () throws -> T) rethrows -> T {
        guard !average.isEmpty else { return try body() }
        let all = model.parameterSets
        for k in sets {
            parked[k].update(from: all[k].values, count: counts[k])
            all[k].values.update(from: average[k], count: counts[k])
        }
        defer { for k in sets { all[k].values.update(from: parked[k], count: counts[k]) } }
        return try body()
    }

    /// One update from the gradients now in the model's buffers. `embeddingRows` are the rows of
    /// `embedding.weight` whose gradient the step computed (`GradientSync.rows`); the others stay
    /// as they are. `sets` limits the update to some parameter sets (0 is the shared set, m+1
    /// task m): a rank updates the shared tensors and the tasks it runs.
    public func step(_ model: Model<S>, embeddingRows: SparseRows, sets: [Int]? = nil) {
        stepCount += 1
        let e = model.dims.embedding
        let embeddingCount = model.dims.vocabulary * e
        for (k, set) in model.parameterSets.enumerated() where sets?.contains(k) ?? true {
            let denseStart = k == 0 ? embeddingCount : 0
            let rows = k == 0 && !settings.freezeEmbeddings ? embeddingRows.rows : []
            if settings.clipNorm > 0 {
                Self.clip(set.grads, rows: rows, width: e, dense: denseStart..<set.count, to: settings.clipNorm)
            }
            for r in rows {
                let lo = Int(r) * e
                update(set: k, values: set.values, grads: set.grads, range: lo..<(lo + e), l2: S(settings.embeddingL2))
            }
            update(
                set: k, values: set.values, grads: set.grads, range: denseStart..<set.count,
                l2: S(settings.l2))
            if !average.isEmpty { Self.ema(average[k], set.values, counts[k], S(settings.emaDecay)) }
        }
    }

    /// a ← β·a + (1 − β)·w.
    static func ema(_ a: UnsafeMutablePointer<S>, _ w: UnsafeMutablePointer<S>, _ n: Int, _ beta: S) {
        let c = 1 - beta
        for i in 0..<n { a[i] = beta * a[i] + c * w[i] }
    }

    /// Scales the gradient of the given rows and range to an L2 norm of at most `maxNorm`.
    static func clip<R: Collection>(
        _ g: UnsafeMutablePointer<S>, rows: R, width e: Int, dense: Range<Int>, to maxNorm: Double
    ) where R.Element == Int32 {
        var sum = 0.0
        for r in rows { let p = g + Int(r) * e; for j in 0..<e { sum += Double(p[j]) * Double(p[j]) } }
        for i in dense { sum += Double(g[i]) * Double(g[i]) }
        let norm = sum.squareRoot()
        guard norm > maxNorm else { return }
        let f = S(maxNorm / norm)
        for r in rows { let p = g + Int(r) * e; for j in 0..<e { p[j] *= f } }
        for i in dense { g[i] *= f }
    }

    @inline(__always)
    func update(
        set k: Int, values: UnsafeMutablePointer<S>, grads: UnsafeMutablePointer<S>,
        range: Range<Int>, l2: S
    ) {
        let lo = range.lowerBound, n = range.count
        let w = values + lo, g = grads + lo
        let lr = S(settings.learningRate)
        switch settings.kind {
        case .sgd:
            Self.sgd(w, g, n, lr, l2)
        case .adagrad:
            Self.adagrad(w, g, first[k] + lo, n, lr, l2)
        case .adam:
            let c1 = 1 - S(Foundation.pow(settings.beta1, Double(stepCount)))
            let c2 = 1 - S(Foundation.pow(settings.beta2, Double(stepCount)))
            Self.adam(
                w, g, first[k] + lo, second[k] + lo, n, lr, l2, S(settings.beta1), S(settings.beta2),
                S(settings.adamEpsilon), c1, c2)
        }
    }

    /// The updates are C kernels (CellKernels.swift), bit for bit these loops; the loops stay as
    /// their reference (OptimizerKernelTests).
    static func sgd(_ w: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>, _ n: Int, _ lr: S, _ l2: S) {
        S.sgdUpdate(n, w, g, lr, l2)
    }

    static func sgdReference(_ w: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>, _ n: Int, _ lr: S, _ l2: S) {
        for i in 0..<n { w[i] -= lr * (g[i] + l2 * w[i]) }
    }

    /// G ← G + g², w ← w − lr · g / (√G + 1e−10).
    static func adagrad(
        _ w: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>, _ G: UnsafeMutablePointer<S>,
        _ n: Int, _ lr: S, _ l2: S
    ) { S.adagradUpdate(n, w, g, G, lr, l2) }

    static func adagradReference(
        _ w: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>, _ G: UnsafeMutablePointer<S>,
        _ n: Int, _ lr: S, _ l2: S
    ) {
        let eps = S(1e-10)
        for i in 0..<n {
            let gi = g[i] + l2 * w[i]
            let s = G[i] + gi * gi
            G[i] = s
            w[i] -= lr * gi / (s.squareRoot() + eps)
        }
    }

    static func adam(
        _ w: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>, _ m: UnsafeMutablePointer<S>,
        _ v: UnsafeMutablePointer<S>, _ n: Int, _ lr: S, _ l2: S, _ b1: S, _ b2: S, _ eps: S,
        _ c1: S, _ c2: S
    ) { S.adamUpdate(n, w, g, m, v, lr, l2, b1, b2, eps, c1, c2) }

    static func adamReference(
        _ w: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>, _ m: UnsafeMutablePointer<S>,
        _ v: UnsafeMutablePointer<S>, _ n: Int, _ lr: S, _ l2: S, _ b1: S, _ b2: S, _ eps: S,
        _ c1: S, _ c2: S
    ) {
        for i in 0..<n {
            let gi = g[i] + l2 * w[i]
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            w[i] -= lr * (mi / c1) / ((vi / c2).squareRoot() + eps)
        }
    }
}
