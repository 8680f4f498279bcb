import ArgumentParser
import Foundation
import SMTL

struct Report: ParsableCommand {
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

    func run() throws {
        do {
            let report = try StudyReport.load(folders)
            if report.runs.isEmpty { throw InputError(file: folders.joined(separator: ", "), "holds no results.json", hint: "run launch/reproduce first") }
            let md = report.markdown()
            if let markdown { try write(Data(md.utf8), markdown) } else { print(md, terminator: "") }
            if let csv { try write(Data(report.csv().utf8), csv) }
            if let json { try write(report.json(), json) }
        } catch let e as InputError { fail(e) }
    }

    func write(_ data: Data, _ path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw InputError(file: path, "cannot be written", hint: "check the folder exists and is writable")
        }
    }
}
