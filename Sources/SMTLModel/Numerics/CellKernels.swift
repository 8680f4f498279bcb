import CKernels
import Foundation

/// The LSTM cell's element-wise work and the optimizer updates, at the edge like the memory
/// kernels (MemoryKernels.swift): the same C source compiled per instruction-set level, Float for
/// training and Double for the gradient checks. Argument layouts: smtl_kernels.h.
public protocol CellKernels {
    /// i, f, o = σ and g = tanh of n gate rows [i; f; g; o] (stride 4d) in place; c = f ⊙ cp + i ⊙ g.
    static func lstmCell(
        _ n: Int, _ d: Int, _ z: UnsafeMutablePointer<Self>, _ cp: UnsafePointer<Self>,
        _ c: UnsafeMutablePointer<Self>)
    /// From ∂c (dc, overwritten with ∂c ⊙ f): the i, f, g pre-activation gradients into dz.
    static func lstmCellBackward(
        _ n: Int, _ d: Int, _ z: UnsafePointer<Self>, _ dz: UnsafeMutablePointer<Self>,
        _ dc: UnsafeMutablePointer<Self>, _ cp: UnsafePointer<Self>)
    /// Without a fusion gate: tu = tanh(c), h = o ⊙ tu (o with row stride ldo).
    static func lstmOutput(
        _ n: Int, _ d: Int, _ o: UnsafePointer<Self>, _ ldo: Int, _ c: UnsafePointer<Self>,
        _ tu: UnsafeMutablePointer<Self>, _ h: UnsafeMutablePointer<Self>)
    /// Its backward from ∂h: ∂c += ∂h ⊙ o ⊙ (1 − tu²); the o pre-activation gradient (stride ldo).
    static func lstmOutputBackward(
        _ n: Int, _ d: Int, _ dh: UnsafePointer<Self>, _ o: UnsafePointer<Self>,
        _ ldo: Int, _ tu: UnsafePointer<Self>, _ dc: UnsafeMutablePointer<Self>, _ dzo: UnsafeMutablePointer<Self>)
    /// w ← w − lr (g + l2 w).
    static func sgdUpdate(_ n: Int, _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ lr: Self, _ l2: Self)
    /// G ← G + g², w ← w − lr g / (√G + 1e−10), g with l2 w added.
    static func adagradUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>,
        _ G: UnsafeMutablePointer<Self>, _ lr: Self, _ l2: Self)
    /// Adam with bias corrections c1 = 1 − β1^t, c2 = 1 − β2^t.
    static func adamUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>,
        _ m: UnsafeMutablePointer<Self>, _ v: UnsafeMutablePointer<Self>, _ lr: Self, _ l2: Self, _ b1: Self,
        _ b2: Self, _ eps: Self, _ c1: Self, _ c2: Self)
}

extension Float: CellKernels {
    @inline(__always) public static func lstmCell(
        _ n: Int, _ d: Int, _ z: UnsafeMutablePointer<Float>,
        _ cp: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
    ) { smtl_lstm_cell_f(Int32(n), Int32(d), z, cp, c) }
    @inline(__always) public static func lstmCellBackward(
        _ n: Int, _ d: Int, _ z: UnsafePointer<Float>,
        _ dz: UnsafeMutablePointer<Float>, _ dc: UnsafeMutablePointer<Float>, _ cp: UnsafePointer<Float>
    ) { smtl_lstm_cell_backward_f(Int32(n), Int32(d), z, dz, dc, cp) }
    @inline(__always) public static func lstmOutput(
        _ n: Int, _ d: Int, _ o: UnsafePointer<Float>, _ ldo: Int,
        _ c: UnsafePointer<Float>, _ tu: UnsafeMutablePointer<Float>, _ h: UnsafeMutablePointer<Float>
    ) { smtl_lstm_output_f(Int32(n), Int32(d), o, Int32(ldo), c, tu, h) }
    @inline(__always) public static func lstmOutputBackward(
        _ n: Int, _ d: Int, _ dh: UnsafePointer<Float>,
        _ o: UnsafePointer<Float>, _ ldo: Int, _ tu: UnsafePointer<Float>, _ dc: UnsafeMutablePointer<Float>,
        _ dzo: UnsafeMutablePointer<Float>
    ) { smtl_lstm_output_backward_f(Int32(n), Int32(d), dh, o, Int32(ldo), tu, dc, dzo) }
    @inline(__always) public static func sgdUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>, _ lr: Float, _ l2: Float
    ) { chunks(n) { o, k in smtl_opt_sgd_f(k, w + o, g + o, lr, l2) } }
    @inline(__always) public static func adagradUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>, _ G: UnsafeMutablePointer<Float>, _ lr: Float, _ l2: Float
    ) { chunks(n) { o, k in smtl_opt_adagrad_f(k, w + o, g + o, G + o, lr, l2) } }
    @inline(__always) public static func adamUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ lr: Float,
        _ l2: Float, _ b1: Float, _ b2: Float, _ eps: Float, _ c1: Float, _ c2: Float
    ) { chunks(n) { o, k in smtl_opt_adam_f(k, w + o, g + o, m + o, v + o, lr, l2, b1, b2, eps, c1, c2) } }
}

extension Double: CellKernels {
    @inline(__always) public static func lstmCell(
        _ n: Int, _ d: Int, _ z: UnsafeMutablePointer<Double>,
        _ cp: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>
    ) { smtl_lstm_cell_d(Int32(n), Int32(d), z, cp, c) }
    @inline(__always) public static func lstmCellBackward(
        _ n: Int, _ d: Int, _ z: UnsafePointer<Double>,
        _ dz: UnsafeMutablePointer<Double>, _ dc: UnsafeMutablePointer<Double>, _ cp: UnsafePointer<Double>
    ) { smtl_lstm_cell_backward_d(Int32(n), Int32(d), z, dz, dc, cp) }
    @inline(__always) public static func lstmOutput(
        _ n: Int, _ d: Int, _ o: UnsafePointer<Double>, _ ldo: Int,
        _ c: UnsafePointer<Double>, _ tu: UnsafeMutablePointer<Double>, _ h: UnsafeMutablePointer<Double>
    ) { smtl_lstm_output_d(Int32(n), Int32(d), o, Int32(ldo), c, tu, h) }
    @inline(__always) public static func lstmOutputBackward(
        _ n: Int, _ d: Int, _ dh: UnsafePointer<Double>,
        _ o: UnsafePointer<Double>, _ ldo: Int, _ tu: UnsafePointer<Double>, _ dc: UnsafeMutablePointer<Double>,
        _ dzo: UnsafeMutablePointer<Double>
    ) { smtl_lstm_output_backward_d(Int32(n), Int32(d), dh, o, Int32(ldo), tu, dc, dzo) }
    @inline(__always) public static func sgdUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Double>,
        _ g: UnsafePointer<Double>, _ lr: Double, _ l2: Double
    ) { chunks(n) { o, k in smtl_opt_sgd_d(k, w + o, g + o, lr, l2) } }
    @inline(__always) public static func adagradUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Double>,
        _ g: UnsafePointer<Double>, _ G: UnsafeMutablePointer<Double>, _ lr: Double, _ l2: Double
    ) { chunks(n) { o, k in smtl_opt_adagrad_d(k, w + o, g + o, G + o, lr, l2) } }
    @inline(__always) public static func adamUpdate(
        _ n: Int, _ w: UnsafeMutablePointer<Double>,
        _ g: UnsafePointer<Double>, _ m: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>, _ lr: Double,
        _ l2: Double, _ b1: Double, _ b2: Double, _ eps: Double, _ c1: Double, _ c2: Double
    ) { chunks(n) { o, k in smtl_opt_adam_d(k, w + o, g + o, m + o, v + o, lr, l2, b1, b2, eps, c1, c2) } }
}

/// Runs `body(offset, count)` over 0..<n in pieces that fit the C kernels' Int32 counts.
@inline(__always) func chunks(_ n: Int, _ body: (Int, Int32) -> Void) {
    var o = 0
    while o < n {
        let k = Swift.min(n - o, 1 << 30)
        body(o, Int32(k))
        o += k
    }
}

/// How the LSTM's forward recurrent product h_{t−1}·W_hhᵀ runs at each time step. By default
/// W_hh is transposed once per batch and each step is an NN product over W_hhᵀ, which OpenBLAS
/// takes through its small-matrix kernel without packing; with `SMTL_RECURRENT=blas` (the
/// reference) each step is the NT product over W_hh, which OpenBLAS packs at every call. Read at
/// start-up; `smtl bench --recurrent` and the tests set it.
public enum RecurrentProducts {
    nonisolated(unsafe) public static var transposedOnce: Bool =
        ProcessInfo.processInfo.environment["SMTL_RECURRENT"] != "blas"
    public static var name: String { transposedOnce ? "W_hhᵀ once per batch" : "BLAS over W_hh" }
}
