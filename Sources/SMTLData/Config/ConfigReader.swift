import Foundation

/// Reads one JSON object of a config, key by key, with types checked and unknown keys refused.
struct ConfigSection {
    let file: String
    let path: String
    let dict: [String: Any]
    private(set) var used: Set<String> = []

    init(file: String, path: String, dict: [String: Any]) {
        self.file = file
        self.path = path
        self.dict = dict
    }

    func where_(_ key: String) -> String { path.isEmpty ? "`\(key)`" : "`\(path).\(key)`" }

    mutating func value(_ key: String) -> Any? {
        used.insert(key)
        if dict[key] is NSNull { return nil }
        return dict[key]
    }

    mutating func string(_ key: String, _ fallback: String? = nil) throws -> String {
        guard let v = value(key) else {
            if let fallback { return fallback }
            throw InputError(file: file, "missing key \(where_(key))", hint: "add it to the config")
        }
        guard let s = v as? String else {
            throw InputError(file: file, "\(where_(key)) must be a string")
        }
        return s
    }

    mutating func optionalString(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw InputError(file: file, "\(where_(key)) must be a string") }
        return s
    }

    /// A string or a list of strings (none: empty); an empty string or list is refused.
    mutating func stringList(_ key: String) throws -> [String] {
        guard let v = value(key) else { return [] }
        if let s = v as? String, !s.isEmpty { return [s] }
        if let list = v as? [Any], !list.isEmpty, let strings = list as? [String], strings.allSatisfy({ !$0.isEmpty }) {
            return strings
        }
        throw InputError(
            file: file, "\(where_(key)) must be a file name or a list of file names (not empty)",
            hint:
                "for example \"embeddings/glove.6B.50d.restricted.txt.gz\", or two files to join: [\"a.vec\", "
                + "\"b.vec\"]"
        )
    }

    mutating func number(_ key: String, _ fallback: Double) throws -> Double {
        guard let v = value(key) else { return fallback }
        if isJSONBool(v) { throw InputError(file: file, "\(where_(key)) must be a number, not true/false") }
        if let i = v as? Int { return Double(i) }
        if let d = v as? Double { return d }
        if let n = v as? NSNumber { return n.doubleValue }
        throw InputError(file: file, "\(where_(key)) must be a number")
    }

    mutating func int(_ key: String, _ fallback: Int, min: Int = Int.min) throws -> Int {
        let d = try number(key, Double(fallback))
        guard d == d.rounded() else { throw InputError(file: file, "\(where_(key)) must be a whole number, not \(d)") }
        guard abs(d) < 1e15 else {
            throw InputError(
                file: file, "\(where_(key)) is too large: \(String(format: "%.4g", d)) (at most 10^15)",
                hint: "give a value in range")
        }
        guard Int(d) >= min else {
            throw InputError(file: file, "\(where_(key)) must be at least \(min), not \(Int(d))")
        }
        return Int(d)
    }

    mutating func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard let v = value(key) else { return fallback }
        guard isJSONBool(v), let b = v as? Bool else {
            throw InputError(file: file, "\(where_(key)) must be true or false")
        }
        return b
    }

    mutating func section(_ key: String) throws -> ConfigSection {
        let sub = path.isEmpty ? key : "\(path).\(key)"
        guard let v = value(key) else { return ConfigSection(file: file, path: sub, dict: [:]) }
        guard let d = v as? [String: Any] else { throw InputError(file: file, "\(where_(key)) must be an object") }
        return ConfigSection(file: file, path: sub, dict: d)
    }

    mutating func sections(_ key: String) throws -> [ConfigSection] {
        guard let v = value(key) else {
            throw InputError(file: file, "missing key \(where_(key))", hint: "add it to the config")
        }
        guard let a = v as? [Any] else { throw InputError(file: file, "\(where_(key)) must be a list") }
        return try a.enumerated().map { i, e in
            guard let d = e as? [String: Any] else {
                throw InputError(file: file, "\(where_(key))[\(i)] must be an object")
            }
            return ConfigSection(file: file, path: "\(path.isEmpty ? key : path + "." + key)[\(i)]", dict: d)
        }
    }

    /// Refuses keys the program does not know: a typo must not silently fall back to a default.
    func finish() throws {
        let unknown = Set(dict.keys).subtracting(used).sorted()
        if let k = unknown.first {
            let known = used.sorted().joined(separator: ", ")
            throw InputError(file: file, "unknown key \(where_(k))", hint: "known keys here: \(known)")
        }
    }
}

/// JSON true/false as Foundation decodes it (a boolean NSNumber), told apart from 0 and 1.
func isJSONBool(_ v: Any) -> Bool {
    if type(of: v) == Bool.self { return true }
    return String(describing: type(of: v)).contains("Boolean")
}

/// JSON text checks that JSONSerialization does not make.
enum JSONText {
    /// The keys an object of (valid) JSON gives twice, with the line of the second one:
    /// JSONSerialization keeps the last value in silence.
    static func duplicateKeys(_ bytes: [UInt8]) -> [(key: String, line: Int)] {
        var stack: [(object: Bool, keys: Set<String>, expectKey: Bool)] = []
        var found: [(String, Int)] = []
        var line = 1
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\n"): line += 1
            case UInt8(ascii: "{"): stack.append((true, [], true))
            case UInt8(ascii: "["): stack.append((false, [], false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","): if let top = stack.last, top.object { stack[stack.count - 1].expectKey = true }
            case UInt8(ascii: "\""):
                var j = i + 1
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                if let top = stack.last, top.object, top.expectKey {
                    let key = String(decoding: bytes[(i + 1)..<min(j, bytes.count)], as: UTF8.self)
                    if top.keys.contains(key) { found.append((key, line)) }
                    stack[stack.count - 1].keys.insert(key)
                    stack[stack.count - 1].expectKey = false
                }
                i = j
            default: break
            }
            i += 1
        }
        return found
    }
}
