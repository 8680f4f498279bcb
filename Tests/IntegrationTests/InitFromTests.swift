import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// `smtl train --init-from FILE.safetensors`: weights written by numpy start a run, names and
/// shapes are checked, and a missing, an extra or a misshapen tensor is named. Resuming with
/// another optimizer says that this is the cause, and how to go on.
final class InitFromTests: MPITestCase {
    /// Writes a safetensors file with numpy: for each tensor of `names` (name → shape) the values
    /// 0.001·(k+1)·sin(i), except `drop`; plus `extra`.
    func writeNumpy(
        _ path: String, _ shapes: [String: [Int]], drop: String? = nil, extra: String? = nil,
        reshape: String? = nil
    ) throws {
        let spec = try JSONSerialization.data(withJSONObject: shapes)
        let dir = (path as NSString).deletingLastPathComponent
        let specFile = writeFile(dir, "shapes.json", String(decoding: spec, as: UTF8.self))
        let script = """
            import json, struct, sys
            import numpy as np
            shapes = json.load(open(sys.argv[1]))
            drop, extra, reshape = sys.argv[3] or None, sys.argv[4] or None, sys.argv[5] or None
            arrays = {}
            for k, name in enumerate(sorted(shapes)):
                if name == drop: continue
                shape = shapes[name]
                if name == reshape: shape = [shape[0] + 1] + shape[1:]
                n = int(np.prod(shape))
                arrays[name] = (0.001 * (k + 1) * np.sin(np.arange(n))).astype('<f4').reshape(shape)
            if extra: arrays[extra] = np.zeros((2, 3), dtype='<f4')
            header, blobs, offset = {"__metadata__": {"format": "numpy"}}, [], 0
            for name, a in arrays.items():
                b = a.tobytes()
                header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
                blobs.append(b); offset += len(b)
            h = json.dumps(header).encode()
            h += b" " * ((8 - len(h) % 8) % 8)
            with open(sys.argv[2], "wb") as f:
                f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
            """
        let py = writeFile(dir, "write.py", script)
        // python3 from PATH, the one launch/install-deps gives numpy to.
        let (status, text) = try run(
            "/usr/bin/env", ["python3", py, specFile, path, drop ?? "", extra ?? "", reshape ?? ""])
        XCTAssertEqual(status, 0, text)
    }

    func testInitFromNumpyWeights() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4)
        // The model's names and shapes, from a checkpoint of the same config.
        _ = try run(Self.binary, ["init", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/init"])
        let reference = try tensors(dir + "/init")
        let shapes = reference.mapValues(\.shape)
        let weights = dir + "/weights.safetensors"
        try writeNumpy(weights, shapes)
        // Zero steps: the saved model is the file, bit for bit; the optimizer state is fresh.
        let text = try train(
            nil, ranks: 1, cfg, out: dir + "/zero", ["--init-from", weights, "--steps", "0", "--epochs", "0"])
        XCTAssertTrue(text.contains("initial weights from \(weights)"), text)
        let file = try SafeTensors.decode(Data(contentsOf: URL(fileURLWithPath: weights)), file: weights).tensors
        let saved = try Checkpoint.load(dir + "/zero/checkpoints/final")
        XCTAssertEqual(Set(saved.tensors.keys), Set(file.keys))
        for (name, t) in file { XCTAssertEqual(saved.tensors[name]?.values, t.values, name) }
        XCTAssertTrue(saved.optimizer.values.allSatisfy { $0.values.allSatisfy { $0 == 0 } })
        XCTAssertEqual(saved.optimizerSteps, 0)
        // It trains from there (and differs from a run from the seed's initial values).
        _ = try train(nil, ranks: 1, cfg, out: dir + "/four", ["--init-from", weights])
        _ = try train(nil, ranks: 1, cfg, out: dir + "/plain")
        let four = try tensors(dir + "/four"), plain = try tensors(dir + "/plain")
        XCTAssertNotEqual(four["global.memory0"]?.values, plain["global.memory0"]?.values)
        XCTAssertNotEqual(four["global.memory0"]?.values, file["global.memory0"]?.values)
        let results =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir + "/four/results.json"))) as? [String: Any]
        XCTAssertEqual(results?["init_from"] as? String, weights)
    }

    func testInitFromNamesWhatIsWrong() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4)
        _ = try run(Self.binary, ["init", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/init"])
        let shapes = try tensors(dir + "/init").mapValues(\.shape)
        func refused(_ file: String) throws -> String {
            let (status, text) = try run(
                Self.binary,
                [
                    "train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/x",
                    "--init-from", file,
                ])
            XCTAssertNotEqual(status, 0, text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x/checkpoints"), "nothing written")
            return text
        }
        try writeNumpy(dir + "/missing.safetensors", shapes, drop: "task.subj.classifier.bias")
        let missing = try refused(dir + "/missing.safetensors")
        XCTAssertTrue(missing.contains("tensor task.subj.classifier.bias is missing"), missing)
        XCTAssertTrue(missing.contains("arc-ii, tasks sst2, subj, kitchen, books"), missing)
        try writeNumpy(dir + "/extra.safetensors", shapes, extra: "task.imdb.classifier.bias")
        let extra = try refused(dir + "/extra.safetensors")
        XCTAssertTrue(extra.contains("tensor task.imdb.classifier.bias is not part of this model"), extra)
        try writeNumpy(dir + "/shape.safetensors", shapes, reshape: "global.memory0")
        let shape = try refused(dir + "/shape.safetensors")
        XCTAssertTrue(shape.contains("tensor global.memory0 has shape [5, 3], expected [4, 3]"), shape)
        let (both, text) = try run(
            Self.binary, ["train", "--config", cfg, "--init-from", dir + "/missing.safetensors", "--resume", "auto"])
        XCTAssertNotEqual(both, 0)
        XCTAssertTrue(text.contains("give one of them"), text)
    }

    /// A checkpoint saved with SGD, resumed with AdaGrad: the message names the change of optimizer
    /// (not a "missing tensor") and says how to continue; that way works.
    func testResumeWithAnotherOptimizerSaysSo() throws {
        _ = try requireMPI()
        let dir = Paths.temporaryDirectory()
        let cfg = Fixture.fourTasks(dir, steps: 4, extra: #", "checkpoint_every": 2"#)
        _ = try train(nil, ranks: 1, cfg, out: dir + "/out", ["--optimizer", "sgd"])
        let (status, text) = try run(
            Self.binary,
            [
                "train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/out",
                "--resume", "auto", "--optimizer", "adagrad", "--steps", "6",
            ])
        XCTAssertNotEqual(status, 0, text)
        XCTAssertTrue(
            text.contains("the checkpoint was saved with the sgd optimizer, and this run asks for adagrad"), text)
        XCTAssertFalse(text.contains("is missing"), text)
        XCTAssertTrue(text.contains("resume with `--optimizer sgd`"), text)
        // step-00000004 and final hold the same step; the step checkpoint is tried first.
        XCTAssertTrue(text.contains("--init-from \(dir)/out/checkpoints/step-00000004/model.safetensors"), text)
        // The way it names works: its weights, fresh AdaGrad state.
        _ = try train(
            nil, ranks: 1, cfg, out: dir + "/adagrad",
            ["--init-from", dir + "/out/checkpoints/step-00000004/model.safetensors", "--optimizer", "adagrad"])
        // A deleted optimizer file is named as a missing file.
        try FileManager.default.removeItem(atPath: dir + "/out/checkpoints/step-00000004/optimizer.safetensors")
        try FileManager.default.removeItem(atPath: dir + "/out/checkpoints/final/optimizer.safetensors")
        let (gone, goneText) = try run(
            Self.binary,
            [
                "train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/out",
                "--resume", "auto", "--optimizer", "adagrad", "--steps", "6",
            ])
        XCTAssertNotEqual(gone, 0)
        XCTAssertTrue(goneText.contains("optimizer.safetensors: is missing"), goneText)
    }
}
