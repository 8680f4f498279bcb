import ArgumentParser
import Foundation
import SMTLData
import SMTLSupport
import SMTLTraining

struct Evaluate: Subcommand {
    static let configuration = CommandConfiguration(abstract: "Accuracy of a checkpoint on a split of each task.")

    @Option(help: "Checkpoint folder (e.g. runs/NAME/checkpoints/best).") var checkpoint: String
    @Option(help: "The split to evaluate.") var split = Split.test
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Folder the data paths are relative to (overrides the checkpoint's `data_dir`).") var dataDir: String?
    @Flag(
        help: ArgumentHelp(
            "Evaluate data other than the run's own (by default a split whose examples differ from those the run "
                + "was trained and selected on is refused)."))
    var otherData = false
    @Option(
        help: ArgumentHelp(
            "text: a table; jsonl: one JSON object a task (accuracy, counts, the confusion matrix "
                + "[true label][predicted label] in the order of `labels`)."))
    var format = OutputFormat.text

    func execute() throws {
        var loaded = try Checkpoint.load(checkpoint)
        let runData = loaded.config.dataDir
        if let dataDir { loaded.config.dataDir = dataDir }
        if let task {
            guard loaded.config.tasks.contains(where: { $0.name == task }) else {
                throw InputError(
                    file: checkpoint, "no task \(task)",
                    hint: "tasks: \(loaded.config.tasks.map(\.name).joined(separator: ", "))")
            }
        }
        let model = try Checkpoint.model(from: loaded)
        let corpus = try Corpus.load(loaded.config, vocabulary: loaded.vocabulary, labels: loaded.labels)
        let splits = otherData ? [] : [split]
        let diffs = ResumeCheck.dataDifferences(
            saved: loaded.state.data,
            corpus: Corpus(
                vocabulary: corpus.vocabulary, tasks: corpus.tasks.filter { task == nil || $0.name == task }),
            splits: splits)
        if !diffs.isEmpty {
            throw InputError(
                file: checkpoint,
                "the \(split) data is not this run's own:\n  " + diffs.joined(separator: "\n  "),
                hint: "evaluate the run's own data (`data_dir` \(runData) in "
                    + "\(checkpoint)/config.json), or add --other-data to evaluate this data anyway")
        }
        if format == .jsonl {
            for (m, t) in corpus.tasks.enumerated() where task == nil || t.name == task {
                let data = t.examples(split)
                let confusion = Evaluation.confusion(model.networks[m], data)
                let correct = confusion.indices.map { confusion[$0][$0] }.reduce(0, +)
                print(
                    JSONLine.object([
                        ("checkpoint", checkpoint), ("step", loaded.state.step), ("task", t.name),
                        ("split", split.rawValue), ("examples", data.count), ("correct", correct),
                        ("accuracy", data.isEmpty ? nil : 100 * Double(correct) / Double(data.count)),
                        ("labels", t.labels), ("confusion", confusion),
                    ]))
            }
            return
        }
        print("checkpoint \(checkpoint) (step \(loaded.state.step)), split \(split)")
        var accs: [Double] = []
        for (m, t) in corpus.tasks.enumerated() where task == nil || t.name == task {
            let data = t.examples(split)
            guard let acc = Evaluation.accuracy(model.networks[m], data) else {
                print("  " + pad(t.name, 20) + " (no \(split) examples)"); continue
            }
            accs.append(acc)
            print("  " + pad(t.name, 20) + String(format: " %6d examples  accuracy %6.2f%%", data.count, acc))
        }
        if accs.count > 1 {
            print(
                "  " + pad("mean", 20)
                    + String(format: "                 accuracy %6.2f%%", accs.reduce(0, +) / Double(accs.count)))
        }
    }
}
