import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLStudy
import SMTLSupport
import SMTLTraining

/// The tests' shared fixtures: small configs and data written into a test's folder.
public enum Fixture {
    /// Two tiny tasks in-process (a: 2 classes, b: 3 classes; six lines each, used as train, dev
    /// and test), the smallest model of every architecture.
    public static func twoTasks(_ dir: String, arch: Architecture = .arc1) -> RunConfig {
        writeFile(
            dir, "a.tsv", "1\tgood movie\n0\tbad movie\n1\tfine film\n0\tawful film\n1\tgood fine\n0\tbad awful\n")
        writeFile(dir, "b.tsv", "2\tred\n0\tgreen blue\n1\tblue\n2\tred red\n0\tgreen\n1\tblue blue\n")
        var c = RunConfig()
        c.dataDir = dir
        c.architecture = arch
        c.embeddingDim = 4; c.hiddenDim = 5; c.memoryRows = 3; c.memoryWidth = 2
        c.batchSize = 2
        c.optimizer.learningRate = 0.5
        c.tasks = [
            TaskConfig(
                name: "a", train: "a.tsv", dev: copy(dir, "a.tsv", as: "dev"), test: copy(dir, "a.tsv", as: "test")),
            TaskConfig(
                name: "b", train: "b.tsv", dev: copy(dir, "b.tsv", as: "dev"), test: copy(dir, "b.tsv", as: "test")),
        ]
        return c
    }

    /// One task on a synthetic 40-line file (no ../shared/data needed), as a config file.
    /// `training` adds keys to the training section or replaces them (`, "eval_every": 100`).
    public static func tinyConfig(_ dir: String, training: String = "") -> String {
        var lines = ""
        for i in 0..<40 { lines += "\(i % 2)\t\(i % 2 == 0 ? "good fine great" : "bad awful poor") w\(i)\n" }
        writeFile(dir, "t.tsv", lines)
        var keys: [(String, String)] = [("batch_size", "4"), ("steps", "6"), ("eval_every", "3")]
        let extra = "{" + training.drop { $0 == "," || $0 == " " } + "}"
        let given = (try? JSONSerialization.jsonObject(with: Data(extra.utf8))) as? [String: Any] ?? [:]
        for (k, v) in given.sorted(by: { $0.key < $1.key }) {
            let text = String(
                decoding: try! JSONSerialization.data(withJSONObject: [v], options: [.fragmentsAllowed]), as: UTF8.self
            ).dropFirst().dropLast()
            if let i = keys.firstIndex(where: { $0.0 == k }) {
                keys[i].1 = String(text)
            } else {
                keys.append((k, String(text)))
            }
        }
        let section = keys.map { #""\#($0.0)": \#($0.1)"# }.joined(separator: ", ")
        return writeFile(
            dir, "c.json",
            #"{"name": "tiny", "data_dir": ""# + dir + #"", "architecture": "arc-ii","#
                + #" "model": {"embedding_dim": 4, "hidden_dim": 5, "memory_rows": 3, "memory_width": 2},"#
                + #" "training": {"# + section + #"},"#
                + #" "tasks": [{"name": "a", "train": "t.tsv", "dev_size": 8, "test_size": 8}]}"#)
    }

    /// Four tasks on 40-60 line slices of ../shared/data, as a config file (the mpirun runs' fixture).
    public static func fourTasks(_ dir: String, steps: Int = 20, extra: String = "") -> String {
        writeFile(
            dir, "config.json",
            """
            { "name": "tiny", "architecture": "arc-ii",
              "model": { "embedding_dim": 8, "hidden_dim": 8, "memory_rows": 4, "memory_width": 3 },
              "vocabulary": { "max_length": 20 },
              "training": { "optimizer": "adagrad", "learning_rate": 0.05, "batch_size": 4, "steps": \(steps),
                            "eval_every": 10 \(extra) },
              "tasks": [
                { "name": "sst2", "train": "sst-2/dev.tsv", "test_size": 20, "dev_size": 20, "train_limit": 60 },
                { "name": "subj", "train": "subj/all.tsv", "test_size": 20, "dev_size": 20, "train_limit": 60 },
                { "name": "kitchen", "train": "fdu-mtl/kitchen_housewares/test.tsv",
                  "test_size": 20, "dev_size": 20, "train_limit": 60 },
                { "name": "books", "train": "fdu-mtl/books/test.tsv",
                  "test_size": 20, "dev_size": 20, "train_limit": 40 }
              ] }
            """)
    }

    /// Four tiny product configs (one per architecture) for the study and sweep scripts.
    public static func tinyStudy(_ dir: String) -> String {
        let configs = (dir as NSString).appendingPathComponent("configs")
        try! FileManager.default.createDirectory(atPath: configs, withIntermediateDirectories: true)
        for model in ["lstm", "me-lstm", "arc-i", "arc-ii"] {
            writeFile(
                configs, "product-\(model).json",
                """
                { "name": "product-\(model)", "architecture": "\(model)",
                  "model": { "embedding_dim": 6, "hidden_dim": 6, "memory_rows": 3, "memory_width": 2 },
                  "vocabulary": { "max_length": 20 },
                  "training": { "learning_rate": 0.1, "batch_size": 4, "steps": 6, "eval_every": 3, "patience": 5 },
                  "tasks": [
                    { "name": "books", "train": "fdu-mtl/books/test.tsv",
                      "test_size": 12, "dev_size": 12, "train_limit": 24 },
                    { "name": "dvd", "train": "fdu-mtl/dvd/test.tsv",
                      "test_size": 12, "dev_size": 12, "train_limit": 24 },
                    { "name": "electronics", "train": "fdu-mtl/electronics/test.tsv",
                      "test_size": 12, "dev_size": 12, "train_limit": 24 },
                    { "name": "kitchen", "train": "fdu-mtl/kitchen_housewares/test.tsv",
                      "test_size": 12, "dev_size": 12, "train_limit": 24 }
                  ] }
                """)
        }
        return configs
    }

    /// A tiny two-task data folder: task a with its own test file, task b with test and dev held
    /// out of train; both with unlabelled text.
    public static func vectorCorpus(_ dir: String) -> RunConfig {
        var lines: [String] = []
        for i in 0..<60 { lines.append("\(i % 2)\ttrain text number\(i) is \(i % 2 == 0 ? "Good" : "bad")") }
        writeFile(dir, "a/train.tsv", "")
        try? FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: true)
        writeFile(dir, "a/train.tsv", lines.joined(separator: "\n") + "\n")
        writeFile(dir, "a/test.tsv", "1\ttestonly words here\n0\tmore testonly words\n")
        writeFile(
            dir, "a/unlabeled.txt", (0..<40).map { "unlabelled review \($0) of a film" }.joined(separator: "\n") + "\n")
        writeFile(
            dir, "b/all.tsv",
            lines.map { $0.replacingOccurrences(of: "train", with: "other") }.joined(separator: "\n") + "\n")
        var c = RunConfig()
        c.dataDir = dir
        c.tasks = [
            TaskConfig(name: "a", train: "a/train.tsv", test: "a/test.tsv", devSize: 10, unlabeled: "a/unlabeled.txt"),
            TaskConfig(name: "b", train: "b/all.tsv", devSize: 10, testSize: 10),
        ]
        return c
    }

    /// word2vec's binary layout (word2vec.c, `-binary 1`): "COUNT DIM\n", then per word the word,
    /// a space, DIM little-endian float32 values and "\n" (`newline` false: gensim's older files
    /// and some converters leave it out).
    public static func word2vecBinary(
        _ vectors: [(String, [Float])], newline: Bool = true, header: String? = nil
    ) -> [UInt8] {
        var out = Array((header ?? "\(vectors.count) \(vectors.first?.1.count ?? 0)\n").utf8)
        for (w, v) in vectors {
            out += Array(w.utf8) + [0x20]
            for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
            if newline { out.append(0x0A) }
        }
        return out
    }
}
