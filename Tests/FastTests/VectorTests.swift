import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// Pretrained vectors: every format read from a real file, each error, joined files, and in-domain
/// vectors trained by fastText (reproducible, and never from a test file).
final class VectorTests: XCTestCase {
    func row(_ f: VectorFile, _ word: String) throws -> [Float]? {
        var v = [Float](repeating: .nan, count: f.width)
        let found = try v.withUnsafeMutableBufferPointer { try f.vector(of: word, into: $0.baseAddress!) }
        return found ? v : nil
    }

    // MARK: Formats

    /// The GloVe file of the shared data: its layout, its size and its first line's values.
    func testTheSharedGloveFile() throws {
        let path = Paths.sharedData + "/embeddings/glove.6B.50d.restricted.txt.gz"
        let f = try VectorFile(path)
        XCTAssertEqual(f.format, .glove)
        XCTAssertEqual(f.width, 50)
        XCTAssertEqual(f.count, 112_510)
        XCTAssertEqual(f.duplicates, 0)
        let first = String(decoding: FileReader.lines(try FileReader.bytes(path))[0], as: UTF8.self).split(
            separator: " ")
        XCTAssertEqual(String(first[0]), "the")
        XCTAssertEqual(try row(f, "the"), first.dropFirst().map { Float(Double(String($0))!) })
        XCTAssertNil(try row(f, "no-such-word-here"))
    }

    func testWord2vecBinaryWithAndWithoutNewlines() throws {
        let dir = Paths.temporaryDirectory()
        let vectors: [(String, [Float])] = [("good", [0.5, -1.25, 3e-8]), ("bad", [1, 2, -0.0]), ("ünï", [7, 8, 9])]
        for newline in [true, false] {
            let p = writeFile(dir, "v\(newline).bin", bytes: Fixture.word2vecBinary(vectors, newline: newline))
            let f = try VectorFile(p)
            XCTAssertEqual(f.format, .word2vecBinary)
            XCTAssertEqual(f.width, 3)
            XCTAssertEqual(f.count, 3)
            for (w, v) in vectors { XCTAssertEqual(try row(f, w), v, w) }
        }
        // Gzip-compressed binary reads the same (FileReader tells gzip by its magic bytes).
        let gz = dir + "/v.bin.gz"
        let plain = writeFile(dir, "plain.bin", bytes: Fixture.word2vecBinary(vectors))
        XCTAssertEqual(system("gzip -c '\(plain)' > '\(gz)'"), 0)
        XCTAssertEqual(try row(try VectorFile(gz), "bad"), [1, 2, 0])
    }

    func testWord2vecTextAndFastTextVec() throws {
        let dir = Paths.temporaryDirectory()
        let w2v = try VectorFile(writeFile(dir, "w.txt", "2 3\ngood 0.1 0.2 0.3\nbad -1 -2 -3\n"))
        XCTAssertEqual(w2v.format, .word2vecText)
        XCTAssertEqual(try row(w2v, "bad"), [-1, -2, -3])
        let vec = try VectorFile(writeFile(dir, "f.vec", "2 3\ngood 0.1 0.2 0.3 \nbad -1 -2 -3 \n"))
        XCTAssertEqual(vec.format, .fastTextVec)
        XCTAssertEqual(try row(vec, "good"), [0.1, 0.2, 0.3])
        let glove = try VectorFile(writeFile(dir, "g.txt", "good 0.1 0.2 0.3\nbad -1 -2 -3\n"))
        XCTAssertEqual(glove.format, .glove)
        XCTAssertEqual(try row(glove, "good"), try row(w2v, "good"))
    }

    /// fastText's own output, written by the real program.
    func testFastTextsOwnOutput() throws {
        guard FastText.find("fasttext") != nil else {
            throw XCTSkip(
                "fastText is not installed (apt-get install fasttext; launch/install-deps --test installs it)")
        }
        var s = FastText.Settings()
        s.dim = 8
        s.epochs = 2
        let lines = (0..<200).map { i in
            "the film was \(i % 2 == 0 ? "good" : "bad") and the plot was thin number\(i % 7)"
        }
        let vec = try FastText.train(lines, settings: s)
        let dir = Paths.temporaryDirectory()
        let f = try VectorFile(writeFile(dir, "ft.vec", bytes: vec))
        XCTAssertEqual(f.format, .fastTextVec)
        XCTAssertEqual(f.width, 8)
        XCTAssertFalse(f.contains("</s>"), "fastText's end-of-line token is dropped")
        XCTAssertTrue(f.contains("film") && f.contains("number3"))
        XCTAssertEqual(f.count, Set(lines.flatMap { $0.split(separator: " ").map(String.init) }).count)
    }

    // MARK: Errors

    func testErrorsNameTheFormatAndWhatToDo() throws {
        let dir = Paths.temporaryDirectory()
        // An empty file, and a header with no vector.
        let empty = writeFile(dir, "empty.vec", "")
        assertInputError([empty, "holds no vectors", "GloVe text, word2vec text and binary"]) {
            _ = try VectorFile(empty)
        }
        let none = writeFile(dir, "none.vec", "0 50\n")
        assertInputError([none, "holds no vectors"]) { _ = try VectorFile(none) }
        // Not a vectors file at all: a labelled data file.
        let tsv = writeFile(dir, "train.tsv", "1\tgood movie\n")
        assertInputError([tsv + ":1", "is not a number", "GloVe text"]) { _ = try VectorFile(tsv) }
        // A truncated word2vec file: the header counts more vectors than there are.
        let cut = writeFile(dir, "cut.vec", "3 2\na 1 2 \nb 3 4 \n")
        assertInputError([cut + ":1", "header says 3 vectors but the file holds 2"]) { _ = try VectorFile(cut) }
        let cutBinary = Array(Fixture.word2vecBinary([("a", [1, 2]), ("b", [3, 4])]).dropLast(3))
        let cb = writeFile(dir, "cut.bin", bytes: cutBinary)
        assertInputError([cb, "word2vec binary record 2", "cut short"]) { _ = try VectorFile(cb) }
        // A line whose width differs from the file's.
        let ragged = writeFile(dir, "ragged.txt", "a 1 2 3\nb 1 2\n")
        assertInputError([ragged + ":2", "2 values", "GloVe text file gives 3"]) {
            _ = try self.row(try VectorFile(ragged), "b")
        }
        // A width that does not fit the config: the format and both widths are named.
        let w2v = writeFile(dir, "w.txt", "1 3\ngood 0.1 0.2 0.3\n")
        assertInputError([w2v, "word2vec text vectors have 3 values", "expects 4", "embedding_dim"]) {
            _ = try PretrainedEmbeddings.open([w2v], dimension: 4)
        }
        // Joined: the sum, and each file's format and width.
        let bin = writeFile(dir, "v.bin", bytes: Fixture.word2vecBinary([("good", [1, 2])]))
        assertInputError([
            "joined vectors have 5 values", "w.txt: word2vec text, 3 values", "v.bin: word2vec binary, 2 values",
            "expects 6",
        ]) {
            _ = try PretrainedEmbeddings.open([w2v, bin], dimension: 6)
        }
        // A non-finite value.
        let nan = writeFile(dir, "nan.txt", "good 0.1 nan 0.3\n")
        assertInputError([nan + ":1", "not a finite number"]) { _ = try VectorFile(nan) }
    }

    /// A repeated word keeps its first vector; the count is reported and the banner warns.
    func testDuplicateWordsKeepTheFirstVector() throws {
        let dir = Paths.temporaryDirectory()
        let p = writeFile(dir, "d.txt", "good 1 2\nbad 3 4\ngood 5 6\ngood 7 8\n")
        let f = try VectorFile(p)
        XCTAssertEqual(f.duplicates, 2)
        XCTAssertEqual(f.firstDuplicate?.word, "good")
        XCTAssertEqual(f.firstDuplicate?.line, 3)
        XCTAssertEqual(try row(f, "good"), [1, 2])
        let b = try VectorFile(writeFile(dir, "d.bin", bytes: Fixture.word2vecBinary([("x", [1]), ("x", [2])])))
        XCTAssertEqual(b.duplicates, 1)
        XCTAssertEqual(try row(b, "x"), [1])
        let vocab = Vocabulary(words: ["<unk>", "good", "bad"])
        var table = [Float](repeating: 0, count: 6)
        let report = try table.withUnsafeMutableBufferPointer {
            try PretrainedEmbeddings.load([p], vocabulary: vocab, into: $0.baseAddress!, dimension: 2)
        }
        XCTAssertEqual(report.files[0].duplicates, 2)
        XCTAssertTrue(report.description.contains("2 repeated words ignored"), report.description)
        XCTAssertEqual(table, [0, 0, 1, 2, 3, 4])
    }

    // MARK: Joined files

    /// A word's row is the concatenation of its rows in the files, in order; a word missing from
    /// one file keeps that file's columns at the initial values a run without vectors has.
    func testJoinedRowsAreTheConcatenation() throws {
        let dir = Paths.temporaryDirectory()
        writeFile(dir, "t.tsv", "1\tgood movie\n0\tbad movie\n1\tgood plot\n")
        writeFile(dir, "a.txt", "movie 0.1 0.2\ngood 0.3 0.4\nplot 0.5 0.6\n")
        writeFile(
            dir, "b.bin",
            bytes: Fixture.word2vecBinary([("good", [1, 2, 3]), ("bad", [4, 5, 6]), ("movie", [7, 8, 9])]))
        var c = RunConfig()
        c.dataDir = dir
        c.embeddingDim = 0
        c.hiddenDim = 3; c.memoryRows = 2; c.memoryWidth = 2
        c.tasks = [
            TaskConfig(
                name: "t", train: "t.tsv", dev: copy(dir, "t.tsv", as: "dev"), test: copy(dir, "t.tsv", as: "test"))
        ]
        var plainConfig = c
        plainConfig.embeddingDim = 5
        let plain = try Trainer(config: plainConfig, outDir: dir + "/plain").model.shared.array("embedding.weight")
        c.embeddings = ["a.txt", "b.bin"]
        // embedding_dim 0 takes the sum of the widths.
        XCTAssertEqual(try c.resolvingVectorWidth(source: "test").embeddingDim, 5)
        let t = try Trainer(config: c, outDir: dir + "/joined")
        XCTAssertEqual(t.config.embeddingDim, 5)
        XCTAssertEqual(t.pretrainedRows, 4)
        XCTAssertEqual(t.vectors?.files.map(\.rows), [3, 3])
        let table = t.model.shared.array("embedding.weight")
        let a: [String: [Float]] = ["movie": [0.1, 0.2], "good": [0.3, 0.4], "plot": [0.5, 0.6]]
        let b: [String: [Float]] = ["good": [1, 2, 3], "bad": [4, 5, 6], "movie": [7, 8, 9]]
        for (word, id32) in t.corpus.vocabulary.index {
            let id = Int(id32)
            let got = Array(table[(id * 5)..<(id * 5 + 5)]), initial = Array(plain[(id * 5)..<(id * 5 + 5)])
            XCTAssertEqual(Array(got[0..<2]), a[word] ?? Array(initial[0..<2]), word)
            XCTAssertEqual(Array(got[2..<5]), b[word] ?? Array(initial[2..<5]), word)
        }
        XCTAssertNil(a["bad"], "bad is the word missing from the first file")
        XCTAssertNil(b["plot"], "plot is the word missing from the second file")
        // A fixed embedding_dim must be the sum.
        c.embeddingDim = 4
        assertInputError(["joined vectors have 5 values", "expects 4"]) {
            _ = try Trainer(config: c, outDir: dir + "/x")
        }
    }

    /// `embeddings` as one string or a list in a config file; written back as it was given.
    func testConfigTakesOneFileOrAList() throws {
        let dir = Paths.temporaryDirectory()
        func config(_ embeddings: String) -> String {
            writeFile(
                dir, "c.json",
                #"{"embeddings": \#(embeddings), "model": {"embedding_dim": 0},"#
                    + #" "tasks": [{"name": "t", "train": "t.tsv"}]}"#
            )
        }
        let one = try RunConfig.load(config(#""a.vec""#))
        XCTAssertEqual(one.embeddings, ["a.vec"])
        XCTAssertEqual(one.json()["embeddings"] as? String, "a.vec")
        let two = try RunConfig.load(config(#"["a.vec", "b.bin"]"#))
        XCTAssertEqual(two.embeddings, ["a.vec", "b.bin"])
        XCTAssertEqual(two.json()["embeddings"] as? [String], ["a.vec", "b.bin"])
        for bad in [#"[]"#, #""""#, #"[1]"#, #"["a", ""]"#] {
            let p = config(bad)
            assertInputError([p, "`embeddings` must be a file name or a list of file names"]) {
                _ = try RunConfig.load(p)
            }
        }
        var none = RunConfig()
        none.embeddingDim = 0
        assertInputError(["embedding_dim` is 0", "names no `embeddings`"]) {
            _ = try none.resolvingVectorWidth(source: "x")
        }
    }

    /// The gradient of a model whose E = 100 embedding was built from two 50-wide files (GloVe text
    /// and word2vec binary), by finite differences in double precision, over every tensor.
    func testGradientCheckWithJoinedHundredWideEmbedding() throws {
        let dir = Paths.temporaryDirectory()
        var rng = SplitMix64(seed: 9)
        let words = ["<unk>", "w1", "w2", "w3", "w4", "w5", "w6"]
        func values() -> [Float] { (0..<50).map { _ in Float(rng.uniform(-0.6, 0.6)) } }
        let glove = words.dropFirst().prefix(4).map { ($0, values()) }  // w1…w4
        let binary = words.dropFirst(3).map { ($0, values()) }  // w3…w6
        let g = writeFile(
            dir, "g.txt", glove.map { w, v in ([w] + v.map { "\($0)" }).joined(separator: " ") + "\n" }.joined())
        let b = writeFile(dir, "b.bin", bytes: Fixture.word2vecBinary(binary))
        let dims = Dimensions(embedding: 100, hidden: 3, memoryRows: 2, memoryWidth: 2, vocabulary: words.count)
        let model = Model<Double>(
            architecture: .arc2, dims: dims, tasks: [TaskSpec(name: "a", classes: 2), TaskSpec(name: "b", classes: 3)])
        for set in model.parameterSets { set.initializeUniform(seed: 7, scale: 0.6) }
        let report = try PretrainedEmbeddings.load(
            [g, b], vocabulary: Vocabulary(words: words), into: model.shared.value("embedding.weight"), dimension: 100)
        XCTAssertEqual(report.rows, 6)
        let table = model.shared.array("embedding.weight")
        XCTAssertEqual(table[(3 * 100)..<(3 * 100 + 50)].map { Float($0) }, glove[2].1)  // w3: both files
        XCTAssertEqual(table[(3 * 100 + 50)..<(3 * 100 + 100)].map { Float($0) }, binary[0].1)
        let batches = [
            Batch(sequences: [[1, 3, 3], [6], [2, 5, 4, 1]], labels: [0, 1, 1]),
            Batch(sequences: [[4, 4], [5, 1, 2]], labels: [2, 0]),
        ]
        func loss() -> Double { model.losses(batches).reduce(0, +) }
        model.clearGradients()
        model.accumulateGradients(batches)
        GradientSync(model: model).reduceSharedGradients()
        let analytic = model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.grads, count: $0.count)) }
        var worst = 0.0, checked = 0
        for (set, grads) in zip(model.parameterSets, analytic) {
            for i in 0..<set.count {
                let w = set.values[i], h = 1e-3
                func at(_ v: Double) -> Double { set.values[i] = v; return loss() }
                let numeric =
                    (at(w + 3 * h) - 9 * at(w + 2 * h) + 45 * at(w + h) - 45 * at(w - h) + 9 * at(w - 2 * h)
                        - at(w - 3 * h))
                    / (60 * h)
                set.values[i] = w
                worst = max(worst, abs(grads[i] - numeric) / max(abs(grads[i]), abs(numeric), 1e-6))
                checked += 1
            }
        }
        print("gradient check arc-ii E=100 from two vector files: \(checked) parameters, worst relative error \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-6)
    }

    // MARK: In-domain vectors

    /// The corpus holds the training texts after the hold-outs and the unlabelled ones, tokenized
    /// and lowercased as the model sees them, and nothing of any dev or test split.
    func testCorpusLeavesOutEveryDevAndTestText() throws {
        let dir = Paths.temporaryDirectory()
        let c = Fixture.vectorCorpus(dir)
        let corpus = try VectorCorpus(config: c)
        let data = try Corpus.load(c)
        let vocab = data.vocabulary
        func text(_ e: EncodedExample) -> String { e.tokens.map { vocab.words[Int($0)] }.joined(separator: " ") }
        let lines = Set(corpus.lines)
        XCTAssertEqual(corpus.parts.map(\.texts), [50, 40, 40])
        for t in data.tasks {
            for e in t.train { XCTAssertTrue(lines.contains(text(e)), text(e)) }
            for e in t.dev + t.test { XCTAssertFalse(lines.contains(text(e)), "\(t.name): \(text(e))") }
        }
        XCTAssertTrue(corpus.lines.contains { $0.hasSuffix(" is good") }, "lowercased as the tokenizer does")
        XCTAssertFalse(corpus.lines.contains { $0.contains("Good") })
        XCTAssertFalse(corpus.lines.contains { $0.contains("testonly") })
        // The test file is not even opened: the corpus is the same without it.
        try FileManager.default.removeItem(atPath: dir + "/a/test.tsv")
        XCTAssertEqual(try VectorCorpus(config: c).lines, corpus.lines)
    }

    /// Training twice with the same seed gives the same file; changing the test files changes no
    /// vector. (With fastText installed; CI installs it.)
    func testTrainedVectorsAreReproducibleAndIgnoreTheTestFiles() throws {
        guard FastText.find("fasttext") != nil else {
            throw XCTSkip(
                "fastText is not installed (apt-get install fasttext; launch/install-deps --test installs it)")
        }
        let dir = Paths.temporaryDirectory()
        let c = Fixture.vectorCorpus(dir)
        var s = FastText.Settings()
        s.dim = 6
        s.epochs = 3
        let first = try FastText.train(try VectorCorpus(config: c).lines, settings: s)
        let second = try FastText.train(try VectorCorpus(config: c).lines, settings: s)
        XCTAssertEqual(first, second, "the same seed on one thread gives the same file")
        writeFile(dir, "a/test.tsv", "1\tcompletely different testonly2 words\n0\tgood bad film\n")
        XCTAssertEqual(try FastText.train(try VectorCorpus(config: c).lines, settings: s), first)
        s.seed = 2
        XCTAssertNotEqual(try FastText.train(try VectorCorpus(config: c).lines, settings: s), first, "the seed matters")
    }
}
