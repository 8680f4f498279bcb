import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// Every task's data, encoded with one shared vocabulary.
public struct Corpus: Sendable {
    public var vocabulary: Vocabulary
    public var tasks: [TaskData]
    /// The dev and test texts that are also training texts of their task (as the tokenizer
    /// reads them), for a warning at start-up.
    public var overlaps: [Overlap] = []

    public init(vocabulary: Vocabulary, tasks: [TaskData], overlaps: [Overlap] = []) {
        (self.vocabulary, self.tasks, self.overlaps) = (vocabulary, tasks, overlaps)
    }

    /// Dev or test texts of a task that are also among its training texts.
    public struct Overlap: Sendable, Equatable {
        public var task: String, split: String, file: String
        public var count: Int, total: Int
        /// The first such text's line in its file.
        public var firstLine: Int
        public var share: Double { total == 0 ? 0 : Double(count) / Double(total) }
        /// Real data repeats a few texts across splits (FDU-MTL up to 3.5 % of a test set, IMDB
        /// 0.5 %), so an overlap is a warning, not an error; over this share the warning says the
        /// split is most likely the wrong file.
        public static let wrongFileShare = 0.5

        public var warning: String {
            "warning: task \(task): \(count) of \(total) \(split) texts "
                + String(format: "(%.1f%%)", 100 * share)
                + " are also training texts (the first at \(file):\(firstLine)); the \(split) accuracy counts them"
                + (share > Self.wrongFileShare
                    ? "; this is not a held-out \(split) set: check the task's `\(split)` and `train` paths" : "")
        }
    }

    /// The overlap of each held-out split with train, by the texts as the tokenizer reads them.
    static func overlaps(_ t: TaskConfig, _ raw: RawTask, config: RunConfig) -> [Overlap] {
        let whole = Tokenizer(lowercase: config.tokenizer.lowercase)  // the whole text, not `max_length` of it
        func key(_ x: LabelledText) -> String { whole.tokens(x.text).joined(separator: " ") }
        let train = Set(raw.train.map(key))
        var found: [Overlap] = []
        for (split, xs, file) in [("dev", raw.dev, t.dev ?? t.train), ("test", raw.test, t.test ?? t.train)] {
            let shared = xs.filter { train.contains(key($0)) }
            guard let first = shared.first else { continue }
            found.append(
                Overlap(
                    task: t.name, split: split, file: config.resolve(file), count: shared.count, total: xs.count,
                    firstLine: first.line))
        }
        return found
    }

    /// The raw splits of one task after hold-outs.
    struct RawTask {
        var train: [LabelledText], dev: [LabelledText], test: [LabelledText]
        var labels: [Int]
    }

    /// Loads every task of the config. The vocabulary comes from the training splits only.
    /// When `vocabulary` and `labels` are given (a checkpoint's), they are used as they are.
    public static func load(
        _ config: RunConfig, vocabulary given: Vocabulary? = nil,
        labels givenLabels: [String: [Int]]? = nil
    ) throws -> Corpus {
        var raws: [RawTask] = []
        var overlaps: [Overlap] = []
        for t in config.tasks {
            raws.append(try loadTask(t, config: config, labels: givenLabels?[t.name]))
            overlaps += Self.overlaps(t, raws[raws.count - 1], config: config)
        }
        var vocab =
            given
            ?? Vocabulary.build(
                texts: raws.lazy.flatMap { $0.train.lazy.map(\.text) },
                tokenizer: config.tokenizer, minCount: config.minCount)
        if given == nil, config.extendWithPretrained, !config.embeddings.isEmpty {
            let known = try PretrainedEmbeddings.words(config.embeddingPaths)
            var counts: [String: Int] = [:]
            for raw in raws {
                for x in raw.train + raw.dev + raw.test {
                    for w in config.tokenizer.tokens(x.text)
                    where vocab.index[String(w)] == nil && known.contains(String(w)) {
                        counts[String(w), default: 0] += 1
                    }
                }
            }
            let extra = counts.sorted { a, b in
                a.value != b.value ? a.value > b.value : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
            }
            vocab = Vocabulary(words: vocab.words + extra.map(\.key))
        }
        var tasks: [TaskData] = []
        for (t, raw) in zip(config.tasks, raws) {
            let classOf = Dictionary(uniqueKeysWithValues: raw.labels.enumerated().map { ($1, $0) })
            func encode(_ xs: [LabelledText], _ split: String) throws -> [EncodedExample] {
                try xs.map { x in
                    guard let c = classOf[x.label] else {
                        throw InputError(
                            file: split, line: x.line,
                            "label \(x.label) does not occur in the training data (labels: \(raw.labels))",
                            hint: "check that the split belongs to this task", task: t.name)
                    }
                    let tokens = vocab.encode(x.text, tokenizer: config.tokenizer)
                    return EncodedExample(tokens: t.truncate.apply(tokens, max: t.maxTokens), label: c)
                }
            }
            tasks.append(
                TaskData(
                    name: t.name, labels: raw.labels,
                    train: try encode(raw.train, config.resolve(config.trainingFile(t))),
                    dev: try encode(raw.dev, config.resolve(t.dev ?? t.train)),
                    test: try encode(raw.test, config.resolve(t.test ?? t.train))))
        }
        return Corpus(vocabulary: vocab, tasks: tasks, overlaps: overlaps)
    }

    /// A task's train, dev and test must be three files: a dev or test file that is the training
    /// file (or dev that is test) would select or report on what the model trained on.
    static func checkDistinctFiles(_ t: TaskConfig, config: RunConfig, trainFile: String) throws {
        func real(_ p: String) -> String {
            URL(fileURLWithPath: config.resolve(p)).resolvingSymlinksInPath().standardizedFileURL.path
        }
        let files = [("train", trainFile), ("dev", t.dev), ("test", t.test)].compactMap { k, v in v.map { (k, $0) } }
        for i in files.indices {
            for j in files.indices where j > i && real(files[i].1) == real(files[j].1) {
                throw InputError(
                    file: config.resolve(files[j].1),
                    "is both the \(files[i].0) and the \(files[j].0) file",
                    hint: "give each split a file of its own, or leave `\(files[j].0)` out to hold it out of train "
                        + "(`\(files[j].0)_size`)", task: t.name)
            }
        }
    }

    /// Reads a task's files and holds out dev and test from train where they are missing: train is
    /// shuffled once with a seed made of `split_seed` and the task name; test is taken first, then
    /// dev; what remains stays in file order.
    /// At phrase level (`training.phrase_level` and a task's `phrases`), the phrase file is the
    /// training set, and dev and test must be given as files: a split held out of the sentences
    /// would have its sentences and their phrases in the phrase file.
    /// With `heldFiles` false the task's `dev` and `test` files are not read at all (their splits
    /// come back empty): what `VectorCorpus` needs to promise that no test text is read.
    static func loadTask(_ t: TaskConfig, config: RunConfig, labels: [Int]?, heldFiles: Bool = true) throws -> RawTask {
        let trainFile = config.trainingFile(t)
        if trainFile != t.train && (t.dev == nil || t.test == nil) {
            throw InputError(
                file: config.resolve(trainFile),
                "phrase-level training needs the task's `dev` and `test` files: held out of `train`, their "
                    + "sentences would also be in the phrase file",
                hint: "give `dev` and `test` for task \(t.name), or drop its `phrases` key", task: t.name)
        }
        try checkDistinctFiles(t, config: config, trainFile: trainFile)
        var train = try LabelledFile.read(config.resolve(trainFile), task: t.name)
        let dev = try t.dev.map { heldFiles ? try LabelledFile.read(config.resolve($0), task: t.name) : [] }
        let test = try t.test.map { heldFiles ? try LabelledFile.read(config.resolve($0), task: t.name) : [] }
        var order = Array(train.indices)
        var rng = SplitMix64(seed: deriveSeed(config.splitSeed, stableHash(t.name)))
        rng.shuffle(&order)
        func take(_ size: Int, _ fraction: Double, _ what: String) throws -> [LabelledText] {
            let n = size > 0 ? size : Int((Double(train.count) * fraction).rounded())
            guard n < order.count else {
                throw InputError(
                    file: config.resolve(trainFile), "cannot hold out \(n) \(what) examples from \(train.count)",
                    hint: "lower `\(what)_size` / `\(what)_fraction` for task \(t.name)", task: t.name)
            }
            let picked = Array(order.prefix(n))
            order.removeFirst(n)
            return picked.sorted().map { train[$0] }
        }
        let heldTest = test == nil ? try take(t.testSize, t.testFraction, "test") : []
        let heldDev = dev == nil ? try take(t.devSize, t.devFraction, "dev") : []
        for (what, held, file) in [("dev", heldDev, dev), ("test", heldTest, test)] where heldFiles && file == nil {
            if held.isEmpty {
                throw InputError(
                    file: config.resolve(trainFile),
                    "no \(what) examples: no `\(what)` file, and `\(what)_size` and "
                        + "`\(what)_fraction` hold out none of its \(train.count) training examples",
                    hint: what == "dev"
                        ? "model selection needs a dev set: give the task a `dev` file, `dev_size` or `dev_fraction`"
                        : "the run reports test accuracy: give the task a `test` file, `test_size` or `test_fraction`",
                    task: t.name)
            }
        }
        if t.trainLimit > 0 && order.count > t.trainLimit { order = Array(order.prefix(t.trainLimit)) }
        train = order.sorted().map { train[$0] }
        if let declared = t.classes, labels == nil {
            let known = Set(declared)
            for (split, rows, file) in [
                ("train", train, trainFile), ("dev", dev ?? [], t.dev ?? trainFile),
                ("test", test ?? [], t.test ?? trainFile),
            ] {
                if let bad = rows.first(where: { !known.contains($0.label) }) {
                    throw InputError(
                        file: config.resolve(file), line: bad.line,
                        "label \(bad.label) is not one of the task's classes \(declared) (in its \(split) data)",
                        hint: "fix the line, or add the label to `classes` of task \(t.name)", task: t.name)
                }
            }
        }
        let labelSet = labels ?? t.classes ?? Array(Set(train.map(\.label))).sorted()
        if labelSet.count < 2 {
            throw InputError(
                file: config.resolve(trainFile), "the training data has only one label (\(labelSet))",
                hint: "a classifier needs at least two classes", task: t.name)
        }
        return RawTask(train: train, dev: dev ?? heldDev, test: test ?? heldTest, labels: labelSet)
    }
}
