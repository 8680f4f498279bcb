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
                ? "--resume auto: no step checkpoint here to resume from"
                : "--resume auto: no step checkpoint here can be used:\n  " + reasons.joined(separator: "\n  "),
            hint: all.isEmpty
                ? "start a new run without --resume (a run writes step checkpoints every checkpoint_every steps and "
                    + "when it is stopped)"
                : "start the run again without --resume (with --overwrite, which moves this one aside)")
    }
}

// MARK: one writer, no silent overwrite

/// The one writer of a run folder: `OUT/.smtl-lock` holds the writer's process id, host and start
/// time. It is created (`O_EXCL`) before anything of the run is written and removed on every exit
/// path; a second writer fails at once, naming the holder. A lock whose holder is gone (a process
/// on this host that no longer runs, for example after `kill -9`) is taken over with a message. A
/// lock held from another host cannot be checked from here: it is refused, and the message says
/// how to remove it once that run is known to be gone.
public final class RunLock {
    public let path: String
    private var held = true

    /// The run folder, when taking the lock created it: removed again on release if it stayed empty.
    let createdFolder: String?

    init(path: String, createdFolder: String?) {
        self.path = path
        self.createdFolder = createdFolder
        RunLock.signalSafePath = strdup(path)
    }

    /// The held lock's path as a C string, for a signal handler that ends the process at once.
    nonisolated(unsafe) static var signalSafePath: UnsafeMutablePointer<CChar>?

    /// Removes the lock file, from a signal handler (async-signal-safe: unlink only).
    static func releaseFromSignalHandler() {
        if let p = signalSafePath { unlink(p) }
    }

    /// Removes the lock file (idempotent).
    public func release() {
        guard held else { return }
        held = false
        RunLock.signalSafePath = nil
        unlink(path)
        if let createdFolder { rmdir(createdFolder) }  // only if empty: a refused run leaves nothing
    }

    deinit { release() }

    /// What the lock file says: `pid host started`.
    struct Holder: CustomStringConvertible {
        var pid: Int32
        var host: String
        var started: String
        var description: String { "process \(pid) on host \(host), started \(started)" }

        init?(_ text: String) {
            let f = text.split(separator: " ", maxSplits: 2).map(String.init)
            guard f.count >= 2, let pid = Int32(f[0]) else { return nil }
            self.pid = pid
            host = f[1]
            started = f.count > 2 ? f[2].trimmingCharacters(in: .whitespacesAndNewlines) : "?"
        }

        /// Whether the holder still runs (only known for a process on this host).
        var alive: Bool? {
            guard host == RunLock.hostName else { return nil }
            guard kill(pid, 0) == 0 || errno == EPERM else { return false }
            // A zombie (ended, not yet reaped: in a container without an init, an orphan stays
            // one) holds nothing.
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            {
                let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
                if state == "Z" || state == "X" { return false }
            }
            return true
        }
    }

    static var hostName: String { ProcessInfo.processInfo.hostName }
}

extension RunFolder {
    /// The lock file of the folder's one writer.
    public var lockFile: String { child(".smtl-lock") }

    /// Takes the folder's writer lock (creating the folder), or throws naming the holder. `say`
    /// reports a stale lock taken over.
    public func lock(say: (String) -> Void = { _ in }) throws -> RunLock {
        let existed = FileManager.default.fileExists(atPath: path)
        try create(path, what: "the run's output folder (--out)")
        let started = ISO8601DateFormatter().string(from: Date())
        let me = "\(getpid()) \(RunLock.hostName) \(started)\n"
        // The holder is written to a file of this process's own, which is then linked into place
        // (atomic, and refused if the lock exists, also on NFS): a lock is never seen half-written.
        let mine = lockFile + ".\(getpid()).tmp"
        let fd = open(mine, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw InputError(
                file: lockFile, "cannot create the run's lock file: \(String(cString: strerror(errno)))",
                hint: "the output folder must be writable; choose another --out or fix its permissions")
        }
        let written = me.withCString { write(fd, $0, strlen($0)) } == me.utf8.count && fsync(fd) == 0
        close(fd)
        defer { unlink(mine) }
        guard written else {
            throw InputError(
                file: lockFile, "cannot write the run's lock file (\(String(cString: strerror(errno))))",
                hint: "check the free space and permissions of \(path)")
        }
        for _ in 0..<3 {
            if link(mine, lockFile) == 0 {
                return RunLock(path: lockFile, createdFolder: existed ? nil : path)
            }
            guard errno == EEXIST else {
                throw InputError(
                    file: lockFile, "cannot create the run's lock file: \(String(cString: strerror(errno)))",
                    hint: "the output folder must be writable; choose another --out or fix its permissions")
            }
            let text = (try? String(contentsOfFile: lockFile, encoding: .utf8)) ?? ""
            guard let holder = RunLock.Holder(text) else {
                // Locks are written whole (linked into place), so this one is damaged.
                say("\(lockFile) held no writer (\(text.isEmpty ? "empty" : "unreadable")); taking it over")
                unlink(lockFile)
                continue
            }
            switch holder.alive {
            case false?:
                say("\(lockFile): its writer, \(holder), is gone; taking the run folder over")
                unlink(lockFile)
                continue
            case true?:
                throw InputError(
                    file: path, "another smtl run is writing into this folder: \(holder)",
                    hint: "wait for it to end, stop it (kill \(holder.pid)), or give this run another --out")
            case nil:
                throw InputError(
                    file: path, "another smtl run holds this folder: \(holder), which cannot be checked from here",
                    hint: "if that run has ended, delete \(lockFile); otherwise give this run another --out")
            }
        }
        throw InputError(file: lockFile, "could not take the run's lock", hint: "try again")
    }

    /// What the folder holds of an earlier run (nil: nothing a new run would replace): its name
    /// and how far it got.
    public func earlierRun() -> String? {
        let fm = FileManager.default
        let steps = stepCheckpoints
        let hasResults = fm.fileExists(atPath: results)
        guard hasResults || !steps.isEmpty || fm.fileExists(atPath: best) || fm.fileExists(atPath: final) else {
            return nil
        }
        var name = "?"
        for dir in [final] + steps.reversed() + [best] {
            if let data = fm.contents(atPath: (dir as NSString).appendingPathComponent("config.json")),
                let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let n = obj["name"] as? String
            {
                name = n
                break
            }
        }
        let progress =
            hasResults
            ? "finished, with results.json"
            : finished
                ? "its final checkpoint written"
                : steps.isEmpty
                    ? "a best checkpoint only"
                    : "unfinished, "
                        + "newest checkpoint \((steps.last! as NSString).lastPathComponent)"
        return "run `\(name)` (\(progress))"
    }

    /// The entries of the folder that belong to a run (what `--overwrite` moves aside).
    func runEntries(logDir: String?) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var entries = names.filter { $0 == "checkpoints" || $0 == "results.json" || $0.hasPrefix("fine-tune") }
            .map(child)
        if let logDir {
            let log = URL(fileURLWithPath: logDir).standardizedFileURL.path
            let me = URL(fileURLWithPath: path).standardizedFileURL.path
            if (log as NSString).deletingLastPathComponent == me, FileManager.default.fileExists(atPath: log) {
                entries.append(log)
            }
        }
        return entries
    }

    /// Moves an earlier run's entries into `OUT.replaced-DATE` beside the folder; returns where.
    public func moveAside(logDir: String?) throws -> String {
        let stamp = DateFormatter()
        stamp.dateFormat = "yyyyMMdd-HHmmss"
        var aside = path.hasSuffix("/") ? String(path.dropLast()) : path
        aside += ".replaced-" + stamp.string(from: Date())
        while FileManager.default.fileExists(atPath: aside) { aside += "x" }
        try create(aside, what: "the folder the earlier run moves to")
        for entry in runEntries(logDir: logDir) {
            do {
                try FileManager.default.moveItem(
                    atPath: entry,
                    toPath: (aside as NSString).appendingPathComponent((entry as NSString).lastPathComponent))
            } catch {
                throw InputError(
                    file: entry, "cannot move it aside to \(aside): \(RunFolder.reason(error))",
                    hint: "move or delete it yourself, then start the run again")
            }
        }
        return aside
    }

    /// The refusal of a new run into a folder that holds `earlier`.
    public func overwriteRefusal(_ earlier: String) -> InputError {
        InputError(
            file: path, "holds \(earlier); a new run would replace it",
            hint:
                "continue it with --resume auto, write the new run elsewhere with --out, or start again here "
                + "with --overwrite (the earlier run moves to \(path).replaced-DATE)")
    }

    func create(_ dir: String, what: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw InputError(
                file: dir, "cannot create \(what): \(RunFolder.pathProblem(dir) ?? RunFolder.reason(error))",
                hint: "choose a folder on a writable volume with --out, or fix its permissions")
        }
    }

    /// What in a path stops a folder from being made there, found by walking it: a component too
    /// long for a file system, or a file where a folder would have to be (nil: neither).
    static func pathProblem(_ dir: String) -> String? {
        let url = URL(fileURLWithPath: dir).standardizedFileURL
        if let long = url.pathComponents.first(where: { $0.utf8.count > 255 }) {
            return "a part of the path is \(long.utf8.count) bytes long (a file system allows 255)"
        }
        var ancestor = url.deletingLastPathComponent()
        while ancestor.path != "/" {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDir) {
                return isDir.boolValue ? nil : "\(ancestor.path) is a file, not a folder"
            }
            ancestor = ancestor.deletingLastPathComponent()
        }
        return nil
    }

    /// A Foundation error in words (its underlying POSIX error where it has one).
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        switch ns.code {
        case NSFileWriteVolumeReadOnlyError: return "the volume is read-only"
        case NSFileWriteFileExistsError: return "a file of that name is in the way"
        case NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        default: return ns.localizedDescription
        }
    }
}

extension RunFolder {
    /// The run folder or checkpoint this folder would sit inside (nil: none): a checkpoint folder,
    /// or the `checkpoints` folder of a run, which that run writes and prunes.
    public func insideAnotherRun() -> String? {
        var dir = URL(fileURLWithPath: path).standardizedFileURL
        let fm = FileManager.default
        while dir.path != "/" {
            dir.deleteLastPathComponent()
            let p = dir.path
            if fm.fileExists(atPath: p + "/model.safetensors") && fm.fileExists(atPath: p + "/state.json") {
                return "the checkpoint \(p)"
            }
            let parent = (p as NSString).deletingLastPathComponent
            if dir.lastPathComponent == "checkpoints"
                && (fm.fileExists(atPath: parent + "/results.json") || fm.fileExists(atPath: parent + "/.smtl-lock"))
            {
                return "the checkpoints of the run in \(parent)"
            }
        }
        return nil
    }
}
