import Foundation
import XCTest
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLStudy
import SMTLSupport
import SMTLTraining

/// The package root and the shared data folder beside it.
public enum Paths {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    public static var sharedData: String { (root as NSString).appendingPathComponent("../shared/data") }

    public static func temporaryDirectory(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("smtl-test-\(safe)-\(getpid())")
        try? FileManager.default.removeItem(atPath: dir)
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Writes `text` (or raw bytes) to a file in `dir` and returns its path.
@discardableResult
public func writeFile(_ dir: String, _ name: String, _ text: String) -> String {
    let p = (dir as NSString).appendingPathComponent(name)
    FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
}

@discardableResult
public func writeFile(_ dir: String, _ name: String, bytes: [UInt8]) -> String {
    let p = (dir as NSString).appendingPathComponent(name)
    FileManager.default.createFile(atPath: p, contents: Data(bytes))
    return p
}

/// Asserts that `body` throws an InputError whose message contains every fragment.
public func assertInputError(
    _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
    do {
        try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch let e as InputError {
        let text = e.description
        for f in fragments {
            XCTAssertTrue(text.contains(f), "'\(text)' does not contain '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected an InputError, got \(error)", file: file, line: line)
    }
}

/// Copies `file` in `dir` to `<split>-<file>` and returns the copy's name: the same text for two
/// splits of a task, as the separate files smtl requires (it refuses one file for two splits).
public func copy(_ dir: String, _ file: String, as split: String) -> String {
    let name = "\(split)-\(file)"
    let from = (dir as NSString).appendingPathComponent(file), to = (dir as NSString).appendingPathComponent(name)
    try? FileManager.default.removeItem(atPath: to)
    try! FileManager.default.copyItem(atPath: from, toPath: to)
    return name
}
