import CKernels

/// The memory block's per-token loops (SPEC §3), at the edge like BLAS: C kernels compiled for
/// baseline x86-64, AVX2+FMA and AVX-512, the widest the CPU has chosen at load
/// (`SMTL_KERNELS=baseline|avx2|avx512` caps it). Float trains; Double runs the very same C source
/// in the gradient checks. Argument layouts: Sources/CKernels/include/smtl_kernels.h.
public protocol MemoryKernels {
    static func memAddress(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Self>, _ key: UnsafePointer<Self>,
        _ sim: UnsafeMutablePointer<Self>, _ norm: UnsafeMutablePointer<Self>,
        _ keyNorm: UnsafeMutablePointer<Self>, _ alpha: UnsafeMutablePointer<Self>)
    static func memRead(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Self>, _ alpha: UnsafePointer<Self>,
        _ out: UnsafeMutablePointer<Self>, _ ld: Int)
    static func memWrite(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Self>, _ alpha: UnsafePointer<Self>,
        _ control: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>, _ readOut: UnsafeMutablePointer<Self>?,
        _ ld: Int, _ next: AddressOutput<Self>?)
    static func memReadBackward(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Self>, _ alpha: UnsafePointer<Self>,
        _ g: UnsafePointer<Self>, _ ld: Int, _ dAlpha: UnsafeMutablePointer<Self>, _ dM: UnsafeMutablePointer<Self>,
        _ address: AddressRows<Self>?)
    static func memWriteBackward(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Self>, _ alpha: UnsafePointer<Self>,
        _ control: UnsafePointer<Self>, _ dControl: UnsafeMutablePointer<Self>,
        _ dM: UnsafeMutablePointer<Self>, _ dAlpha: UnsafeMutablePointer<Self>, _ dKey: UnsafeMutablePointer<Self>,
        _ g: UnsafePointer<Self>?, _ ld: Int, _ address: AddressRows<Self>?)
    static func controlActivate(_ n: Int, _ W: Int, _ v: UnsafeMutablePointer<Self>)
    static func fuseForward(
        _ n: Int, _ d: Int, _ qg: UnsafeMutablePointer<Self>, _ c: UnsafePointer<Self>, _ o: UnsafePointer<Self>,
        _ ldo: Int, _ tu: UnsafeMutablePointer<Self>, _ h: UnsafeMutablePointer<Self>)
    static func fuseBackward(
        _ n: Int, _ d: Int, _ dh: UnsafePointer<Self>, _ o: UnsafePointer<Self>, _ ldo: Int,
        _ tu: UnsafePointer<Self>, _ qg: UnsafePointer<Self>, _ dq: UnsafeMutablePointer<Self>,
        _ dc: UnsafeMutablePointer<Self>, _ dzo: UnsafeMutablePointer<Self>)
}

/// Where a write puts the addressing of the next step (`memWrite`).
public struct AddressOutput<S> {
    let similarity: UnsafeMutablePointer<S>
    let norm: UnsafeMutablePointer<S>
    let keyNorm: UnsafeMutablePointer<S>
    let alpha: UnsafeMutablePointer<S>
}

/// What the addressing backward needs of its rows (the addressing's key, similarities and norms),
/// and where ∂k_{t−1} goes (`memReadBackward`; `memWriteBackward` overwrites its own dKey).
public struct AddressRows<S> {
    let key: UnsafePointer<S>
    let similarity: UnsafePointer<S>
    let norm: UnsafePointer<S>
    let keyNorm: UnsafePointer<S>
    let dKey: UnsafeMutablePointer<S>
}

extension Float: MemoryKernels {
    @inline(__always) public static func memAddress(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Float>, _ key: UnsafePointer<Float>,
        _ sim: UnsafeMutablePointer<Float>, _ norm: UnsafeMutablePointer<Float>,
        _ keyNorm: UnsafeMutablePointer<Float>, _ alpha: UnsafeMutablePointer<Float>
    ) { smtl_mem_address_f(Int32(n), Int32(K), Int32(W), m, key, sim, norm, keyNorm, alpha) }
    @inline(__always) public static func memRead(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Float>, _ alpha: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, _ ld: Int
    ) { smtl_mem_read_f(Int32(n), Int32(K), Int32(W), m, alpha, out, Int32(ld)) }
    @inline(__always) public static func memWrite(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Float>, _ alpha: UnsafePointer<Float>,
        _ control: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ readOut: UnsafeMutablePointer<Float>?,
        _ ld: Int, _ next: AddressOutput<Float>?
    ) {
        smtl_mem_write_f(
            Int32(n), Int32(K), Int32(W), m, alpha, control, out, readOut, Int32(ld), next?.similarity, next?.norm,
            next?.keyNorm, next?.alpha)
    }
    @inline(__always) public static func memReadBackward(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Float>, _ alpha: UnsafePointer<Float>,
        _ g: UnsafePointer<Float>, _ ld: Int, _ dAlpha: UnsafeMutablePointer<Float>, _ dM: UnsafeMutablePointer<Float>,
        _ address: AddressRows<Float>?
    ) {
        smtl_mem_read_backward_f(
            Int32(n), Int32(K), Int32(W), m, alpha, g, Int32(ld), dAlpha, dM, address?.key, address?.similarity,
            address?.norm, address?.keyNorm, address?.dKey)
    }
    @inline(__always) public static func memWriteBackward(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Float>, _ alpha: UnsafePointer<Float>,
        _ control: UnsafePointer<Float>, _ dControl: UnsafeMutablePointer<Float>,
        _ dM: UnsafeMutablePointer<Float>, _ dAlpha: UnsafeMutablePointer<Float>, _ dKey: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>?, _ ld: Int, _ address: AddressRows<Float>?
    ) {
        smtl_mem_write_backward_f(
            Int32(n), Int32(K), Int32(W), m, alpha, control, dControl, dM, dAlpha, dKey, g, Int32(ld), address?.key,
            address?.similarity, address?.norm, address?.keyNorm)
    }
    @inline(__always) public static func controlActivate(_ n: Int, _ W: Int, _ v: UnsafeMutablePointer<Float>) {
        smtl_control_activate_f(Int32(n), Int32(W), v)
    }
    @inline(__always) public static func fuseForward(
        _ n: Int, _ d: Int, _ qg: UnsafeMutablePointer<Float>, _ c: UnsafePointer<Float>, _ o: UnsafePointer<Float>,
        _ ldo: Int, _ tu: UnsafeMutablePointer<Float>, _ h: UnsafeMutablePointer<Float>
    ) { smtl_fuse_forward_f(Int32(n), Int32(d), qg, c, o, Int32(ldo), tu, h) }
    @inline(__always) public static func fuseBackward(
        _ n: Int, _ d: Int, _ dh: UnsafePointer<Float>, _ o: UnsafePointer<Float>, _ ldo: Int,
        _ tu: UnsafePointer<Float>, _ qg: UnsafePointer<Float>, _ dq: UnsafeMutablePointer<Float>,
        _ dc: UnsafeMutablePointer<Float>, _ dzo: UnsafeMutablePointer<Float>
    ) { smtl_fuse_backward_f(Int32(n), Int32(d), dh, o, Int32(ldo), tu, qg, dq, dc, dzo) }
}

extension Double: MemoryKernels {
    @inline(__always) public static func memAddress(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Double>, _ key: UnsafePointer<Double>,
        _ sim: UnsafeMutablePointer<Double>, _ norm: UnsafeMutablePointer<Double>,
        _ keyNorm: UnsafeMutablePointer<Double>, _ alpha: UnsafeMutablePointer<Double>
    ) { smtl_mem_address_d(Int32(n), Int32(K), Int32(W), m, key, sim, norm, keyNorm, alpha) }
    @inline(__always) public static func memRead(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Double>, _ alpha: UnsafePointer<Double>,
        _ out: UnsafeMutablePointer<Double>, _ ld: Int
    ) { smtl_mem_read_d(Int32(n), Int32(K), Int32(W), m, alpha, out, Int32(ld)) }
    @inline(__always) public static func memWrite(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Double>, _ alpha: UnsafePointer<Double>,
        _ control: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>, _ readOut: UnsafeMutablePointer<Double>?,
        _ ld: Int, _ next: AddressOutput<Double>?
    ) {
        smtl_mem_write_d(
            Int32(n), Int32(K), Int32(W), m, alpha, control, out, readOut, Int32(ld), next?.similarity, next?.norm,
            next?.keyNorm, next?.alpha)
    }
    @inline(__always) public static func memReadBackward(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Double>, _ alpha: UnsafePointer<Double>,
        _ g: UnsafePointer<Double>, _ ld: Int, _ dAlpha: UnsafeMutablePointer<Double>,
        _ dM: UnsafeMutablePointer<Double>,
        _ address: AddressRows<Double>?
    ) {
        smtl_mem_read_backward_d(
            Int32(n), Int32(K), Int32(W), m, alpha, g, Int32(ld), dAlpha, dM, address?.key, address?.similarity,
            address?.norm, address?.keyNorm, address?.dKey)
    }
    @inline(__always) public static func memWriteBackward(
        _ n: Int, _ K: Int, _ W: Int, _ m: UnsafePointer<Double>, _ alpha: UnsafePointer<Double>,
        _ control: UnsafePointer<Double>, _ dControl: UnsafeMutablePointer<Double>,
        _ dM: UnsafeMutablePointer<Double>, _ dAlpha: UnsafeMutablePointer<Double>,
        _ dKey: UnsafeMutablePointer<Double>,
        _ g: UnsafePointer<Double>?, _ ld: Int, _ address: AddressRows<Double>?
    ) {
        smtl_mem_write_backward_d(
            Int32(n), Int32(K), Int32(W), m, alpha, control, dControl, dM, dAlpha, dKey, g, Int32(ld), address?.key,
            address?.similarity, address?.norm, address?.keyNorm)
    }
    @inline(__always) public static func controlActivate(_ n: Int, _ W: Int, _ v: UnsafeMutablePointer<Double>) {
        smtl_control_activate_d(Int32(n), Int32(W), v)
    }
    @inline(__always) public static func fuseForward(
        _ n: Int, _ d: Int, _ qg: UnsafeMutablePointer<Double>, _ c: UnsafePointer<Double>, _ o: UnsafePointer<Double>,
        _ ldo: Int, _ tu: UnsafeMutablePointer<Double>, _ h: UnsafeMutablePointer<Double>
    ) { smtl_fuse_forward_d(Int32(n), Int32(d), qg, c, o, Int32(ldo), tu, h) }
    @inline(__always) public static func fuseBackward(
        _ n: Int, _ d: Int, _ dh: UnsafePointer<Double>, _ o: UnsafePointer<Double>, _ ldo: Int,
        _ tu: UnsafePointer<Double>, _ qg: UnsafePointer<Double>, _ dq: UnsafeMutablePointer<Double>,
        _ dc: UnsafeMutablePointer<Double>, _ dzo: UnsafeMutablePointer<Double>
    ) { smtl_fuse_backward_d(Int32(n), Int32(d), dh, o, Int32(ldo), tu, qg, dq, dc, dzo) }
}

/// The instruction set of the memory kernels.
public enum KernelLevel: Int, CaseIterable, Sendable {
    case baseline = 0, avx2 = 1, avx512 = 2

    /// The level in use.
    public static var current: KernelLevel { KernelLevel(rawValue: Int(smtl_kernels_level())) ?? .baseline }
    /// The widest level this CPU runs.
    public static var widest: KernelLevel { KernelLevel(rawValue: Int(smtl_kernels_max_level())) ?? .baseline }
    /// Uses `level` (capped at the CPU's); returns the level now in use.
    @discardableResult public static func select(_ level: KernelLevel) -> KernelLevel {
        KernelLevel(rawValue: Int(smtl_kernels_select(Int32(level.rawValue)))) ?? .baseline
    }
    public var name: String { String(cString: smtl_kernels_name(Int32(rawValue))) }
}
