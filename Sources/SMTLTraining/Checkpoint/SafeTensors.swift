import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// The safetensors layout: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw little-endian data. Python's
/// `safetensors`, numpy and PyTorch read it without our code.
public enum SafeTensors {
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            let bytes = t.values.count * 4
            header[t.name] =
                ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so data starts aligned
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors {
            t.values.withUnsafeBufferPointer { p in
                // x86-64 and arm64 are little-endian, as the format requires.
                out.append(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self),
                        count: p.count * 4))
            }
        }
        return out
    }

    /// Reads every tensor; a truncated or damaged file is an error naming the file and the fault.
    public static func decode(
        _ data: Data, file: String
    ) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func bad(_ what: String) -> InputError {
            InputError(file: file, what, hint: "the checkpoint is truncated or damaged; use an earlier one")
        }
        guard data.count >= 8 else { throw bad("too short to be a safetensors file (\(data.count) bytes)") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n <= UInt64(data.count - 8) else {
            throw bad("header length \(n) runs past the end of the file (\(data.count) bytes)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let base = 8 + Int(n)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, v) in header {
            if name == "__metadata__" { metadata = v as? [String: String] ?? [:]; continue }
            guard let d = v as? [String: Any], let dtype = d["dtype"] as? String,
                let shape = d["shape"] as? [Int], let offs = d["data_offsets"] as? [Int], offs.count == 2
            else { throw bad("header entry for \(name) is malformed") }
            guard dtype == "F32" else { throw bad("tensor \(name) has dtype \(dtype); only F32 is read") }
            let count = shape.reduce(1, *)
            guard offs[0] >= 0, offs[1] - offs[0] == count * 4 else {
                throw bad("tensor \(name): byte range does not match its shape")
            }
            guard base + offs[1] <= data.count else {
                throw bad("tensor \(name) needs bytes up to \(base + offs[1]) but the file has \(data.count)")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: (base + offs[0])..<(base + offs[1]))
            }
            tensors[name] = Tensor(name: name, shape: shape, values: values)
        }
        return (tensors, metadata)
    }
}
