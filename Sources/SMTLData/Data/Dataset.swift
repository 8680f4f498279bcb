import Foundation

/// One labelled example as read from a `label<TAB>text` file.
public struct LabelledText: Sendable {
    public var label: Int
    public var text: String
    /// 1-based line in its file, for messages.
    public var line: Int
}

public enum LabelledFile {
    /// Reads `label<TAB>text` lines, plain or gzip. Any malformed line stops the load with an
    /// error naming the file and line; nothing is returned half-read.
    public static func read(_ path: String, task: String? = nil) throws -> [LabelledText] {
        let bytes = try FileReader.bytes(path)
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw InputError(
                file: path, "is UTF-16 (it starts with a UTF-16 byte-order mark); smtl reads UTF-8",
                hint: "convert it: `iconv -f utf-16 -t utf-8 FILE > FILE.utf8`", task: task)
        }
        var out: [LabelledText] = []
        for (i, line) in FileReader.lines(bytes).enumerated() {
            let n = i + 1
            if line.isEmpty { continue }
            guard let tab = line.firstIndex(of: 0x09) else {
                throw InputError(
                    file: path, line: n, "no tab between label and text",
                    hint: "each line must be `<label>\\t<text>`", task: task)
            }
            let labelBytes = line[line.startIndex..<tab]
            guard !labelBytes.isEmpty, labelBytes.count <= 9, labelBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let label = Int(String(decoding: labelBytes, as: UTF8.self))
            else {
                let shown = String(decoding: labelBytes.prefix(40), as: UTF8.self)
                throw InputError(
                    file: path, line: n, "label '\(shown)' is not a non-negative integer",
                    hint: "each line must be `<label>\\t<text>` with an integer label", task: task)
            }
            if let extra = line[(tab + 1)...].firstIndex(of: 0x09) {
                let columns = line.filter { $0 == 0x09 }.count + 1
                throw InputError(
                    file: path, line: n,
                    "has \(columns) tab-separated columns (a tab at byte \(extra - line.startIndex + 1)); "
                        + "a line is `<label>\\t<text>`, two columns",
                    hint: "keep the label and the text only (for example `cut -f1,2`), or replace tabs in the text by "
                        + "spaces", task: task)
            }
            if let nul = line.firstIndex(of: 0) {
                throw InputError(
                    file: path, line: n, "holds a NUL byte (byte \(nul - line.startIndex + 1) of the line)",
                    hint: "a text file has none: is this a binary file, or UTF-16 (convert with `iconv -t utf-8`)?",
                    task: task)
            }
            guard let text = String(validating: line[(tab + 1)...], as: UTF8.self) else {
                throw InputError(
                    file: path, line: n, "the text is not valid UTF-8",
                    hint: "convert the file to UTF-8 (e.g. `iconv -f cp1252 -t utf-8`)", task: task)
            }
            if text.split(whereSeparator: { $0 == " " || $0 == "\t" }).isEmpty {
                throw InputError(
                    file: path, line: n, "the text is empty", hint: "remove the line or give it text", task: task)
            }
            out.append(LabelledText(label: label, text: text, line: n))
        }
        if out.isEmpty {
            throw InputError(
                file: path, "the file holds no examples", hint: "point the config at a non-empty `label<TAB>text` file",
                task: task)
        }
        return out
    }
}

/// One vocabulary shared by all tasks. Id 0 is the unknown-word token `<unk>`; the other words are
/// ordered by count (descending), ties by byte order, so the ids are deterministic.
public struct Vocabulary: Sendable {
    public static let unknownToken = "<unk>"
    public static let unknownID: Int32 = 0
    public private(set) var words: [String]
    public private(set) var index: [String: Int32]

    public var count: Int { words.count }

    public init(words: [String]) {
        self.words = words
        var idx: [String: Int32] = [:]
        idx.reserveCapacity(words.count)
        for (i, w) in words.enumerated() where idx[w] == nil { idx[w] = Int32(i) }
        index = idx
    }

    /// Counts tokens over texts and keeps words seen at least `minCount` times.
    public static func build<C: Sequence>(texts: C, tokenizer: Tokenizer, minCount: Int) -> Vocabulary
    where C.Element == String {
        var counts: [Substring: Int] = [:]
        for t in texts { for w in tokenizer.tokens(t) { counts[w, default: 0] += 1 } }
        let kept = counts.filter { $0.value >= max(minCount, 1) && $0.key != Substring(unknownToken) }
            .sorted { a, b in a.value != b.value ? a.value > b.value : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
            }
        return Vocabulary(words: [unknownToken] + kept.map { String($0.key) })
    }

    public func encode(_ text: String, tokenizer: Tokenizer) -> [Int32] {
        tokenizer.tokens(text).map { index[String($0)] ?? Self.unknownID }
    }

    public static func load(_ path: String) throws -> Vocabulary {
        let bytes = try FileReader.bytes(path)
        let lines = FileReader.lines(bytes)
        var words: [String] = []
        words.reserveCapacity(lines.count)
        for (i, l) in lines.enumerated() {
            guard let w = String(validating: l, as: UTF8.self) else {
                throw InputError(file: path, line: i + 1, "not valid UTF-8", hint: "the vocabulary file is damaged")
            }
            words.append(w)
        }
        guard words.first == unknownToken else {
            throw InputError(
                file: path, line: 1, "the first word must be \(unknownToken)",
                hint: "the vocabulary file is damaged or not one of ours")
        }
        return Vocabulary(words: words)
    }
}

/// A task's examples as token ids and class indices.
public struct EncodedExample: Sendable {
    public var tokens: [Int32]
    public var label: Int
    package init(tokens: [Int32], label: Int) { (self.tokens, self.label) = (tokens, label) }
}

public struct TaskData: Sendable {
    public var name: String
    /// The label values of the data files, in class-index order.
    public var labels: [Int]
    public var train: [EncodedExample]
    public var dev: [EncodedExample]
    public var test: [EncodedExample]
    public var trainTokens: Int { train.reduce(0) { $0 + $1.tokens.count } }

    package init(name: String, labels: [Int], train: [EncodedExample], dev: [EncodedExample], test: [EncodedExample]) {
        (self.name, self.labels, self.train, self.dev, self.test) = (name, labels, train, dev, test)
    }

    public func examples(_ split: Split) -> [EncodedExample] {
        switch split {
        case .train: return train
        case .dev: return dev
        case .test: return test
        }
    }

    /// A split's examples in a few words: their count and an FNV-1a hash of their labels and
    /// token ids (so also of the vocabulary that encoded them), e.g. `400 examples, 9c1d…`.
    public func fingerprint(_ split: Split) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ v: UInt64) { h = (h ^ v) &* 0x100_0000_01B3 }
        for x in examples(split) {
            mix(UInt64(x.label))
            for t in x.tokens { mix(UInt64(UInt32(bitPattern: t))) }
            mix(0xFFFF_FFFF_FFFF)
        }
        return "\(examples(split).count) examples, " + String(format: "%016llx", h)
    }

    /// Every split's fingerprint, keyed `task/split` as `TrainingState.data` keeps them.
    public var fingerprints: [String: String] {
        Dictionary(uniqueKeysWithValues: Split.allCases.map { ("\(name)/\($0.rawValue)", fingerprint($0)) })
    }
}

/// The three parts of a task's data.
public enum Split: String, CaseIterable, Sendable { case train, dev, test }
