import Foundation
import XCTest
@testable import SMTL

/// The training choices the paper leaves open (issue 12): each changes what it should and nothing
/// else, and is off by default.
final class TrainingOptionsTests: XCTestCase {
    func dataDir() throws -> String {
        let d = Paths.sharedData
        guard FileManager.default.fileExists(atPath: d + "/sst-1/train.phrases.tsv.gz") else {
            throw XCTSkip("no ../shared/data with SST phrases beside the package")
        }
        return d
    }

    func sstConfig(_ d: String) -> RunConfig {
        var c = RunConfig()
        c.dataDir = d
        c.tasks = [
            TaskConfig(
                name: "sst1", train: "sst-1/train.tsv", dev: "sst-1/dev.tsv", test: "sst-1/test.tsv",
                phrases: "sst-1/train.phrases.tsv.gz")
        ]
        return c
    }

    /// At phrase level the phrase file is the training set; dev and test do not change. Off, the
    /// `phrases` key changes nothing.
    func testPhraseLevelReplacesOnlyTheTrainingSet() throws {
        let d = try dataDir()
        var c = sstConfig(d)
        let sentences = try Corpus.load(c)
        var plain = c
        plain.tasks[0].phrases = nil
        let withoutKey = try Corpus.load(plain)
        XCTAssertEqual(sentences.tasks[0].train.map(\.tokens), withoutKey.tasks[0].train.map(\.tokens))
        XCTAssertEqual(sentences.vocabulary.words, withoutKey.vocabulary.words)
        XCTAssertEqual(sentences.tasks[0].train.count, 8544)

        c.phraseLevel = true
        let phrases = try Corpus.load(c)
        XCTAssertEqual(phrases.tasks[0].train.count, 159_274)
        XCTAssertEqual(phrases.tasks[0].labels, [0, 1, 2, 3, 4])
        // Dev and test are the sentence files, encoded with the (phrase-built) vocabulary.
        XCTAssertEqual(phrases.tasks[0].dev.count, 1101)
        XCTAssertEqual(phrases.tasks[0].test.count, 2210)
        XCTAssertEqual(phrases.tasks[0].dev.map(\.label), sentences.tasks[0].dev.map(\.label))
        let decode = { (v: Vocabulary, xs: [EncodedExample]) in xs.map { $0.tokens.map { v.words[Int($0)] } } }
        XCTAssertEqual(
            decode(phrases.vocabulary, phrases.tasks[0].test), decode(sentences.vocabulary, sentences.tasks[0].test))
        // Every train sentence is among the phrases.
        let phraseTexts = Set(decode(phrases.vocabulary, phrases.tasks[0].train))
        let missing = decode(sentences.vocabulary, sentences.tasks[0].train).filter { !phraseTexts.contains($0) }
        XCTAssertLessThan(missing.count, 10, "train sentences missing from the phrase file: \(missing.prefix(3))")
    }

    /// A held-out dev split would leak into phrase-level training: refused with a clear message.
    func testPhraseLevelNeedsGivenDevAndTest() throws {
        let d = try dataDir()
        var c = sstConfig(d)
        c.phraseLevel = true
        c.tasks[0].dev = nil
        c.tasks[0].devSize = 500
        assertInputError(["phrase-level training needs the task's `dev` and `test` files", "sst1"]) {
            _ = try Corpus.load(c)
        }
    }

    /// The config key reads and writes back; the default is off.
    func testPhraseLevelConfigKey() throws {
        let dir = Paths.temporaryDirectory()
        let path = writeFile(
            dir, "c.json",
            #"{"training": {"phrase_level": true}, "tasks": [{"name": "a", "train": "t.tsv", "phrases": "p.tsv"}]}"#)
        let c = try RunConfig.load(path)
        XCTAssertTrue(c.phraseLevel)
        XCTAssertEqual(c.tasks[0].phrases, "p.tsv")
        XCTAssertEqual(c.trainingFile(c.tasks[0]), "p.tsv")
        XCTAssertFalse(RunConfig().phraseLevel)
        let json = c.json()
        XCTAssertEqual((json["training"] as? [String: Any])?["phrase_level"] as? Bool, true)
    }
}
