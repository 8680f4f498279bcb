import CZlib
import Foundation
import SMTLModel

/// Text helpers shared by the converters of the original dataset releases.
public enum SourceText {
    /// Windows-1252 characters of bytes 0x80–0x9F (nil: undefined in cp1252).
    static let cp1252High: [UInt32?] = [
        0x20AC, nil, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, nil,
        0x017D, nil,
        nil, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, nil,
        0x017E, 0x0178,
    ]

    /// Decodes Windows-1252 bytes (the Cornell subjectivity files, Blitzer's reviews).
    public static func cp1252<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes {
            if b >= 0x80 && b <= 0x9F {
                s.append(Unicode.Scalar(cp1252High[Int(b - 0x80)] ?? 0xFFFD)!)
            } else {
                s.append(Unicode.Scalar(b))
            }
        }
        return String(s)
    }

    /// UTF-8 if valid, else Windows-1252.
    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(validating: bytes, as: UTF8.self) ?? cp1252(bytes)
    }

    /// UTF-8 text whose characters U+0080–U+009F are cp1252 bytes decoded as Latin-1 upstream
    /// (IMDB): maps them back to the cp1252 characters.
    public static func fixC1(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0.value >= 0x80 && $0.value <= 0x9F }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value >= 0x80 && u.value <= 0x9F, let v = cp1252High[Int(u.value - 0x80)] {
                out.append(Unicode.Scalar(v)!)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// Collapses whitespace runs (tabs, newlines, non-breaking spaces …) to one space and trims.
    public static func normalizeWhitespace(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Writes `label<TAB>text` lines (or bare texts when `label` is nil), gzip when the path ends in .gz.
    public static func write(_ path: String, _ lines: [String]) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let text = lines.map { $0 + "\n" }.joined()
        if path.hasSuffix(".gz") {
            guard let f = gzopen(path, "wb9") else {
                throw InputError(file: path, "cannot be written", hint: "check the output folder")
            }
            var bytes = Array(text.utf8)
            let ok =
                bytes.isEmpty
                || bytes.withUnsafeMutableBytes { gzwrite(f, $0.baseAddress, UInt32($0.count)) } == Int32(bytes.count)
            bytes.removeAll()
            guard gzclose(f) == Z_OK, ok else {
                throw InputError(file: path, "could not be written completely", hint: "check free disk space")
            }
        } else {
            try FileWriter.write(Data(text.utf8), to: path)
        }
    }

    /// Finds a file by name (or by a path suffix such as `trees/train.txt`) anywhere under `root`.
    public static func find(_ suffix: String, under root: String) throws -> String {
        if FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent(suffix)) {
            return (root as NSString).appendingPathComponent(suffix)
        }
        let e = FileManager.default.enumerator(atPath: root)
        var hits: [String] = []
        while let rel = e?.nextObject() as? String {
            if rel == suffix || rel.hasSuffix("/" + suffix) { hits.append(rel) }
        }
        guard let best = hits.min(by: { $0.count < $1.count }) else {
            throw InputError(
                file: root, "holds no \(suffix)", hint: "unpack the original archive there (see launch/fetch-data)")
        }
        return (root as NSString).appendingPathComponent(best)
    }
}

/// The Penn-Treebank-like tokenizer used for raw review text (IMDB, Blitzer): punctuation is
/// split off; words keep inner hyphens and apostrophes; `n't 's 're 've 'll 'd 'm` are split off
/// (`don't` → `do n't`, `can't` → `ca n't`, as in SST); dotted abbreviations (`U.S.`, `e.g.`),
/// numbers like `7/10`, `3.5`, `1,000`, and `...`, `--` stay one token. Case is kept.
public enum ReviewTokenizer {
    static let pattern = try! NSRegularExpression(
        pattern: [
            #"(?<![\p{L}\p{N}])\p{L}(?:\.\p{L})+\.?"#,  // U.S., e.g.
            #"\p{N}+(?:[.,/:]\p{N}+)+"#,  // 7/10, 3.5, 1,000, 10:30
            #"\.\.\.+|--+"#,  // ... and --
            #"[\p{L}\p{N}_]+(?:['’\-][\p{L}\p{N}_]+)*"#,  // words with inner ' and -
            #"\S"#,  // any other character
        ].joined(separator: "|"))

    static let clitics = ["'s", "'re", "'ve", "'ll", "'d", "'m", "’s", "’re", "’ve", "’ll", "’d", "’m"]

    public static func tokenize(_ text: String) -> [String] {
        let ns = text as NSString
        var out: [String] = []
        for m in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let tok = ns.substring(with: m.range)
            let lower = tok.lowercased()
            if lower.count > 3 && (lower.hasSuffix("n't") || lower.hasSuffix("n’t")) {
                out.append(String(tok.dropLast(3))); out.append(String(tok.suffix(3)))
            } else if let c = clitics.first(where: { lower.hasSuffix($0) && lower.count > $0.count }) {
                out.append(String(tok.dropLast(c.count))); out.append(String(tok.suffix(c.count)))
            } else {
                out.append(tok)
            }
        }
        return out
    }
}
