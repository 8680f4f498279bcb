import ArgumentParser
import Foundation
import SMTLData
import SMTLStudy

struct Select: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Choose, per task, the point of a sweep with the best dev accuracy (the paper's protocol).",
        discussion: """
            Each POINT folder holds a study's runs at one point of a grid (launch/sweep writes
            OUT/<point>/). For every run (same name and seed at each point) and task, the point
            with the highest dev accuracy is chosen and the test accuracy there reported. Test
            accuracy is never compared.
            """)

    @Argument(help: "The point folders of a sweep.") var points: [String]
    @Option(help: "Write the markdown here (default: print it).") var markdown: String?
    @Option(help: "Write the choices as JSON here.") var json: String?

    func execute() throws {
        let selection = try SweepSelection.load(points)
        if selection.choices.isEmpty {
            throw InputError(
                file: points.joined(separator: ", "), "hold no finished runs", hint: "run launch/sweep first")
        }
        let md = selection.markdown()
        if let markdown { try FileWriter.write(Data(md.utf8), to: markdown) } else { print(md, terminator: "") }
        if let json { try FileWriter.write(selection.json(), to: json) }
    }
}
