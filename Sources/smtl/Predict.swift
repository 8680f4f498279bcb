import ArgumentParser
import Foundation
import SMTLData
import SMTLModel
import SMTLSupport
import SMTLTraining

struct Predict: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Label texts with a checkpoint.",
        discussion:
            "Reads one text a line from --input or stdin; prints `label<TAB>p(label 0) p(label 1) …` for each.")

    @Option(help: "Checkpoint folder.") var checkpoint: String
    @Option(help: "Task whose classifier to use (default: the first).") var task: String?
    @Option(help: "File of texts, one a line (default: stdin).") var input: String?
    @Option(
        help: ArgumentHelp(
            "text: label and probabilities (4 decimals); jsonl: one JSON object a text with the "
                + "probabilities and logits at full precision."))
    var format = OutputFormat.text

    func execute() throws {
        let loaded = try Checkpoint.load(checkpoint)
        let model = try Checkpoint.model(from: loaded)
        let name = task ?? loaded.config.tasks[0].name
        guard let m = model.taskIndex(name), let labels = loaded.labels[name] else {
            throw InputError(
                file: checkpoint, "no task \(name)",
                hint: "tasks: \(loaded.config.tasks.map(\.name).joined(separator: ", "))")
        }
        let bytes: [UInt8]
        if let input {
            bytes = try FileReader.bytes(input)
        } else {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        }
        let file = input ?? "<stdin>"
        var texts: [String] = []
        for (i, line) in FileReader.lines(bytes).enumerated() {
            guard let s = String(validating: line, as: UTF8.self) else {
                throw InputError(file: file, line: i + 1, "not valid UTF-8", hint: "convert the input to UTF-8")
            }
            texts.append(s)
        }
        // A labelled file (`label<TAB>text` on every line) would make each label a word of its text.
        let labelled = texts.filter { !$0.isEmpty }.allSatisfy { t in
            guard let tab = t.firstIndex(of: "\t") else { return false }
            return !t[..<tab].isEmpty && t[..<tab].allSatisfy(\.isNumber)
        }
        if labelled && !texts.filter({ !$0.isEmpty }).isEmpty {
            throw InputError(
                file: file,
                "looks like a labelled file (every line is `<label>\\t<text>`); predict reads one text a line",
                hint: "for accuracy on labelled data use `smtl evaluate`; to predict its texts, drop the labels "
                    + "(`cut -f2-`)")
        }
        let ids = texts.map { loaded.vocabulary.encode($0, tokenizer: loaded.config.tokenizer) }
        if format == .text {
            print(
                "# task \(name); columns: label, then p(label) for labels "
                    + "\(labels.map(String.init).joined(separator: " "))"
            )
        }
        let net = model.networks[m]
        for (i, seq) in ids.enumerated() {
            net.forward(Batch(sequences: [seq.isEmpty ? [Vocabulary.unknownID] : seq]))
            let p = net.probabilities(slot: 0)
            let best = p.indices.max { p[$0] < p[$1] }!
            if format == .jsonl {
                print(
                    JSONLine.object([
                        ("line", i + 1), ("text", texts[i]), ("task", name), ("label", labels[best]),
                        ("labels", labels), ("probabilities", p), ("logits", net.logits(slot: 0)),
                    ]))
                continue
            }
            print(
                "\(labels[best])\t" + p.map { String(format: "%.4f", $0) }.joined(separator: " ")
                    + (texts[i].isEmpty ? "\t(empty text)" : ""))
        }
    }
}
