/// One JSON object on one line, keys in the order given, numbers at full precision: a Float is
/// written with the shortest digits that read back to the same Float, a Double likewise. For the
/// machine-readable outputs (`--format jsonl`).
public enum JSONLine {
    /// `pairs`' values may be String, Bool, Int, Float, Double, nil (null), arrays of these (also
    /// nested), or `[(String, Any?)]` for a nested object.
    public static func object(_ pairs: [(String, Any?)]) -> String {
        "{" + pairs.map { string($0.0) + ":" + value($0.1) }.joined(separator: ",") + "}"
    }

    static func value(_ v: Any?) -> String {
        switch v {
        case nil: return "null"
        case let s as String: return string(s)
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return "\(i)"
        case let f as Float: return f.isFinite ? "\(f)" : "null"
        case let d as Double: return d.isFinite ? "\(d)" : "null"
        case let o as [(String, Any?)]: return object(o)
        case let a as [Any?]: return "[" + a.map(value).joined(separator: ",") + "]"
        case let a as [Any]: return "[" + a.map { value($0) }.joined(separator: ",") + "]"
        default: return string("\(v!)")
        }
    }

    /// A JSON string literal.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count)
                        + String(u.value, radix: 16)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
