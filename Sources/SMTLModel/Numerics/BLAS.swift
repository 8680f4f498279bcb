import Foundation
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
    /// Threads the BLAS may use inside one call (the launch scripts set OPENBLAS_NUM_THREADS=1;
    /// the in-process tests, whose ranks are threads, set 1 here).
    public static func setThreads(_ n: Int) { smtl_blas_set_threads(Int32(n)) }

    /// The library linked at build time: "OpenBLAS" (default) or "BLIS" (`SMTL_BLAS=blis`).
    public static var name: String { String(cString: smtl_blas_library()) }

    /// The kernel the library chose for this CPU (OpenBLAS: or was told to use with
    /// OPENBLAS_CORETYPE; BLIS: its sub-configuration, BLIS_ARCH_TYPE overrides it).
    public static var coreName: String {
        guard let p = smtl_blas_kernel() else { return "unknown" }
        return String(cString: p)
    }

    /// The CPU's flags (the first `flags` line of /proc/cpuinfo; empty where there is none).
    public static var cpuFlags: Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// The CPU's vector extensions that matter for the BLAS kernels (from /proc/cpuinfo).
    public static var vectorExtensions: [String] {
        let flags = cpuFlags
        return ["sse4_2", "avx", "fma", "avx2", "avx512f", "avx512vl", "avx512_bf16", "avx512_fp16", "amx_tile"]
            .filter(flags.contains)
    }

    // MARK: the OpenBLAS kernel for this CPU

    /// OpenBLAS's x86-64 kernels by the widest vector instructions their sgemm uses: 2 AVX-512,
    /// 1 AVX2 with FMA, 0 anything older (Prescott, Nehalem, Sandybridge, Bulldozer …).
    static func vectorLevel(ofCore core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 2
        case "haswell", "zen", "excavator": return 1
        default: return 0
        }
    }

    /// The same levels for a CPU, from its /proc/cpuinfo flags (the AVX-512 subsets OpenBLAS's
    /// SkylakeX kernels use: F, VL, BW, DQ, CD).
    static func vectorLevel(ofCPU flags: Set<String>) -> Int {
        if ["avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd", "avx2", "fma"].allSatisfy(flags.contains) {
            return 2
        }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return 1 }
        return 0
    }

    /// The OpenBLAS kernel to ask for (`OPENBLAS_CORETYPE`) when the one OpenBLAS picked by itself,
    /// `core`, uses narrower vectors than the CPU has; nil when its pick is as wide. Debian's
    /// OpenBLAS 0.3.21 predates the newest CPUs and falls back to an older kernel on them: Haswell
    /// (AVX2) on an AMD Zen 5, Prescott (SSE3) on an Intel Xeon "Emerald Rapids", at half and a
    /// fifth of the AVX-512 kernel's sgemm rate (docs/performance.md). Cooperlake is SkylakeX's
    /// kernel set plus BF16 (what newer OpenBLAS picks for Zen 4 and 5), so it is asked for where
    /// the CPU has BF16.
    public static func betterCore(than core: String, cpu flags: Set<String>) -> String? {
        let cpu = vectorLevel(ofCPU: flags)
        guard cpu > vectorLevel(ofCore: core) else { return nil }
        switch cpu {
        case 2: return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        case 1: return "Haswell"
        default: return nil
        }
    }

    /// The environment variable through which `smtl` tells its restarted self which kernel
    /// OpenBLAS had picked before smtl asked for a wider one (`BLASKernelChoice`).
    public static let pickedByOpenBLASVariable = "SMTL_OPENBLAS_PICKED"

    /// How the kernel in use was chosen, for the banner: nothing for OpenBLAS's own pick,
    /// "(OPENBLAS_CORETYPE …)" for the user's, or "(smtl's choice …)" over OpenBLAS's narrower pick.
    public static var kernelOrigin: String {
        let env = ProcessInfo.processInfo.environment
        guard name == "OpenBLAS" else { return "" }
        if let picked = env[pickedByOpenBLASVariable], !picked.isEmpty,
            let asked = env["OPENBLAS_CORETYPE"], asked == betterCore(than: picked, cpu: cpuFlags)
        {
            return " (smtl's choice for this CPU: OpenBLAS \(version) picked \(picked); "
                + "set OPENBLAS_CORETYPE to choose, SMTL_BLAS_AUTO=0 to keep OpenBLAS's)"
        }
        guard env["OPENBLAS_CORETYPE"] != nil else { return "" }
        if let wider = betterCore(than: coreName, cpu: cpuFlags) {
            return " (OPENBLAS_CORETYPE; this CPU has wider vectors: unset it and smtl asks for \(wider))"
        }
        return " (OPENBLAS_CORETYPE)"
    }

    /// The library's version ("0.3.21"), from its configuration string; "" when it has none.
    public static var version: String {
        guard let p = smtl_blas_config() else { return "" }
        let words = String(cString: p).split(separator: " ")
        return words.count > 1 && words[0] == "OpenBLAS" ? String(words[1]) : ""
    }

    /// "OpenBLAS kernel Haswell; memory kernels AVX-512; CPU avx2 fma …": one line for banners and
    /// results files.
    public static var summary: String {
        "\(name) kernel \(coreName)\(kernelOrigin); memory kernels \(KernelLevel.current.name); CPU "
            + (vectorExtensions.isEmpty ? "?" : vectorExtensions.joined(separator: " "))
    }

    /// Checks the products smtl makes (row-major sgemm with every transpose combination it uses,
    /// on odd sizes and strides) against plain loops in Double. A kernel that computes
    /// them wrongly (a misdetected CPU, a broken build) would otherwise train a wrong model
    /// silently. Returns a description of the first wrong product, or nil when all agree.
    public typealias SGEMM = (
        Bool, Bool, Int, Int, Int, Float, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Float,
        UnsafeMutablePointer<Float>, Int
    ) -> Void

    public static func selfCheck(_ gemm: SGEMM = Float.gemm) -> String? {
        var rng = SplitMix64(seed: 99)
        func matrix(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.uniform(-1, 1)) } }
        for (ta, tb) in [(false, true), (false, false), (true, false)] {
            for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (16, 400, 100), (37, 50, 1)] {
                let (lda, ldb, ldc) = ((ta ? m : k) + 1, (tb ? k : n) + 2, n + 3)
                let a = matrix((ta ? k : m) * lda), b = matrix((tb ? n : k) * ldb)
                var c = matrix(m * ldc)
                let c0 = c
                let alpha: Float = 0.75, beta: Float = 0.5
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            gemm(
                                ta, tb, m, n, k, alpha, ap.baseAddress!, lda, bp.baseAddress!, ldb, beta,
                                cp.baseAddress!, ldc)
                        }
                    }
                }
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0, mag = 0.0
                        for p in 0..<k {
                            let x = Double(ta ? a[p * lda + i] : a[i * lda + p])
                            let y = Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                            s += x * y
                            mag += abs(x * y)
                        }
                        let want = Double(alpha) * s + Double(beta) * Double(c0[i * ldc + j])
                        let err = abs(Double(c[i * ldc + j]) - want)
                        if !(err <= 1e-5 * (mag + abs(Double(c0[i * ldc + j]))) + 1e-6) {
                            return "sgemm(\(ta ? "T" : "N")\(tb ? "T" : "N"), m=\(m) n=\(n) k=\(k)) element "
                                + "[\(i),\(j)] is \(c[i * ldc + j]), expected \(want)"
                        }
                    }
                }
            }
        }
        return nil
    }
}

/// The BLAS library computes wrong products: the run stops before it trains a wrong model.
public struct BLASError: Error, CustomStringConvertible {
    public var detail: String
    public init(_ detail: String) { self.detail = detail }
    public var description: String {
        "the BLAS library computes a wrong product (\(BLASLibrary.summary)): \(detail). "
            + (BLASLibrary.name == "BLIS"
                ? "Choose another kernel with BLIS_ARCH_TYPE (for example haswell), or another BLAS build"
                : "Choose another kernel with OPENBLAS_CORETYPE (for example Haswell), or another BLAS build")
    }
}
