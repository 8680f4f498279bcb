import ArgumentParser
import Foundation
import SMTLDistribution

/// `smtl bench-allreduce`: the time of one MPI_Allreduce (sum, double, in place: the training
/// step's collective) against the message size, under `mpirun`. The α and β of the scaling model
/// (docs/scaling.md) are fitted to its output.
struct BenchAllreduce: Subcommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-allreduce",
        abstract: "Time MPI_Allreduce (sum of doubles, in place) against the message size; run under mpirun.",
        discussion:
            "Rank 0 prints one line per size and, with --json, writes {ranks, bytes, seconds} lines "
            + "(the mean over the repetitions, after a warm-up). launch/bench-scaling runs it on one "
            + "node and across network-namespace hosts."
    )

    @Option(help: "Message sizes in bytes, comma-separated.")
    var sizes = "8,64,512,4096,32768,262144,2097152,8388608"
    @Option(help: "Seconds to time each size (at least 5 repetitions).") var seconds = 0.3
    @Option(help: "Append JSON lines to this file (rank 0).") var json: String?
    @Option(help: "A label written with each JSON line (transport, delay).") var label = ""

    func execute() throws {
        try requireRange("--seconds", seconds, 0.01...3600)
        let world = MPICommunicator.world()
        defer { MPICommunicator.finalize() }
        let list = try sizes.split(separator: ",").map { s -> Int in
            guard let b = Int(s.trimmingCharacters(in: .whitespaces)), (8...(1 << 30)).contains(b) else {
                throw ValidationError("--sizes: '\(s)' is not a size in bytes from 8 to \(1 << 30)")
            }
            return b
        }
        if world.rank == 0 {
            print(
                "smtl bench-allreduce: \(world.size) ranks, \(label.isEmpty ? "" : label + ", ")MPI_Allreduce "
                    + "sum of doubles, in place"
            )
            print("      bytes     seconds per call")
        }
        var lines: [String] = []
        for bytes in list {
            let count = bytes / 8
            let buffer = UnsafeMutablePointer<Double>.allocate(capacity: count)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 1, count: count)
            // Warm-up, then the number of repetitions from rank 0's estimate (every rank must
            // make the same number of calls).
            for _ in 0..<20 { world.allreduceSum(buffer, count: count) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            world.allreduceSum(buffer, count: count)
            var reps = [
                Double(
                    max(5, min(100_000, Int(seconds * 1e9 / Double(max(DispatchTime.now().uptimeNanoseconds - t0, 1)))))
                )
            ]
            world.allreduceSum(&reps)  // every rank's estimate, summed: the same count everywhere
            let n = Int(reps[0]) / world.size
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<n { world.allreduceSum(buffer, count: count) }
            let perCall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(n)
            // The calls synchronise the ranks, so rank 0's mean is every rank's.
            if world.rank == 0 {
                print(String(format: "%11d     %.3e", bytes, perCall))
                lines.append(
                    "{\"label\": \"\(label)\", \"ranks\": \(world.size), \"bytes\": \(bytes), \"seconds\": \(perCall)}")
            }
        }
        if world.rank == 0, let json {
            let text = lines.joined(separator: "\n") + "\n"
            if let h = FileHandle(forWritingAtPath: json) {
                h.seekToEndOfFile(); h.write(Data(text.utf8)); h.closeFile()
            } else {
                try text.write(toFile: json, atomically: true, encoding: .utf8)
            }
        }
    }
}
