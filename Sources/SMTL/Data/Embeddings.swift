import Foundation

/// GloVe text format: `word v1 … vE`, one word a line, plain or gzip.
public enum PretrainedEmbeddings {
    /// Copies the vector of every vocabulary word found in the file into its embedding row and
    /// returns how many rows were set. Rows not found keep their random initial values. The word is
    /// looked up as it stands in the vocabulary (which is lowercased when the tokenizer lowercases).
    /// The vectors have `dimension` values; the table's rows `rowWidth` (at least `dimension`,
    /// default `dimension`): a vector fills its row's first `dimension` columns and the rest keep
    /// their values.
    @discardableResult
    public static func load<S: Scalar>(
        _ path: String, vocabulary: Vocabulary, into table: UnsafeMutablePointer<S>,
        dimension: Int, rowWidth: Int? = nil
    ) throws -> Int {
        let stride = rowWidth ?? dimension
        guard stride >= dimension else {
            throw InputError(
                file: path, "vectors of \(dimension) values cannot fill embedding rows of \(stride)",
                hint: "make model.embedding_dim at least model.pretrained_dim")
        }
        let bytes = try FileReader.bytes(path)
        var found = [Bool](repeating: false, count: vocabulary.count)
        var set = 0
        var values = [S](repeating: 0, count: dimension)
        for (i, line) in FileReader.lines(bytes).enumerated() {
            if line.isEmpty { continue }
            guard let space = line.firstIndex(of: 0x20) else {
                throw InputError(
                    file: path, line: i + 1, "no vector after the word",
                    hint: "expected GloVe text format: `word v1 … vN`")
            }
            let word = String(decoding: line[line.startIndex..<space], as: UTF8.self)
            guard let id = vocabulary.index[word], !found[Int(id)] else {
                // Still check the width of the first line, so a wrong file fails early.
                if i == 0 { try checkWidth(line, space, path, dimension) }
                continue
            }
            var n = 0
            var start = space + 1
            var j = start
            let end = line.endIndex
            while j <= end {
                if j == end || line[j] == 0x20 {
                    if j > start {
                        guard n < dimension else { throw widthError(path, i + 1, dimension, more: true) }
                        guard let v = Double(String(decoding: line[start..<j], as: UTF8.self)) else {
                            throw InputError(
                                file: path, line: i + 1,
                                "'\(String(decoding: line[start..<j], as: UTF8.self))' is not a number",
                                hint: "expected GloVe text format: `word v1 … vN`")
                        }
                        // A NaN or infinity would only show later, as a NaN loss blamed on the learning rate.
                        guard v.isFinite, S(v).isFinite else {
                            throw InputError(
                                file: path, line: i + 1,
                                "'\(String(decoding: line[start..<j], as: UTF8.self))' (value \(n + 1) of '\(word)') is not a finite number",
                                hint: "repair or regenerate the vectors file; every value must be finite")
                        }
                        values[n] = S(v)
                        n += 1
                    }
                    start = j + 1
                }
                j += 1
            }
            guard n == dimension else { throw widthError(path, i + 1, dimension, count: n) }
            found[Int(id)] = true
            let row = table + Int(id) * stride
            for k in 0..<dimension { row[k] = values[k] }
            set += 1
        }
        return set
    }

    /// The words a vectors file has vectors for.
    public static func words(_ path: String) throws -> Set<String> {
        let bytes = try FileReader.bytes(path)
        var out = Set<String>()
        for line in FileReader.lines(bytes) {
            guard let space = line.firstIndex(of: 0x20) else { continue }
            out.insert(String(decoding: line[line.startIndex..<space], as: UTF8.self))
        }
        return out
    }

    static func checkWidth(_ line: ArraySlice<UInt8>, _ space: Int, _ path: String, _ dimension: Int) throws {
        let n = line[(space + 1)...].split(separator: 0x20).count
        if n != dimension { throw widthError(path, 1, dimension, count: n) }
    }

    static func widthError(
        _ path: String, _ line: Int, _ dimension: Int, count: Int? = nil, more: Bool = false
    ) -> InputError {
        let has = count.map { "\($0)" } ?? "more than \(dimension)"
        return InputError(
            file: path, line: line, "vector has \(has) values but the config expects \(dimension) (model.pretrained_dim, or model.embedding_dim when that is 0)",
            hint:
                "set `model.embedding_dim` to the vectors' width (GloVe 6B 50d: 50), or keep a wider embedding_dim and "
                + "set `model.pretrained_dim` to the vectors' width (they fill that many columns of each row)"
        )
    }
}
