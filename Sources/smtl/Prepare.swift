import ArgumentParser
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLTraining

struct Prepare: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert an original dataset release into the data folder's layout, or train in-domain vectors.",
        discussion: """
            SOURCE and what --input is (the unpacked archive; files are found anywhere below it):
              sst       trainDevTestTrees_PTB.zip (trees/{train,dev,test}.txt) → sst-1/, sst-2/
              subj      rotten_imdb.tar.gz (quote.tok.gt9.5000, plot.tok.gt9.5000) → subj/all.tsv
              imdb      aclImdb_v1.tar.gz (aclImdb/{train,test}/{neg,pos}) → imdb/{train,test}.tsv.gz
              fdu-mtl   FDU-MTL mtl-dataset (<domain>.task.{train,test,unlabel}) → fdu-mtl/<domain>/, every one
                        of the 16 domains that is present
              blitzer   Blitzer et al. unprocessed.tar.gz (sorted_data/<domain>/*.review) → blitzer/<domain>/all.tsv
              glove     glove.6B.50d.txt (from glove.6B.zip), cut to the words of the prepared data → embeddings/
              all       --input is launch/fetch-data's download folder; runs each of the above that is there
              vectors   no --input: --config names the tasks; trains skip-gram vectors with fastText on their
                        training texts (after the dev/test hold-outs) and each task's `unlabeled` file, with
                        smtl's tokenizer; --out is the vectors file (fastText .vec; .gz to compress). Never
                        reads a dev or test file. One thread and --seed: the same file every time.
            launch/fetch-data downloads the archives and runs `smtl prepare all`.
            Example: smtl prepare vectors --config configs/vectors/product.json --dim 50 \\
                       --out runs/vectors/product-50.vec
            """)

    /// The original releases `prepare` converts.
    enum Source: String, CaseIterable, ExpressibleByArgument {
        case sst, subj, imdb
        case fduMTL = "fdu-mtl"
        case blitzer, glove, all, vectors
    }

    @Argument(help: "The release to convert (or `vectors`).") var source: Source
    @Option(help: "The unpacked original release (for glove: the GloVe .txt file).") var input: String?
    @Option(help: "The data folder to write into (vectors: the vectors file).") var out: String
    @Option(help: "vectors: the run config whose tasks give the text.") var config: String?
    @Option(help: "vectors: the data folder (overrides the config's `data_dir`).") var dataDir: String?
    @Option(help: "vectors: the vectors' width.") var dim = 50
    @Option(help: "vectors: passes over the corpus.") var epochs = 5
    @Option(help: "vectors: words seen fewer times get no vector (default: the config's vocabulary.min_count).")
    var minCount: Int?
    @Option(help: "vectors: fastText's random seed.") var seed = 1
    @Option(help: "vectors: the fastText program.") var fasttext = "fasttext"

    func execute() throws {
        if source == .vectors { return try vectors() }
        guard let input else { throw ValidationError("`smtl prepare \(source.rawValue)` needs --input (see --help)") }
        var written: SMTLData.Prepare.Written = []
        switch source {
        case .sst: written = try SMTLData.Prepare.sst(input: input, out: out)
        case .subj: written = try SMTLData.Prepare.subj(input: input, out: out)
        case .imdb: written = try SMTLData.Prepare.imdb(input: input, out: out)
        case .fduMTL: written = try fduMTL()
        case .blitzer: written = try SMTLData.Prepare.blitzer(input: input, out: out)
        case .glove: written = try SMTLData.Prepare.glove(input: input, dataDir: out)
        case .all: written = try all()
        case .vectors: return try vectors()
        }
        for w in written {
            print("wrote \(w.file) (\(w.lines) lines)")
            if let from = w.droppedFrom, let why = w.droppedWhy {
                let shown = w.dropped.prefix(20).map(String.init).joined(separator: ", ")
                print(
                    "  dropped \(w.dropped.count) line(s) of \(from) with \(why): line(s) \(shown)"
                        + (w.dropped.count > 20 ? ", …" : ""))
            }
        }
        let dropped = written.map(\.dropped.count).reduce(0, +)
        if dropped > 0 { print("dropped \(dropped) line(s) in all (see above); `smtl train` refuses such lines") }
    }

    /// In-domain vectors from the config's tasks (see `VectorCorpus` and `FastText`).
    func vectors() throws {
        guard let config else {
            throw ValidationError("`smtl prepare vectors` needs --config (the tasks whose text to use)")
        }
        if input != nil {
            throw ValidationError("`smtl prepare vectors` takes no --input: the text comes from --config's tasks")
        }
        for (name, v, low) in [
            ("--dim", dim, 1), ("--epochs", epochs, 1), ("--min-count", minCount ?? 1, 1), ("--seed", seed, 0),
        ]
        where v < low {
            throw ValidationError("\(name) must be at least \(low), not \(v)")
        }
        var c = try RunConfig.load(config)
        if let dataDir { c.dataDir = dataDir }
        let start = Date()
        let corpus = try VectorCorpus(config: c)
        for p in corpus.parts {
            print("  \(p.task) \(p.split): \(p.texts) texts, \(p.tokens) tokens (\(p.file))")
        }
        print(
            "corpus: \(corpus.lines.count) texts, \(corpus.tokens) tokens, \(corpus.distinctWords) distinct words"
                + (corpus.repeated > 0 ? " (\(corpus.repeated) repeated texts kept once)" : "")
                + "; no dev or test file was read")
        var s = FastText.Settings()
        s.dim = dim
        s.epochs = epochs
        s.minCount = minCount ?? c.minCount
        s.seed = seed
        s.executable = fasttext
        print("fasttext \(s.arguments(input: "CORPUS", output: "MODEL").joined(separator: " "))")
        let trainStart = Date()
        let vec = try FastText.train(corpus.lines, settings: s)
        let seconds = Date().timeIntervalSince(trainStart)
        let words = vec.split(separator: 0x0A, maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        if out.hasSuffix(".gz") {
            try SourceText.write(out, [String(decoding: vec.dropLast(), as: UTF8.self)])
        } else {
            try FileWriter.write(Data(vec), to: out)
        }
        print(
            "wrote \(out): \(words.split(separator: " ").first ?? "0") words × \(dim) values (fastText .vec); "
                + String(format: "fastText trained %.1f s, %.1f s in all", seconds, Date().timeIntervalSince(start)))
    }

    /// FDU-MTL: every domain of the release that is present, named.
    func fduMTL() throws -> SMTLData.Prepare.Written {
        let input = input ?? ""
        let found = SMTLData.Prepare.fduMTLDomains(under: input)
        let missing = SMTLData.Prepare.fduDomains.filter { !found.contains($0) }
        print(
            "FDU-MTL: found \(found.count) of \(SMTLData.Prepare.fduDomains.count) domains: "
                + "\(found.joined(separator: ", "))"
                + (missing.isEmpty ? "" : "; not present: \(missing.joined(separator: ", "))"))
        return try SMTLData.Prepare.fduMTL(input: input, out: out, domains: found.isEmpty ? nil : found)
    }

    /// Every release found under the download folder, in the order glove needs (datasets first).
    func all() throws -> SMTLData.Prepare.Written {
        let input = input ?? ""
        var written: SMTLData.Prepare.Written = []
        func has(_ suffix: String) -> Bool { (try? SourceText.find(suffix, under: input)) != nil }
        if has("trees/train.txt") { written += try SMTLData.Prepare.sst(input: input, out: out) }
        if has("quote.tok.gt9.5000") { written += try SMTLData.Prepare.subj(input: input, out: out) }
        if has("train/neg") { written += try SMTLData.Prepare.imdb(input: input, out: out) }
        if !SMTLData.Prepare.fduMTLDomains(under: input).isEmpty { written += try fduMTL() }
        if has("books/positive.review") { written += try SMTLData.Prepare.blitzer(input: input, out: out) }
        if written.isEmpty {
            throw InputError(
                file: input, "holds none of the original releases",
                hint: "run launch/fetch-data, or unpack the archives there")
        }
        if let g = try? SourceText.find("glove.6B.50d.txt", under: input) {
            written += try SMTLData.Prepare.glove(input: g, dataDir: out)
        }
        return written
    }
}
