import Foundation
import SMTLData
import SMTLDistribution

/// What a resume may change. A checkpoint continues the run it was saved by: resuming it with
/// another architecture, other sizes, other tasks or data, another vocabulary or optimizer would
/// crash or silently train something else, so those are refused with the list of differences.
/// Settings of the schedule and of the bookkeeping may change freely (a longer budget, another
/// evaluation interval). The remaining training settings (learning rate, L2, dropout, …) change
/// only when named with `--allow-change`, and the change is recorded in the run's state and
/// `results.json`.
public enum ResumeCheck {
    /// One setting that differs: its dotted key and both values as JSON text.
    public struct Difference: Equatable, Sendable, CustomStringConvertible {
        public var key: String
        public var saved: String
        public var requested: String
        public var description: String { "\(key): \(saved) in the checkpoint, \(requested) now" }
    }

    /// Keys that never change within a run.
    static func isStructural(_ key: String) -> Bool {
        key == "architecture" || key.hasPrefix("model.") || key.hasPrefix("vocabulary.") || key.hasPrefix("tasks")
            || [
                "training.split_seed", "training.phrase_level", "embeddings",
                "training.batch_size", "training.scaling", "training.seed", "training.shuffle",
                "training.task_schedule",
            ].contains(key)
    }

    /// Keys that change freely: names and paths, the budget, evaluation and checkpoint
    /// intervals, early stopping, the placement (the same step to rounding) and what follows
    /// the joint run. (`training.optimizer` is left to `Checkpoint.restore`, whose message says
    /// how to continue with another optimizer.)
    static func isFree(_ key: String) -> Bool {
        [
            "name", "training.optimizer", "data_dir", "out_dir", "training.epochs", "training.steps",
            "training.eval_every",
            "training.patience", "training.always_test", "training.checkpoint_every", "training.keep_checkpoints",
            "training.log_every", "training.placement", "training.oversubscription", "training.cores_per_host",
            "training.lending",
        ].contains(key) || key.hasPrefix("training.fine_tune_")
    }

    public static func differences(saved: RunConfig, requested: RunConfig) -> [Difference] {
        // A task's `phrases` file matters only at phrase level, and phrase level only where a
        // task names a `phrases` file (a single-task IMDB run is the same run either way).
        func normal(_ c: RunConfig) -> RunConfig {
            var c = c
            if !c.tasks.contains(where: { $0.phrases != nil }) { c.phraseLevel = false }
            if !c.phraseLevel { for i in c.tasks.indices { c.tasks[i].phrases = nil } }
            // The unlabelled texts only feed `smtl prepare vectors`; training never reads them.
            for i in c.tasks.indices { c.tasks[i].unlabeled = nil }
            return c
        }
        let a = flatten(normal(saved).json()), b = flatten(normal(requested).json())
        return Set(a.keys).union(b.keys).sorted().compactMap { k in
            let x = a[k] ?? "(not set)", y = b[k] ?? "(not set)"
            return x == y ? nil : Difference(key: k, saved: x, requested: y)
        }
    }

    /// Checks a resume; returns the allowed changes that take effect (to be recorded).
    public static func check(
        saved: RunConfig, requested: RunConfig, allowed: Set<String>, checkpoint: String
    ) throws -> [Difference] {
        let diffs = differences(saved: saved, requested: requested).filter { !isFree($0.key) }
        let structural = diffs.filter { isStructural($0.key) }
        let refused = diffs.filter { !isStructural($0.key) && !allowed.contains(shortKey($0.key)) }
        if !structural.isEmpty {
            throw InputError(
                file: checkpoint,
                "cannot resume: the run config differs from the checkpoint's in what a run cannot change:\n  "
                    + structural.map(\.description).joined(separator: "\n  "),
                hint: "resume with the checkpoint's own config (\(checkpoint)/config.json), or start a new run "
                    + "in another --out folder (with --init-from \(checkpoint)/model.safetensors to keep its weights)")
        }
        if !refused.isEmpty {
            throw InputError(
                file: checkpoint,
                "cannot resume: the run config differs from the checkpoint's:\n  "
                    + refused.map(\.description).joined(separator: "\n  "),
                hint: "to change these from here on, add "
                    + refused.map { "--allow-change \(shortKey($0.key))" }.joined(separator: " ")
                    + " (the change is recorded in results.json); or resume with the checkpoint's config")
        }
        return diffs
    }

    /// The splits of `corpus` whose examples differ from those the checkpoint's run was trained
    /// on (`TrainingState.data`), as lines `task/split: SAVED in the checkpoint, NOW now`. A
    /// checkpoint without fingerprints, or a split it does not name, is not compared.
    public static func dataDifferences(
        saved: [String: String], corpus: Corpus, splits: [Split] = Split.allCases
    )
        -> [String]
    {
        corpus.tasks.flatMap { t in
            splits.compactMap { split -> String? in
                let key = "\(t.name)/\(split.rawValue)"
                guard let was = saved[key] else { return nil }
                let now = t.fingerprint(split)
                return was == now ? nil : "\(key): \(was) in the checkpoint, \(now) now"
            }
        }
    }

    /// Refuses to resume on data other than the run's.
    public static func checkData(_ loaded: Checkpoint.Loaded, corpus: Corpus) throws {
        let diffs = dataDifferences(saved: loaded.state.data, corpus: corpus)
        guard !diffs.isEmpty else { return }
        throw InputError(
            file: loaded.directory,
            "cannot resume: the data is not the data this run was trained on:\n  " + diffs.joined(separator: "\n  "),
            hint: "resume with the run's own data (`data_dir` \(loaded.config.dataDir) in "
                + "\(loaded.directory)/config.json), or start a new run in another --out folder "
                + "(with --init-from \(loaded.directory)/model.safetensors to keep its weights)")
    }

    /// The settings `--allow-change` may name: the training keys that are neither structural nor
    /// free to change, in their short form (`learning_rate`).
    public static func changeableKeys(_ c: RunConfig) -> [String] {
        flatten(c.json()).keys.filter { $0.hasPrefix("training.") && !isStructural($0) && !isFree($0) }
            .map(shortKey).sorted()
    }

    /// Whether `key` names a setting of the config at all (`learning_rate`, `hidden_dim`).
    public static func isSetting(_ key: String, of c: RunConfig) -> Bool {
        flatten(c.json()).keys.contains { $0 == key || shortKey($0) == key || $0.hasSuffix("." + key) }
    }

    /// `training.learning_rate` → `learning_rate`.
    public static func shortKey(_ key: String) -> String {
        key.hasPrefix("training.") ? String(key.dropFirst("training.".count)) : key
    }

    static func flatten(_ d: [String: Any], prefix: String = "") -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in d {
            let key = prefix.isEmpty ? k : prefix + "." + k
            if let sub = v as? [String: Any] {
                out.merge(flatten(sub, prefix: key)) { a, _ in a }
            } else if let data = try? JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys]),
                let text = String(data: data, encoding: .utf8)
            {
                out[key] = String(text.dropFirst().dropLast())
            }
        }
        return out
    }
}
