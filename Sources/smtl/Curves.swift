import ArgumentParser
import Foundation
import SMTLData
import SMTLStudy

struct Curves: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a run's training curves (loss and dev accuracy per task over steps) as SVG.",
        discussion:
            "Reads the metrics.jsonl that `smtl train --log-dir DIR` writes (rank 0), also while the run is going.")

    @Argument(help: "metrics.jsonl, or the --log-dir folder holding it.") var metrics: String
    @Option(help: "Output SVG file (default: beside the metrics, curves.svg).") var out: String?
    @Option(help: "Chart title (default: the metrics path).") var title: String?

    func execute() throws {
        var path = metrics
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            path = (path as NSString).appendingPathComponent("metrics.jsonl")
        }
        let curves = try TrainingCurves.read(path)
        let target =
            out ?? ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("curves.svg")
        try FileWriter.write(Data(curves.svg(title: title ?? path).utf8), to: target)
        print("wrote \(target)")
    }
}
