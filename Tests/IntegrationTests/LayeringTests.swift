import Foundation
import XCTest
import TestSupport

/// The layers of docs/architecture.md as the compiler sees them: every `import` of a module of this
/// package names a dependency its target declares in Package.swift (SwiftPM refuses cycles, so the
/// declared edges are one-way), and the library's targets depend only on the layers below them.
final class LayeringTests: MPITestCase {
    /// The library's layers, bottom up (the order docs/architecture.md draws).
    static let layers = ["SMTLSupport", "SMTLModel", "SMTLData", "SMTLDistribution", "SMTLTraining", "SMTLStudy"]

    func testEveryImportIsADeclaredDependencyAndLayersPointDown() throws {
        let scratch = Paths.temporaryDirectory()
        // Its own scratch folder: the test run holds the lock of .build.
        let (status, json) = try run(
            "/usr/bin/env",
            ["swift", "package", "--package-path", Paths.root, "--scratch-path", scratch, "dump-package"])
        XCTAssertEqual(status, 0, json)
        let start = json.firstIndex(of: "{") ?? json.startIndex
        let package = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json[start...].utf8)) as? [String: Any])
        let targets = try XCTUnwrap(package["targets"] as? [[String: Any]])
        let names = Set(targets.compactMap { $0["name"] as? String })
        var checked = 0
        for target in targets {
            let name = target["name"] as! String
            let deps = Set(
                (target["dependencies"] as? [[String: Any]] ?? []).compactMap { d in
                    d.values.compactMap { ($0 as? [Any])?.first as? String }.first
                })
            if let level = Self.layers.firstIndex(of: name) {
                for d in deps where Self.layers.contains(d) {
                    XCTAssertLessThan(
                        Self.layers.firstIndex(of: d)!, level, "\(name) depends on \(d), a layer above or beside it")
                }
            }
            let type = target["type"] as? String
            let path =
                Paths.root + "/" + ((target["path"] as? String) ?? (type == "test" ? "Tests/" : "Sources/") + name)
            guard let files = FileManager.default.enumerator(atPath: path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: path + "/" + file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    guard let i = words.firstIndex(of: "import"), i + 1 < words.count, i == 0 || words[0] == "@testable"
                    else { continue }
                    let module = words[i + 1]
                    guard names.contains(module), module != name else { continue }
                    XCTAssertTrue(
                        deps.contains(module),
                        "\(name)/\(file) imports \(module), which \(name) does not declare in Package.swift")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 100, "the imports were not found")
    }
}
