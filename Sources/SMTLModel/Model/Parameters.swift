/// One named tensor inside a flat parameter buffer (SPEC §6 names, row-major shapes).
public struct TensorEntry: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

/// The order and place of tensors in one flat buffer.
public struct ParameterLayout: Sendable {
    public private(set) var entries: [TensorEntry] = []
    public private(set) var count = 0

    mutating func add(_ name: String, _ shape: [Int]) {
        entries.append(TensorEntry(name: name, shape: shape, offset: count))
        count += shape.reduce(1, *)
    }
    public func entry(_ name: String) -> TensorEntry? { entries.first { $0.name == name } }
    public func offset(_ name: String) -> Int {
        guard let e = entry(name) else { preconditionFailure("no tensor \(name) in layout") }
        return e.offset
    }

    /// Shared tensors: the embedding, then (ARC-I, ARC-II) the global memory block.
    /// All of them sit in one flat buffer, so a single allreduce can sum their gradients.
    public static func shared(_ arch: Architecture, _ dims: Dimensions) -> ParameterLayout {
        var l = ParameterLayout()
        l.add("embedding.weight", [dims.vocabulary, dims.embedding])
        if arch.hasGlobalMemory {
            let u = arch.globalControllerWidth(dims)
            l.add("global.memory0", [dims.memoryRows, dims.memoryWidth])
            l.add("global.control.weight", [3 * dims.memoryWidth, u])
            l.add("global.control.bias", [3 * dims.memoryWidth])
        }
        return l
    }

    /// One task's tensors. `fusion.weight_f` and `fusion.weight_r` are adjacent, so together they
    /// form one [2d, W] matrix and one BLAS call computes both products.
    public static func task(
        _ name: String, _ arch: Architecture, _ dims: Dimensions, classes: Int
    )
        -> ParameterLayout
    {
        let (e, d, k, w) = (dims.embedding, dims.hidden, dims.memoryRows, dims.memoryWidth)
        let p = "task.\(name)."
        var l = ParameterLayout()
        l.add(p + "lstm.weight_ih", [4 * d, e])
        l.add(p + "lstm.weight_hh", [4 * d, d])
        l.add(p + "lstm.bias", [4 * d])
        if arch.hasFusion {
            l.add(p + "fusion.weight_f", [d, w])
            l.add(p + "fusion.weight_r", [d, w])
            l.add(p + "fusion.weight_c", [d, d])
        }
        if arch.hasLocalMemory {
            l.add(p + "local.memory0", [k, w])
            l.add(p + "local.control.weight", [3 * w, d])
            l.add(p + "local.control.bias", [3 * w])
        }
        l.add(p + "classifier.weight", [classes, d])
        l.add(p + "classifier.bias", [classes])
        return l
    }
}

/// A flat buffer of parameters with a gradient buffer of the same layout.
public final class ParameterSet<S: Scalar> {
    public let layout: ParameterLayout
    public let values: UnsafeMutablePointer<S>
    public let grads: UnsafeMutablePointer<S>
    public var count: Int { layout.count }

    public init(layout: ParameterLayout) {
        self.layout = layout
        let n = max(layout.count, 1)
        values = .allocate(capacity: n)
        values.initialize(repeating: 0, count: n)
        grads = .allocate(capacity: n)
        grads.initialize(repeating: 0, count: n)
    }
    deinit {
        values.deallocate()
        grads.deallocate()
    }

    public func value(_ name: String) -> UnsafeMutablePointer<S> { values + layout.offset(name) }
    public func grad(_ name: String) -> UnsafeMutablePointer<S> { grads + layout.offset(name) }
    public func zeroGrads() { grads.update(repeating: 0, count: layout.count) }

    /// Copies one tensor out as an array (tests and checkpoints).
    public func array(_ name: String, grad: Bool = false) -> [S] {
        guard let e = layout.entry(name) else { return [] }
        let p = (grad ? grads : values) + e.offset
        return Array(UnsafeBufferPointer(start: p, count: e.count))
    }

    /// SPEC §1: every parameter starts from U(−0.1, 0.1). Each tensor draws from its own stream,
    /// seeded by the run seed and the tensor's name, so initial values never depend on which
    /// process creates them or in what order.
    public func initializeUniform(seed: UInt64, scale: Double = 0.1) {
        for e in layout.entries {
            var rng = SplitMix64(seed: deriveSeed(seed, stableHash(e.name)))
            let p = values + e.offset
            for i in 0..<e.count { p[i] = S(rng.uniform(-scale, scale)) }
        }
    }
}

/// How the optimizer, the gradient sync and checkpoints number a model's parameter sets: 0 is the
/// shared set (embedding, global memory), m + 1 is task m's.
public enum ParameterSets {
    public static let shared = 0
    public static func task(_ m: Int) -> Int { m + 1 }
}
