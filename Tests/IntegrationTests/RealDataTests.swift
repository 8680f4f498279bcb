import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// End to end on the real datasets in ../shared/data: the loaders read every format there, and a
/// short multi-task run learns.
final class RealDataTests: XCTestCase {
    func dataDir() throws -> String {
        let d = Paths.sharedData
        guard FileManager.default.fileExists(atPath: d + "/README.md") else {
            throw XCTSkip("no ../shared/data beside the package")
        }
        return d
    }

    func testEveryDatasetFormatLoads() throws {
        let d = try dataDir()
        let counts: [(String, Int)] = [
            ("sst-1/train.tsv", 8544), ("sst-2/dev.tsv", 872), ("subj/all.tsv", 10000),
            ("fdu-mtl/dvd/train.tsv", 1600), ("imdb/test.tsv.gz", 25000),
        ]
        for (f, n) in counts {
            let rows = try LabelledFile.read(d + "/" + f)
            XCTAssertEqual(rows.count, n, f)
        }
    }

    /// A seeded hold-out is the same every time, disjoint from train, and of the asked size.
    func testHeldOutSplitsAreFixed() throws {
        let d = try dataDir()
        var c = RunConfig()
        c.dataDir = d
        c.tasks = [TaskConfig(name: "subj", train: "subj/all.tsv", devSize: 1000, testSize: 1000)]
        let a = try Corpus.load(c), b = try Corpus.load(c)
        XCTAssertEqual(a.tasks[0].train.count, 8000)
        XCTAssertEqual(a.tasks[0].dev.count, 1000)
        XCTAssertEqual(a.tasks[0].test.count, 1000)
        XCTAssertEqual(a.tasks[0].dev.map(\.tokens), b.tasks[0].dev.map(\.tokens))
        let train = Set(a.tasks[0].train.map(\.tokens)), test = a.tasks[0].test.map(\.tokens)
        // SUBJ has a few duplicate sentences, so allow a handful of coincidences.
        XCTAssertLessThan(test.filter { train.contains($0) }.count, 10)
    }

    /// ARC-I on SST-2 and SUBJ (first 1,500 training sentences each, GloVe 50d) for a few epochs
    /// gets clearly above chance on both dev sets: the real pipeline learns.
    func testShortMultiTaskRunLearns() throws {
        let d = try dataDir()
        var c = RunConfig()
        c.dataDir = d
        c.embeddings = ["embeddings/glove.6B.50d.restricted.txt.gz"]
        c.architecture = .arc1
        c.embeddingDim = 50; c.hiddenDim = 32; c.memoryRows = 10; c.memoryWidth = 8
        c.optimizer.kind = .adagrad
        c.optimizer.learningRate = 0.05
        c.epochs = 3
        c.tasks = [
            TaskConfig(
                name: "sst2", train: "sst-2/train.tsv", dev: "sst-2/dev.tsv", test: "sst-2/test.tsv", trainLimit: 1500),
            TaskConfig(name: "subj", train: "subj/all.tsv", devSize: 500, testSize: 500, trainLimit: 1500),
        ]
        let out = Paths.temporaryDirectory()
        let t = try Trainer(config: c, outDir: out)
        XCTAssertGreaterThan(t.pretrainedRows, 5000)
        try t.run()
        let sst2 = t.state.bestDev["sst2"]!, subj = t.state.bestDev["subj"]!
        print("short run: best dev sst2 \(sst2), subj \(subj)")
        XCTAssertGreaterThan(sst2, 62)
        XCTAssertGreaterThan(subj, 75)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoints/final/model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/checkpoints/best/model.safetensors"))
    }
}
