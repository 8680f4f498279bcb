import Foundation
import SMTLDistribution

/// A small, dependency-free SVG writer for the figures (`smtl explain`, `smtl curves`). The
/// output is one self-contained file that any browser opens.
public struct SVG {
    public var width: Double
    public var height: Double
    var body: [String] = []

    public static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    ]

    public init(width: Double, height: Double) { self.width = width; self.height = height }

    static func n(_ x: Double) -> String { String(format: "%.1f", x) }

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public mutating func rect(
        _ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, title: String? = nil
    ) {
        let s = stroke.map { " stroke=\"\($0)\"" } ?? ""
        if let title {
            body.append(
                "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(w))\" height=\"\(Self.n(h))\" "
                    + "fill=\"\(fill)\"\(s)><title>\(Self.escape(title))</title></rect>"
            )
        } else {
            body.append(
                "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(w))\" height=\"\(Self.n(h))\" "
                    + "fill=\"\(fill)\"\(s)/>"
            )
        }
    }

    public mutating func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000", width: Double = 1,
        dash: String? = nil
    ) {
        let d = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body.append(
            "<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\" "
                + "stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\"\(d)/>"
        )
    }

    public mutating func polyline(
        _ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil, markers: Bool = false
    ) {
        guard !points.isEmpty else { return }
        let d = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body.append(
            "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\"\(d) points=\""
                + points.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ") + "\"/>")
        if markers {
            for (x, y) in points {
                body.append("<circle cx=\"\(Self.n(x))\" cy=\"\(Self.n(y))\" r=\"3\" fill=\"\(stroke)\"/>")
            }
        }
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(
        _ s: String, _ x: Double, _ y: Double, size: Double = 12, anchor: Anchor = .start,
        rotate: Double = 0, weight: String = "normal", fill: String = "#222"
    ) {
        let r = rotate != 0 ? " transform=\"rotate(\(Self.n(rotate)) \(Self.n(x)) \(Self.n(y)))\"" : ""
        body.append(
            "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" font-size=\"\(Self.n(size))\" "
                + "text-anchor=\"\(anchor.rawValue)\" font-weight=\"\(weight)\" fill=\"\(fill)\"\(r)>"
                + "\(Self.escape(s))</text>"
        )
    }

    public func render() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" "
            + "viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body.joined(separator: "\n") + "\n</svg>\n"
    }

    /// A colour from white (0) to dark blue (1), for heat maps.
    public static func heat(_ v: Double) -> String {
        let t = min(max(v, 0), 1)
        let (r0, g0, b0) = (255.0, 255.0, 255.0), (r1, g1, b1) = (8.0, 48.0, 107.0)
        return String(
            format: "#%02x%02x%02x", Int(r0 + (r1 - r0) * t), Int(g0 + (g1 - g0) * t), Int(b0 + (b1 - b0) * t))
    }

    /// Axes with ticks for a chart in the box (x, y, w, h) showing [x0, x1] × [y0, y1]; returns
    /// the mapping from data to picture coordinates.
    public mutating func axes(
        x: Double, y: Double, w: Double, h: Double, xRange: (Double, Double), yRange: (Double, Double),
        xTicks: [Double], yTicks: [Double], xLabel: String, yLabel: String,
        xFormat: (Double) -> String = { String(format: "%g", $0) },
        yFormat: (Double) -> String = { String(format: "%g", $0) }
    ) -> (Double, Double) -> (Double, Double) {
        let sx = xRange.1 > xRange.0 ? w / (xRange.1 - xRange.0) : 1,
            sy = yRange.1 > yRange.0 ? h / (yRange.1 - yRange.0) : 1
        let map: (Double, Double) -> (Double, Double) = { a, b in (x + (a - xRange.0) * sx, y + h - (b - yRange.0) * sy)
        }
        for t in yTicks {
            let (_, py) = map(xRange.0, t)
            line(x, py, x + w, py, stroke: "#e4e4e4")
            text(yFormat(t), x - 6, py + 4, size: 11, anchor: .end)
        }
        for t in xTicks {
            let (px, _) = map(t, yRange.0)
            line(px, y + h, px, y + h + 4, stroke: "#444")
            text(xFormat(t), px, y + h + 17, size: 11, anchor: .middle)
        }
        line(x, y + h, x + w, y + h, stroke: "#444")
        line(x, y, x, y + h, stroke: "#444")
        text(xLabel, x + w / 2, y + h + 34, size: 12, anchor: .middle)
        text(yLabel, x - 42, y + h / 2, size: 12, anchor: .middle, rotate: -90)
        return map
    }

    /// Round tick values covering [lo, hi], about `count` of them.
    public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo else { return [lo] }
        let raw = (hi - lo) / Double(max(count, 1))
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        var out: [Double] = []
        var t = ceil(lo / step) * step
        while t <= hi + step * 1e-9 { out.append(t); t += step }
        return out
    }
}
