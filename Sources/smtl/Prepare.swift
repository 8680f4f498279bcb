import ArgumentParser
import Foundation
import SMTL

struct Prepare: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert an original dataset release into the data folder's `label<TAB>text` layout.",
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
            launch/fetch-data downloads the archives and runs `smtl prepare all`.
            """)

    /// The original releases `prepare` converts.
    enum Source: String, CaseIterable, ExpressibleByArgument {
        case sst, subj, imdb
        case fduMTL = "fdu-mtl"
        case blitzer, glove, all
    }

    @Argument(help: "The release to convert.") var source: Source
    @Option(help: "The unpacked original release (for glove: the GloVe .txt file).") var input: String
    @Option(help: "The data folder to write into.") var out: String

    func execute() throws {
        var written: SMTL.Prepare.Written = []
        switch source {
        case .sst: written = try SMTL.Prepare.sst(input: input, out: out)
        case .subj: written = try SMTL.Prepare.subj(input: input, out: out)
        case .imdb: written = try SMTL.Prepare.imdb(input: input, out: out)
        case .fduMTL: written = try fduMTL()
        case .blitzer: written = try SMTL.Prepare.blitzer(input: input, out: out)
        case .glove: written = try SMTL.Prepare.glove(input: input, dataDir: out)
        case .all: written = try all()
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

    /// FDU-MTL: every domain of the release that is present, named.
    func fduMTL() throws -> SMTL.Prepare.Written {
        let found = SMTL.Prepare.fduMTLDomains(under: input)
        let missing = SMTL.Prepare.fduDomains.filter { !found.contains($0) }
        print(
            "FDU-MTL: found \(found.count) of \(SMTL.Prepare.fduDomains.count) domains: \(found.joined(separator: ", "))"
                + (missing.isEmpty ? "" : "; not present: \(missing.joined(separator: ", "))"))
        return try SMTL.Prepare.fduMTL(input: input, out: out, domains: found.isEmpty ? nil : found)
    }

    /// Every release found under the download folder, in the order glove needs (datasets first).
    func all() throws -> SMTL.Prepare.Written {
        var written: SMTL.Prepare.Written = []
        func has(_ suffix: String) -> Bool { (try? SourceText.find(suffix, under: input)) != nil }
        if has("trees/train.txt") { written += try SMTL.Prepare.sst(input: input, out: out) }
        if has("quote.tok.gt9.5000") { written += try SMTL.Prepare.subj(input: input, out: out) }
        if has("train/neg") { written += try SMTL.Prepare.imdb(input: input, out: out) }
        if !SMTL.Prepare.fduMTLDomains(under: input).isEmpty { written += try fduMTL() }
        if has("books/positive.review") { written += try SMTL.Prepare.blitzer(input: input, out: out) }
        if written.isEmpty {
            throw InputError(
                file: input, "holds none of the original releases",
                hint: "run launch/fetch-data, or unpack the archives there")
        }
        if let g = try? SourceText.find("glove.6B.50d.txt", under: input) {
            written += try SMTL.Prepare.glove(input: g, dataDir: out)
        }
        return written
    }
}
