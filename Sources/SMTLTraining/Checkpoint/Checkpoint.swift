import CZlib
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel

/// A checkpoint is a folder:
///
///     model.safetensors      every tensor under its SPEC §6 name (F32)
///     optimizer.safetensors  optimizer state, `optimizer.<slot>.<tensor name>`
///     vocab.txt              one word a line; line i (from 0) is token id i; line 0 is <unk>
///     labels.json            per task, the label values in class-index order
///     config.json            the resolved run config
///     state.json             step, data cursors, model-selection record
///
/// It is written into a temporary folder beside its final place, every file fsynced, and then
/// renamed into place, so a reader never sees half a checkpoint.
public enum Checkpoint {
    public struct Loaded {
        public var config: RunConfig
        public var vocabulary: Vocabulary
        public var labels: [String: [Int]]
        public var tensors: [String: SafeTensors.Tensor]
        public var optimizer: [String: SafeTensors.Tensor]
        public var optimizerSteps: Int
        /// The optimizer the state was saved with (`adagrad`, `sgd`, `adam`); nil without
        /// `optimizer.safetensors`.
        public var optimizerKind: String?
        public var state: TrainingState
        public var directory: String
    }

    public static func write(
        to dir: String, model: Model<Float>, optimizer: Optimizer<Float>?, vocabulary: Vocabulary,
        labels: [String: [Int]], config: RunConfig, state: TrainingState
    ) throws {
        let fm = FileManager.default
        let parent = (dir as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: parent.isEmpty ? "." : parent, withIntermediateDirectories: true)
        let tmp = (parent as NSString).appendingPathComponent(".tmp-\((dir as NSString).lastPathComponent)-\(getpid())")
        try? fm.removeItem(atPath: tmp)
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)

        var tensors: [SafeTensors.Tensor] = []
        for set in model.parameterSets {
            for e in set.layout.entries {
                tensors.append(.init(name: e.name, shape: e.shape, values: set.array(e.name)))
            }
        }
        let meta = ["format": "smtl-1", "architecture": model.architecture.rawValue, "step": "\(state.step)"]
        try put(SafeTensors.encode(tensors, metadata: meta), tmp, "model.safetensors")
        if let optimizer {
            var slots: [SafeTensors.Tensor] = []
            let names =
                optimizer.settings.kind == .adam ? ["m", "v"] : optimizer.settings.kind == .adagrad ? ["sum_sq"] : []
            for (k, set) in model.parameterSets.enumerated() {
                for e in set.layout.entries {
                    for (s, slot) in names.enumerated() {
                        let p = (s == 0 ? optimizer.first[k] : optimizer.second[k]) + e.offset
                        slots.append(
                            .init(
                                name: "optimizer.\(slot).\(e.name)", shape: e.shape,
                                values: Array(UnsafeBufferPointer(start: p, count: e.count))))
                    }
                    // The moving average of the weights (`ema_decay`), where the run keeps one.
                    if !optimizer.average.isEmpty {
                        slots.append(
                            .init(
                                name: "optimizer.ema.\(e.name)", shape: e.shape,
                                values: Array(
                                    UnsafeBufferPointer(start: optimizer.average[k] + e.offset, count: e.count))))
                    }
                }
            }
            try put(
                SafeTensors.encode(
                    slots,
                    metadata: [
                        "kind": optimizer.settings.kind.rawValue,
                        "steps": "\(optimizer.stepCount)",
                    ]), tmp, "optimizer.safetensors")
        }
        try put(Data((vocabulary.words.joined(separator: "\n") + "\n").utf8), tmp, "vocab.txt")
        try put(
            try JSONSerialization.data(withJSONObject: labels, options: [.prettyPrinted, .sortedKeys]), tmp,
            "labels.json")
        try put(config.jsonData(), tmp, "config.json")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try put(try enc.encode(state), tmp, "state.json")
        // Last: a checksum of every file, verified on load (`verify`).
        var sums: [String: Any] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: tmp).sorted() {
            let data = try Data(contentsOf: URL(fileURLWithPath: (tmp as NSString).appendingPathComponent(name)))
            sums[name] = ["crc32": checksum(data), "bytes": data.count]
        }
        try put(
            try JSONSerialization.data(withJSONObject: sums, options: [.prettyPrinted, .sortedKeys]), tmp,
            checksumFile)
        fsyncPath(tmp)
        // Publish: move any old copy aside, rename the new one in, then drop the old one.
        var old: String?
        if fm.fileExists(atPath: dir) {
            old = tmp + ".old"
            try? fm.removeItem(atPath: old!)
            try fm.moveItem(atPath: dir, toPath: old!)
        }
        try fm.moveItem(atPath: tmp, toPath: dir)
        fsyncPath(parent.isEmpty ? "." : parent)
        if let old { try? fm.removeItem(atPath: old) }
    }

    static func put(_ data: Data, _ dir: String, _ name: String) throws {
        let path = (dir as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw InputError(file: path, "cannot be written", hint: "check free space and permissions")
        }
        fsyncPath(path)
    }

    static func fsyncPath(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Deletes a checkpoint folder so that it is never seen half-deleted: renamed away first.
    public static func remove(_ path: String) {
        let parent = (path as NSString).deletingLastPathComponent
        let away = (parent as NSString).appendingPathComponent(".deleting-" + (path as NSString).lastPathComponent)
        try? FileManager.default.removeItem(atPath: away)
        if (try? FileManager.default.moveItem(atPath: path, toPath: away)) != nil {
            try? FileManager.default.removeItem(atPath: away)
        } else {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// The file of per-file checksums in every checkpoint written since it was introduced.
    public static let checksumFile = "checksums.json"

    /// CRC-32 (zlib) of `data`, as 8 hex digits.
    static func checksum(_ data: Data) -> String {
        let crc = data.withUnsafeBytes { raw -> UInt in
            guard let p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
            var c = crc32(0, nil, 0)
            var offset = 0
            while offset < raw.count {
                let n = min(raw.count - offset, 1 << 30)
                c = crc32(c, p + offset, UInt32(n))
                offset += n
            }
            return c
        }
        return String(format: "%08x", UInt32(truncatingIfNeeded: crc))
    }

    /// Checks every file a checkpoint lists in `checksums.json` (size and CRC-32). A checkpoint
    /// written before checksums existed has no such file and is taken as it is.
    public static func verify(_ dir: String) throws {
        let list = (dir as NSString).appendingPathComponent(checksumFile)
        guard FileManager.default.fileExists(atPath: list) else { return }
        guard
            let sums = (try? JSONSerialization.jsonObject(with: Data(try FileReader.bytes(list))))
                as? [String: [String: Any]]
        else {
            throw InputError(file: list, "is not a checksum list", hint: "the checkpoint is damaged")
        }
        for (name, entry) in sums.sorted(by: { $0.key < $1.key }) {
            let path = (dir as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InputError(file: path, "is missing from the checkpoint", hint: "the checkpoint is damaged")
            }
            let bytes = entry["bytes"] as? Int ?? -1
            let crc = entry["crc32"] as? String ?? ""
            if data.count != bytes || checksum(data) != crc {
                throw InputError(
                    file: path,
                    "does not match its checksum (\(data.count) bytes, CRC-32 \(checksum(data)); "
                        + "written: \(bytes) bytes, CRC-32 \(crc))",
                    hint: "the checkpoint is damaged; resume from another one (`--resume auto` skips damaged ones)")
            }
        }
    }

    public static func load(_ dir: String) throws -> Loaded {
        func path(_ n: String) -> String { (dir as NSString).appendingPathComponent(n) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw InputError(
                file: dir, "checkpoint folder not found",
                hint: "pass a folder written by `smtl train` (e.g. runs/NAME/final)")
        }
        guard
            FileManager.default.fileExists(atPath: path("config.json"))
                || FileManager.default.fileExists(atPath: path("model.safetensors"))
        else {
            throw InputError(
                file: dir, "is not a checkpoint folder (it has no config.json or model.safetensors)",
                hint: "pass a folder written by `smtl train`: OUT/checkpoints/final, best or step-N")
        }
        try verify(dir)
        let config = try RunConfig.load(path("config.json"))
        let vocab = try Vocabulary.load(path("vocab.txt"))
        let labelsData = try FileReader.bytes(path("labels.json"))
        guard let labels = (try? JSONSerialization.jsonObject(with: Data(labelsData))) as? [String: [Int]] else {
            throw InputError(
                file: path("labels.json"), "is not a JSON object of label lists", hint: "the checkpoint is damaged")
        }
        let model = try SafeTensors.decode(
            Data(try FileReader.bytes(path("model.safetensors"))), file: path("model.safetensors"))
        var opt: [String: SafeTensors.Tensor] = [:]
        var optSteps = 0
        var optKind: String?
        if FileManager.default.fileExists(atPath: path("optimizer.safetensors")) {
            let o = try SafeTensors.decode(
                Data(try FileReader.bytes(path("optimizer.safetensors"))), file: path("optimizer.safetensors"))
            opt = o.tensors
            optSteps = Int(o.metadata["steps"] ?? "0") ?? 0
            optKind = o.metadata["kind"]
        }
        var state = TrainingState()
        if FileManager.default.fileExists(atPath: path("state.json")) {
            do {
                state = try JSONDecoder().decode(
                    TrainingState.self, from: Data(try FileReader.bytes(path("state.json"))))
            } catch let e as InputError {
                throw e
            } catch {
                throw InputError(
                    file: path("state.json"), "cannot be read (\(error))", hint: "the checkpoint is damaged")
            }
        }
        return Loaded(
            config: config, vocabulary: vocab, labels: labels, tensors: model.tensors, optimizer: opt,
            optimizerSteps: optSteps, optimizerKind: optKind, state: state, directory: dir)
    }

    /// Builds the model a checkpoint describes and fills in every tensor, checking names and shapes.
    public static func model(from c: Loaded) throws -> Model<Float> {
        let dims = c.config.dimensions(vocabulary: c.vocabulary.count)
        let specs = try c.config.tasks.map { t -> TaskSpec in
            guard let l = c.labels[t.name] else {
                throw InputError(
                    file: (c.directory as NSString).appendingPathComponent("labels.json"),
                    "no labels for task \(t.name)",
                    hint: "the checkpoint is damaged")
            }
            return TaskSpec(name: t.name, classes: l.count)
        }
        try c.config.checkSizes(
            vocabulary: c.vocabulary.count, tasks: specs.count,
            source: (c.directory as NSString).appendingPathComponent("config.json"))
        let model = Model<Float>(architecture: c.config.architecture, dims: dims, tasks: specs)
        let file = (c.directory as NSString).appendingPathComponent("model.safetensors")
        try fill(model, from: c.tensors, prefix: "", file: file)
        return model
    }

    static func fill(
        _ model: Model<Float>, from tensors: [String: SafeTensors.Tensor], prefix: String, file: String,
        missingHint: String = "the checkpoint is damaged or from another architecture",
        shapeHint: String = "the checkpoint does not match its config",
        into pick: (ParameterSet<Float>, Int) -> UnsafeMutablePointer<Float> = { s, _ in s.values }
    ) throws {
        for (k, set) in model.parameterSets.enumerated() {
            for e in set.layout.entries {
                guard let t = tensors[prefix + e.name] else {
                    throw InputError(file: file, "tensor \(prefix + e.name) is missing", hint: missingHint)
                }
                guard t.shape == e.shape else {
                    throw InputError(
                        file: file, "tensor \(prefix + e.name) has shape \(t.shape), expected \(e.shape)",
                        hint: shapeHint)
                }
                let p = pick(set, k) + e.offset
                for i in 0..<e.count { p[i] = t.values[i] }
            }
        }
    }

    /// Sets every tensor of `model` from a safetensors file with the SPEC §6 names (one written
    /// by PyTorch or numpy, or a checkpoint's `model.safetensors`): names and shapes are
    /// checked, and a missing or an extra tensor is named. Returns the number of tensors.
    @discardableResult
    public static func initialize(_ model: Model<Float>, fromSafeTensors path: String) throws -> Int {
        let file: (tensors: [String: SafeTensors.Tensor], metadata: [String: String])
        do {
            file = try SafeTensors.decode(Data(try FileReader.bytes(path)), file: path)
        } catch var e as InputError {
            e.hint =
                "--init-from takes a safetensors file of the model's tensors (SPEC §6 names), such as a checkpoint's "
                + "model.safetensors or one written with safetensors.numpy.save_file"
            throw e
        }
        let expected = model.parameterSets.flatMap { $0.layout.entries.map(\.name) }
        let layout =
            "\(model.architecture.rawValue), tasks \(model.tasks.map(\.name).joined(separator: ", ")), "
            + "E=\(model.dims.embedding) d=\(model.dims.hidden) K=\(model.dims.memoryRows) W=\(model.dims.memoryWidth) "
            + "V=\(model.dims.vocabulary)"
        let extra = Set(file.tensors.keys).subtracting(expected).sorted()
        if !extra.isEmpty {
            throw InputError(
                file: path, "tensor \(extra.joined(separator: ", ")) is not part of this model (\(layout))",
                hint: "give a file with exactly the SPEC §6 tensors of the run's config: architecture, sizes and tasks")
        }
        try fill(
            model, from: file.tensors, prefix: "", file: path,
            missingHint: "the file must hold every SPEC §6 tensor of this model (\(layout))",
            shapeHint: "the run's config gives that shape (the vocabulary size V comes from the data)")
        return expected.count
    }

    /// Restores optimizer state saved with the checkpoint.
    public static func restore(_ optimizer: Optimizer<Float>, model: Model<Float>, from c: Loaded) throws {
        let file = (c.directory as NSString).appendingPathComponent("optimizer.safetensors")
        let kind = optimizer.settings.kind
        let continueHint =
            "or start a new run from its weights with fresh \(kind.rawValue) state: "
            + "`smtl train … --init-from \((c.directory as NSString).appendingPathComponent("model.safetensors"))`"
        if kind != .sgd && c.optimizerKind == nil {
            throw InputError(
                file: file, "is missing (the run's optimizer, \(kind.rawValue), needs the state saved in it)",
                hint: "resume from another checkpoint, " + continueHint)
        }
        if let saved = c.optimizerKind, saved != kind.rawValue {
            throw InputError(
                file: file,
                "the checkpoint was saved with the \(saved) optimizer, and this run asks for \(kind.rawValue); "
                    + "optimizer state does not carry over from one optimizer to another",
                hint: "resume with `--optimizer \(saved)`, " + continueHint)
        }
        switch kind {
        case .sgd: break
        case .adagrad:
            try fill(model, from: c.optimizer, prefix: "optimizer.sum_sq.", file: file) { _, k in optimizer.first[k] }
        case .adam:
            try fill(model, from: c.optimizer, prefix: "optimizer.m.", file: file) { _, k in optimizer.first[k] }
            try fill(model, from: c.optimizer, prefix: "optimizer.v.", file: file) { _, k in optimizer.second[k] }
        }
        // The moving average of the weights: restored when the checkpoint has one; a run that
        // turns `ema_decay` on at a resume starts its average at the checkpoint's weights.
        if !optimizer.average.isEmpty && c.optimizer.keys.contains(where: { $0.hasPrefix("optimizer.ema.") }) {
            try fill(model, from: c.optimizer, prefix: "optimizer.ema.", file: file) { _, k in optimizer.average[k] }
        }
        optimizer.restore(stepCount: c.optimizerSteps)
    }
}
