import Foundation
import RealModule

/// The activations of the LSTM, the memories and the softmax.
extension Float {
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
}

extension Double {
    @inline(__always) public static func activationTanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) public static func activationExp(_ x: Double) -> Double { Foundation.exp(x) }
}

@inline(__always) func sigmoid<S: Scalar>(_ x: S) -> S { 1 / (1 + S.activationExp(-x)) }

/// Dot product of two length-n vectors, with permission to reassociate so it vectorises.
@inline(__always) func dot<S: Scalar>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ n: Int) -> S {
    var s: S = 0
    for j in 0..<n { s = Relaxed.multiplyAdd(a[j], b[j], s) }
    return s
}
