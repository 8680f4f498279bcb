import CZlib
import Foundation

/// Reads a whole file, plain or gzip (by its magic bytes, whatever its name), as bytes.
public enum FileReader {
    /// The hint for a data file that is not there.
    public static let dataHint = "check the path (relative paths start at the data folder, see `data_dir`)"

    /// `missingHint` says where the path should lead (a data file, a config, a checkpoint file).
    public static func bytes(_ path: String, missingHint: String = dataHint) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            var st = stat()
            if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                if stat(path, &st) != 0 && errno == ELOOP {
                    throw InputError(
                        file: path, "is a symbolic link in a loop (it leads back to itself through \(target))",
                        hint: "point the link at the real file")
                }
                throw InputError(
                    file: path, "is a symbolic link to \(target), which does not exist",
                    hint: "point the link at the real file")
            }
            throw InputError(file: path, "file not found", hint: missingHint)
        }
        if isDir.boolValue { throw InputError(file: path, "is a folder, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot be read", hint: "check its permissions")
        }
        if data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b {
            return try gunzip(path)
        }
        return [UInt8](data)
    }

    static func gunzip(_ path: String) throws -> [UInt8] {
        guard let f = gzopen(path, "rb") else { throw InputError(file: path, "cannot be opened as gzip") }
        defer { gzclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let msg = gzerror(f, &code).map { String(cString: $0) } ?? "unknown error"
                throw InputError(
                    file: path, "corrupt gzip data (\(msg))", hint: "the file is truncated or damaged; fetch it again")
            }
            if n == 0 {
                // End of data: zlib reports a truncated stream only through gzerror.
                var code: Int32 = 0
                let msg = gzerror(f, &code).map { String(cString: $0) } ?? ""
                if code != Z_OK && code != Z_STREAM_END {
                    throw InputError(
                        file: path, "corrupt or truncated gzip data (\(msg))",
                        hint: "the file is truncated or damaged; fetch it again")
                }
                break
            }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        return out
    }

    /// Splits bytes into lines (without the newline; a final `\r` is dropped too). A UTF-8 byte-order
    /// mark at the start is skipped, and a file with carriage returns but no newline (old Mac line
    /// endings) is split at the carriage returns.
    public static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let newline: UInt8 = !bytes.contains(0x0A) && bytes.contains(0x0D) ? 0x0D : 0x0A
        var result: [ArraySlice<UInt8>] = []
        for i in start..<bytes.count where bytes[i] == newline {
            var end = i
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            result.append(bytes[start..<end])
            start = i + 1
        }
        if start < bytes.count { result.append(bytes[start..<bytes.count]) }
        return result
    }
}

/// Writes an output file (a figure, a table, a converted dataset), creating its folder.
public enum FileWriter {
    public static func write(_ data: Data, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw InputError(
                file: path, "cannot be written", hint: "check the folder is writable and the disk has space")
        }
    }
}
