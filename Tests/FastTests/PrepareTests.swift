import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// `smtl prepare`: each original release format, written here as a small fixture, converts to
/// the data folder's `label<TAB>text` layout; malformed input gets a message with file and line.
final class PrepareTests: XCTestCase {
    @discardableResult
    func put(_ root: String, _ rel: String, _ bytes: [UInt8]) -> String {
        let path = (root as NSString).appendingPathComponent(rel)
        try! FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
    func put(_ root: String, _ rel: String, _ text: String) { put(root, rel, Array(text.utf8)) }

    func lines(_ path: String) throws -> [String] {
        FileReader.lines(try FileReader.bytes(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    func testTreeParsing() throws {
        let (label, leaves) = try Prepare.parseTree(
            "(3 (2 It) (4 (2 's) (4 (3 good) (2 -LRB-fun-RRB-))))", file: "f", lineNumber: 1)
        XCTAssertEqual(label, 3)
        XCTAssertEqual(leaves, ["It", "'s", "good", "-LRB-fun-RRB-"])
        assertInputError(["trees.txt:7", "unbalanced"]) {
            _ = try Prepare.parseTree("(3 (2 It)", file: "trees.txt", lineNumber: 7)
        }
        assertInputError(["trees.txt:2", "label '7'"]) {
            _ = try Prepare.parseTree("(7 (2 It))", file: "trees.txt", lineNumber: 2)
        }
        assertInputError(["trees.txt:3", "two trees"]) {
            _ = try Prepare.parseTree("(1 (1 a)) (2 (2 b))", file: "trees.txt", lineNumber: 3)
        }
    }

    func testSST() throws {
        let raw = Paths.temporaryDirectory(), out = Paths.temporaryDirectory("sstout")
        put(
            raw, "trees/train.txt",
            "(4 (3 A) (4 (4 stirring) (2 ,) (3 funny)))\n(2 (2 It) (2 (2 is) (2 .)))\n"
                + "(0 (1 Bad) (0 (0 awful) (2 \\/)))\n(1 (1 Dull))\n"
        )
        put(raw, "trees/dev.txt", "(3 (3 Nice))\n")
        put(raw, "trees/test.txt", "(2 (2 Meh))\n(0 (0 Ugh))\n")
        _ = try Prepare.sst(input: raw, out: out)
        XCTAssertEqual(
            try lines(out + "/sst-1/train.tsv"), ["4\ta stirring , funny", "2\tit is .", "0\tbad awful \\/", "1\tdull"])
        XCTAssertEqual(try lines(out + "/sst-2/train.tsv"), ["1\ta stirring , funny", "0\tbad awful \\/", "0\tdull"])
        XCTAssertEqual(try lines(out + "/sst-2/dev.tsv"), ["1\tnice"])
        XCTAssertEqual(try lines(out + "/sst-2/test.tsv"), ["0\tugh"])
        // The result loads as a task.
        XCTAssertEqual(try LabelledFile.read(out + "/sst-1/test.tsv").map(\.label), [2, 0])
        put(raw, "trees/dev.txt", "(3 (3 Nice))\n(3 (3 broken)\n")
        assertInputError(["trees/dev.txt:2", "unbalanced"]) { _ = try Prepare.sst(input: raw, out: out) }
    }

    func testSubjDecodesWindows1252() throws {
        let raw = Paths.temporaryDirectory(), out = Paths.temporaryDirectory("subjout")
        // 0x85 is "…" and 0x96 is "–" in cp1252; the files are not UTF-8.
        put(
            raw, "rotten_imdb/quote.tok.gt9.5000",
            Array("a smart film".utf8) + [0x85, 0x0A] + Array("funny  and\tsharp\n".utf8))
        put(
            raw, "rotten_imdb/plot.tok.gt9.5000", Array("a man goes home ".utf8) + [0x96] + Array(" and stays .\n".utf8)
        )
        _ = try Prepare.subj(input: raw, out: out)
        XCTAssertEqual(
            try lines(out + "/subj/all.tsv"),
            ["0\ta smart film…", "0\tfunny and sharp", "1\ta man goes home – and stays ."])
    }

    func testReviewTokenizer() {
        XCTAssertEqual(
            ReviewTokenizer.tokenize("I don't think it's great, can't you see?"),
            ["I", "do", "n't", "think", "it", "'s", "great", ",", "ca", "n't", "you", "see", "?"])
        XCTAssertEqual(
            ReviewTokenizer.tokenize("The U.S. version (e.g. 7/10, 3.5 or 1,000)... well--no."),
            [
                "The", "U.S.", "version", "(", "e.g.", "7/10", ",", "3.5", "or", "1,000", ")", "...", "well", "--",
                "no", ".",
            ])
        XCTAssertEqual(
            ReviewTokenizer.tokenize("A well-made, \"must-see\" film; they're we'll I'm I'd"),
            [
                "A", "well-made", ",", "\"", "must-see", "\"", "film", ";", "they", "'re", "we", "'ll", "I", "'m", "I",
                "'d",
            ])
    }

    func testIMDB() throws {
        let raw = Paths.temporaryDirectory(), out = Paths.temporaryDirectory("imdbout")
        put(raw, "aclImdb/train/neg/10_2.txt", "Boring.<br /><br />Really boring!")
        put(raw, "aclImdb/train/neg/2_1.txt", "Awful \u{96} don't watch")  // U+0096: a mis-decoded cp1252 dash
        put(raw, "aclImdb/train/pos/0_9.txt", "Loved it. 10/10")
        put(raw, "aclImdb/test/neg/0_3.txt", "Meh")
        put(raw, "aclImdb/test/pos/0_8.txt", "Good<br/>fun")
        put(raw, "aclImdb/train/unsup/0_0.txt", "No label here")
        _ = try Prepare.imdb(input: raw, out: out)
        // Negatives by ascending id, then positives; gzip; case kept.
        XCTAssertEqual(
            try lines(out + "/imdb/train.tsv.gz"),
            ["0\tAwful – do n't watch", "0\tBoring . Really boring !", "1\tLoved it . 10/10"])
        XCTAssertEqual(try lines(out + "/imdb/test.tsv.gz"), ["0\tMeh", "1\tGood fun"])
        XCTAssertEqual(try lines(out + "/imdb/unlabeled.txt.gz"), ["No label here"])
        let gz = try Data(contentsOf: URL(fileURLWithPath: out + "/imdb/train.tsv.gz"))
        XCTAssertEqual(Array(gz.prefix(2)), [0x1f, 0x8b])
    }

    func testFDUMTL() throws {
        let raw = Paths.temporaryDirectory(), out = Paths.temporaryDirectory("fduout")
        for d in Prepare.productDomains {
            put(raw, "mtl-dataset/\(d).task.train", "1\tgreat  \(d)\n0\tbad \(d)\n")
            put(raw, "mtl-dataset/\(d).task.test", "0\tpoor\n")
            put(raw, "mtl-dataset/\(d).task.unlabel", "1\tsome text\n")
        }
        _ = try Prepare.fduMTL(input: raw, out: out)
        XCTAssertEqual(
            try lines(out + "/fdu-mtl/kitchen_housewares/train.tsv"),
            ["1\tgreat kitchen_housewares", "0\tbad kitchen_housewares"])
        XCTAssertEqual(try lines(out + "/fdu-mtl/dvd/test.tsv"), ["0\tpoor"])
        XCTAssertEqual(try lines(out + "/fdu-mtl/books/unlabeled.txt.gz"), ["some text"])
        put(raw, "mtl-dataset/books.task.train", "1\tok\nno label here\n")
        assertInputError(["books.task.train:2", "label<TAB>text"]) { _ = try Prepare.fduMTL(input: raw, out: out) }
    }

    func testBlitzer() throws {
        let raw = Paths.temporaryDirectory(), out = Paths.temporaryDirectory("blitzerout")
        let review = { (text: String) in
            "<review>\n<rating>\n5.0\n</rating>\n<review_text>\n\(text)\n</review_text>\n</review>\n"
        }
        for (d, folder) in [
            ("books", "books"), ("dvd", "dvd"), ("electronics", "electronics"),
            ("kitchen_housewares", "kitchen_&_housewares"),
        ] {
            put(raw, "sorted_data/\(folder)/positive.review", review("I LOVED this \(d)!") + review("Works fine."))
            put(raw, "sorted_data/\(folder)/negative.review", review("Didn't work &amp; broke."))
        }
        _ = try Prepare.blitzer(input: raw, out: out)
        XCTAssertEqual(
            try lines(out + "/blitzer/kitchen_housewares/all.tsv"),
            ["0\tdid n't work & broke .", "1\ti loved this kitchen_housewares !", "1\tworks fine ."])
        put(raw, "sorted_data/books/negative.review", "<review><review_text>cut off")
        assertInputError(["negative.review", "without </review_text>"]) {
            _ = try Prepare.blitzer(input: raw, out: out)
        }
    }

    func testGloveIsCutToTheData() throws {
        let out = Paths.temporaryDirectory()
        put(out, "sst-2/train.tsv", "1\tgood Movie\n0\tbad\n")
        let glove = (out as NSString).appendingPathComponent("glove.6B.3d.txt")
        put(out, "glove.6B.3d.txt", "the 1 2 3\nmovie 0.5 0.25 1\ngood -1 0 1\nunused 9 9 9\n")
        _ = try Prepare.glove(input: glove, dataDir: out)
        XCTAssertEqual(
            try lines(out + "/embeddings/glove.6B.3d.restricted.txt.gz"), ["movie 0.5 0.25 1", "good -1 0 1"])
        // The result loads as pretrained vectors.
        let vocab = Vocabulary(words: ["<unk>", "good", "movie"])
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: 9)
        buf.initialize(repeating: 0, count: 9)
        defer { buf.deallocate() }
        XCTAssertEqual(
            try PretrainedEmbeddings.load(
                out + "/embeddings/glove.6B.3d.restricted.txt.gz", vocabulary: vocab, into: buf, dimension: 3), 2)
        XCTAssertEqual(buf[6], 0.5)
        put(out, "glove.6B.3d.txt", "the 1 2 3\nmovie 0.5 0.25\n")
        assertInputError(["glove.6B.3d.txt:2", "values"]) { _ = try Prepare.glove(input: glove, dataDir: out) }
    }
}
