import Foundation
import SMTLData
import SMTLTraining
import TestSupport
import XCTest

/// Inputs that were once accepted in silence or read wrongly, each with a real file: every one is
/// now refused naming the file, line or key and what to do, or read as the user meant.
final class SilentInputTests: XCTestCase {
    func config(_ dir: String, top: String = #""name": "tiny""#, task: String = "") -> String {
        var lines = ""
        for i in 0..<40 { lines += "\(i % 2)\t\(i % 2 == 0 ? "good fine" : "bad poor") w\(i)\n" }
        writeFile(dir, "t.tsv", lines)
        return writeFile(
            dir, "c.json",
            "{" + top + #", "model": {"embedding_dim": 4, "hidden_dim": 4, "memory_rows": 2, "memory_width": 2},"#
                + #" "tasks": [{"name": "a", "train": "t.tsv""# + task + "}]}")
    }

    func testDuplicateKeysAreRefusedAtTheirLine() throws {
        let dir = Paths.temporaryDirectory()
        let c = writeFile(
            dir, "dup.json",
            "{\"name\": \"x\",\n \"training\": {\"steps\": 5,\n  \"steps\": 50},\n"
                + " \"tasks\": [{\"name\": \"a\", \"train\": \"t.tsv\"}]}")
        assertInputError([c + ":3", #"the key "steps" twice"#, "keep one"]) { _ = try RunConfig.load(c) }
        // The same key in two objects is two keys.
        let ok = config(dir, task: #", "dev_size": 5}, {"name": "b", "train": "t.tsv", "dev_size": 5"#)
        XCTAssertEqual(try RunConfig.load(ok).tasks.map(\.devSize), [5, 5])
    }

    func testASplitGivenTwiceIsRefused() throws {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "d.tsv", "0\tx\n1\ty\n")
        for (task, key) in [
            (#", "dev": "d.tsv", "dev_size": 4"#, "dev"), (#", "test": "d.tsv", "test_fraction": 0.3"#, "test"),
        ] {
            let c = config(dir, task: task)
            assertInputError([c, "both a `\(key)` file and `\(key)_size`/`\(key)_fraction`", "task a"]) {
                _ = try RunConfig.load(c)
            }
        }
    }

    func testRunNamesFollowTheRules() throws {
        let dir = Paths.temporaryDirectory()
        for (name, why) in [
            ("../../x", "starts with a dot"), ("runs/x", "holds '/'"), ("", "is empty"),
            (".hidden", "starts with a dot"),
            ("a b", "holds ' '"),
        ] {
            let c = config(dir, top: #""name": ""# + name + #"""#)
            assertInputError([c, "run name '\(name)' \(why)", "runs/NAME"]) { _ = try RunConfig.load(c) }
        }
        XCTAssertEqual(
            try RunConfig.load(config(dir, top: #""name": "movie-arc-ii+sst.v2_1""#)).name, "movie-arc-ii+sst.v2_1")
        // The same rule for --name (the overrides go through the file's checks).
        var c = try RunConfig.load(config(dir))
        c.name = "up/../../x"
        assertInputError(["run name 'up/../../x' holds '/'"]) { _ = try c.validated(source: "the command line") }
    }

    func testOneFileForTwoSplitsIsRefused() throws {
        let dir = Paths.temporaryDirectory()
        for (task, what) in [
            (#", "test": "t.tsv", "dev_size": 5"#, "both the train and the test file"),
            (#", "dev": "./t.tsv", "test_size": 5"#, "both the train and the dev file"),
        ] {
            var c = try RunConfig.load(config(dir, task: task))
            c.dataDir = dir
            assertInputError([dir + "/", what, "task a", "a file of its own"]) { _ = try Corpus.load(c) }
        }
        writeFile(dir, "d.tsv", "0\tx\n1\ty\n")
        var c = try RunConfig.load(config(dir, task: #", "dev": "d.tsv", "test": "d.tsv""#))
        c.dataDir = dir
        assertInputError(["d.tsv", "both the dev and the test file"]) { _ = try Corpus.load(c) }
    }

    func testAnEmptyHeldOutDevOrTestSetIsAnError() throws {
        let dir = Paths.temporaryDirectory()
        for (task, what, key) in [
            (#", "dev_fraction": 0"#, "no dev examples", "model selection needs a dev set"),
            (#", "test_fraction": 0.001"#, "no test examples", "reports test accuracy"),
        ] {
            var c = try RunConfig.load(config(dir, task: task))
            c.dataDir = dir
            assertInputError([dir + "/t.tsv", what, key, "task a"]) { _ = try Corpus.load(c) }
        }
    }

    func testDataFilesExtraColumnsByteOrderMarkAndOldMacLineEndings() throws {
        let dir = Paths.temporaryDirectory()
        let extra = writeFile(dir, "extra.tsv", "0\tgood\n1\tbad\tsource=web\n")
        assertInputError([extra + ":2", "3 tab-separated columns", "cut -f1,2"]) {
            _ = try LabelledFile.read(extra)
        }
        // A byte-order mark is skipped: the first label reads as 1.
        let bom = writeFile(dir, "bom.tsv", bytes: [0xEF, 0xBB, 0xBF] + Array("1\tgood\n0\tbad\n".utf8))
        XCTAssertEqual(try LabelledFile.read(bom).map(\.label), [1, 0])
        // Carriage returns only (old Mac files): three lines, not one.
        let mac = writeFile(dir, "mac.tsv", "1\tgood film\r0\tbad film\r1\tfine\r")
        XCTAssertEqual(try LabelledFile.read(mac).map(\.text), ["good film", "bad film", "fine"])
        XCTAssertEqual(try LabelledFile.read(mac).map(\.line), [1, 2, 3])
    }

    func testAWholeNumberTooLargeSaysSo() throws {
        let dir = Paths.temporaryDirectory()
        let c = config(dir, top: #""name": "tiny", "training": {"steps": 9.2e18}"#)
        assertInputError(["`training.steps` is too large", "at most 10^15"]) { _ = try RunConfig.load(c) }
    }

    func testDevAndTestTextsThatAreAlsoTrainingTextsAreReported() throws {
        let dir = Paths.temporaryDirectory()
        // Two of the four test texts are training texts (one with other spacing and case, as the
        // tokenizer reads it the same); dev shares none.
        writeFile(dir, "test.tsv", "0\tGood  fine w0\n1\tnew text\n1\tbad poor w1\n0\tother words\n")
        writeFile(dir, "dev.tsv", "0\tunseen\n1\tnever seen\n")
        var c = try RunConfig.load(config(dir, task: #", "dev": "dev.tsv", "test": "test.tsv""#))
        c.dataDir = dir
        let corpus = try Corpus.load(c)
        XCTAssertEqual(corpus.overlaps.map(\.split), ["test"])
        let o = try XCTUnwrap(corpus.overlaps.first)
        XCTAssertEqual([o.count, o.total, o.firstLine], [2, 4, 1])
        XCTAssertTrue(o.warning.hasPrefix("warning: task a: 2 of 4 test texts (50.0%) are also training texts"))
        XCTAssertTrue(o.warning.contains(dir + "/test.tsv:1"), o.warning)
        XCTAssertFalse(o.warning.contains("not a held-out"), "half is still reported as an overlap")
        // A test file that is a copy of train: the warning says it is not held out.
        _ = copy(dir, "t.tsv", as: "test")
        c = try RunConfig.load(config(dir, task: #", "dev": "dev.tsv", "test": "test-t.tsv""#))
        c.dataDir = dir
        let copied = try XCTUnwrap(try Corpus.load(c).overlaps.first)
        XCTAssertEqual([copied.count, copied.total], [40, 40])
        XCTAssertTrue(copied.warning.contains("this is not a held-out test set"), copied.warning)
    }
}
