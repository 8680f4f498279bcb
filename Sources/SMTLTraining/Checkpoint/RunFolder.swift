import Foundation
import SMTLData

/// The one owner of a run folder's layout (`--out`):
///
///     OUT/results.json                 the run's results (rank 0, when it finishes)
///     OUT/checkpoints/best             the weights of the best mean dev accuracy
///     OUT/checkpoints/final            the weights at the end of the run
///     OUT/checkpoints/step-00000200    step checkpoints (`checkpoint_every`, a stop request)
///     OUT/fine-tune/TASK/              each task's fine-tuning, itself a run folder
///
/// It finds the checkpoint to resume from, prunes old step checkpoints, and clears what an
/// interrupted write leaves behind. The trainer, fine-tuning and the `smtl train` command all
/// take their paths from here.
public struct RunFolder: Sendable, CustomStringConvertible {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var description: String { path }

    func child(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    public var checkpoints: String { child("checkpoints") }
    public var results: String { child("results.json") }

    /// The checkpoint folder called `name` (`best`, `final`, `step-…`).
    public func checkpoint(_ name: String) -> String { (checkpoints as NSString).appendingPathComponent(name) }
    public var best: String { checkpoint("best") }
    public var final: String { checkpoint("final") }

    /// The name of the step checkpoint after `step` steps; names sort in step order.
    public static func stepName(_ step: Int) -> String { String(format: "step-%08d", step) }

    /// Whether a complete checkpoint is at `dir` (its state written last).
    public static func holdsCheckpoint(_ dir: String) -> Bool {
        FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("state.json"))
    }

    /// The joint run has finished: its `final` checkpoint is complete.
    public var finished: Bool { Self.holdsCheckpoint(final) }

    /// The folder of task `name`'s fine-tuning.
    public var fineTuneRoot: String { child("fine-tune") }
    public func fineTune(task name: String) -> RunFolder {
        RunFolder((fineTuneRoot as NSString).appendingPathComponent(name))
    }

    /// The step checkpoints, oldest first.
    public var stepCheckpoints: [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? [])
            .filter { $0.hasPrefix("step-") }
        return names.sorted().map { (checkpoints as NSString).appendingPathComponent($0) }
    }

    /// The newest step checkpoint, else `best`, if any (named in messages about a failed run).
    public var lastGoodCheckpoint: String? {
        stepCheckpoints.last ?? (FileManager.default.fileExists(atPath: best) ? best : nil)
    }

    /// Removes all but the newest `keep` step checkpoints.
    public func prune(keep: Int) {
        for old in stepCheckpoints.dropLast(keep) { Checkpoint.remove(old) }
    }

    /// Removes what an interrupted write or prune leaves in `checkpoints/`: `.tmp-*` folders (a
    /// checkpoint being written), `.deleting-*` (one being pruned) and step folders without their
    /// model or state file. Returns what it removed.
    @discardableResult
    public func removeStale() -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: checkpoints)) ?? [] {
            let dir = (checkpoints as NSString).appendingPathComponent(name)
            let partial =
                name.hasPrefix("step-")
                && !(fm.fileExists(atPath: (dir as NSString).appendingPathComponent("model.safetensors"))
                    && fm.fileExists(atPath: (dir as NSString).appendingPathComponent("state.json")))
            if name.hasPrefix(".tmp-") || name.hasPrefix(".deleting-") || partial {
                if (try? fm.removeItem(atPath: dir)) != nil { removed.append(dir) }
            }
        }
        return removed.sorted()
    }

    /// The checkpoint `--resume auto` continues from: the newest that loads and verifies, by the
    /// step it holds (`final` of a finished run, and the step checkpoints; at the same step a step
    /// checkpoint comes first). Damaged ones are skipped, each told to `skipped` with the reason.
    public func newestUsableCheckpoint(skipped: (String, Error) -> Void = { _, _ in }) throws -> Checkpoint.Loaded {
        let found = stepCheckpoints + (finished ? [final] : [])
        // `final` may be older than the step checkpoints of a resumed longer run.
        func step(_ dir: String) -> Int {
            let name = (dir as NSString).lastPathComponent
            if name.hasPrefix("step-"), let n = Int(name.dropFirst(5)) { return n }
            let state = (dir as NSString).appendingPathComponent("state.json")
            return (try? JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: URL(fileURLWithPath: state))))?
                .step ?? -1
        }
        let all = found.enumerated().map { (step: step($1), order: $0, dir: $1) }
            .sorted { ($0.step, -$0.order) < ($1.step, -$1.order) }.map(\.dir)
        var reasons: [String] = []
        for dir in all.reversed() {
            do {
                return try Checkpoint.load(dir)
            } catch {
                reasons.append("\(dir): \(error)")
                skipped(dir, error)
            }
        }
        throw InputError(
            file: checkpoints,
            all.isEmpty
                ? "no step checkpoint to resume from"
                : "no step checkpoint can be used:\n  " + reasons.joined(separator: "\n  "),
            hint: all.isEmpty ? "train with --checkpoint-every N first" : "start the run again without --resume")
    }
}
