import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The training choices the paper leaves open: each changes what it should and nothing
/// else, and is off by default.
final class TrainingOptionsTests: XCTestCase {
    func dataDir() throws -> String {
        let d = Paths.sharedData
        guard FileManager.default.fileExists(atPath: d + "/sst-1/train.phrases.tsv.gz") else {
            throw XCTSkip("no ../shared/data with SST phrases beside the package")
        }
        return d
    }

    func sstConfig(_ d: String) -> RunConfig {
        var c = RunConfig()
        c.dataDir = d
        c.tasks = [
            TaskConfig(
                name: "sst1", train: "sst-1/train.tsv", dev: "sst-1/dev.tsv", test: "sst-1/test.tsv",
                phrases: "sst-1/train.phrases.tsv.gz")
        ]
        return c
    }

    /// At phrase level the phrase file is the training set; dev and test do not change. Off, the
    /// `phrases` key changes nothing.
    func testPhraseLevelReplacesOnlyTheTrainingSet() throws {
        let d = try dataDir()
        var c = sstConfig(d)
        let sentences = try Corpus.load(c)
        var plain = c
        plain.tasks[0].phrases = nil
        let withoutKey = try Corpus.load(plain)
        XCTAssertEqual(sentences.tasks[0].train.map(\.tokens), withoutKey.tasks[0].train.map(\.tokens))
        XCTAssertEqual(sentences.vocabulary.words, withoutKey.vocabulary.words)
        XCTAssertEqual(sentences.tasks[0].train.count, 8544)

        c.phraseLevel = true
        let phrases = try Corpus.load(c)
        XCTAssertEqual(phrases.tasks[0].train.count, 159_274)
        XCTAssertEqual(phrases.tasks[0].labels, [0, 1, 2, 3, 4])
        // Dev and test are the sentence files, encoded with the (phrase-built) vocabulary.
        XCTAssertEqual(phrases.tasks[0].dev.count, 1101)
        XCTAssertEqual(phrases.tasks[0].test.count, 2210)
        XCTAssertEqual(phrases.tasks[0].dev.map(\.label), sentences.tasks[0].dev.map(\.label))
        let decode = { (v: Vocabulary, xs: [EncodedExample]) in xs.map { $0.tokens.map { v.words[Int($0)] } } }
        XCTAssertEqual(
            decode(phrases.vocabulary, phrases.tasks[0].test), decode(sentences.vocabulary, sentences.tasks[0].test))
        // Every train sentence is among the phrases.
        let phraseTexts = Set(decode(phrases.vocabulary, phrases.tasks[0].train))
        let missing = decode(sentences.vocabulary, sentences.tasks[0].train).filter { !phraseTexts.contains($0) }
        XCTAssertLessThan(missing.count, 10, "train sentences missing from the phrase file: \(missing.prefix(3))")
    }

    /// A held-out dev split would leak into phrase-level training: refused with a clear message.
    func testPhraseLevelNeedsGivenDevAndTest() throws {
        let d = try dataDir()
        var c = sstConfig(d)
        c.phraseLevel = true
        c.tasks[0].dev = nil
        c.tasks[0].devSize = 500
        assertInputError(["phrase-level training needs the task's `dev` and `test` files", "sst1"]) {
            _ = try Corpus.load(c)
        }
    }

    /// The config key reads and writes back; the default is off.
    func testPhraseLevelConfigKey() throws {
        let dir = Paths.temporaryDirectory()
        let path = writeFile(
            dir, "c.json",
            #"{"training": {"phrase_level": true}, "tasks": [{"name": "a", "train": "t.tsv", "phrases": "p.tsv"}]}"#)
        let c = try RunConfig.load(path)
        XCTAssertTrue(c.phraseLevel)
        XCTAssertEqual(c.tasks[0].phrases, "p.tsv")
        XCTAssertEqual(c.trainingFile(c.tasks[0]), "p.tsv")
        XCTAssertFalse(RunConfig().phraseLevel)
        let json = c.json()
        XCTAssertEqual((json["training"] as? [String: Any])?["phrase_level"] as? Bool, true)
    }
}

/// Per-task fine-tuning after joint training, on synthetic data (no ../shared/data needed).
final class FineTuningTests: XCTestCase {
    override func setUp() { BLASLibrary.setThreads(1) }

    static func config(shared: FineTuneSettings.Shared = .trainable) -> RunConfig {
        var c = InProcessDistributionTests.config()
        c.fineTune.epochs = 2
        c.fineTune.evalEvery = 3
        c.fineTune.shared = shared
        c.checkpointEvery = 4
        return c
    }

    /// Joint run then fine-tuning on `ranks` rank threads; the outcomes of rank 0.
    func run(_ c: RunConfig, ranks: Int, _ dir: String) throws -> [FineTuning.Outcome?] {
        let corpus = InProcessDistributionTests.corpus()
        let out = try ThreadCommunicator.run(ranks: ranks) { comm -> [FineTuning.Outcome?] in
            let t = try Trainer(config: c, corpus: corpus, outDir: dir, resume: nil, communicator: comm)
            try t.run(observers: [])
            return try FineTuning.run(after: t) { _ in [] }!
        }
        return out[0]
    }

    func tensors(_ dir: String) throws -> [String: SafeTensors.Tensor] {
        try Checkpoint.load(dir).tensors
    }

    /// Each task starts from the joint `best` checkpoint and trains alone: its own tensors change;
    /// the shared ones change when trainable and stay bit for bit when frozen; other tasks'
    /// tensors are not part of its model. Its step 0 (the joint model) is the first candidate.
    func testFineTuningStartsFromTheJointBestAndFreezesWhatItShould() throws {
        let dir = Paths.temporaryDirectory()
        for shared in FineTuneSettings.Shared.allCases {
            let out = dir + "/" + shared.rawValue
            let outcomes = try run(Self.config(shared: shared), ranks: 1, out)
            let joint = try tensors(out + "/checkpoints/best")
            for (m, spec) in InProcessDistributionTests.specs.enumerated() {
                let o = try XCTUnwrap(outcomes[m])
                XCTAssertEqual(o.steps, 2 * ((20 + 6 * m + 3) / 4), "two epochs of the task's own data")
                let ft = try tensors(RunFolder(out).fineTune(task: spec.name).final)
                let own = "task.\(spec.name)."
                XCTAssertFalse(
                    ft.keys.contains { $0.hasPrefix("task.") && !$0.hasPrefix(own) }, "another task's tensors")
                for (name, t) in ft {
                    let before = try XCTUnwrap(joint[name], name)
                    let changed = t.values != before.values
                    if name.hasPrefix(own) {
                        if name.contains("lstm.") || name.contains("classifier.") {
                            XCTAssertTrue(changed, "\(shared): task tensor \(name) trained")
                        }
                    } else if shared == .frozen {
                        XCTAssertFalse(changed, "frozen shared tensor \(name) changed")
                    } else if name.hasPrefix("global.control") || name == "embedding.weight" {
                        XCTAssertTrue(changed, "trainable shared tensor \(name) trained")
                    }
                }
                // The joint model is evaluated first: the best dev is at least its dev accuracy.
                let state = try Checkpoint.load(RunFolder(out).fineTune(task: spec.name).final).state
                XCTAssertNotNil(state.bestDev[spec.name])
                XCTAssertEqual(o.bestDev, state.bestDev[spec.name])
            }
        }
    }

    /// Ranks fine-tune their own tasks side by side: 3 rank threads give the outcomes and the
    /// fine-tuned tensors of one process, bit for bit (whole tasks per rank, so that the joint run
    /// is bit-identical too; AdaGrad's first steps turn rounding differences into sign flips).
    func testFineTuningOnRanksEqualsOneProcess() throws {
        let dir = Paths.temporaryDirectory()
        var c = Self.config()
        c.placement = .blocks
        let one = try run(c, ranks: 1, dir + "/one")
        let three = try run(c, ranks: 3, dir + "/three")
        XCTAssertEqual(one.map { $0?.bestDev }, three.map { $0?.bestDev })
        XCTAssertEqual(one.map { $0?.testAtBestDev }, three.map { $0?.testAtBestDev })
        for spec in InProcessDistributionTests.specs {
            let a = try tensors(RunFolder(dir + "/one").fineTune(task: spec.name).final)
            let b = try tensors(RunFolder(dir + "/three").fineTune(task: spec.name).final)
            XCTAssertEqual(InProcessDistributionTests.worst(a, b), 0, spec.name)
        }
    }

    /// An interrupted fine-tuning resumes from its newest step checkpoint to the same bits, and
    /// a finished one is read back, not run again.
    func testInterruptedFineTuningResumesExactly() throws {
        let dir = Paths.temporaryDirectory()
        let c = Self.config()
        let corpus = InProcessDistributionTests.corpus()
        let joint = try Trainer(config: c, corpus: corpus, outDir: dir, resume: nil)
        try joint.run(observers: [])
        let first = try XCTUnwrap(try FineTuning.run(after: joint) { _ in [] })
        let task = RunFolder(dir).fineTune(task: "t3").path
        let final = try Data(contentsOf: URL(fileURLWithPath: task + "/checkpoints/final/model.safetensors"))
        // Back to the oldest step checkpoint kept: the later ones, best and final go.
        let steps = RunFolder(task).stepCheckpoints
        XCTAssertGreaterThan(steps.count, 1)
        for s in steps.dropFirst() { try FileManager.default.removeItem(atPath: s) }
        for n in ["final", "best"] { try FileManager.default.removeItem(atPath: task + "/checkpoints/" + n) }
        // Without the joint checkpoints, only a resume from the step checkpoint can succeed.
        for n in ["final", "best"] { try FileManager.default.removeItem(atPath: dir + "/checkpoints/" + n) }
        let again = try XCTUnwrap(try FineTuning.run(after: joint) { _ in [] })
        for m in 0..<4 {
            XCTAssertEqual(first[m]?.bestDev, again[m]?.bestDev)
            XCTAssertEqual(first[m]?.testAtBestDev, again[m]?.testAtBestDev)
            XCTAssertEqual(first[m]?.bestStep, again[m]?.bestStep)
            XCTAssertEqual(first[m]?.steps, again[m]?.steps)
        }
        // The finished tasks were read back, not trained again.
        XCTAssertEqual(first[0]?.seconds, again[0]?.seconds)
        XCTAssertEqual(
            final, try Data(contentsOf: URL(fileURLWithPath: task + "/checkpoints/final/model.safetensors")))
    }

    /// The tasks are spread over the ranks by size, costliest first.
    func testFineTuningSpreadsTasksOverRanks() {
        XCTAssertEqual(FineTuning.owners(costs: [10, 40, 30, 20], ranks: 2), [0, 0, 1, 1])
        XCTAssertEqual(FineTuning.owners(costs: [5, 100, 5, 5], ranks: 2), [1, 0, 1, 1])
        XCTAssertEqual(FineTuning.owners(costs: [1, 2, 3], ranks: 1), [0, 0, 0])
    }

    /// Off by default; the config keys read and write back; a wrong value is refused.
    func testFineTuneConfigKeys() throws {
        XCTAssertEqual(RunConfig().fineTune.epochs, 0)
        let dir = Paths.temporaryDirectory()
        let good = writeFile(
            dir, "c.json",
            #"{"training": {"fine_tune_epochs": 3, "fine_tune_shared": "frozen", "fine_tune_patience": 2},"#
                + #" "tasks": [{"name": "a", "train": "t.tsv"}]}"#)
        let c = try RunConfig.load(good)
        XCTAssertEqual(c.fineTune.epochs, 3)
        XCTAssertEqual(c.fineTune.shared, .frozen)
        XCTAssertEqual(c.fineTune.patience, 2)
        XCTAssertEqual((c.json()["training"] as? [String: Any])?["fine_tune_shared"] as? String, "frozen")
        let bad = writeFile(
            dir, "b.json", #"{"training": {"fine_tune_shared": "thawed"}, "tasks": [{"name": "a", "train": "t"}]}"#)
        assertInputError(["`training.fine_tune_shared` is 'thawed'", "trainable, frozen"]) {
            _ = try RunConfig.load(bad)
        }
    }
}

/// Dropout, gradient-norm clipping and the embedding L2 penalty (synthetic data).
final class RegularisationTests: XCTestCase {
    override func setUp() { BLASLibrary.setThreads(1) }

    func train(_ c: RunConfig, ranks: Int, _ dir: String) throws -> [String: SafeTensors.Tensor] {
        let corpus = InProcessDistributionTests.corpus()
        _ = try ThreadCommunicator.run(ranks: ranks) { comm in
            try Trainer(config: c, corpus: corpus, outDir: dir, resume: nil, communicator: comm).run(observers: [])
        }
        return try Checkpoint.load(dir + "/checkpoints/final").tensors
    }

    /// Dropout changes training, not evaluation; rates of 0 are today's run bit for bit; and the
    /// masks follow the examples: ranks that split a task's batch train the model of one process.
    func testDropoutChangesTrainingOnlyAndDoesNotDependOnRanks() throws {
        let dir = Paths.temporaryDirectory()
        var base = InProcessDistributionTests.config()
        base.optimizer.kind = .sgd
        let plain = try train(base, ranks: 1, dir + "/plain")
        var zero = base
        zero.dropoutEmbedding = 0
        zero.dropoutHidden = 0
        XCTAssertEqual(InProcessDistributionTests.worst(plain, try train(zero, ranks: 1, dir + "/zero")), 0)
        var c = base
        c.dropoutEmbedding = 0.3
        c.dropoutHidden = 0.5
        let one = try train(c, ranks: 1, dir + "/one")
        XCTAssertGreaterThan(InProcessDistributionTests.worst(plain, one), 1e-3, "dropout changes the updates")
        let six = try train(c, ranks: 6, dir + "/six")
        XCTAssertLessThanOrEqual(InProcessDistributionTests.worst(one, six), 1e-5, "6 ranks split tasks")
        // Evaluation never drops: the same weights give the same accuracy with or without the rates.
        let corpus = InProcessDistributionTests.corpus()
        let loaded = try Checkpoint.load(dir + "/one/checkpoints/final")
        let model = try Checkpoint.model(from: loaded)
        let a = Evaluation.accuracy(model.networks[0], corpus.tasks[0].dev)
        let b = Evaluation.accuracy(model.networks[0], corpus.tasks[0].dev)
        XCTAssertEqual(a, b)
        // A dropped unit is 0 and a kept one is scaled by 1/(1 − p); about p of them are dropped.
        var rng = SplitMix64(seed: 1)
        var mask = [Double](repeating: -1, count: 20_000)
        mask.withUnsafeMutableBufferPointer { Dropout.fill($0.baseAddress!, 20_000, p: 0.3, &rng) }
        XCTAssertEqual(Set(mask), [0, 1 / 0.7])
        XCTAssertEqual(Double(mask.filter { $0 == 0 }.count) / 20_000, 0.3, accuracy: 0.01)
    }

    /// Dropout on the memory read (`dropout_read`): a rate of 0 is today's run bit for bit, a rate
    /// above 0 changes the updates, with the same result on 1 and 6 ranks; it adds its own masks
    /// and leaves those of the embedding and hidden dropout as they were (the run with all three
    /// differs from the run with two, whose masks are unchanged: the two-rate run of 1 rank equals
    /// that of 6 ranks as before). An LSTM, which has no memory read, refuses the key.
    func testReadDropoutChangesTrainingAndDoesNotDependOnRanks() throws {
        let dir = Paths.temporaryDirectory()
        var base = InProcessDistributionTests.config()
        base.optimizer.kind = .sgd
        base.dropoutEmbedding = 0.2
        base.dropoutHidden = 0.5
        let two = try train(base, ranks: 1, dir + "/two")
        var zero = base
        zero.dropoutRead = 0
        XCTAssertEqual(InProcessDistributionTests.worst(two, try train(zero, ranks: 1, dir + "/zero")), 0)
        var c = base
        c.dropoutRead = 0.3
        let one = try train(c, ranks: 1, dir + "/one")
        XCTAssertGreaterThan(InProcessDistributionTests.worst(two, one), 1e-3, "read dropout changes the updates")
        let six = try train(c, ranks: 6, dir + "/six")
        XCTAssertLessThanOrEqual(InProcessDistributionTests.worst(one, six), 1e-5, "6 ranks split tasks")
        // The read's masks come from their own stream: the embedding and hidden masks of an
        // example are those of the run without read dropout.
        let batch = Batch(sequences: [[1, 2, 3], [4, 5]], labels: [0, 1])
        func masks(read: Double) -> (x: [Double], h: [Double], r: [Double]) {
            let (E, d, W, n) = (4, 5, 2, batch.tokenCount)
            var x = [Double](repeating: -1, count: n * E), h = [Double](repeating: -1, count: 2 * d)
            var r = [Double](repeating: -1, count: n * W)
            let drop = Dropout(embedding: 0.3, hidden: 0.4, read: read, seeds: [11, 12])
            x.withUnsafeMutableBufferPointer { xp in
                h.withUnsafeMutableBufferPointer { hp in
                    r.withUnsafeMutableBufferPointer { rp in
                        drop.masks(
                            for: batch, embeddingDim: E, hidden: d, x: xp.baseAddress!, h: hp.baseAddress!,
                            memoryWidth: W, r: read > 0 ? rp.baseAddress! : nil)
                    }
                }
            }
            return (x, h, r)
        }
        let without = masks(read: 0), with = masks(read: 0.5)
        XCTAssertEqual(without.x, with.x)
        XCTAssertEqual(without.h, with.h)
        XCTAssertEqual(Set(without.r), [-1], "no read mask is drawn at rate 0")
        XCTAssertEqual(Set(with.r), [0, 2], "each read unit is dropped or scaled by 1/(1 − 0.5)")
        // An LSTM has no memory read: the key is refused with what to do.
        let bad = writeFile(
            dir, "lstm.json",
            #"{"architecture": "lstm", "training": {"dropout_read": 0.2}, "tasks": [{"name": "a", "train": "t"}]}"#)
        assertInputError([
            "training.dropout_read 0.2 is set, but architecture lstm has no memory read", "set it to 0 for lstm",
        ]) {
            _ = try RunConfig.load(bad)
        }
        var arc = RunConfig()
        arc.tasks = [TaskConfig(name: "a", train: "t")]
        arc.dropoutRead = 0.2
        XCTAssertEqual(try arc.validated(source: "test").dropoutRead, 0.2)
    }

    /// The moving average of the weights (`ema_decay`): training is the run without it bit for
    /// bit; the average is β·a + (1 − β)·w after every update, from the initial weights (checked
    /// against a Double recurrence over the training weights); evaluations and `best` use it
    /// (the accuracy of `best`'s weights is the one the run selected on); it is the same on 1 and
    /// 6 ranks, and a resumed run continues it to the bytes of an uninterrupted one.
    func testWeightAverageIsEvaluatedAndLeavesTrainingAlone() throws {
        let dir = Paths.temporaryDirectory()
        let corpus = InProcessDistributionTests.corpus()
        var base = InProcessDistributionTests.config()
        base.checkpointEvery = 6
        base.keepCheckpoints = 5
        let plain = try train(base, ranks: 1, dir + "/plain")
        var c = base
        c.optimizer.emaDecay = 0.8
        let one = try train(c, ranks: 1, dir + "/one")
        XCTAssertEqual(InProcessDistributionTests.worst(plain, one), 0, "training weights do not change")
        // The recurrence, in Double, over the training weights after every step.
        let t = try Trainer(config: c, corpus: corpus, outDir: dir + "/steps", resume: nil)
        var reference = t.model.parameterSets.map { set in (0..<set.count).map { Double(set.values[$0]) } }
        for _ in 0..<c.steps {
            t.trainStep()
            for (k, set) in t.model.parameterSets.enumerated() {
                for i in 0..<set.count { reference[k][i] = 0.8 * reference[k][i] + 0.2 * Double(set.values[i]) }
            }
        }
        var worstAverage = 0.0, moved = 0.0
        for (k, set) in t.model.parameterSets.enumerated() {
            for i in 0..<set.count {
                worstAverage = max(worstAverage, abs(Double(t.optimizer.average[k][i]) - reference[k][i]))
                moved = max(moved, abs(Double(set.values[i]) - reference[k][i]))
            }
        }
        XCTAssertLessThan(worstAverage, 1e-6, "the average is the EMA of the training weights")
        XCTAssertGreaterThan(moved, 1e-3, "the average is not the training weights")
        // evaluate() reads the average: with task t0's average all zeros its classifier's logits
        // tie and every dev example is given class 0; the training weights are back after it.
        let weights = t.model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }
        t.optimizer.average[1].update(repeating: 0, count: t.model.parameterSets[1].count)
        let dev = corpus.tasks[0].dev
        XCTAssertEqual(t.evaluate().dev[0], 100 * Double(dev.filter { $0.label == 0 }.count) / Double(dev.count))
        XCTAssertNotEqual(t.evaluate().dev[0], t.evaluateWeights().dev[0])
        XCTAssertEqual(
            t.model.parameterSets.map { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }, weights)
        // `best` holds the average at its step; the step checkpoint of that step, the training weights.
        let best = try Checkpoint.load(dir + "/one/checkpoints/best")
        let step = try Checkpoint.load(dir + "/one/checkpoints/" + String(format: "step-%08d", best.state.step))
        for (name, tensor) in best.tensors {
            XCTAssertEqual(tensor.values, step.optimizer["optimizer.ema." + name]?.values, name)
        }
        XCTAssertGreaterThan(InProcessDistributionTests.worst(best.tensors, step.tensors), 1e-3)
        // Evaluating `best`'s weights (as a run without an average) gives the mean dev accuracy
        // the run selected it on.
        let again = try Trainer(config: base, corpus: corpus, outDir: dir + "/again", resume: best)
        let devs = again.evaluate().dev.compactMap { $0 }
        XCTAssertEqual(devs.reduce(0, +) / Double(devs.count), best.state.bestMeanDev, accuracy: 1e-9)
        // 4 ranks (a task each) keep the same average bit for bit; 6 ranks (tasks split, summed
        // in another order) to float32 rounding, with SGD (AdaGrad turns that rounding in
        // gradients of zero into steps: InProcessDistributionTests).
        let averages = { (d: String) -> [String: SafeTensors.Tensor] in
            try Checkpoint.load(d + "/checkpoints/final").optimizer.filter { $0.key.hasPrefix("optimizer.ema.") }
        }
        _ = try train(c, ranks: 4, dir + "/four")
        let oneAverage = try averages(dir + "/one")
        XCTAssertEqual(oneAverage.count, one.count)
        XCTAssertEqual(InProcessDistributionTests.worst(oneAverage, try averages(dir + "/four")), 0)
        var sgd = c
        sgd.optimizer.kind = .sgd
        _ = try train(sgd, ranks: 1, dir + "/sgd-one")
        _ = try train(sgd, ranks: 6, dir + "/sgd-six")
        XCTAssertLessThanOrEqual(
            InProcessDistributionTests.worst(try averages(dir + "/sgd-one"), try averages(dir + "/sgd-six")), 1e-5)
        // Resumed from step 6: the same average and weights as the run without a break.
        let resumed = try Trainer(
            config: c, corpus: corpus, outDir: dir + "/one-resumed",
            resume: try Checkpoint.load(dir + "/one/checkpoints/step-00000006"))
        try resumed.run(observers: [])
        XCTAssertEqual(InProcessDistributionTests.worst(oneAverage, try averages(dir + "/one-resumed")), 0)
        XCTAssertEqual(
            InProcessDistributionTests.worst(one, try Checkpoint.load(dir + "/one-resumed/checkpoints/final").tensors),
            0)
        // Off by default and in [0, 1).
        XCTAssertEqual(RunConfig().optimizer.emaDecay, 0)
        let bad = writeFile(dir, "ema.json", #"{"training": {"ema_decay": 1}, "tasks": [{"name": "a", "train": "t"}]}"#)
        assertInputError(["ema_decay"]) { _ = try RunConfig.load(bad) }
    }

    /// Clipping scales each set's gradient to the norm asked, computed here in Double; a bound
    /// above the norm changes nothing.
    func testClipNormScalesEachSetsGradient() throws {
        let dims = GradientCheckTests.dims
        let specs = [TaskSpec(name: "a", classes: 3), TaskSpec(name: "b", classes: 2)]
        let batches = GradientCheckTests.batches(tasks: 2, classes: [3, 2])
        func stepped(clip: Double) -> (Model<Double>, before: Model<Double>) {
            let model = Model<Double>(architecture: .arc2, dims: dims, tasks: specs)
            model.initialize(seed: 4)
            let before = Model<Double>(architecture: .arc2, dims: dims, tasks: specs)
            before.copyValues(from: model)
            model.accumulateGradients(batches)
            let sync = GradientSync(model: model)
            sync.reduceSharedGradients()
            var s = OptimizerSettings()
            s.kind = .sgd
            s.learningRate = 0.5
            s.clipNorm = clip
            Optimizer(settings: s, model: model).step(model, embeddingRows: model.touched)
            return (model, before)
        }
        let (free, before) = stepped(clip: 0)
        let bound = 0.01
        let (clipped, _) = stepped(clip: bound)
        let (loose, _) = stepped(clip: 1e9)
        var clippedSets = 0
        for (k, set) in free.parameterSets.enumerated() {
            let b = before.parameterSets[k], c = clipped.parameterSets[k], l = loose.parameterSets[k]
            // The applied step is −lr·g: recover g from the unclipped run.
            let g = (0..<set.count).map { (b.values[$0] - set.values[$0]) / 0.5 }
            let norm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
            let factor = min(1, bound / norm)
            if factor < 1 { clippedSets += 1 }
            for i in 0..<set.count {
                XCTAssertEqual(c.values[i], b.values[i] - 0.5 * g[i] * factor, accuracy: 1e-12, "set \(k)")
                XCTAssertEqual(l.values[i], set.values[i])
            }
        }
        // Here the shared set's gradient is under the bound and the tasks' are over it.
        XCTAssertEqual(clippedSets, 2)
    }

    /// The embedding L2 penalty adds ρ·w to the rows a step updates, and only to them.
    func testEmbeddingL2TouchesOnlyUpdatedRows() throws {
        let dims = GradientCheckTests.dims
        let specs = [TaskSpec(name: "a", classes: 3)]
        let batch = GradientCheckTests.batches(tasks: 1, classes: [3])
        func stepped(_ rho: Double) -> Model<Double> {
            let model = Model<Double>(architecture: .lstm, dims: dims, tasks: specs)
            model.initialize(seed: 4)
            model.accumulateGradients(batch)
            GradientSync(model: model).reduceSharedGradients()
            var s = OptimizerSettings()
            s.kind = .sgd
            s.learningRate = 0.5
            s.embeddingL2 = rho
            Optimizer(settings: s, model: model).step(model, embeddingRows: model.touched)
            return model
        }
        let init0 = Model<Double>(architecture: .lstm, dims: dims, tasks: specs)
        init0.initialize(seed: 4)
        let plain = stepped(0), l2 = stepped(0.1)
        let e = dims.embedding
        let touched = Set(batch[0].tokens.map(Int.init))
        let w0 = init0.shared.values, a = plain.shared.values, b = l2.shared.values
        for row in 0..<dims.vocabulary {
            for j in 0..<e {
                let i = row * e + j
                let expected = touched.contains(row) ? a[i] - 0.5 * 0.1 * w0[i] : a[i]
                XCTAssertEqual(b[i], expected, accuracy: 1e-12, "row \(row)")
            }
        }
        // The dense shared tensors and the task's tensors do not see it.
        for i in (dims.vocabulary * e)..<plain.shared.count { XCTAssertEqual(a[i], b[i]) }
        XCTAssertEqual(
            Array(UnsafeBufferPointer(start: plain.taskParameters[0].values, count: plain.taskParameters[0].count)),
            Array(UnsafeBufferPointer(start: l2.taskParameters[0].values, count: l2.taskParameters[0].count)))
    }

    /// The config keys read, write back and refuse values out of range.
    func testRegularisationConfigKeys() throws {
        let dir = Paths.temporaryDirectory()
        let good = writeFile(
            dir, "c.json",
            #"{"training": {"dropout_embedding": 0.2, "dropout_hidden": 0.5, "clip_norm": 5, "embedding_l2": 1e-6},"#
                + #" "tasks": [{"name": "a", "train": "t.tsv"}]}"#)
        let c = try RunConfig.load(good)
        XCTAssertEqual(
            [c.dropoutEmbedding, c.dropoutHidden, c.optimizer.clipNorm, c.optimizer.embeddingL2], [0.2, 0.5, 5, 1e-6])
        let d = RunConfig()
        XCTAssertEqual(
            [d.dropoutEmbedding, d.dropoutHidden, d.optimizer.clipNorm, d.optimizer.embeddingL2], [0, 0, 0, 0])
        for (key, value, message) in [
            ("dropout_hidden", "1", "`training.dropout_hidden` must be in [0, 1), not 1.0"),
            ("dropout_embedding", "-0.1", "`training.dropout_embedding` must be in [0, 1)"),
            ("dropout_read", "1.5", "`training.dropout_read` must be in [0, 1), not 1.5"),
            ("clip_norm", "-1", "`training.clip_norm` must be a finite number ≥ 0"),
        ] {
            let bad = writeFile(
                dir, "b.json",
                #"{"training": {""# + key + #"": "# + value + #"}, "tasks": [{"name": "a", "train": "t"}]}"#)
            assertInputError([message]) { _ = try RunConfig.load(bad) }
        }
    }
}

/// Task scheduling, per-task early stopping and the per-task length cap (synthetic data).
final class ScheduleTests: XCTestCase {
    override func setUp() { BLASLibrary.setThreads(1) }

    /// How far each task's data cursor moved, in examples.
    func progress(_ t: Trainer) -> [Int] {
        t.samplers.map { $0.cursor.epoch * $0.count + $0.cursor.position }
    }

    /// One task a step: only that task's data, tensors and optimizer state move; uniform draws
    /// are about even and proportional ones follow the training-set sizes; ranks draw alike.
    func testOneTaskPerStepSchedules() throws {
        let dir = Paths.temporaryDirectory()
        let corpus = InProcessDistributionTests.corpus()
        var c = InProcessDistributionTests.config()
        c.taskSchedule = .uniform
        c.steps = 1
        c.optimizer.l2 = 1e-3  // so that an update of an idle task would show
        let t = try Trainer(config: c, corpus: corpus, outDir: dir + "/one", resume: nil)
        let before = t.model.taskParameters.map { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }
        let drawn = t.activeTasks()
        XCTAssertEqual(drawn.filter { $0 }.count, 1)
        t.trainStep()
        for (m, set) in t.model.taskParameters.enumerated() {
            let after = Array(UnsafeBufferPointer(start: set.values, count: set.count))
            XCTAssertEqual(after != before[m], drawn[m], "task \(m) changed only if drawn")
            XCTAssertEqual(progress(t)[m], drawn[m] ? 4 : 0)
        }
        // Frequencies over many steps.
        let sizes = corpus.tasks.map { Double($0.train.count) }
        for schedule in [TaskSchedule.uniform, .proportional] {
            var s = InProcessDistributionTests.config()
            s.taskSchedule = schedule
            s.steps = 4000
            s.evalEvery = 4000
            let run = try Trainer(config: s, corpus: corpus, outDir: dir + "/" + schedule.rawValue, resume: nil)
            try run.run(observers: [])
            let share = progress(run).map { Double($0) / 4 / 4000 }
            XCTAssertEqual(share.reduce(0, +), 1, accuracy: 1e-9)
            for m in share.indices {
                let expected = schedule == .uniform ? 0.25 : sizes[m] / sizes.reduce(0, +)
                XCTAssertEqual(share[m], expected, accuracy: 0.03, "\(schedule) task \(m)")
            }
            XCTAssertEqual(run.stepsPerEpoch, corpus.tasks.map { ($0.train.count + 3) / 4 }.reduce(0, +))
        }
        // 3 rank threads, whole tasks per rank: the same bits as one process.
        var d = InProcessDistributionTests.config()
        d.taskSchedule = .proportional
        d.placement = .blocks
        _ = try ThreadCommunicator.run(ranks: 3) { comm in
            try Trainer(config: d, corpus: corpus, outDir: dir + "/three", resume: nil, communicator: comm)
                .run(observers: [])
        }
        try Trainer(config: d, corpus: corpus, outDir: dir + "/single", resume: nil).run(observers: [])
        XCTAssertEqual(
            FileManager.default.contents(atPath: dir + "/three/checkpoints/final/model.safetensors"),
            FileManager.default.contents(atPath: dir + "/single/checkpoints/final/model.safetensors"))
    }

    /// A task that stops improving stops training: from then on its tensors stay as they are,
    /// while the others go on; the run ends when every task has stopped.
    func testTaskPatienceFreezesAStoppedTask() throws {
        let dir = Paths.temporaryDirectory()
        let corpus = InProcessDistributionTests.corpus()
        var c = InProcessDistributionTests.config()
        c.taskPatience = 2
        c.optimizer.l2 = 1e-3  // so that an update of a stopped task would show
        c.evalEvery = 2
        c.steps = 400
        c.checkpointEvery = 2
        c.keepCheckpoints = 1000
        let t = try Trainer(config: c, corpus: corpus, outDir: dir, resume: nil)
        try t.run(observers: [])
        XCTAssertEqual(Set(t.state.stoppedTasks), Set(corpus.tasks.map(\.name)), "every task stopped")
        XCTAssertLessThan(t.step, 400, "the run ended when the last task stopped")
        let final = try Checkpoint.load(dir + "/checkpoints/final")
        var checkedStops = 0
        for (m, task) in corpus.tasks.enumerated() {
            // The first step checkpoint at which the task had stopped.
            guard
                let first = try RunFolder(dir).stepCheckpoints.lazy.map({ try Checkpoint.load($0) })
                    .first(where: { $0.state.stoppedTasks.contains(task.name) })
            else { continue }
            let prefix = "task.\(task.name)."
            for (name, tensor) in final.tensors where name.hasPrefix(prefix) {
                XCTAssertEqual(tensor.values, first.tensors[name]!.values, "\(name) after task \(m) stopped")
            }
            if first.state.step < final.state.step { checkedStops += 1 }
        }
        XCTAssertGreaterThan(checkedStops, 0, "some task stopped before the end of the run")
    }

    /// head keeps the first N tokens; head_tail the first ⌈N/2⌉ and the last ⌊N/2⌋; short examples
    /// are untouched. A task's cap applies to its own examples only.
    func testTruncation() throws {
        let x: [Int32] = Array(1...10)
        XCTAssertEqual(Truncation.head.apply(x, max: 4), [1, 2, 3, 4])
        XCTAssertEqual(Truncation.headTail.apply(x, max: 4), [1, 2, 9, 10])
        XCTAssertEqual(Truncation.headTail.apply(x, max: 5), [1, 2, 3, 9, 10])
        XCTAssertEqual(Truncation.headTail.apply(x, max: 0), x)
        XCTAssertEqual(Truncation.head.apply(x, max: 20), x)
        let dir = Paths.temporaryDirectory()
        let long = (0..<30).map { "w\($0)" }.joined(separator: " ")
        writeFile(dir, "a.tsv", "0\t\(long)\n1\tshort text\n0\t\(long)\n1\tb c\n")
        var c = RunConfig()
        c.dataDir = dir
        c.tasks = [
            TaskConfig(
                name: "a", train: "a.tsv", dev: copy(dir, "a.tsv", as: "dev"), test: copy(dir, "a.tsv", as: "test"),
                maxTokens: 6, truncate: .headTail),
            TaskConfig(
                name: "b", train: "a.tsv", dev: copy(dir, "a.tsv", as: "dev"), test: copy(dir, "a.tsv", as: "test")),
        ]
        let corpus = try Corpus.load(c)
        let words = { (ids: [Int32]) in ids.map { corpus.vocabulary.words[Int($0)] } }
        for split in [corpus.tasks[0].train, corpus.tasks[0].dev, corpus.tasks[0].test] {
            XCTAssertEqual(words(split[0].tokens), ["w0", "w1", "w2", "w27", "w28", "w29"])
            XCTAssertEqual(words(split[1].tokens), ["short", "text"])
        }
        XCTAssertEqual(corpus.tasks[1].train[0].tokens.count, 30)
    }
}
