import ArgumentParser
import Foundation
import SMTLTraining

struct Init: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Initialise a model from a run config and save it as a checkpoint, without training.",
        discussion: "Writes OUT/checkpoints/final, with the vocabulary, labels and config, as `smtl train` would.")

    @OptionGroup var options: ConfigOptions

    func execute() throws {
        var c = try options.load().resolvingVectorWidth(source: options.config)
        c.steps = 0
        c.epochs = 0
        let t = try Trainer(config: c, outDir: options.outDir(c))
        print(try t.save("final"))
    }
}
