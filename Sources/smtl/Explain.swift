import ArgumentParser
import Foundation
import SMTLData
import SMTLModel
import SMTLStudy
import SMTLTraining

struct Explain: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what models see in sentences: prefix predictions and fusion gates (the paper's Figure 3).",
        discussion: """
            For each sentence and checkpoint, prints p(CLASS) of every prefix (the classifier applied to
            each h_t) and, with --svg, draws the curves of all checkpoints together and a heat map of
            the fusion gate (units × words) of every model that has one (ME-LSTM, ARC-I, ARC-II).
            Example (the paper's figure):
              smtl explain --checkpoint runs/study/movie/lstm-sst2/seed-1/checkpoints/best \\
                           --checkpoint runs/study/movie/arc-i/seed-1/checkpoints/best --task sst2 \\
                           --sentence "it is a cookie-cutter movie , a cut-and-paste job ." --svg fig.svg
            """)

    @Option(name: .customLong("checkpoint"), help: "Checkpoint folder (repeat to compare models).") var checkpoints:
        [String]
    @Option(name: .customLong("label"), help: "Legend label of each checkpoint, in order (default: its architecture).")
    var labels: [String] = []
    @Option(help: "Task whose classifier to use (default: each checkpoint's first task).") var task: String?
    @Option(name: .customLong("sentence"), help: "A sentence (repeat for several).") var sentences: [String] = []
    @Option(help: "File of sentences, one a line.") var input: String?
    @Option(
        name: .customLong("class"),
        help: "Label value whose probability the curves show (default: the largest, i.e. positive for SST-2).")
    var classLabel: Int?
    @Option(help: "Name of that class in the figure (default: `label N`).") var className: String?
    @Option(help: "Write the figure to this SVG file.") var svg: String?
    @Option(help: "Figure title.") var title = "Prefix predictions and fusion gates"
    @Option(
        help: ArgumentHelp(
            "text: a table (3 decimals); jsonl: one JSON object a sentence and checkpoint, with the prefix "
                + "probabilities and fusion gates at full precision."))
    var format = OutputFormat.text

    func execute() throws {
        var texts = sentences
        if let input {
            for (i, line) in FileReader.lines(try FileReader.bytes(input)).enumerated() {
                guard let s = String(validating: line, as: UTF8.self) else {
                    throw InputError(file: input, line: i + 1, "not valid UTF-8", hint: "convert the file to UTF-8")
                }
                if !s.trimmingCharacters(in: .whitespaces).isEmpty { texts.append(s) }
            }
        }
        guard !texts.isEmpty else { throw ValidationError("give at least one --sentence or --input FILE") }
        guard labels.isEmpty || labels.count == checkpoints.count else {
            throw ValidationError("give one --label per --checkpoint (\(checkpoints.count)), or none")
        }
        var perSentence = [[Explanation]](repeating: [], count: texts.count)
        var className = ""
        var tasks: [String] = []
        for (k, dir) in checkpoints.enumerated() {
            let loaded = try Checkpoint.load(dir)
            let model = try Checkpoint.model(from: loaded)
            let name = task ?? loaded.config.tasks[0].name
            guard let values = loaded.labels[name] else {
                throw InputError(
                    file: dir, "has no task '\(name)'",
                    hint: "its tasks: \(loaded.config.tasks.map(\.name).joined(separator: ", "))")
            }
            let wanted = classLabel ?? values.max()!
            guard let c = values.firstIndex(of: wanted) else {
                throw InputError(
                    file: dir, "task \(name) has no label \(wanted)",
                    hint: "its labels: \(values.map(String.init).joined(separator: ", "))")
            }
            className = "\(wanted)"
            tasks.append(name)
            let label = labels.isEmpty ? model.architecture.displayName : labels[k]
            for (i, s) in texts.enumerated() {
                perSentence[i].append(
                    try Explanation.make(
                        model: model, loaded: loaded, task: name, sentence: s, classIndex: c, label: label))
            }
        }
        for (i, models) in perSentence.enumerated() where format == .jsonl {
            for (k, e) in models.enumerated() {
                print(
                    e.jsonLine(
                        sentence: i + 1, text: texts[i], checkpoint: checkpoints[k], task: tasks[k],
                        classLabel: Int(className) ?? 0))
            }
        }
        for (i, models) in perSentence.enumerated() where format == .text {
            if i > 0 { print("") }
            print("sentence \(i + 1): \(texts[i])")
            print(Explanation.table(models, className: className))
        }
        if let svg {
            let text = Explanation.svg(perSentence, className: self.className ?? "label \(className)", title: title)
            try FileWriter.write(Data(text.utf8), to: svg)
            if format == .text { print("wrote \(svg)") }
        }
    }
}
