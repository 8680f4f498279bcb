import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// The unlabelled text of a config's tasks, as smtl's tokenizer sees it, for training in-domain
/// vectors (`smtl prepare vectors`). Per task, in the config's order: its training examples (the
/// sentence-level `train` file after the dev and test hold-outs, whatever `phrase_level` says), then
/// its `unlabeled` file where it names one. Never read: a task's `test` and `dev` files, and the
/// examples held out of `train` for them (docs/decisions.md, "In-domain vectors"). A text that
/// occurs again (in the same task or another: SST-2's sentences are SST-1's) is kept once.
public struct VectorCorpus: Sendable {
    public struct Part: Sendable {
        public var task: String
        /// `train` or `unlabeled`.
        public var split: String
        public var file: String
        public var texts: Int
        public var tokens: Int
    }
    /// One text a line: lowercased as the config's tokenizer does, tokens joined by one space.
    public var lines: [String] = []
    public var parts: [Part] = []
    /// Texts left out because an earlier line was the same text.
    public var repeated = 0
    public var tokens: Int { parts.map(\.tokens).reduce(0, +) }
    public var distinctWords: Int {
        var seen = Set<Substring>()
        for l in lines { for w in l.split(separator: " ") { seen.insert(w) } }
        return seen.count
    }

    public init(config: RunConfig) throws {
        var c = config
        c.phraseLevel = false
        // The whole text: `vocabulary.max_length` only caps what the model reads.
        let tokenizer = Tokenizer(lowercase: config.tokenizer.lowercase)
        var seen = Set<String>()
        func add(_ texts: [String], task: String, split: String, file: String) {
            var part = Part(task: task, split: split, file: file, texts: 0, tokens: 0)
            for text in texts {
                let tokens = tokenizer.tokens(text)
                if tokens.isEmpty { continue }
                let line = tokens.joined(separator: " ")
                guard seen.insert(line).inserted else {
                    repeated += 1
                    continue
                }
                lines.append(line)
                part.texts += 1
                part.tokens += tokens.count
            }
            parts.append(part)
        }
        for t in c.tasks {
            let raw = try Corpus.loadTask(t, config: c, labels: nil, heldFiles: false)
            add(raw.train.map(\.text), task: t.name, split: "train", file: c.resolve(t.train))
            if let u = t.unlabeled {
                let path = c.resolve(u)
                let bytes = try FileReader.bytes(
                    path, missingHint: FileReader.dataHint + " (the `unlabeled` file of task \(t.name))")
                var texts: [String] = []
                for (i, line) in FileReader.lines(bytes).enumerated() {
                    guard let s = String(validating: line, as: UTF8.self) else {
                        throw InputError(
                            file: path, line: i + 1, "is not valid UTF-8",
                            hint: "convert the file to UTF-8 (one text a line)", task: t.name)
                    }
                    texts.append(s)
                }
                add(texts, task: t.name, split: "unlabeled", file: path)
            }
        }
        if lines.isEmpty {
            throw InputError(
                file: config.tasks.first.map { c.resolve($0.train) } ?? "the config",
                "the tasks give no text to train vectors on", hint: "check the tasks' `train` and `unlabeled` files")
        }
    }
}

/// Skip-gram vectors with subword n-grams trained by Debian's `fasttext` (Bojanowski et al. 2017),
/// on one thread with a fixed seed, so the same corpus and settings give the same file.
public enum FastText {
    public struct Settings: Sendable {
        public var dim = 50
        public var epochs = 5
        public var minCount = 1
        public var seed = 1
        public var window = 5
        public var executable = "fasttext"
        public init() {}

        /// The arguments of `fasttext skipgram`; everything not named keeps fastText's default.
        public func arguments(input: String, output: String) -> [String] {
            [
                "skipgram", "-input", input, "-output", output, "-dim", "\(dim)", "-epoch", "\(epochs)",
                "-minCount", "\(minCount)", "-ws", "\(window)", "-thread", "1", "-seed", "\(seed)", "-verbose", "1",
            ]
        }
    }

    /// The fastText program on PATH (or the given path), or nil.
    public static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Trains on `lines` (written to a scratch folder) and returns the `.vec` text fastText wrote:
    /// a `COUNT DIM` header, then `word v1 … vDIM ` lines, most frequent first. fastText's end-of-line
    /// token `</s>` is dropped (smtl's tokens never include it), and the header counts what is left.
    public static func train(_ lines: [String], settings: Settings) throws -> [UInt8] {
        guard let exe = find(settings.executable) else {
            throw InputError(
                file: settings.executable, "fastText is not installed (no `\(settings.executable)` on PATH)",
                hint: "install it: `apt-get install fasttext` (launch/install-deps does), or name it with --fasttext")
        }
        let scratch = NSTemporaryDirectory() + "smtl-vectors-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = scratch + "/corpus.txt"
        try FileWriter.write(Data(lines.map { $0 + "\n" }.joined().utf8), to: input)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = settings.arguments(input: input, output: scratch + "/model")
        let err = Pipe()
        p.standardError = err
        p.standardOutput = err
        try p.run()
        let said = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw InputError(
                file: exe,
                "`fasttext \(p.arguments!.joined(separator: " "))` failed (status \(p.terminationStatus)): "
                    + String(decoding: said.suffix(600), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                hint:
                    "check the settings (--dim, --epochs, --min-count) and free disk space in \(NSTemporaryDirectory())"
            )
        }
        let vec = try FileReader.bytes(scratch + "/model.vec")
        var out: [String] = []
        var kept = 0
        var dim = 0
        for (i, line) in FileReader.lines(vec).enumerated() {
            if i == 0 {
                dim = Int(line.split(separator: 0x20).last.map { String(decoding: $0, as: UTF8.self) } ?? "") ?? 0
                continue
            }
            if line.starts(with: Array("</s> ".utf8)) || line.isEmpty { continue }
            out.append(String(decoding: line, as: UTF8.self))
            kept += 1
        }
        return Array(("\(kept) \(dim)\n" + out.map { $0 + "\n" }.joined()).utf8)
    }
}
