import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

final class PrepareVectorsCommandTests: MPITestCase {
    /// `smtl prepare vectors` end to end: the file it writes loads as the model's vectors.
    func testPrepareVectorsCommand() throws {
        guard FastText.find("fasttext") != nil else {
            throw XCTSkip(
                "fastText is not installed (apt-get install fasttext; launch/install-deps --test installs it)")
        }
        let dir = Paths.temporaryDirectory()
        var c = Fixture.vectorCorpus(dir)
        c.embeddingDim = 0
        c.hiddenDim = 3; c.memoryRows = 2; c.memoryWidth = 2; c.minCount = 1
        let config = writeFile(dir, "c.json", String(decoding: c.jsonData(), as: UTF8.self))
        let out = dir + "/vectors/v.vec.gz"
        let (status, text) = try run(
            Self.binary, ["prepare", "vectors", "--config", config, "--dim", "7", "--epochs", "2", "--out", out])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("no dev or test file was read"), text)
        XCTAssertTrue(text.contains("fastText trained"), text)
        let f = try VectorFile(out)
        XCTAssertEqual(f.format, .fastTextVec)
        XCTAssertEqual(f.width, 7)
        c.embeddings = [out]
        let t = try Trainer(config: c, outDir: dir + "/run")
        XCTAssertEqual(t.config.embeddingDim, 7)
        XCTAssertGreaterThan(t.pretrainedRows, 10)
        let (bad, message) = try run(Self.binary, ["prepare", "vectors", "--out", out])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(message.contains("needs --config"), message)
    }
}
