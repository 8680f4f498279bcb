import Foundation
import SMTLData
import SMTLDistribution
import SMTLOptions
import SMTLTraining

// Fuzz targets for every reader of outside input: safetensors (checkpoints, --init-from),
// `label<TAB>text` files (plain or gzip), run configs, vocabularies, GloVe vectors, and a run
// config together with `smtl train`'s options that override it (`options`). A thrown
// error is the reader doing its job; a crash (a trap, an overflow, an out-of-bounds index) is a
// bug. `launch/fuzz` builds this with libFuzzer (`-sanitize=fuzzer -DSMTL_FUZZ`); built plainly,
// it replays files given as arguments (the corpus and any crash inputs) through the same code.

/// The target, from SMTL_FUZZ_TARGET: safetensors, tsv, config, vocab, glove or options.
let target = ProcessInfo.processInfo.environment["SMTL_FUZZ_TARGET"] ?? "safetensors"
let scratch = NSTemporaryDirectory() + "smtl-fuzz-\(getpid())"

func fuzzOne(_ bytes: [UInt8]) {
    let data = Data(bytes)
    switch target {
    case "safetensors":
        _ = try? SafeTensors.decode(data, file: "input")
    default:
        // The readers take paths: the input becomes a file.
        let path = scratch + "-" + target
        _ = FileManager.default.createFile(atPath: path, contents: data)
        switch target {
        case "tsv": _ = try? LabelledFile.read(path)
        case "config": _ = try? RunConfig.load(path)
        case "vocab": _ = try? Vocabulary.load(path)
        case "options": fuzzOptions(data, configPath: path)
        case "glove":
            let vocab = Vocabulary(words: [Vocabulary.unknownToken, "the", "a", "good"])
            var values = [Float](repeating: 0, count: 4 * 3)
            _ = try? values.withUnsafeMutableBufferPointer {
                try PretrainedEmbeddings.load(path, vocabulary: vocab, into: $0.baseAddress!, dimension: 3)
            }
            _ = try? PretrainedEmbeddings.words(path)
        default:
            FileHandle.standardError.write(Data("unknown SMTL_FUZZ_TARGET \(target)\n".utf8))
            exit(2)
        }
    }
}

/// `options`: the input is a config file, a NUL byte, then `smtl train`'s arguments separated by
/// NUL bytes. They are parsed, applied and checked as `smtl train` does before it allocates
/// anything: the overrides, the config's own checks of the result, and the sizes.
func fuzzOptions(_ data: Data, configPath: String) {
    let parts = data.split(separator: 0, omittingEmptySubsequences: false)
    _ = FileManager.default.createFile(atPath: configPath, contents: parts.first.map { Data($0) } ?? Data())
    let args = parts.dropFirst().map { String(decoding: $0, as: UTF8.self) }
    guard var c = try? RunConfig.load(configPath), let overrides = try? TrainingOverrides.parse(args) else { return }
    guard (try? overrides.apply(to: &c, configFile: configPath)) != nil else { return }
    _ = try? c.checkSizes(vocabulary: 1000, tasks: c.tasks.count, source: configPath)
}

/// libFuzzer's driver, for a program with its own `main` (SwiftPM names every executable's entry).
#if SMTL_FUZZ
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

@main
struct Main {
    static func main() {
        #if SMTL_FUZZ
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(
            LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                fuzzOne(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                return 0
            })
        #else
        var n = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            let files =
                isDir.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for f in files {
                guard let d = FileManager.default.contents(atPath: f) else { continue }
                fuzzOne([UInt8](d))
                n += 1
            }
        }
        print("replayed \(n) input(s) through the \(target) reader without a crash")
        #endif
    }
}
