import Foundation
import SMTLModel

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
    /// The task's labels, when declared: any other label in its files is an error (else the
    /// labels are those of the training data, printed at start-up).
    public var classes: [Int]?
    /// Cut every example of the task (train, dev and test) to this many tokens (0: no cap).
    public var maxTokens: Int = 0
    public var truncate = Truncation.head
    /// Phrase-level training examples (for SST: every labelled node of every train tree). With
    /// `training.phrase_level` they replace `train` as the training set; dev and test stay as given.
    public var phrases: String?
    /// Unlabelled texts of the task's domain (one text a line, plain or gzip), read only by
    /// `smtl prepare vectors` to train in-domain vectors; training never reads it.
    public var unlabeled: String?

    package init(
        name: String, train: String, dev: String? = nil, test: String? = nil, devSize: Int = 0,
        devFraction: Double = 0.1, testSize: Int = 0, testFraction: Double = 0.1, weight: Double = 1,
        trainLimit: Int = 0, classes: [Int]? = nil, maxTokens: Int = 0, truncate: Truncation = .head,
        phrases: String? = nil, unlabeled: String? = nil
    ) {
        (self.name, self.train, self.dev, self.test) = (name, train, dev, test)
        (self.devSize, self.devFraction, self.testSize, self.testFraction) = (
            devSize, devFraction, testSize, testFraction
        )
        (self.weight, self.trainLimit, self.classes) = (weight, trainLimit, classes)
        (self.maxTokens, self.truncate, self.phrases, self.unlabeled) = (maxTokens, truncate, phrases, unlabeled)
    }
}

/// Which tokens a capped example keeps (`max_tokens`).
public enum Truncation: String, CaseIterable, Sendable {
    /// The first `max_tokens`.
    case head
    /// The first ⌈max_tokens/2⌉ and the last ⌊max_tokens/2⌋ (a review's opening and its verdict).
    case headTail = "head_tail"

    public func apply(_ tokens: [Int32], max n: Int) -> [Int32] {
        guard n > 0 && tokens.count > n else { return tokens }
        switch self {
        case .head: return Array(tokens.prefix(n))
        case .headTail: return Array(tokens.prefix((n + 1) / 2) + tokens.suffix(n / 2))
        }
    }
}

/// Which tasks train at a step (`training.task_schedule`).
public enum TaskSchedule: String, CaseIterable, Sendable {
    /// Every task takes a batch at every step (SPEC §7).
    case all
    /// One task per step, drawn uniformly (the companion paper's random task).
    case uniform
    /// One task per step, drawn with probability proportional to its training-set size.
    case proportional
}

/// A whole run: data, model, optimizer and schedule. Read from a JSON file; every key is checked.
public struct RunConfig: Equatable, Sendable {
    public var name = "run"
    /// The folder data paths are relative to. Relative `dataDir` values are taken from the
    /// current directory; `--data-dir` overrides it.
    public var dataDir = "data"
    /// Pretrained-vector files (GloVe text, word2vec text or binary, fastText .vec; plain or .gz),
    /// relative to `dataDir`; empty for random init. Several files are joined: a word's row is the
    /// concatenation of its vectors in the files' order (see `PretrainedEmbeddings`).
    public var embeddings: [String] = []
    public var architecture: Architecture = .arc2
    /// 0: the width of the vectors in `embeddings` (their sum when joined); see `resolvingVectorWidth`.
    public var embeddingDim = 100
    /// The width of the vectors in `embeddings` (0: `embeddingDim`). Below `embeddingDim`, a
    /// word's vector fills the first `pretrainedDim` columns of its embedding row and the other
    /// columns keep their random initial values (SPEC's E = 100 from 50-d vectors).
    public var pretrainedDim = 0
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
    /// strong: a task's step batch stays `batchSize` whatever the number of ranks (ranks that
    /// share a task split it); weak: each of a task's ranks takes `batchSize` examples.
    public var scaling = ScalingMode.strong
    /// How tasks are laid out on ranks (see `Placement`).
    public var placement = PlacementStrategy.balanced
    /// Ranks beyond a host's cores: idle (no work; they wait sleeping) or share (all work).
    public var oversubscription = Oversubscription.idle
    /// Cores per host for that decision (0: the CPUs this rank may run on).
    public var coresPerHost = 0
    /// Each step, a rank whose drawn batches cost more than another's may lend it part or all of
    /// one task's batch for that step (`Placement.loans`): whole (default; one process's bits),
    /// split or none.
    public var lending = Lending.whole
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
    /// Train on each task's `phrases` file instead of its `train` file, where a task names one.
    public var phraseLevel = false
    /// Which tasks train at a step. With one task a step, an epoch is a pass over every task's
    /// data (Σ of the tasks' batches), not over the largest task's.
    public var taskSchedule = TaskSchedule.all
    /// Per-task early stopping (0: off): a task whose dev accuracy has not improved for this many
    /// evaluations stops training (its tensors freeze, it adds no gradient to the shared ones);
    /// the run ends when every task has stopped.
    public var taskPatience = 0
    /// Dropout rates (see `Dropout`; 0: off) on the embedding output, on h before the classifier
    /// and on the memory read that enters the fusion gate (ME-LSTM, ARC-I, ARC-II).
    public var dropoutEmbedding = 0.0
    public var dropoutHidden = 0.0
    public var dropoutRead = 0.0
    /// Per-task fine-tuning after joint training (see `FineTuning`); 0 epochs: off.
    public var fineTune = FineTuneSettings()
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
        Dimensions(
            embedding: embeddingDim, hidden: hiddenDim, memoryRows: memoryRows, memoryWidth: memoryWidth,
            vocabulary: vocabulary)
    }

    /// Checks a config built in code or changed by command-line overrides with exactly the rules
    /// of a config file (every key's type and range), by reading its JSON back. `source` names
    /// where the values came from, for the message.
    public func validated(source: String) throws -> RunConfig {
        for (name, v) in [
            ("learning_rate", optimizer.learningRate), ("l2", optimizer.l2), ("embedding_l2", optimizer.embeddingL2),
            ("clip_norm", optimizer.clipNorm), ("ema_decay", optimizer.emaDecay),
            ("dropout_embedding", dropoutEmbedding),
            ("dropout_hidden", dropoutHidden), ("dropout_read", dropoutRead),
        ] where !v.isFinite {
            throw InputError(file: source, "`training.\(name)` must be a finite number, not \(v)")
        }
        let data = try JSONSerialization.data(withJSONObject: json())
        guard let dict = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw InputError(file: source, "cannot be read back as a config")
        }
        var c = try Self.parse(ConfigSection(file: source, path: "", dict: dict))
        c.dataDir = dataDir
        return c
    }

    /// Refuses sizes whose parameters (with their gradients, the optimizer state and each task's
    /// copy of the shared gradient) would not fit in this machine's memory, before anything is
    /// allocated, with the amount they would need. Overflowing products count as too large.
    public func checkSizes(vocabulary V: Int, tasks T: Int, source: String) throws {
        let (E, d, K, W) = (embeddingDim, hiddenDim, memoryRows, memoryWidth)
        func mul(_ xs: Int...) -> Int? {
            var p = 1
            for x in xs {
                let (r, o) = p.multipliedReportingOverflow(by: x)
                if o { return nil }
                p = r
            }
            return p
        }
        func add(_ xs: Int?...) -> Int? {
            var s = 0
            for x in xs {
                guard let x else { return nil }
                let (r, o) = s.addingReportingOverflow(x)
                if o { return nil }
                s = r
            }
            return s
        }
        // An upper bound of SPEC §6's tensors: the embedding, and per task the LSTM, the fusion
        // gate, the classifier (≤ 100 classes counted), a memory and its controller.
        let shared = add(mul(V, E), mul(K, W), mul(4, d + W, K + 2 * W + 2))
        let task = add(
            mul(4, d, E + d + 1), mul(3, d, W), mul(d, d), mul(100, d + 1), mul(K, W), mul(4, d + W, K + 2 * W + 2))
        let values = add(shared, mul(T, task ?? Int.max))
        // values, gradients, two optimizer slots, and one shared gradient per task, in float32.
        let bytes = add(mul(4, 4, values ?? Int.max), mul(4, T, shared ?? Int.max))
        let limit = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard let bytes, bytes <= limit else {
            let need = bytes.map { String(format: "%.1f GB", Double($0) / 1e9) } ?? "more than 2^63 bytes"
            throw InputError(
                file: source,
                "the model's sizes (embedding_dim \(E), hidden_dim \(d), memory_rows \(K), memory_width \(W), "
                    + "vocabulary \(V), \(T) tasks) would need \(need) for the parameters alone; this machine has "
                    + String(format: "%.1f GB", Double(limit) / 1e9),
                hint: "lower `model.hidden_dim`, `model.memory_rows` or `model.memory_width` (the paper: 100, 50, 20)")
        }
    }

    public static func load(_ path: String) throws -> RunConfig {
        let bytes = try FileReader.bytes(
            path, missingHint: "check the --config path (relative to the current folder); examples are in configs/")
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            let ns = error as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            throw InputError(
                file: path, "is not valid JSON (\(detail))", hint: "fix the syntax; see configs/ for examples")
        }
        guard let dict = json as? [String: Any] else { throw InputError(file: path, "must hold one JSON object") }
        if let twice = JSONText.duplicateKeys(bytes).first {
            throw InputError(
                file: path, line: twice.line,
                "gives the key \"\(twice.key)\" twice in one object (only the last would count)",
                hint: "keep one of them")
        }
        return try parse(ConfigSection(file: path, path: "", dict: dict))
    }

    // The keys of the config file, section by section. Each table drives both reading
    // (`parse`) and writing (`json`).

    static let topKeys: [ConfigKey<RunConfig>] = [
        .string("name", \.name),
        .string("data_dir", \.dataDir),
        .files("embeddings", \.embeddings),
        .choice("architecture", \.architecture, where: "architecture"),
        .optional("out_dir", \.outDir),
    ]

    static let modelKeys: [ConfigKey<RunConfig>] = [
        .int("embedding_dim", \.embeddingDim, min: 0),
        .int("pretrained_dim", \.pretrainedDim, min: 0),
        .int("hidden_dim", \.hiddenDim, min: 1),
        .int("memory_rows", \.memoryRows, min: 1),
        .int("memory_width", \.memoryWidth, min: 1),
    ]

    static let vocabularyKeys: [ConfigKey<RunConfig>] = [
        .int("min_count", \.minCount, min: 1),
        .bool("extend_with_pretrained", \.extendWithPretrained),
        .bool("lowercase", \.tokenizer.lowercase),
        .int("max_length", \.tokenizer.maxLength, min: 0),
    ]

    static let trainingKeys: [ConfigKey<RunConfig>] = [
        .choice("optimizer", \.optimizer.kind, where: "training.optimizer"),
        .positive("learning_rate", \.optimizer.learningRate),
        .nonNegative("l2", \.optimizer.l2),
        .probability("beta1", \.optimizer.beta1),
        .probability("beta2", \.optimizer.beta2),
        .positive("adam_epsilon", \.optimizer.adamEpsilon),
        .bool("freeze_embeddings", \.optimizer.freezeEmbeddings),
        .nonNegative("embedding_l2", \.optimizer.embeddingL2),
        .nonNegative("clip_norm", \.optimizer.clipNorm),
        .probability("ema_decay", \.optimizer.emaDecay),
        .probability("dropout_embedding", \.dropoutEmbedding),
        .probability("dropout_hidden", \.dropoutHidden),
        .probability("dropout_read", \.dropoutRead),
        .int("batch_size", \.batchSize, min: 1),
        .choice("scaling", \.scaling, where: "training.scaling"),
        .choice("placement", \.placement, where: "training.placement"),
        .choice("oversubscription", \.oversubscription, where: "training.oversubscription"),
        .int("cores_per_host", \.coresPerHost, min: 0),
        .choice("lending", \.lending, where: "training.lending"),
        .int("epochs", \.epochs, min: 0),
        .int("steps", \.steps, min: 0),
        .int("eval_every", \.evalEvery, min: 0),
        .int("patience", \.patience, min: 0),
        .int("task_patience", \.taskPatience, min: 0),
        .choice("task_schedule", \.taskSchedule, where: "training.task_schedule"),
        .bool("always_test", \.alwaysTest),
        .seed("seed", \.seed),
        .seed("split_seed", \.splitSeed),
        .bool("shuffle", \.shuffle),
        .bool("phrase_level", \.phraseLevel),
        .int("checkpoint_every", \.checkpointEvery, min: 0),
        .int("keep_checkpoints", \.keepCheckpoints, min: 1),
        .int("log_every", \.logEvery, min: 1),
        .int("fine_tune_epochs", \.fineTune.epochs, min: 0),
        .choice("fine_tune_shared", \.fineTune.shared, where: "training.fine_tune_shared"),
        .int("fine_tune_eval_every", \.fineTune.evalEvery, min: 0),
        .int("fine_tune_patience", \.fineTune.patience, min: 0),
    ]

    static let taskKeys: [ConfigKey<TaskConfig>] = [
        .required("name", \.name),
        .required("train", \.train),
        .optional("dev", \.dev),
        .optional("test", \.test),
        .int("dev_size", \.devSize, min: 0),
        .number("dev_fraction", \.devFraction),
        .int("test_size", \.testSize, min: 0),
        .number("test_fraction", \.testFraction),
        .nonNegative("weight", \.weight),
        .int("train_limit", \.trainLimit, min: 0),
        .optional("phrases", \.phrases),
        .optional("unlabeled", \.unlabeled),
        .labels("classes", \.classes),
        .int("max_tokens", \.maxTokens, min: 0),
        .choice("truncate", \.truncate, where: "tasks[].truncate"),
    ]

    /// The sections of the file and their keys (nil: the top level).
    static let sections: [(name: String, keys: [ConfigKey<RunConfig>])] = [
        ("model", modelKeys), ("vocabulary", vocabularyKeys), ("training", trainingKeys),
    ]

    static func parse(_ root: ConfigSection) throws -> RunConfig {
        var r = root
        var c = RunConfig()
        let file = r.file
        try r.read(topKeys, into: &c)
        for (name, keys) in sections {
            var s = try r.section(name)
            try s.read(keys, into: &c)
            try s.finish()
        }
        for var s in try r.sections("tasks") {
            var task = TaskConfig(name: "", train: "")
            try s.read(taskKeys, into: &task)
            guard !task.name.isEmpty, task.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
            else {
                throw InputError(
                    file: file, "task name '\(task.name)' is not allowed", hint: "use letters, digits, _ and - only")
            }
            try s.finish()
            let defaults = TaskConfig(name: "", train: "")
            for (what, given, size, fraction, defaultFraction) in [
                ("dev", task.dev, task.devSize, task.devFraction, defaults.devFraction),
                ("test", task.test, task.testSize, task.testFraction, defaults.testFraction),
            ] where given != nil && (size != 0 || fraction != defaultFraction) {
                throw InputError(
                    file: file, "task \(task.name) gives both a `\(what)` file and `\(what)_size`/`\(what)_fraction`",
                    hint: "give one: the `\(what)` file, or the share of `train` to hold out", task: task.name)
            }
            c.tasks.append(task)
        }
        try r.finish()
        if c.tasks.isEmpty { throw InputError(file: file, "`tasks` is empty", hint: "name at least one task") }
        if let problem = Self.runNameProblem(c.name) {
            throw InputError(
                file: file, "run name '\(c.name)' \(problem)",
                hint: "use letters, digits, _, -, + and . only, not starting with a dot (it names the folder runs/NAME)"
            )
        }
        if c.pretrainedDim > c.embeddingDim && c.embeddingDim > 0 {
            throw InputError(
                file: file, "model.pretrained_dim \(c.pretrainedDim) is above model.embedding_dim \(c.embeddingDim)",
                hint:
                    "the vectors fill the first pretrained_dim columns of each embedding row: make "
                    + "embedding_dim at least pretrained_dim"
            )
        }
        if c.dropoutRead > 0 && !c.architecture.hasFusion {
            throw InputError(
                file: file,
                "training.dropout_read \(c.dropoutRead) is set, but architecture \(c.architecture.rawValue) has "
                    + "no memory read",
                hint:
                    "dropout_read drops the memory read of me-lstm, arc-i and arc-ii: remove it or set it to 0 for lstm"
            )
        }
        let names = c.tasks.map(\.name)
        if Set(names).count != names.count {
            throw InputError(file: file, "two tasks have the same name", hint: "task names must be unique")
        }
        return c
    }

    /// Why a run name cannot name a folder under runs/ (nil: it can).
    public static func runNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.hasPrefix(".") { return "starts with a dot" }
        // It names a folder (and `NAME.replaced-DATE` beside it): file systems allow 255 bytes.
        if name.utf8.count > 200 { return "is \(name.utf8.count) bytes long (at most 200: it names a folder)" }
        if let bad = name.first(where: { !($0.isLetter || $0.isNumber || "_-+.".contains($0)) }) {
            return "holds '\(bad)'"
        }
        return nil
    }

    /// The resolved config, every default filled in, as JSON (saved with every checkpoint).
    public func json() -> [String: Any] {
        var d = configJSON(Self.topKeys, self)
        for (name, keys) in Self.sections { d[name] = configJSON(keys, self) }
        d["tasks"] = tasks.map { configJSON(Self.taskKeys, $0) }
        return d
    }

    public func jsonData() -> Data {
        (try? JSONSerialization.data(withJSONObject: json(), options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    /// The file a task's training examples come from: its `phrases` file at phrase level, else `train`.
    public func trainingFile(_ t: TaskConfig) -> String {
        phraseLevel ? (t.phrases ?? t.train) : t.train
    }

    /// The vector files of `embeddings`, resolved against the data folder.
    public var embeddingPaths: [String] { embeddings.map(resolve) }

    /// The config with `model.embedding_dim` 0 replaced by the width of its vectors (the sum of
    /// the widths of joined files), read from the files; any other config as it is.
    public func resolvingVectorWidth(source: String) throws -> RunConfig {
        guard embeddingDim == 0 else { return self }
        guard !embeddings.isEmpty else {
            throw InputError(
                file: source,
                "`model.embedding_dim` is 0 (the width of the vectors), but the config names no `embeddings`",
                hint: "give `embedding_dim` a width (the paper: 100), or name the vector files in `embeddings`")
        }
        var c = self
        c.embeddingDim = try PretrainedEmbeddings.width(embeddingPaths)
        if c.pretrainedDim > c.embeddingDim && c.embeddingDim > 0 {
            throw InputError(
                file: source,
                "model.pretrained_dim \(c.pretrainedDim) is above the vectors' width \(c.embeddingDim) "
                    + "(embedding_dim 0)",
                hint: "leave pretrained_dim at 0, or give embedding_dim a width")
        }
        return c
    }

    /// A path from the config, resolved against the data folder.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (dataDir as NSString).appendingPathComponent(path)
    }
}
