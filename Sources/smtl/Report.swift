import ArgumentParser
import Foundation
import SMTLData
import SMTLStudy

struct Report: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a study: the paper's Tables 3 and 4 with our results beside the paper's.",
        discussion: """
            Reads every results.json under the folders (written by `smtl train` when a run finishes;
            launch/reproduce puts them in runs/study). LSTM and ME-LSTM rows come from single-task runs,
            ARC-I and ARC-II rows from multi-task runs. Cells are mean ± sample std over seeds.
            """)

    @Argument(help: "Study folders (or results.json files).") var folders: [String]
    @Option(help: "Write the markdown tables here (default: print them).") var markdown: String?
    @Option(help: "Write one CSV row per run and task here.") var csv: String?
    @Option(help: "Write the table cells as JSON here.") var json: String?
    @Option(
        help: ArgumentHelp(
            "Options of launch/reproduce to repeat in each row's regenerate command.",
            discussion: "For a study with other configs or another folder, e.g. "
                + "--reproduce-options='--configs configs/variant-b --out runs/variant-b'."))
    var reproduceOptions: String = ""

    func execute() throws {
        let report = try StudyReport.load(folders)
        if report.runs.isEmpty {
            throw InputError(
                file: folders.joined(separator: ", "), "holds no results.json", hint: "run launch/reproduce first")
        }
        let md = report.markdown(reproduceOptions: reproduceOptions)
        if let markdown { try FileWriter.write(Data(md.utf8), to: markdown) } else { print(md, terminator: "") }
        if let csv { try FileWriter.write(Data(report.csv().utf8), to: csv) }
        if let json { try FileWriter.write(report.json(), to: json) }
    }
}
