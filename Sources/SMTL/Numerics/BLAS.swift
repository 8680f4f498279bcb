import CBLAS

/// The two BLAS calls smtl makes, for Float (training) and Double (gradient checks): the edge
/// between the model and OpenBLAS.
extension Float {
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
}

extension Double {
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
}

/// The BLAS library itself.
public enum BLASLibrary {
    /// Threads OpenBLAS may use inside one call (the launch scripts set OPENBLAS_NUM_THREADS=1;
    /// the in-process tests, whose ranks are threads, set 1 here).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
