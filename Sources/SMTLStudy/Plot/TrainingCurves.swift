import Foundation
import SMTLData
import SMTLSupport

/// A run's metrics log (`--log-dir …/metrics.jsonl`) as an SVG chart: training loss and dev
/// accuracy per task over steps.
public struct TrainingCurves {
    public var tasks: [String] = []
    /// Per task: (step, loss) from the step events.
    public var loss: [String: [(Double, Double)]] = [:]
    /// Per task: (step, dev accuracy) from the eval events.
    public var dev: [String: [(Double, Double)]] = [:]
    public var totalSteps = 0
    /// Whether `loss` is the mean over each log window (newer logs) or one mini-batch's loss.
    public var windowedLoss = false

    public init() {}

    public static func read(_ path: String) throws -> TrainingCurves {
        var c = TrainingCurves()
        let lines = FileReader.lines(try FileReader.bytes(path))
        for (i, line) in lines.enumerated() where !line.isEmpty {
            guard let d = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                let event = d["event"] as? String
            else {
                throw InputError(
                    file: path, line: i + 1, "is not a JSON object with an `event`",
                    hint: "give the metrics.jsonl that `smtl train --log-dir` writes")
            }
            switch event {
            case "start":
                c.tasks = d["tasks"] as? [String] ?? c.tasks
                c.totalSteps = d["total_steps"] as? Int ?? c.totalSteps
            case "step":
                guard let s = d["step"] as? Int, let l = d["loss"] as? [String: Double] else { continue }
                for (t, v) in l { c.loss[t, default: []].append((Double(s), v)) }
                if d["last_loss"] != nil { c.windowedLoss = true }
            case "eval":
                guard let s = d["step"] as? Int, let a = d["dev"] as? [String: Double] else { continue }
                for (t, v) in a { c.dev[t, default: []].append((Double(s), v)) }
            default: break
            }
        }
        if c.tasks.isEmpty { c.tasks = Array(Set(c.loss.keys).union(c.dev.keys)).sorted() }
        if c.loss.isEmpty && c.dev.isEmpty {
            throw InputError(
                file: path, "holds no step or eval events",
                hint: "the run has not logged a step yet (log_every), or this is not a metrics log")
        }
        return c
    }

    /// Two charts side by side: loss (left) and dev accuracy (right), one colour per task.
    public func svg(title: String) -> String {
        let (pw, ph) = (460.0, 300.0)
        var svg = SVG(width: 2 * pw + 300, height: ph + 75)
        svg.text(title, 16, 24, size: 16, weight: "bold")
        let maxStep = Double(
            max(totalSteps, Int((loss.values.flatMap { $0.map(\.0) } + dev.values.flatMap { $0.map(\.0) }).max() ?? 1)))
        let xt = SVG.ticks(0, maxStep, count: 5)
        func chart(_ x: Double, _ series: [String: [(Double, Double)]], label: String, floorZero: Bool) {
            let ys = series.values.flatMap { $0.map(\.1) }
            var lo = floorZero ? 0 : (ys.min() ?? 0), hi = ys.max() ?? 1
            if hi - lo < 1e-9 { hi = lo + 1 }
            let pad = (hi - lo) * 0.05
            lo = floorZero ? lo : lo - pad; hi += pad
            let yt = SVG.ticks(lo, hi, count: 5)
            lo = min(lo, yt.first ?? lo); hi = max(hi, yt.last ?? hi)
            let map = svg.axes(
                x: x, y: 50, w: pw - 70, h: ph - 40, xRange: (0, maxStep), yRange: (lo, hi), xTicks: xt, yTicks: yt,
                xLabel: "step", yLabel: label, xFormat: { String(format: "%.0f", $0) })
            for (k, t) in tasks.enumerated() {
                guard let pts = series[t] else { continue }
                svg.polyline(
                    pts.map { map($0.0, $0.1) }, stroke: SVG.palette[k % SVG.palette.count], width: 1.6,
                    markers: pts.count <= 40)
            }
        }
        chart(
            70, loss, label: windowedLoss ? "training loss (mean over log window)" : "training loss (one mini-batch)",
            floorZero: true)
        chart(70 + pw + 40, dev, label: "dev accuracy (%)", floorZero: false)
        for (k, t) in tasks.enumerated() {
            let ly = 64 + Double(k) * 20
            let x = 2 * pw + 100
            svg.line(x, ly - 4, x + 24, ly - 4, stroke: SVG.palette[k % SVG.palette.count], width: 2.5)
            var label = t
            if let best = dev[t]?.max(by: { $0.1 < $1.1 }) { label += String(format: " (best dev %.1f)", best.1) }
            svg.text(label, x + 30, ly, size: 12)
        }
        return svg.render()
    }
}
