/// The set of embedding rows a step touched, kept as a flag array plus a list so that clearing
/// and the sparse update cost only the touched rows.
public final class SparseRows {
    public private(set) var flags: [Bool]
    public private(set) var rows: [Int32] = []
    public init(count: Int) { flags = [Bool](repeating: false, count: count) }
    @inline(__always) public func mark(_ r: Int) {
        if !flags[r] { flags[r] = true; rows.append(Int32(r)) }
    }
    /// Adds every row flagged in `other` (one byte a row): the union over ranks.
    public func merge(_ other: [UInt8]) {
        for r in 0..<min(other.count, flags.count) where other[r] != 0 { mark(r) }
    }
    /// One byte a row, 1 where touched.
    public func bytes() -> [UInt8] { flags.map { $0 ? 1 : 0 } }
    public func clear() {
        for r in rows { flags[Int(r)] = false }
        rows.removeAll(keepingCapacity: true)
    }
}
