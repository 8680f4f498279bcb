import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

final class CheckpointTests: XCTestCase {
    func makeTrainer(_ dir: String, arch: Architecture = .arc2) throws -> Trainer {
        try Trainer(config: Fixture.twoTasks(dir, arch: arch), outDir: dir + "/out")
    }

    /// The checkpoint loads in Python with plain numpy, with the SPEC §6 names and shapes, and the
    /// values Swift wrote.
    func testCheckpointReadsWithNumpy() throws {
        let dir = Paths.temporaryDirectory()
        let t = try makeTrainer(dir)
        t.trainStep()
        let ck = try t.save("final")
        let script = """
            import json, struct, sys
            import numpy as np
            raw = open(sys.argv[1], 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            out = {}
            for name, e in header.items():
                if name == '__metadata__':
                    continue
                a, b = e['data_offsets']
                arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(e['shape'])
                out[name] = {'shape': list(arr.shape), 'sum': float(arr.astype(np.float64).sum()),
                             'first_bits': int(arr.view('<u4').flat[0])}
            print(json.dumps(out))
            """
        let py = writeFile(dir, "read.py", script)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", py, ck + "/model.safetensors"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let seen = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        let expected = [
            "embedding.weight", "global.memory0", "global.control.weight", "global.control.bias",
            "task.a.lstm.weight_ih", "task.a.lstm.weight_hh", "task.a.lstm.bias",
            "task.a.fusion.weight_f", "task.a.fusion.weight_r", "task.a.fusion.weight_c",
            "task.a.local.memory0", "task.a.local.control.weight", "task.a.local.control.bias",
            "task.a.classifier.weight", "task.a.classifier.bias",
        ]
        for name in expected { XCTAssertNotNil(seen[name], name) }
        XCTAssertEqual(seen.count, expected.count + 11)  // task b has the same 11 task tensors
        XCTAssertEqual(seen["global.control.weight"]?["shape"] as? [Int], [6, 2])
        XCTAssertEqual(seen["task.b.classifier.weight"]?["shape"] as? [Int], [3, 5])
        for set in t.model.parameterSets {
            for e in set.layout.entries {
                let values = set.array(e.name)
                let sum = values.reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(seen[e.name]?["sum"] as? Double ?? .nan, sum, accuracy: 1e-9, e.name)
                XCTAssertEqual(seen[e.name]?["first_bits"] as? Int, Int(values[0].bitPattern), e.name)
            }
        }
    }

    /// Saving and loading gives back every tensor bit for bit, and the same predictions.
    func testRoundTrip() throws {
        let dir = Paths.temporaryDirectory()
        let t = try makeTrainer(dir, arch: .arc1)
        for _ in 0..<3 { t.trainStep() }
        let ck = try t.save("final")
        let loaded = try Checkpoint.load(ck)
        let m = try Checkpoint.model(from: loaded)
        for (a, b) in zip(t.model.parameterSets, m.parameterSets) {
            XCTAssertEqual(
                Array(UnsafeBufferPointer(start: a.values, count: a.count)),
                Array(UnsafeBufferPointer(start: b.values, count: b.count)))
        }
        XCTAssertEqual(loaded.vocabulary.words, t.corpus.vocabulary.words)
        XCTAssertEqual(loaded.labels, ["a": [0, 1], "b": [0, 1, 2]])
        XCTAssertEqual(loaded.state.step, 3)
        XCTAssertEqual(loaded.config, t.config)
    }

    /// Resuming from a checkpoint (optimizer state and data cursors included) reaches the same
    /// parameters as a run that never stopped.
    func testResumeMatchesUninterruptedRun() throws {
        let d1 = Paths.temporaryDirectory("resumeA"), d2 = Paths.temporaryDirectory("resumeB")
        let straight = try makeTrainer(d1)
        for _ in 0..<7 { straight.trainStep() }
        let first = try makeTrainer(d2)
        for _ in 0..<3 { first.trainStep() }
        let ck = try first.save("step")
        let loaded = try Checkpoint.load(ck)
        let corpus = try Corpus.load(loaded.config, vocabulary: loaded.vocabulary, labels: loaded.labels)
        let resumed = try Trainer(config: loaded.config, corpus: corpus, outDir: d2 + "/out", resume: loaded)
        for _ in 0..<4 { resumed.trainStep() }
        for (a, b) in zip(straight.model.parameterSets, resumed.model.parameterSets) {
            XCTAssertEqual(
                Array(UnsafeBufferPointer(start: a.values, count: a.count)),
                Array(UnsafeBufferPointer(start: b.values, count: b.count)))
        }
    }
}
