import Foundation

/// Where a task's data comes from and how missing splits are held out.
public struct TaskConfig: Equatable, Sendable {
    public var name: String
    public var train: String
    public var dev: String?
    public var test: String?
    /// Held out of train when `dev` is not given: a count (`devSize`) or else a fraction.
    public var devSize: Int = 0
    public var devFraction: Double = 0.1
    /// Held out of train when `test` is not given.
    public var testSize: Int = 0
    public var testFraction: Double = 0.1
    /// λ_m, the task's weight in the summed loss.
    public var weight: Double = 1
    /// Keep only N training examples after hold-outs, drawn with the split seed (0: all). For quick experiments.
    public var trainLimit: Int = 0
}

/// A whole run: data, model, optimizer and schedule. Read from a JSON file; every key is checked.
public struct RunConfig: Equatable, Sendable {
    public var name = "run"
    /// The folder data paths are relative to. Relative `dataDir` values are taken from the
    /// current directory; `--data-dir` overrides it.
    public var dataDir = "data"
    /// GloVe text-format vectors (plain or .gz), relative to `dataDir`; nil for random init.
    public var embeddings: String?
    public var architecture: Architecture = .arc2
    public var embeddingDim = 100
    public var hiddenDim = 100
    public var memoryRows = 50
    public var memoryWidth = 20
    public var minCount = 1
    /// Also give ids to dev/test words that have a pretrained vector (no labels are used), so
    /// unseen words keep their GloVe meaning instead of becoming <unk>.
    public var extendWithPretrained = false
    public var tokenizer = Tokenizer()
    public var optimizer = OptimizerSettings()
    public var batchSize = 16
    /// Passes over the largest task's training set (ignored when `steps` > 0).
    public var epochs = 10
    public var steps = 0
    /// Evaluate every this many steps; 0 means once per epoch.
    public var evalEvery = 0
    /// Early stopping: end the run after this many evaluations in a row in which no task reached
    /// a new best dev accuracy (0: never; run the whole budget).
    public var patience = 0
    /// Evaluate the test set at every evaluation, not only when the task's dev accuracy improves.
    public var alwaysTest = false
    public var seed: UInt64 = 1
    /// Seed of the held-out dev/test splits, kept apart from `seed` so that every run of a study
    /// sees the same splits.
    public var splitSeed: UInt64 = 12345
    public var shuffle = true
    /// Write a checkpoint every this many steps (0: only at the end and for the best model).
    public var checkpointEvery = 0
    public var keepCheckpoints = 3
    /// Plain progress line every this many steps when the output is not a terminal.
    public var logEvery = 50
    public var outDir: String?
    public var tasks: [TaskConfig] = []

    public init() {}

    /// The model's sizes for a vocabulary of `vocabulary` words.
    public func dimensions(vocabulary: Int) -> Dimensions {
        Dimensions(embedding: embeddingDim, hidden: hiddenDim, memoryRows: memoryRows, memoryWidth: memoryWidth,
                   vocabulary: vocabulary)
    }

    public static func load(_ path: String) throws -> RunConfig {
        let bytes = try FileReader.bytes(path)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            let ns = error as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            throw InputError(file: path, "is not valid JSON (\(detail))", hint: "fix the syntax; see configs/ for examples")
        }
        guard let dict = json as? [String: Any] else { throw InputError(file: path, "must hold one JSON object") }
        return try parse(ConfigSection(file: path, path: "", dict: dict))
    }

    static func parse(_ root: ConfigSection) throws -> RunConfig {
        var r = root
        var c = RunConfig()
        let file = r.file
        c.name = try r.string("name", c.name)
        c.dataDir = try r.string("data_dir", c.dataDir)
        c.embeddings = try r.optionalString("embeddings")
        let arch = try r.string("architecture", c.architecture.rawValue)
        guard let a = Architecture(rawValue: arch) else {
            throw InputError(file: file, "`architecture` is '\(arch)'",
                             hint: "choose one of: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        c.architecture = a
        c.outDir = try r.optionalString("out_dir")

        var m = try r.section("model")
        c.embeddingDim = try m.int("embedding_dim", c.embeddingDim, min: 1)
        c.hiddenDim = try m.int("hidden_dim", c.hiddenDim, min: 1)
        c.memoryRows = try m.int("memory_rows", c.memoryRows, min: 1)
        c.memoryWidth = try m.int("memory_width", c.memoryWidth, min: 1)
        try m.finish()

        var v = try r.section("vocabulary")
        c.minCount = try v.int("min_count", c.minCount, min: 1)
        c.extendWithPretrained = try v.bool("extend_with_pretrained", c.extendWithPretrained)
        c.tokenizer.lowercase = try v.bool("lowercase", c.tokenizer.lowercase)
        c.tokenizer.maxLength = try v.int("max_length", c.tokenizer.maxLength, min: 0)
        try v.finish()

        var t = try r.section("training")
        let opt = try t.string("optimizer", c.optimizer.kind.rawValue)
        guard let kind = OptimizerSettings.Kind(rawValue: opt) else {
            throw InputError(file: file, "`training.optimizer` is '\(opt)'", hint: "choose adagrad, sgd or adam")
        }
        c.optimizer.kind = kind
        c.optimizer.learningRate = try t.number("learning_rate", c.optimizer.learningRate)
        c.optimizer.l2 = try t.number("l2", c.optimizer.l2)
        c.optimizer.beta1 = try t.number("beta1", c.optimizer.beta1)
        c.optimizer.beta2 = try t.number("beta2", c.optimizer.beta2)
        c.optimizer.adamEpsilon = try t.number("adam_epsilon", c.optimizer.adamEpsilon)
        c.optimizer.freezeEmbeddings = try t.bool("freeze_embeddings", c.optimizer.freezeEmbeddings)
        c.batchSize = try t.int("batch_size", c.batchSize, min: 1)
        c.epochs = try t.int("epochs", c.epochs, min: 0)
        c.steps = try t.int("steps", c.steps, min: 0)
        c.evalEvery = try t.int("eval_every", c.evalEvery, min: 0)
        c.patience = try t.int("patience", c.patience, min: 0)
        c.alwaysTest = try t.bool("always_test", c.alwaysTest)
        c.seed = UInt64(try t.int("seed", Int(c.seed), min: 0))
        c.splitSeed = UInt64(try t.int("split_seed", Int(c.splitSeed), min: 0))
        c.shuffle = try t.bool("shuffle", c.shuffle)
        c.checkpointEvery = try t.int("checkpoint_every", c.checkpointEvery, min: 0)
        c.keepCheckpoints = try t.int("keep_checkpoints", c.keepCheckpoints, min: 1)
        c.logEvery = try t.int("log_every", c.logEvery, min: 1)
        try t.finish()

        for var s in try r.sections("tasks") {
            var task = TaskConfig(name: try s.string("name"), train: try s.string("train"))
            guard !task.name.isEmpty, task.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw InputError(file: file, "task name '\(task.name)' is not allowed", hint: "use letters, digits, _ and - only")
            }
            task.dev = try s.optionalString("dev")
            task.test = try s.optionalString("test")
            task.devSize = try s.int("dev_size", 0, min: 0)
            task.devFraction = try s.number("dev_fraction", task.devFraction)
            task.testSize = try s.int("test_size", 0, min: 0)
            task.testFraction = try s.number("test_fraction", task.testFraction)
            task.weight = try s.number("weight", task.weight)
            task.trainLimit = try s.int("train_limit", 0, min: 0)
            try s.finish()
            c.tasks.append(task)
        }
        try r.finish()
        if c.tasks.isEmpty { throw InputError(file: file, "`tasks` is empty", hint: "name at least one task") }
        let names = c.tasks.map(\.name)
        if Set(names).count != names.count { throw InputError(file: file, "two tasks have the same name", hint: "task names must be unique") }
        return c
    }

    /// The resolved config, every default filled in, as JSON (saved with every checkpoint).
    public func json() -> [String: Any] {
        var tasks: [[String: Any]] = []
        for t in self.tasks {
            var d: [String: Any] = ["name": t.name, "train": t.train, "weight": t.weight,
                                    "dev_size": t.devSize, "dev_fraction": t.devFraction,
                                    "test_size": t.testSize, "test_fraction": t.testFraction,
                                    "train_limit": t.trainLimit]
            if let dev = t.dev { d["dev"] = dev }
            if let test = t.test { d["test"] = test }
            tasks.append(d)
        }
        var d: [String: Any] = [
            "name": name, "data_dir": dataDir, "architecture": architecture.rawValue,
            "model": ["embedding_dim": embeddingDim, "hidden_dim": hiddenDim, "memory_rows": memoryRows,
                      "memory_width": memoryWidth],
            "vocabulary": ["min_count": minCount, "extend_with_pretrained": extendWithPretrained, "lowercase": tokenizer.lowercase, "max_length": tokenizer.maxLength],
            "training": ["optimizer": optimizer.kind.rawValue, "learning_rate": optimizer.learningRate,
                         "l2": optimizer.l2, "beta1": optimizer.beta1, "beta2": optimizer.beta2,
                         "adam_epsilon": optimizer.adamEpsilon, "freeze_embeddings": optimizer.freezeEmbeddings, "batch_size": batchSize, "epochs": epochs,
                         "steps": steps, "eval_every": evalEvery, "patience": patience, "always_test": alwaysTest, "seed": Int(seed), "split_seed": Int(splitSeed),
                         "shuffle": shuffle, "checkpoint_every": checkpointEvery, "keep_checkpoints": keepCheckpoints,
                         "log_every": logEvery],
            "tasks": tasks,
        ]
        if let e = embeddings { d["embeddings"] = e }
        if let o = outDir { d["out_dir"] = o }
        return d
    }

    public func jsonData() -> Data {
        (try? JSONSerialization.data(withJSONObject: json(), options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    /// A path from the config, resolved against the data folder.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (dataDir as NSString).appendingPathComponent(path)
    }
}

