/// How text becomes tokens: split on whitespace, optionally lowercased (SST, SUBJ and FDU-MTL are
/// lowercased in their sources; GloVe 6B is uncased), optionally cut to `maxLength` tokens.
public struct Tokenizer: Codable, Equatable, Sendable {
    public var lowercase: Bool = true
    /// 0 means no limit; otherwise only the first `maxLength` tokens are kept.
    public var maxLength: Int = 0
    public init(lowercase: Bool = true, maxLength: Int = 0) {
        self.lowercase = lowercase
        self.maxLength = maxLength
    }
    public func tokens(_ text: String) -> [Substring] {
        let t = lowercase ? Substring(text.lowercased()) : Substring(text)
        var parts = t.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        if maxLength > 0 && parts.count > maxLength { parts = Array(parts.prefix(maxLength)) }
        return parts
    }
}
