import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The whole FDU-MTL release: `smtl prepare fdu-mtl` converts every domain present, names them,
/// drops reviews with an empty text (and says which), and configs/fdu16-arc2.json loads the
/// result. There is no 16-domain copy in ../shared/data, so the release is a fixture.
final class FDU16Tests: MPITestCase {
    /// A fixture release: 16 domains, 210 training reviews each (200 go to dev), 5 test reviews;
    /// `apparel` has a review with an empty text on line 3 of its train file, as the release does.
    func release(_ root: String) {
        for (k, d) in Prepare.fduDomains.enumerated() {
            var train = (0..<210).map { i in
                "\(i % 2)\t\(i % 2 == 0 ? "bad" : "good") \(d.lowercased()) review \(i + k)"
            }
            if d == "apparel" { train.insert("0\t", at: 2) }
            writeFile(root, "\(d).task.train", train.joined(separator: "\n") + "\n")
            writeFile(
                root, "\(d).task.test", (0..<5).map { "\($0 % 2)\tsome review \($0)" }.joined(separator: "\n") + "\n")
        }
    }

    func testPrepareConvertsEveryDomainAndDropsEmptyTexts() throws {
        let raw = Paths.temporaryDirectory() + "/mtl-dataset", out = Paths.temporaryDirectory("fdu16out")
        try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
        release(raw)
        XCTAssertEqual(Prepare.fduMTLDomains(under: raw), Prepare.fduDomains)
        let written = try Prepare.fduMTL(input: raw, out: out)
        XCTAssertEqual(written.count, 32)
        let apparel = written.first { $0.file.hasSuffix("fdu-mtl/apparel/train.tsv") }!
        XCTAssertEqual(apparel.lines, 210)
        XCTAssertEqual(apparel.dropped, [3])
        XCTAssertEqual(written.filter { !$0.dropped.isEmpty }.count, 1)
        // Training on the raw release file still refuses the line, with its clear message.
        assertInputError([raw + "/apparel.task.train:3", "the text is empty"]) {
            _ = try LabelledFile.read(raw + "/apparel.task.train")
        }
        // The command names the domains it found and the line it dropped.
        let (status, text) = try run(Self.binary, ["prepare", "fdu-mtl", "--input", raw, "--out", out + "/cli"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("found 16 of 16 domains: apparel, baby, books"), text)
        XCTAssertTrue(
            text.contains("dropped 1 line(s) of \(raw)/apparel.task.train with an empty text: line(s) 3"), text)
        // A partial release: the domains that are there, and the ones that are not, named.
        try FileManager.default.removeItem(atPath: raw + "/video.task.train")
        let (_, partial) = try run(Self.binary, ["prepare", "fdu-mtl", "--input", raw, "--out", out + "/partial"])
        XCTAssertTrue(partial.contains("found 15 of 16 domains"), partial)
        XCTAssertTrue(partial.contains("not present: video"), partial)
    }

    /// configs/fdu16-arc2.json on the prepared fixture: 16 tasks, 1,400-style splits (200 dev held
    /// out of train, the test file as test); `smtl init` builds the model and writes a checkpoint.
    func testSixteenDomainConfigLoadsPreparedData() throws {
        let raw = Paths.temporaryDirectory() + "/mtl-dataset", data = Paths.temporaryDirectory("fdu16data")
        try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
        release(raw)
        _ = try Prepare.fduMTL(input: raw, out: data)
        // 50-d vectors for a few words (the config names GloVe 6B 50d).
        let vec = (1...50).map { String(format: "%.2f", Double($0) / 100) }.joined(separator: " ")
        try FileManager.default.createDirectory(atPath: data + "/embeddings", withIntermediateDirectories: true)
        writeFile(data, "embeddings/glove.6B.50d.restricted.txt.gz", "good \(vec)\nbad \(vec)\n")
        var config = try RunConfig.load(Paths.root + "/configs/fdu16-arc2.json")
        config.dataDir = data
        XCTAssertEqual(config.tasks.count, 16)
        let corpus = try Corpus.load(config)
        for t in corpus.tasks {
            XCTAssertEqual(t.dev.count, 200, t.name)
            XCTAssertEqual(t.train.count, 10, t.name)
            XCTAssertEqual(t.test.count, 5, t.name)
        }
        let (status, text) = try run(
            Self.binary,
            ["init", "--config", Paths.root + "/configs/fdu16-arc2.json", "--data-dir", data, "--out", data + "/run"])
        XCTAssertEqual(status, 0, text)
        XCTAssertNotNil(try Checkpoint.load(data + "/run/checkpoints/final").tensors["task.mr.local.memory0"])
    }
}
