import Foundation
import TestSupport
import XCTest

/// The project's format, checked: the formatter's lint finds nothing (`.swift-format`, 120
/// columns), no Swift line is over 120 columns (string literals and comments, which the formatter
/// does not break, included), and no comment narrates history by issue number.
final class FormatTests: MPITestCase {
    func testFormatterFindsNothing() throws {
        let (status, out) = try run(
            "/usr/bin/env",
            [
                "swift", "format", "lint", "--strict", "--configuration", Paths.root + "/.swift-format", "-r",
                Paths.root + "/Sources", Paths.root + "/Tests", Paths.root + "/Package.swift",
            ])
        XCTAssertEqual(
            status, 0, "run `swift format format --configuration .swift-format -i -r Sources Tests`:\n\(out)")
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "", out)
    }

    func testLinesAndComments() throws {
        var long: [String] = [], history: [String] = [], files = 0
        let issue = try NSRegularExpression(pattern: #"//.*\bissues? #?[0-9]+"#, options: [.caseInsensitive])
        for folder in ["Sources", "Tests"] {
            let base = Paths.root + "/" + folder
            guard let all = FileManager.default.enumerator(atPath: base) else { continue }
            for case let file as String in all where file.hasSuffix(".swift") {
                files += 1
                let text = try String(contentsOfFile: base + "/" + file, encoding: .utf8)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let where_ = "\(folder)/\(file):\(n + 1)"
                    if line.count > 120 { long.append("\(where_) (\(line.count) columns)") }
                    let s = String(line)
                    if issue.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil { history.append(where_) }
                }
            }
        }
        XCTAssertGreaterThan(files, 50, "the Swift files were found")
        XCTAssertEqual(long, [], "lines over 120 columns")
        XCTAssertEqual(history, [], "comments that cite issues: the history belongs in the commit messages")
    }
}
