import Foundation
import SMTLModel

/// The layouts of a pretrained-vectors file, told apart by their content (never by the name).
public enum VectorFormat: String, Sendable {
    /// `word v1 … vN`, one word a line, no header (Stanford GloVe).
    case glove = "GloVe text"
    /// A `COUNT DIM` header line, then `word v1 … vN` lines (word2vec `-binary 0`, gensim text).
    case word2vecText = "word2vec text"
    /// word2vec text whose lines end with a space, as fastText writes its `.vec` files.
    case fastTextVec = "fastText .vec"
    /// A `COUNT DIM` header line, then per word: the word, a space, DIM little-endian float32
    /// values, and an optional newline (word2vec `-binary 1`, gensim `binary=True`).
    case word2vecBinary = "word2vec binary"
}

/// One pretrained-vectors file in any of `VectorFormat`'s layouts, plain or gzip, indexed by word.
/// Only the vectors that are asked for are parsed; every word's place is found when it opens.
/// A word that occurs twice keeps its first vector (the count of such lines is `duplicates`).
public struct VectorFile: Sendable {
    public let path: String
    public let format: VectorFormat
    /// The values a vector has.
    public let width: Int
    /// Lines (or binary records) that repeat an earlier word; their vectors are not used.
    public let duplicates: Int
    /// The first repeated word and its line (or record) number, for the message.
    public let firstDuplicate: (word: String, line: Int)?
    private let bytes: [UInt8]
    /// Word → (line number 1-based, first byte of its values, end of its line or record).
    private let entries: [String: Entry]

    struct Entry: Sendable {
        var line: Int
        var start: Int
        var end: Int
    }

    /// The distinct words.
    public var count: Int { entries.count }
    public var words: [String] { Array(entries.keys) }
    public func contains(_ word: String) -> Bool { entries[word] != nil }

    /// How a file of this format is described in a message.
    static let layouts: [VectorFormat: String] = [
        .glove: "`word v1 … vN` lines",
        .word2vecText: "a `COUNT DIM` header, then `word v1 … vN` lines",
        .fastTextVec: "a `COUNT DIM` header, then `word v1 … vN ` lines",
        .word2vecBinary: "a `COUNT DIM` header, then per word the word, a space and DIM float32 values",
    ]

    public static let formatsHint =
        "smtl reads GloVe text, word2vec text and binary, and fastText .vec files, plain or gzip"

    public init(_ path: String) throws {
        let bytes = try FileReader.bytes(path, missingHint: FileReader.dataHint + " (the config's `embeddings`)")
        self.path = path
        self.bytes = bytes
        // The first line: a `COUNT DIM` header (word2vec, fastText) or a first vector (GloVe).
        var firstEnd = 0
        while firstEnd < bytes.count && bytes[firstEnd] != 0x0A { firstEnd += 1 }
        let first = Self.fields(bytes, 0, firstEnd)
        if first.isEmpty && firstEnd >= bytes.count {
            throw InputError(
                file: path, "holds no vectors (the file is empty)",
                hint: "point `embeddings` at a vectors file; " + Self.formatsHint)
        }
        if let header = Self.header(first, bytes) {
            let body = firstEnd + 1
            // Text if the first record after the header is a line of DIM numbers; else binary.
            let binary = !Self.isTextRecord(bytes, from: body, width: header.dim)
            var entries: [String: Entry] = [:]
            var dups = 0
            var firstDup: (String, Int)?
            var trailingSpace = true
            var n = 0
            var i = body
            if binary {
                let recordBytes = 4 * header.dim
                while true {
                    // Skip the newline (or other whitespace) that ends the previous record.
                    while i < bytes.count && (bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x20) { i += 1 }
                    if i >= bytes.count { break }
                    let wordStart = i
                    while i < bytes.count && bytes[i] != 0x20 && bytes[i] != 0x0A { i += 1 }
                    n += 1
                    guard i < bytes.count, bytes[i] == 0x20, i + 1 + recordBytes <= bytes.count else {
                        throw InputError(
                            file: path,
                            "word2vec binary record \(n) "
                                + "('\(Self.show(bytes[wordStart..<min(i, wordStart + 40)]))') is cut short: "
                                + "it needs a space and \(header.dim) float32 values (\(recordBytes) bytes)",
                            hint: "the file is truncated or not word2vec binary; write it again")
                    }
                    let word = String(decoding: bytes[wordStart..<i], as: UTF8.self)
                    let start = i + 1
                    i = start + recordBytes
                    if entries[word] == nil {
                        entries[word] = Entry(line: n, start: start, end: i)
                    } else {
                        dups += 1
                        if firstDup == nil { firstDup = (word, n) }
                    }
                }
            } else {
                var lineNo = 1
                while i < bytes.count {
                    var end = i
                    while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                    lineNo += 1
                    var e = end
                    if e > i && bytes[e - 1] == 0x0D { e -= 1 }
                    if e > i {
                        n += 1
                        if bytes[e - 1] != 0x20 { trailingSpace = false }
                        try Self.index(bytes, i, e, lineNo, path, &entries, &dups, &firstDup)
                    }
                    i = end + 1
                }
            }
            if n != header.count {
                throw InputError(
                    file: path, line: 1,
                    "the header says \(header.count) vectors but the file holds \(n)",
                    hint:
                        "the file is truncated or its header is wrong "
                        + "(\(binary ? "word2vec binary" : "word2vec text")); "
                        + "write it again")
            }
            self.format = binary ? .word2vecBinary : (trailingSpace && n > 0 ? .fastTextVec : .word2vecText)
            self.width = header.dim
            self.entries = entries
            self.duplicates = dups
            self.firstDuplicate = firstDup.map { (word: $0.0, line: $0.1) }
        } else {
            // GloVe: the width is that of the first line.
            guard first.count >= 2 else {
                throw InputError(
                    file: path, line: 1,
                    first.count == 1
                        ? "no vector after the word '\(Self.show(bytes[first[0]]))' and no `COUNT DIM` header"
                        : "is not a vectors file",
                    hint: Self.formatsHint)
            }
            var entries: [String: Entry] = [:]
            var dups = 0
            var firstDup: (String, Int)?
            var i = 0
            var lineNo = 0
            while i < bytes.count {
                var end = i
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                lineNo += 1
                var e = end
                if e > i && bytes[e - 1] == 0x0D { e -= 1 }
                if e > i { try Self.index(bytes, i, e, lineNo, path, &entries, &dups, &firstDup) }
                i = end + 1
            }
            self.format = .glove
            self.width = first.count - 1
            self.entries = entries
            self.duplicates = dups
            self.firstDuplicate = firstDup.map { (word: $0.0, line: $0.1) }
        }
        if entries.isEmpty {
            throw InputError(file: path, "holds no vectors (\(format.rawValue) with no word)", hint: Self.formatsHint)
        }
        // A wrong file fails early: the first vector is always parsed.
        if let firstEntry = entries.values.min(by: { $0.line < $1.line }) {
            var scratch = [Double](repeating: 0, count: width)
            try scratch.withUnsafeMutableBufferPointer { try parse(firstEntry, into: $0.baseAddress!) }
        }
    }

    /// Copies `word`'s vector into `row[0..<width]`; false if the file has no vector for it.
    public func vector<S: Scalar>(of word: String, into row: UnsafeMutablePointer<S>) throws -> Bool {
        guard let e = entries[word] else { return false }
        var values = [Double](repeating: 0, count: width)
        try values.withUnsafeMutableBufferPointer { try parse(e, into: $0.baseAddress!) }
        for k in 0..<width {
            // A NaN or infinity would only show later, as a NaN loss blamed on the learning rate.
            guard S(values[k]).isFinite else {
                throw InputError(
                    file: path, line: e.line, "value \(k + 1) of '\(word)' (\(values[k])) is not a finite number",
                    hint: "repair or regenerate the vectors file; every value must be finite")
            }
            row[k] = S(values[k])
        }
        return true
    }

    // MARK: - Reading

    private func parse(_ e: Entry, into out: UnsafeMutablePointer<Double>) throws {
        if format == .word2vecBinary {
            for k in 0..<width {
                let b = e.start + 4 * k
                let bits =
                    UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3])
                    << 24
                out[k] = Double(Float(bitPattern: bits))
                guard out[k].isFinite else {
                    throw InputError(
                        file: path, line: e.line, "value \(k + 1) of record \(e.line) is not a finite number",
                        hint: "repair or regenerate the vectors file; every value must be finite")
                }
            }
            return
        }
        var n = 0
        var start = e.start
        var j = start
        while j <= e.end {
            if j == e.end || bytes[j] == 0x20 {
                if j > start {
                    guard n < width else { throw widthError(e.line, count: nil) }
                    let text = String(decoding: bytes[start..<j], as: UTF8.self)
                    guard let v = Double(text) else {
                        throw InputError(
                            file: path, line: e.line, "'\(text)' is not a number (in a \(format.rawValue) file)",
                            hint: "expected \(Self.layouts[format]!)")
                    }
                    guard v.isFinite, Float(v).isFinite else {
                        throw InputError(
                            file: path, line: e.line, "'\(text)' (value \(n + 1)) is not a finite number",
                            hint: "repair or regenerate the vectors file; every value must be finite")
                    }
                    out[n] = v
                    n += 1
                }
                start = j + 1
            }
            j += 1
        }
        guard n == width else { throw widthError(e.line, count: n) }
    }

    private func widthError(_ line: Int, count: Int?) -> InputError {
        let has = count.map { "\($0)" } ?? "more than \(width)"
        let source = format == .glove ? "the first line" : "the header"
        return InputError(
            file: path, line: line,
            "vector has \(has) values, but \(source) of this \(format.rawValue) file gives \(width)",
            hint: "every vector of a file must have the same width; repair or regenerate the file")
    }

    /// Records the word of one text line (bytes `s..<e`), whose values start after its first space.
    private static func index(
        _ bytes: [UInt8], _ s: Int, _ e: Int, _ lineNo: Int, _ path: String,
        _ entries: inout [String: Entry], _ dups: inout Int, _ firstDup: inout (String, Int)?
    ) throws {
        var space = s
        while space < e && bytes[space] != 0x20 { space += 1 }
        guard space < e else {
            throw InputError(
                file: path, line: lineNo, "no vector after the word '\(show(bytes[s..<min(e, s + 40)]))'",
                hint: "expected `word v1 … vN` (GloVe, word2vec or fastText text)")
        }
        let word = String(decoding: bytes[s..<space], as: UTF8.self)
        if entries[word] == nil {
            entries[word] = Entry(line: lineNo, start: space + 1, end: e)
        } else {
            dups += 1
            if firstDup == nil { firstDup = (word, lineNo) }
        }
    }

    /// The byte ranges of the space-separated fields of `s..<e`.
    private static func fields(_ bytes: [UInt8], _ s: Int, _ e: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var e = e
        if e > s && bytes[e - 1] == 0x0D { e -= 1 }
        var i = s
        while i < e {
            while i < e && bytes[i] == 0x20 { i += 1 }
            let a = i
            while i < e && bytes[i] != 0x20 { i += 1 }
            if i > a { out.append(a..<i) }
        }
        return out
    }

    /// `COUNT DIM` with both whole numbers ≥ 1 (0 vectors only with DIM ≥ 1 and nothing after).
    private static func header(_ f: [Range<Int>], _ bytes: [UInt8]) -> (count: Int, dim: Int)? {
        guard f.count == 2,
            let count = Int(String(decoding: bytes[f[0]], as: UTF8.self)),
            let dim = Int(String(decoding: bytes[f[1]], as: UTF8.self)), count >= 0, dim >= 1,
            bytes[f[0]].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return (count, dim)
    }

    /// Whether the record at `from` reads as a text line `word v1 … vDIM`.
    private static func isTextRecord(_ bytes: [UInt8], from: Int, width: Int) -> Bool {
        guard from < bytes.count else { return true }
        var end = from
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        let f = fields(bytes, from, end)
        guard f.count == width + 1 else { return false }
        return f.dropFirst().allSatisfy { r in
            bytes[r].allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B || $0 == 0x65 || $0 == 0x45
            }
                && Double(String(decoding: bytes[r], as: UTF8.self)) != nil
        }
    }

    /// A word as a message shows it: invisible bytes escaped.
    static func show(_ b: ArraySlice<UInt8>) -> String {
        String(decoding: b, as: UTF8.self).unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{FEFF}" ? "\\u{\(String($0.value, radix: 16))}" : String($0)
        }.joined()
    }
}

/// Pretrained vectors into the embedding table: one file, or several joined (each word's row is the
/// concatenation of its vectors in the files' order).
public enum PretrainedEmbeddings {
    /// What loading the vectors did, for the start-up banner and `results.json`.
    public struct Report: Sendable {
        public struct File: Sendable {
            public var path: String
            public var format: VectorFormat
            public var width: Int
            public var words: Int
            /// Vocabulary rows this file filled its columns of.
            public var rows: Int
            public var duplicates: Int
        }
        public var files: [File] = []
        /// Rows that got a vector from at least one file.
        public var rows = 0

        public var description: String {
            files.map { f in
                "\((f.path as NSString).lastPathComponent) (\(f.format.rawValue), \(f.width) values, \(f.rows) rows"
                    + (f.duplicates > 0 ? ", \(f.duplicates) repeated words ignored" : "") + ")"
            }.joined(separator: " + ")
        }
    }

    /// Opens every file and checks that their widths add up to `dimension` (the config's
    /// `pretrained_dim`, or `embedding_dim` when that is 0). `dimensionKey` names the key in the message.
    public static func open(_ paths: [String], dimension: Int) throws -> [VectorFile] {
        let files = try paths.map { try VectorFile($0) }
        let sum = files.map(\.width).reduce(0, +)
        guard sum == dimension else {
            let each = files.map {
                "\(($0.path as NSString).lastPathComponent): \($0.format.rawValue), \($0.width) values"
            }
            let what =
                files.count == 1
                ? "vectors have \(sum) values" : "joined vectors have \(sum) values (\(each.joined(separator: "; ")))"
            let hint =
                files.count == 1
                ? "set `model.embedding_dim` to the vectors' width (GloVe 6B 50d: 50; 0 takes the width of the "
                    + "vectors), or keep a wider embedding_dim and set `model.pretrained_dim` to the vectors' width "
                    + "(they fill that many columns of each row)"
                : "set `model.embedding_dim` to the sum of the files' widths (or 0, which takes it), or set "
                    + "`model.pretrained_dim` to it with a wider embedding_dim"
            throw InputError(
                file: files.count == 1 ? files[0].path : paths.joined(separator: " + "),
                line: files.count == 1 ? 1 : nil,
                "\(files.count == 1 ? "the \(files[0].format.rawValue) " : "")\(what), but the config expects "
                    + "\(dimension) "
                    + "(model.pretrained_dim, or model.embedding_dim when that is 0)",
                hint: hint)
        }
        return files
    }

    /// Copies the vectors of every vocabulary word found in the files into its embedding row:
    /// file k fills the columns after those of files 0..<k. A word missing from a file keeps that
    /// file's columns at their random initial values (SPEC §1's rule for words without a vector),
    /// and so do the columns after the vectors' total width when `rowWidth` is wider. The word is
    /// looked up as it stands in the vocabulary (lowercased when the tokenizer lowercases).
    @discardableResult
    public static func load<S: Scalar>(
        _ paths: [String], vocabulary: Vocabulary, into table: UnsafeMutablePointer<S>,
        dimension: Int, rowWidth: Int? = nil
    ) throws -> Report {
        let stride = rowWidth ?? dimension
        guard stride >= dimension else {
            throw InputError(
                file: paths.joined(separator: " + "),
                "vectors of \(dimension) values cannot fill embedding rows of \(stride)",
                hint: "make model.embedding_dim at least model.pretrained_dim")
        }
        let files = try open(paths, dimension: dimension)
        var report = Report()
        var any = [Bool](repeating: false, count: vocabulary.count)
        var offset = 0
        var part = [S](repeating: 0, count: files.map(\.width).max() ?? 0)
        for f in files {
            var rows = 0
            for (id, word) in vocabulary.words.enumerated() {
                let found = try part.withUnsafeMutableBufferPointer { try f.vector(of: word, into: $0.baseAddress!) }
                guard found else { continue }
                let row = table + id * stride + offset
                for k in 0..<f.width { row[k] = part[k] }
                rows += 1
                any[id] = true
            }
            report.files.append(
                .init(
                    path: f.path, format: f.format, width: f.width, words: f.count, rows: rows, duplicates: f.duplicates
                ))
            offset += f.width
        }
        report.rows = any.filter { $0 }.count
        return report
    }

    /// One file; returns how many rows were set.
    @discardableResult
    public static func load<S: Scalar>(
        _ path: String, vocabulary: Vocabulary, into table: UnsafeMutablePointer<S>,
        dimension: Int, rowWidth: Int? = nil
    ) throws -> Int {
        try load([path], vocabulary: vocabulary, into: table, dimension: dimension, rowWidth: rowWidth).rows
    }

    /// The words that at least one of the files has a vector for.
    public static func words(_ paths: [String]) throws -> Set<String> {
        var out = Set<String>()
        for p in paths { out.formUnion(try VectorFile(p).words) }
        return out
    }

    public static func words(_ path: String) throws -> Set<String> { try words([path]) }

    /// The total width of the files' vectors (what `model.embedding_dim` 0 takes).
    public static func width(_ paths: [String]) throws -> Int {
        try paths.map { try VectorFile($0).width }.reduce(0, +)
    }
}
