import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

final class VocabularyTests: XCTestCase {
    /// Ids: <unk> first, then train words by count; `extend_with_pretrained` adds every word of
    /// any split that has a vector, whatever its count; other rare words stay <unk>.
    func testVocabularyAndPretrainedExtension() throws {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "train.tsv", "1\tGood good film zzq\n0\tbad film\n")
        writeFile(dir, "test.tsv", "1\tgreat film\n0\tawful qqz\n")
        writeFile(dir, "vec.txt", "great 1 2\nbad 3 4\nawful 5 6\nfilm 7 8\n")
        var c = RunConfig()
        c.dataDir = dir
        c.minCount = 2
        c.embeddingDim = 2
        c.tasks = [TaskConfig(name: "t", train: "train.tsv", dev: copy(dir, "test.tsv", as: "dev"), test: "test.tsv")]
        let plain = try Corpus.load(c)
        XCTAssertEqual(plain.vocabulary.words, ["<unk>", "film", "good"])
        XCTAssertEqual(plain.tasks[0].test[0].tokens, [0, 1])  // "great" is unknown
        c.embeddings = ["vec.txt"]
        c.extendWithPretrained = true
        let ext = try Corpus.load(c)
        // dev and test are the same file here, so "awful" and "great" count twice, "bad" once.
        XCTAssertEqual(ext.vocabulary.words, ["<unk>", "film", "good", "awful", "great", "bad"])
        XCTAssertEqual(ext.tasks[0].test[1].tokens, [3, 0])  // "qqz" has no vector
    }
}
