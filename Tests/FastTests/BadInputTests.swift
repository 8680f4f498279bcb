import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Every error path with real bad input: the message names the file (and line), and nothing is
/// written half-way.
final class BadInputTests: XCTestCase {
    func testLineWithoutTab() {
        let dir = Paths.temporaryDirectory()
        let f = writeFile(dir, "train.tsv", "1\tgood line\n0 no tab here\n")
        assertInputError([f + ":2", "no tab"]) { _ = try LabelledFile.read(f) }
    }

    func testLabelNotANumber() {
        let dir = Paths.temporaryDirectory()
        let f = writeFile(dir, "train.tsv", "1\tok\n0\tok too\npos\ttext\n")
        assertInputError([f + ":3", "'pos'", "not a non-negative integer"]) { _ = try LabelledFile.read(f) }
        let g = writeFile(dir, "neg.tsv", "-1\ttext\n")
        assertInputError([g + ":1", "'-1'"]) { _ = try LabelledFile.read(g) }
    }

    func testInvalidUTF8() {
        let dir = Paths.temporaryDirectory()
        let f = writeFile(
            dir, "train.tsv", bytes: Array("1\tfine\n0\tbad ".utf8) + [0xFF, 0xFE] + Array(" bytes\n".utf8))
        assertInputError([f + ":2", "UTF-8"]) { _ = try LabelledFile.read(f) }
    }

    func testEmptyFileAndEmptyText() {
        let dir = Paths.temporaryDirectory()
        let f = writeFile(dir, "empty.tsv", "")
        assertInputError([f, "no examples"]) { _ = try LabelledFile.read(f) }
        let g = writeFile(dir, "blank.tsv", "1\t   \n")
        assertInputError([g + ":1", "empty"]) { _ = try LabelledFile.read(g) }
    }

    func testMissingFile() {
        let dir = Paths.temporaryDirectory()
        let missing = (dir as NSString).appendingPathComponent("nope.tsv")
        assertInputError([missing, "not found"]) { _ = try LabelledFile.read(missing) }
    }

    func testGzipFilesAreReadAndCorruptOnesRefused() throws {
        let dir = Paths.temporaryDirectory()
        let plain = writeFile(dir, "a.tsv", "1\thello world\n0\tbye\n")
        let task = Process()
        task.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        task.arguments = ["gzip", "-k", plain]
        try task.run(); task.waitUntilExit()
        let rows = try LabelledFile.read(plain + ".gz")
        XCTAssertEqual(rows.map(\.label), [1, 0])
        XCTAssertEqual(rows[0].text, "hello world")
        let bytes = [UInt8](FileManager.default.contents(atPath: plain + ".gz")!)
        let cut = writeFile(dir, "cut.tsv.gz", bytes: Array(bytes.prefix(bytes.count / 2)))
        assertInputError([cut, "truncated"]) { _ = try LabelledFile.read(cut) }
    }

    func testUnknownConfigKey() {
        let dir = Paths.temporaryDirectory()
        let f = writeFile(
            dir, "c.json", #"{"tasks": [{"name": "a", "train": "a.tsv"}], "training": {"learning_rat": 0.1}}"#)
        assertInputError([f, "unknown key `training.learning_rat`", "learning_rate"]) { _ = try RunConfig.load(f) }
        let g = writeFile(dir, "d.json", #"{"tasks": [{"name": "a", "train": "a.tsv", "dve": "x"}]}"#)
        assertInputError([g, "unknown key `tasks[0].dve`"]) { _ = try RunConfig.load(g) }
        let h = writeFile(dir, "e.json", #"{"tasks": [{"name": "a", "train": "a.tsv"}], "architecture": "arc-3"}"#)
        assertInputError([h, "arc-3", "arc-ii"]) { _ = try RunConfig.load(h) }
        let i = writeFile(
            dir, "f.json", #"{"tasks": [{"name": "a", "train": "a.tsv"}], "training": {"batch_size": true}}"#)
        assertInputError([i, "batch_size", "number"]) { _ = try RunConfig.load(i) }
        let j = writeFile(dir, "g.json", #"{"tasks": [ }"#)
        assertInputError([j, "not valid JSON"]) { _ = try RunConfig.load(j) }
    }

    /// A run whose data is bad fails before it writes anything.
    func testBadDataWritesNothing() {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "good.tsv", "1\ta b c\n0\td e\n")
        let bad = writeFile(dir, "bad.tsv", "1\ta b c\n0\td e\nx\tf\n")
        var c = RunConfig()
        c.dataDir = dir
        c.architecture = .arc2
        c.embeddingDim = 4; c.hiddenDim = 4; c.memoryRows = 2; c.memoryWidth = 2
        c.tasks = [
            TaskConfig(
                name: "good", train: "good.tsv", dev: copy(dir, "good.tsv", as: "dev"),
                test: copy(dir, "good.tsv", as: "test")),
            TaskConfig(
                name: "bad", train: "bad.tsv", dev: copy(dir, "good.tsv", as: "dev"),
                test: copy(dir, "good.tsv", as: "test")),
        ]
        let out = (dir as NSString).appendingPathComponent("out")
        assertInputError([bad + ":3", "task bad"]) { _ = try Trainer(config: c, outDir: out) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// A one-task config on a two-line train file, with 3-value vectors for "movie" and "good"
    /// (`vectors`) written beside it; `embeddings` is left unset.
    func tinyVectorsRun(embeddingDim: Int, vectors: String) -> (dir: String, vec: String, config: RunConfig) {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "t.tsv", "1\tgood movie\n0\tbad movie\n")
        let vec = writeFile(dir, "vec.txt", vectors)
        var c = RunConfig()
        c.dataDir = dir
        c.embeddingDim = embeddingDim; c.hiddenDim = 3; c.memoryRows = 2; c.memoryWidth = 2
        c.tasks = [
            TaskConfig(
                name: "t", train: "t.tsv", dev: copy(dir, "t.tsv", as: "dev"), test: copy(dir, "t.tsv", as: "test"))
        ]
        return (dir, vec, c)
    }

    func testEmbeddingWidthMismatch() throws {
        var (dir, vec, c) = tinyVectorsRun(embeddingDim: 4, vectors: "movie 0.1 0.2 0.3\ngood 0.1 0.2 0.3\n")
        c.embeddings = ["vec.txt"]
        assertInputError([vec + ":1", "3 values", "embedding_dim"]) { _ = try Trainer(config: c, outDir: dir + "/out") }
        c.embeddingDim = 3
        let t = try Trainer(config: c, outDir: dir + "/out")
        XCTAssertEqual(t.pretrainedRows, 2)
        let id = Int(t.corpus.vocabulary.index["good"]!)
        XCTAssertEqual(t.model.shared.array("embedding.weight")[(id * 3)..<(id * 3 + 3)].map { $0 }, [0.1, 0.2, 0.3])
    }

    /// `model.pretrained_dim`: 3-value vectors fill the first 3 columns of 5-wide rows; every other
    /// value (the rest of those rows, the rows of words without a vector, every other tensor) is
    /// the random initial value the same seed gives without vectors. A width that matches neither
    /// is refused, and so is pretrained_dim above embedding_dim (in a config file and in code).
    func testPretrainedDimFillsTheFirstColumns() throws {
        var (dir, vec, c) = tinyVectorsRun(embeddingDim: 5, vectors: "movie 0.1 0.2 0.3\ngood 0.4 0.5 0.6\n")
        let plain = try Trainer(config: c, outDir: dir + "/plain")
        c.embeddings = ["vec.txt"]
        assertInputError([vec + ":1", "3 values", "expects 5", "pretrained_dim"]) {
            _ = try Trainer(config: c, outDir: dir + "/out")
        }
        c.pretrainedDim = 3
        let t = try Trainer(config: c, outDir: dir + "/out")
        XCTAssertEqual(t.pretrainedRows, 2)
        let before = plain.model.shared.array("embedding.weight")
        let after = t.model.shared.array("embedding.weight")
        XCTAssertEqual(before.count, after.count)
        let vectors: [String: [Float]] = ["movie": [0.1, 0.2, 0.3], "good": [0.4, 0.5, 0.6]]
        for (word, id32) in t.corpus.vocabulary.index {
            let id = Int(id32)
            let row = Array(after[(id * 5)..<(id * 5 + 5)]), old = Array(before[(id * 5)..<(id * 5 + 5)])
            if let v = vectors[word] {
                XCTAssertEqual(Array(row[0..<3]), v, word)
                XCTAssertEqual(Array(row[3..<5]), Array(old[3..<5]), word)
            } else {
                XCTAssertEqual(row, old, word)
            }
        }
        for (a, b) in zip(plain.model.parameterSets, t.model.parameterSets) {
            for e in a.layout.entries where e.name != "embedding.weight" {
                XCTAssertEqual(a.array(e.name), b.array(e.name), e.name)
            }
        }
        // pretrained_dim equal to embedding_dim is the default (0) exactly.
        c.embeddingDim = 3; c.pretrainedDim = 0
        let zero = try Trainer(config: c, outDir: dir + "/zero").model.shared.array("embedding.weight")
        c.pretrainedDim = 3
        XCTAssertEqual(try Trainer(config: c, outDir: dir + "/three").model.shared.array("embedding.weight"), zero)
        // Above embedding_dim: refused, built in code or read from a file.
        c.pretrainedDim = 4
        assertInputError(["cannot fill embedding rows of 3", "pretrained_dim"]) {
            _ = try Trainer(config: c, outDir: dir + "/x")
        }
        var json = c.json()
        json["data_dir"] = dir
        let file = writeFile(
            dir, "c.json", String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
        assertInputError([file, "pretrained_dim 4 is above model.embedding_dim 3"]) { _ = try RunConfig.load(file) }
    }

    func testTruncatedAndDamagedCheckpoint() throws {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "t.tsv", "1\tgood movie\n0\tbad movie\n1\tfine\n")
        var c = RunConfig()
        c.dataDir = dir
        c.embeddingDim = 3; c.hiddenDim = 3; c.memoryRows = 2; c.memoryWidth = 2
        c.tasks = [
            TaskConfig(
                name: "t", train: "t.tsv", dev: copy(dir, "t.tsv", as: "dev"), test: copy(dir, "t.tsv", as: "test"))
        ]
        let t = try Trainer(config: c, outDir: dir + "/out")
        let ck = try t.save("final")
        XCTAssertNoThrow(try Checkpoint.model(from: try Checkpoint.load(ck)))
        // No temporary folder is left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/out/checkpoints")
        XCTAssertEqual(names, ["final"])
        let model = ck + "/model.safetensors"
        let bytes = try FileReader.bytes(model)
        writeFile(ck, "model.safetensors", bytes: Array(bytes.prefix(bytes.count - 10)))
        // The checkpoint's checksums find the damage first …
        assertInputError([model, "does not match its checksum", "\(bytes.count - 10) bytes"]) {
            _ = try Checkpoint.load(ck)
        }
        // … and without them (a checkpoint from before checksums), the reader's own checks do.
        try FileManager.default.removeItem(atPath: ck + "/" + Checkpoint.checksumFile)
        assertInputError([model, "truncated"]) { _ = try Checkpoint.load(ck) }
        writeFile(ck, "model.safetensors", bytes: Array(bytes.prefix(5)))
        assertInputError([model, "too short"]) { _ = try Checkpoint.load(ck) }
        writeFile(ck, "model.safetensors", bytes: [200, 0, 0, 0, 0, 0, 0, 0] + Array(repeating: 0x20, count: 20))
        assertInputError([model, "header length"]) { _ = try Checkpoint.load(ck) }
        try FileManager.default.removeItem(atPath: ck + "/vocab.txt")
        assertInputError([ck + "/vocab.txt", "not found"]) { _ = try Checkpoint.load(ck) }
    }
}
