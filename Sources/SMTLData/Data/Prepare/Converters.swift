import Foundation

/// Converters from the original public releases to the `label<TAB>text` layout of the data
/// folder (see ../shared/data/README.md for the layout). `launch/fetch-data` downloads the
/// releases and runs `smtl prepare`; every converter takes the unpacked archive's folder.
public enum Prepare {
    /// One file a converter wrote: its path, its number of lines, and the source lines it
    /// dropped (with why), so that `smtl prepare` can say what it left out.
    public struct WrittenFile: Sendable, Equatable {
        public var file: String
        public var lines: Int
        /// Source file and line numbers (from 1) of the lines left out, and the reason.
        public var dropped: [Int] = []
        public var droppedFrom: String? = nil
        public var droppedWhy: String? = nil
    }

    /// What a converter wrote.
    public typealias Written = [WrittenFile]

    // MARK: SST (trainDevTestTrees_PTB.zip)

    /// One PTB-format sentiment tree: its root label and its leaves, e.g.
    /// `(3 (2 It) (4 (2 's) (4 good)))` → (3, ["It", "'s", "good"]).
    public static func parseTree(_ line: String, file: String, lineNumber: Int) throws -> (label: Int, leaves: [String])
    {
        let chars = Array(line.unicodeScalars)
        var i = 0
        func bad(_ what: String) -> InputError {
            InputError(
                file: file, line: lineNumber, "is not a sentiment tree (\(what))",
                hint: "give the trees/ folder of trainDevTestTrees_PTB.zip, one `(label (label word) …)` tree a line")
        }
        func skipSpaces() { while i < chars.count && chars[i] == " " { i += 1 } }
        var leaves: [String] = []
        var rootLabel: Int?
        var depth = 0
        while i < chars.count {
            let c = chars[i]
            if c == "(" {
                i += 1
                var label = ""
                while i < chars.count, chars[i] != " ", chars[i] != "(", chars[i] != ")" {
                    label.unicodeScalars.append(chars[i]); i += 1
                }
                guard let l = Int(label), (0...4).contains(l) else { throw bad("label '\(label)' is not 0–4") }
                if depth == 0 {
                    guard rootLabel == nil else { throw bad("two trees on one line") }
                    rootLabel = l
                }
                depth += 1
                skipSpaces()
                if i < chars.count && chars[i] != "(" && chars[i] != ")" {
                    var word = ""
                    while i < chars.count, chars[i] != ")" { word.unicodeScalars.append(chars[i]); i += 1 }
                    leaves.append(word.trimmingCharacters(in: .whitespaces))
                }
            } else if c == ")" {
                depth -= 1
                guard depth >= 0 else { throw bad("unbalanced ')'") }
                i += 1
            } else if c == " " {
                i += 1
            } else {
                throw bad("unexpected '\(c)'")
            }
        }
        guard depth == 0 else { throw bad("unbalanced '('") }
        guard let rootLabel, !leaves.isEmpty else { throw bad("no tree") }
        return (rootLabel, leaves)
    }

    /// SST-1 (5 classes) and SST-2 (neutral dropped, 0–1 → 0, 3–4 → 1) from the PTB trees:
    /// the root label and the lowercased leaves of each tree (Kim 2014's sentence-level files).
    public static func sst(input: String, out: String) throws -> Written {
        var written: Written = []
        for split in ["train", "dev", "test"] {
            let path = try SourceText.find("\(split).txt", under: input)
            var fine: [String] = [], binary: [String] = []
            for (n, raw) in FileReader.lines(try FileReader.bytes(path)).enumerated() where !raw.isEmpty {
                guard let line = String(validating: raw, as: UTF8.self) else {
                    throw InputError(file: path, line: n + 1, "not valid UTF-8", hint: "fetch the archive again")
                }
                let (label, leaves) = try parseTree(line, file: path, lineNumber: n + 1)
                let text = SourceText.normalizeWhitespace(leaves.joined(separator: " ").lowercased())
                fine.append("\(label)\t\(text)")
                if label != 2 { binary.append("\(label < 2 ? 0 : 1)\t\(text)") }
            }
            for (task, lines) in [("sst-1", fine), ("sst-2", binary)] {
                let file = (out as NSString).appendingPathComponent("\(task)/\(split).tsv")
                try SourceText.write(file, lines)
                written.append(WrittenFile(file: file, lines: lines.count))
            }
        }
        return written
    }

    // MARK: SUBJ (rotten_imdb.tar.gz)

    /// SUBJ v1.0: `quote.tok.gt9.5000` (subjective, label 0) and `plot.tok.gt9.5000`
    /// (objective, label 1), cp1252, already tokenized and lowercased → `subj/all.tsv`.
    public static func subj(input: String, out: String) throws -> Written {
        var lines: [String] = []
        for (name, label) in [("quote.tok.gt9.5000", 0), ("plot.tok.gt9.5000", 1)] {
            let path = try SourceText.find(name, under: input)
            for raw in FileReader.lines(try FileReader.bytes(path)) {
                let text = SourceText.normalizeWhitespace(SourceText.decode(raw))
                if !text.isEmpty { lines.append("\(label)\t\(text)") }
            }
        }
        let file = (out as NSString).appendingPathComponent("subj/all.tsv")
        try SourceText.write(file, lines)
        return [WrittenFile(file: file, lines: lines.count)]
    }

    // MARK: IMDB (aclImdb_v1.tar.gz)

    /// One raw review: cp1252 fix-up, `<br />` → space, tokenized, case kept.
    public static func imdbText(_ raw: String) -> String {
        var s = SourceText.fixC1(raw)
        for br in ["<br />", "<br/>", "<br>"] { s = s.replacingOccurrences(of: br, with: " ") }
        return ReviewTokenizer.tokenize(s).joined(separator: " ")
    }

    /// aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt → imdb/{train,test}.tsv.gz (negatives by
    /// ascending id, then positives), and train/unsup → imdb/unlabeled.txt.gz.
    public static func imdb(input: String, out: String) throws -> Written {
        let root = (try SourceText.find("train/neg", under: input) as NSString).deletingLastPathComponent
        let base = (root as NSString).deletingLastPathComponent
        func reviews(_ folder: String) throws -> [String] {
            let dir = (base as NSString).appendingPathComponent(folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                throw InputError(file: dir, "is missing", hint: "unpack aclImdb_v1.tar.gz completely")
            }
            let files = names.filter { $0.hasSuffix(".txt") }.compactMap { n -> (Int, String)? in
                guard let id = Int(n.split(separator: "_").first ?? "") else { return nil }
                return (id, n)
            }.sorted { $0.0 < $1.0 }
            return try files.map { _, n in
                let path = (dir as NSString).appendingPathComponent(n)
                return imdbText(SourceText.decode(try FileReader.bytes(path)))
            }
        }
        var written: Written = []
        for split in ["train", "test"] {
            var lines: [String] = []
            for (polarity, label) in [("neg", 0), ("pos", 1)] {
                lines += try reviews("\(split)/\(polarity)").map { "\(label)\t\($0)" }
            }
            let file = (out as NSString).appendingPathComponent("imdb/\(split).tsv.gz")
            try SourceText.write(file, lines)
            written.append(WrittenFile(file: file, lines: lines.count))
        }
        if FileManager.default.fileExists(atPath: (base as NSString).appendingPathComponent("train/unsup")) {
            let lines = try reviews("train/unsup")
            let file = (out as NSString).appendingPathComponent("imdb/unlabeled.txt.gz")
            try SourceText.write(file, lines)
            written.append(WrittenFile(file: file, lines: lines.count))
        }
        return written
    }

    // MARK: Amazon product reviews

    /// The paper's four domains, as FDU-MTL names them.
    public static let productDomains = ["books", "dvd", "electronics", "kitchen_housewares"]

    /// The 16 domains of the FDU-MTL release (Liu, Qiu & Huang, ACL 2017), as it names them.
    public static let fduDomains = [
        "apparel", "baby", "books", "camera_photo", "dvd", "electronics", "health_personal_care", "imdb",
        "kitchen_housewares", "magazines", "MR", "music", "software", "sports_outdoors", "toys_games", "video",
    ]

    /// The FDU-MTL domains present under `input` (those with a `<domain>.task.train`).
    public static func fduMTLDomains(under input: String) -> [String] {
        fduDomains.filter { (try? SourceText.find("\($0).task.train", under: input)) != nil }
    }

    /// FDU-MTL (`mtl-dataset`): `<domain>.task.{train,test,unlabel}`, already `label<TAB>text`,
    /// lowercased and tokenized → fdu-mtl/<domain>/{train,test}.tsv and unlabeled.txt.gz, for
    /// every domain present (default) or the ones named. The release holds reviews with an empty
    /// text (`0<TAB>` alone): they are dropped, and each written file names the lines it dropped.
    public static func fduMTL(input: String, out: String, domains: [String]? = nil) throws -> Written {
        let domains = domains ?? fduMTLDomains(under: input)
        if domains.isEmpty {
            throw InputError(
                file: input, "holds no FDU-MTL domain (no <domain>.task.train)",
                hint: "give the unpacked FDU-MTL mtl-dataset folder")
        }
        var written: Written = []
        for domain in domains {
            for (suffix, name) in [("train", "train.tsv"), ("test", "test.tsv"), ("unlabel", "unlabeled.txt.gz")] {
                let path: String
                do { path = try SourceText.find("\(domain).task.\(suffix)", under: input) } catch {
                    if suffix == "unlabel" { continue }
                    throw error
                }
                var lines: [String] = []
                var dropped: [Int] = []
                for (n, raw) in FileReader.lines(try FileReader.bytes(path)).enumerated() {
                    // One truncated UTF-8 sequence exists in the release; it becomes U+FFFD.
                    let line = String(decoding: raw, as: UTF8.self)
                    if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                    if suffix == "unlabel" {
                        // Unlabelled lines may carry a label column; keep the text.
                        let text = line.split(separator: "\t", maxSplits: 1).last.map(String.init) ?? line
                        lines.append(SourceText.normalizeWhitespace(text))
                        continue
                    }
                    let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, let label = Int(parts[0].trimmingCharacters(in: .whitespaces)), label >= 0
                    else {
                        throw InputError(
                            file: path, line: n + 1, "is not `label<TAB>text`",
                            hint: "give the unpacked FDU-MTL mtl-dataset folder")
                    }
                    let text = SourceText.normalizeWhitespace(String(parts[1]))
                    if text.isEmpty {
                        dropped.append(n + 1)
                        continue
                    }
                    lines.append("\(label)\t\(text)")
                }
                let file = (out as NSString).appendingPathComponent("fdu-mtl/\(domain)/\(name)")
                try SourceText.write(file, lines)
                written.append(
                    WrittenFile(
                        file: file, lines: lines.count, dropped: dropped, droppedFrom: dropped.isEmpty ? nil : path,
                        droppedWhy: dropped.isEmpty ? nil : "an empty text"))
            }
        }
        return written
    }

    /// Blitzer et al.'s `unprocessed.tar.gz` (`sorted_data/<domain>/{positive,negative}.review`,
    /// pseudo-XML): the `<review_text>` of each review, tokenized and lowercased →
    /// blitzer/<domain>/all.tsv (2,000 labelled reviews; the paper's random 1400/200/400 split
    /// is then `dev_size` 200 and `test_size` 400 in a config).
    public static func blitzer(input: String, out: String) throws -> Written {
        let folders = [
            "books": "books", "dvd": "dvd", "electronics": "electronics", "kitchen_housewares": "kitchen_&_housewares",
        ]
        var written: Written = []
        for domain in productDomains {
            var lines: [String] = []
            for (file, label) in [("negative.review", 0), ("positive.review", 1)] {
                let path = try SourceText.find("\(folders[domain]!)/\(file)", under: input)
                let text = SourceText.decode(try FileReader.bytes(path))
                var rest = Substring(text)
                while let open = rest.range(of: "<review_text>") {
                    guard let close = rest.range(of: "</review_text>", range: open.upperBound..<rest.endIndex) else {
                        throw InputError(
                            file: path, "has a <review_text> without </review_text>",
                            hint: "the file is truncated; fetch the archive again")
                    }
                    let review = String(rest[open.upperBound..<close.lowerBound]).replacingOccurrences(
                        of: "&amp;", with: "&")
                    let tokens = ReviewTokenizer.tokenize(review).joined(separator: " ").lowercased()
                    if !tokens.isEmpty { lines.append("\(label)\t\(tokens)") }
                    rest = rest[close.upperBound...]
                }
            }
            let file = (out as NSString).appendingPathComponent("blitzer/\(domain)/all.tsv")
            try SourceText.write(file, lines)
            written.append(WrittenFile(file: file, lines: lines.count))
        }
        return written
    }

    // MARK: GloVe (glove.6B.zip)

    /// Keeps the GloVe rows (text format) of words that occur, lowercased, in the prepared data
    /// files under `dataDir`, in GloVe's order → embeddings/<name>.restricted.txt.gz.
    public static func glove(input: String, dataDir: String) throws -> Written {
        var words = Set<String>()
        let e = FileManager.default.enumerator(atPath: dataDir)
        while let rel = e?.nextObject() as? String {
            guard rel.hasSuffix(".tsv") || rel.hasSuffix(".tsv.gz"), !rel.hasPrefix("embeddings") else { continue }
            for raw in FileReader.lines(try FileReader.bytes((dataDir as NSString).appendingPathComponent(rel))) {
                let line = String(decoding: raw, as: UTF8.self)
                let text = line.split(separator: "\t", maxSplits: 1).last ?? ""
                for w in text.lowercased().split(separator: " ") { words.insert(String(w)) }
            }
        }
        guard !words.isEmpty else {
            throw InputError(
                file: dataDir, "holds no prepared .tsv files",
                hint: "prepare the datasets before GloVe (smtl prepare all does)")
        }
        var kept: [String] = []
        var width = -1
        for (n, raw) in FileReader.lines(try FileReader.bytes(input)).enumerated() where !raw.isEmpty {
            let line = String(decoding: raw, as: UTF8.self)
            let fields = line.split(separator: " ")
            if width < 0 { width = fields.count - 1 }
            guard fields.count == width + 1, width > 0 else {
                throw InputError(
                    file: input, line: n + 1, "has \(fields.count - 1) values, the first line \(width)",
                    hint: "give a GloVe text file (word v1 … vN)")
            }
            if words.contains(String(fields[0])) { kept.append(line) }
        }
        let name = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        let file = (dataDir as NSString).appendingPathComponent("embeddings/\(name).restricted.txt.gz")
        try SourceText.write(file, kept)
        return [WrittenFile(file: file, lines: kept.count)]
    }
}
