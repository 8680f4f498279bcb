import RealModule

/// The scalar the model is generic over. Training runs in `Float`; gradient checks run the very
/// same code in `Double`. Every matrix product goes through OpenBLAS (`cblas_?gemm` / `?gemv`),
/// row-major throughout (BLAS.swift); the activations are in Activations.swift.
public protocol Scalar: RealModule.Real, BinaryFloatingPoint, Sendable, LosslessStringConvertible, MemoryKernels,
    CellKernels
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
    /// dst[i] += Double(src[i]) for i < count: the widening is exact for Float and Double. (A
    /// concrete loop per type: the generic `Double(x)` of an unspecialised caller goes through
    /// dynamic casts, element by element.)
    static func accumulateWidened(_ src: UnsafePointer<Self>, into dst: UnsafeMutablePointer<Double>, count: Int)
    /// dst[i] = Self(src[i]) for i < count, rounded to nearest.
    static func storeNarrowed(_ src: UnsafePointer<Double>, into dst: UnsafeMutablePointer<Self>, count: Int)
}

extension Float: Scalar {
    public static var dtypeName: String { "F32" }
    public static func accumulateWidened(
        _ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Double>, count: Int
    ) {
        for i in 0..<count { dst[i] += Double(src[i]) }
    }
    public static func storeNarrowed(_ src: UnsafePointer<Double>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = Float(src[i]) }
    }
}

extension Double: Scalar {
    public static var dtypeName: String { "F64" }
    public static func accumulateWidened(
        _ src: UnsafePointer<Double>, into dst: UnsafeMutablePointer<Double>, count: Int
    ) {
        for i in 0..<count { dst[i] += src[i] }
    }
    public static func storeNarrowed(_ src: UnsafePointer<Double>, into dst: UnsafeMutablePointer<Double>, count: Int) {
        dst.update(from: src, count: count)
    }
}
