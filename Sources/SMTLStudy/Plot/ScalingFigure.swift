import Foundation
import SMTLDistribution

/// The scaling model's figure (docs/figures/scaling.svg): predicted step time against ranks on
/// log-log axes, split into its parts, with the measured steps it was checked against.
public enum ScalingFigure {
    public struct Curve {
        public var name: String
        public var points: [(Double, Double)]
        public var dash: String?
        public init(name: String, points: [(Double, Double)], dash: String? = nil) {
            self.name = name; self.points = points; self.dash = dash
        }
    }

    /// One panel per title; x: ranks (log2), y: seconds (log10).
    public static func svg(
        title: String, panels: [(title: String, curves: [Curve], measured: [(Double, Double)])]
    ) -> String {
        let panelW = 360.0, panelH = 280.0, left = 70.0, top = 60.0, gap = 90.0
        var s = SVG(width: left + Double(panels.count) * (panelW + gap), height: top + panelH + 170)
        s.text(title, 20, 28, size: 15, weight: "bold")
        for (i, panel) in panels.enumerated() {
            let all = panel.curves.flatMap(\.points) + panel.measured
            let xs = all.map(\.0).filter { $0 > 0 }, ys = all.map(\.1).filter { $0 > 0 }
            guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { continue }
            let lx = (log2(x0), log2(max(x1, x0 * 2))), ly = (floor(log10(y0)), ceil(log10(max(y1, y0 * 10))))
            let px = left + Double(i) * (panelW + gap)
            s.text(panel.title, px, top - 12, size: 13, weight: "bold")
            let map = s.axes(
                x: px, y: top, w: panelW, h: panelH, xRange: lx, yRange: ly,
                xTicks: Array(stride(from: ceil(lx.0), through: lx.1, by: lx.1 - lx.0 > 6 ? 2 : 1)),
                yTicks: Array(stride(from: ly.0, through: ly.1, by: 1)), xLabel: "ranks", yLabel: "seconds per step",
                xFormat: { String(format: "%.0f", pow(2, $0)) }, yFormat: { String(format: "%g", pow(10, $0)) })
            for (k, c) in panel.curves.enumerated() {
                let pts = c.points.filter { $0.0 > 0 && $0.1 > 0 }.map { map(log2($0.0), log10($0.1)) }
                s.polyline(pts, stroke: SVG.palette[k % SVG.palette.count], width: 2, dash: c.dash)
                s.line(
                    px + 10, top + panelH + 52 + Double(k) * 16, px + 34, top + panelH + 52 + Double(k) * 16,
                    stroke: SVG.palette[k % SVG.palette.count], width: 2, dash: c.dash)
                s.text(c.name, px + 40, top + panelH + 56 + Double(k) * 16, size: 11)
            }
            if !panel.measured.isEmpty {
                for (x, y) in panel.measured where x > 0 && y > 0 {
                    let (a, b) = map(log2(x), log10(y))
                    s.rect(
                        a - 3.5, b - 3.5, 7, 7, fill: "none", stroke: "#000",
                        title: String(format: "measured: %.0f ranks, %.4f s", x, y))
                }
                let yk = top + panelH + 52 + Double(panel.curves.count) * 16
                s.rect(px + 18, yk - 4, 7, 7, fill: "none", stroke: "#000")
                s.text("measured here", px + 40, yk + 4, size: 11)
            }
        }
        return s.render()
    }
}
