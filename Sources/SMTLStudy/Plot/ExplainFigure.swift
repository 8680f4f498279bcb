import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLSupport
import SMTLTraining

/// What a model sees in one sentence (the paper's Figure 3): the prediction for every prefix,
/// from the classifier applied to each h_t, and the fusion gate at every word.
public struct Explanation: Sendable {
    /// Which model (for legends), e.g. "ARC-I".
    public var model: String
    public var words: [String]
    /// Whether each word is in the vocabulary (unknown words read as <unk>).
    public var known: [Bool]
    /// p(class) of every prefix w_1…w_t.
    public var curve: [Double]
    /// The fusion gate g_t (12), [t][unit]; empty for a plain LSTM.
    public var gates: [[Double]]
    /// The whole sentence's predicted label and its probability.
    public var predicted: Int
    public var confidence: Double

    /// Runs one sentence through task `task` of a checkpoint's model. `classIndex` is the
    /// class whose probability the curve shows.
    public static func make(
        model: Model<Float>, loaded: Checkpoint.Loaded, task: String, sentence: String,
        classIndex: Int, label: String
    ) throws -> Explanation {
        guard let m = model.taskIndex(task), let labels = loaded.labels[task] else {
            throw InputError(
                file: loaded.directory, "has no task '\(task)'",
                hint: "its tasks: \(loaded.config.tasks.map(\.name).joined(separator: ", "))")
        }
        let tok = loaded.config.tokenizer
        let words = tok.tokens(sentence).map(String.init)
        guard !words.isEmpty else {
            throw InputError(file: "<sentence>", "is empty", hint: "give a sentence with at least one word")
        }
        let ids = loaded.vocabulary.encode(sentence, tokenizer: tok)
        let net = model.networks[m]
        let batch = Batch(sequences: [ids])
        net.forward(batch)
        let p = net.probabilities(slot: 0).map(Double.init)
        let best = p.indices.max { p[$0] < p[$1] }!
        return Explanation(
            model: label, words: words, known: ids.map { $0 != Vocabulary.unknownID },
            curve: net.prefixProbabilities(slot: 0, in: batch).map { Double($0[classIndex]) },
            gates: net.fusionGates(slot: 0, in: batch).map { $0.map(Double.init) },
            predicted: labels[best], confidence: p[best])
    }

    /// One JSON line: the words, p(class) of every prefix, the fusion gates and the prediction, at
    /// full precision.
    public func jsonLine(sentence: Int, text: String, checkpoint: String, task: String, classLabel: Int) -> String {
        JSONLine.object([
            ("sentence", sentence), ("text", text), ("checkpoint", checkpoint), ("model", model), ("task", task),
            ("words", words), ("known", known), ("class", classLabel), ("prefix_probability", curve),
            ("fusion_gates", gates), ("predicted", predicted), ("confidence", confidence),
        ])
    }

    /// A plain-text table: one line a word, p(class) of each model's prefix.
    public static func table(_ models: [Explanation], className: String) -> String {
        guard let first = models.first else { return "" }
        let headers = models.map { "p(\(className)) " + $0.model }
        let col = (headers.map(\.count).max() ?? 0) + 2
        let wordCol = max(first.words.map(\.count).max() ?? 0, 4) + 3
        var lines = [pad("word", wordCol) + headers.map { pad($0, col, left: true) }.joined()]
        for (t, w) in first.words.enumerated() {
            lines.append(
                pad(w + (first.known[t] ? "" : " *"), wordCol)
                    + models.map { pad(String(format: "%.3f", $0.curve[t]), col, left: true) }.joined())
        }
        lines.append(
            models.map { "\($0.model): predicts \($0.predicted) (p = \(String(format: "%.3f", $0.confidence)))" }
                .joined(separator: "; "))
        if first.known.contains(false) { lines.append("* not in the vocabulary (read as <unk>)") }
        return lines.joined(separator: "\n")
    }

    /// The figure: per sentence, the prefix-prediction curves of every model, then a heat map
    /// of the fusion gate (units × words) for each model that has one. One self-contained SVG.
    public static func svg(_ sentences: [[Explanation]], className: String, title: String) -> String {
        let maxWords = sentences.map { $0.first?.words.count ?? 0 }.max() ?? 1
        let cw = 34.0, left = 80.0, right = 270.0
        let chartH = 170.0, unitH = 2.0, gap = 26.0, wordsH = 95.0
        func blockHeight(_ s: [Explanation]) -> Double {
            let maps = s.filter { !$0.gates.isEmpty }
            return 40 + chartH + 50 + maps.map { Double($0.gates.first?.count ?? 0) * unitH + gap + 8 }.reduce(0, +)
                + wordsH
        }
        let width = left + Double(maxWords) * cw + right
        let height = 40 + sentences.map(blockHeight).reduce(0, +)
        var svg = SVG(width: max(width, 620), height: height)
        svg.text(title, 16, 24, size: 16, weight: "bold")
        var y0 = 40.0
        for models in sentences {
            guard let first = models.first else { continue }
            let L = first.words.count
            let w = Double(L) * cw
            let sentence = first.words.joined(separator: " ")
            svg.text("“" + sentence + "”", 16, y0 + 22, size: 13, weight: "bold")
            let top = y0 + 40
            let map = svg.axes(
                x: left, y: top, w: w, h: chartH, xRange: (0, Double(L)), yRange: (0, 1),
                xTicks: [], yTicks: [0, 0.25, 0.5, 0.75, 1], xLabel: "", yLabel: "p(\(className)) of the prefix",
                yFormat: { String(format: "%.2f", $0) })
            let (_, half) = map(0, 0.5)
            svg.line(left, half, left + w, half, stroke: "#999", dash: "4 3")
            for (k, e) in models.enumerated() {
                let colour = SVG.palette[k % SVG.palette.count]
                svg.polyline(
                    e.curve.enumerated().map { map(Double($0.offset) + 0.5, $0.element) }, stroke: colour, markers: true
                )
                let ly = top + 14 + Double(k) * 18
                svg.line(left + w + 14, ly - 4, left + w + 38, ly - 4, stroke: colour, width: 2)
                svg.text(
                    e.model + String(format: " → %d (%.2f)", e.predicted, e.confidence), left + w + 44, ly, size: 11)
            }
            var y = top + chartH + 50
            for e in models where !e.gates.isEmpty {
                let units = e.gates[0].count
                svg.text(
                    "fusion gate of \(e.model): \(units) units (rows) × words; white 0, dark blue 1", left, y - 8,
                    size: 11)
                for (t, g) in e.gates.enumerated() {
                    for (u, v) in g.enumerated() {
                        svg.rect(
                            left + Double(t) * cw, y + Double(u) * unitH, cw, unitH, fill: SVG.heat(v),
                            title: String(format: "%@, unit %d: %.3f", e.words[t], u + 1, v))
                    }
                }
                svg.rect(left, y, w, Double(units) * unitH, fill: "none", stroke: "#444")
                svg.text("1", left - 6, y + 9, size: 10, anchor: .end)
                svg.text("\(units)", left - 6, y + Double(units) * unitH, size: 10, anchor: .end)
                // Colour bar.
                for i in 0..<20 {
                    svg.rect(
                        left + w + 14, y + Double(i) * Double(units) * unitH / 20, 14, Double(units) * unitH / 20 + 0.5,
                        fill: SVG.heat(Double(i) / 19))
                }
                svg.text("0", left + w + 34, y + 9, size: 10)
                svg.text("1", left + w + 34, y + Double(units) * unitH, size: 10)
                y += Double(units) * unitH + gap + 8
            }
            for (t, word) in first.words.enumerated() {
                svg.text(
                    word + (first.known[t] ? "" : "*"), left + (Double(t) + 0.5) * cw + 4, y - gap + 12, size: 12,
                    anchor: .end, rotate: -50)
            }
            y0 += blockHeight(models)
        }
        return svg.render()
    }
}
