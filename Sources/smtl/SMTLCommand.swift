import ArgumentParser
import Foundation
import SMTL

@main
struct SMTLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtl",
        abstract: "Memory-augmented multi-task text classification (Liu, Qiu & Huang, EMNLP 2016).",
        subcommands: [Train.self, Evaluate.self, Predict.self, Bench.self, Init.self])
}

/// Prints an input error the way users should see it and exits with status 1.
func fail(_ error: Error) -> Never {
    FileHandle.standardError.write(Data("smtl: error: \(error)\n".utf8))
    exit(1)
}

/// The common `--config` / `--data-dir` handling.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Run config (JSON). See configs/.")
    var config: String

    @Option(name: .long, help: "Folder the config's data paths are relative to (overrides `data_dir`).")
    var dataDir: String?

    @Option(name: .long, help: "Output folder for checkpoints (default: `out_dir`, else runs/NAME).")
    var out: String?

    func load() throws -> RunConfig {
        var c = try RunConfig.load(config)
        if let dataDir { c.dataDir = dataDir }
        return c
    }

    func outDir(_ c: RunConfig) -> String { out ?? c.outDir ?? "runs/\(c.name)" }
}
