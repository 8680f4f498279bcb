import CBLAS
import Foundation
import RealModule

/// The scalar the model is generic over. Training runs in `Float`; gradient checks run the very
/// same code in `Double`. Every matrix product goes through OpenBLAS (`cblas_?gemm` / `?gemv`),
/// row-major throughout.
public protocol Scalar: RealModule.Real, BinaryFloatingPoint, Sendable, LosslessStringConvertible
where RawSignificand: FixedWidthInteger {
    /// C = alpha * op(A) * op(B) + beta * C, row-major. op(A) is m×k, op(B) is k×n.
    static func gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ b: UnsafePointer<Self>, _ ldb: Int,
        _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
    /// y = alpha * op(A) x + beta * y, row-major A of m×n.
    static func gemv(
        _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ x: UnsafePointer<Self>, _ beta: Self, _ y: UnsafeMutablePointer<Self>)
    /// tanh as used by the activations: exact for Double (gradient checks); for Float a form
    /// through `expf`, which vectorises and is several times faster than `tanhf`
    /// (absolute error below 1e-7).
    static func activationTanh(_ x: Self) -> Self
    /// exp as used by the activations and softmaxes: exact for Double; for Float a branch-free
    /// polynomial (Cephes expf, relative error below 3e-7) that the compiler vectorises, where a
    /// call to glibc's `expf` per element cannot be.
    static func activationExp(_ x: Self) -> Self
    /// Size in bytes and safetensors dtype name.
    static var dtypeName: String { get }
}

extension Float: Scalar {
    @inline(__always)
    public static func gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    @inline(__always)
    public static func gemv(
        _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ x: UnsafePointer<Float>, _ beta: Float, _ y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
            Int32(lda), x, 1, beta, y, 1)
    }
    @inline(__always) public static func activationTanh(_ x: Float) -> Float {
        // tanh x = 1 − 2 / (e^{2x} + 1); saturates cleanly at both ends.
        let e = activationExp(2 * x)
        return 1 - 2 / (e + 1)
    }
    @inline(__always) public static func activationExp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.0), 88.0)
        // n = round(x / ln 2) through the 1.5·2²³ trick, whose low mantissa bits then hold n.
        let shifter: Float = 12_582_912
        let t = xc * 1.442_695_04 + shifter
        let n = t - shifter
        let r = (xc - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * r * r + r + 1
        let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) << 23)
        return y * scale
    }
    public static var dtypeName: String { "F32" }
}

extension Double: Scalar {
    @inline(__always)
    public static func gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
        _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ b: UnsafePointer<Double>, _ ldb: Int,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    @inline(__always)
    public static func gemv(
        _ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ x: UnsafePointer<Double>, _ beta: Double, _ y: UnsafeMutablePointer<Double>
    ) {
        cblas_dgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
            Int32(lda), x, 1, beta, y, 1)
    }
    @inline(__always) public static func activationTanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) public static func activationExp(_ x: Double) -> Double { Foundation.exp(x) }
    public static var dtypeName: String { "F64" }
}

@inline(__always) func sigmoid<S: Scalar>(_ x: S) -> S { 1 / (1 + S.activationExp(-x)) }

/// Dot product of two length-n vectors, with permission to reassociate so it vectorises.
@inline(__always) func dot<S: Scalar>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ n: Int) -> S {
    var s: S = 0
    for j in 0..<n { s = Relaxed.multiplyAdd(a[j], b[j], s) }
    return s
}

/// A growable raw buffer: allocated once, reused every step (no allocation per time step).
public final class Buffer<S: Scalar> {
    public private(set) var pointer: UnsafeMutablePointer<S>
    public private(set) var capacity: Int

    public init(_ count: Int = 0) {
        capacity = max(count, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    deinit { pointer.deallocate() }

    /// Makes room for `count` elements; old contents are not kept.
    @inline(__always) public func reserve(_ count: Int) {
        if count <= capacity { return }
        pointer.deallocate()
        capacity = max(count, capacity * 3 / 2)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    @inline(__always) public func zero(_ count: Int) { pointer.update(repeating: 0, count: count) }
}

/// Deterministic random numbers (SplitMix64): the same stream on every platform and Swift version.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
    /// Uniform integer in 0..<n (n > 0), unbiased.
    public mutating func below(_ n: Int) -> Int { Int(next(upperBound: UInt64(n))) }
    /// Fisher–Yates, written out so the order never depends on the standard library's algorithm.
    public mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }
}

/// Mixes several values into one seed, so per-task and per-epoch streams are independent and
/// do not depend on where a task runs.
public func deriveSeed(_ parts: UInt64...) -> UInt64 {
    var g = SplitMix64(seed: 0x5EED_5EED)
    var h: UInt64 = 0
    for p in parts {
        g = SplitMix64(seed: h ^ p &* 0x9E37_79B9_7F4A_7C15)
        h = g.next()
    }
    return h
}

/// FNV-1a of a string: a stable number for a task or tensor name.
public func stableHash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}
