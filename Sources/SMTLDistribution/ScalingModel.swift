import Foundation
import SMTLModel

/// An α-β model of smtl's training step against the number of ranks P and tasks T
/// (docs/scaling.md). A step is: each rank's share of the tasks' forward/backward/update, the work
/// every rank repeats whatever P (drawing every task's batch, updating the replicated shared
/// tensors), then one allreduce of the fused buffer, which the slowest rank sets off.
///
///     step(P, T) = load · (T·b·L·τ / P + ρ₀ + ρ₁·T) + allreduce(P, 8·n(T))
///     n(T)       = U(T)·E + D + T + 2                 (doubles in the fused buffer)
///     U(T)       = V · (1 − (1 − u/V)^T)              (embedding rows the step touches)
///     allreduce  = ⌈log₂P⌉·α + load·2(P−1)/P·bytes·β [+ ⌈log₂P⌉·load·σ when oversubscribed]
///                  (tree latency, ring bandwidth, turns of oversubscribed ranks)
///
/// with τ the seconds per token (`smtl bench`), b·L the tokens of a task's batch, ρ₀ and ρ₁ the
/// replicated work per step and per task, u the rows one task's batch touches, V the vocabulary,
/// E the embedding width, D the dense shared tensors, and `load` the ranks per core (1 up to the
/// cores, then P/cores: oversubscribed ranks take turns). Splitting a task's batch over ranks adds
/// that task's parameters to the buffer; the model counts them when P > T.
/// Per checkpoint, every task's tensors travel from its lead rank to rank 0 (amortised over
/// `checkpointEvery` steps).
public struct ScalingModel: Codable, Sendable, Equatable {
    // The machine.
    /// Cores per host.
    public var cores: Int
    /// Seconds per round of the allreduce (latency).
    public var alpha: Double
    /// Seconds per byte (inverse bandwidth).
    public var beta: Double
    /// Extra seconds per round and rank per core when ranks outnumber the cores (oversubscribed
    /// ranks take turns: a round waits for a rank to be scheduled).
    public var sigma: Double = 0
    // The workload.
    /// Seconds per token of forward + backward + update on one core.
    public var secondsPerToken: Double
    /// Tokens of one task's step batch (batch × mean length).
    public var tokensPerTask: Double
    /// Replicated work per step (seconds), and per task per step.
    public var replicatedFixed: Double
    public var replicatedPerTask: Double
    /// Embedding rows one task's batch touches, vocabulary, embedding width.
    public var rowsPerTask: Double
    public var vocabulary: Double
    public var embedding: Double
    /// Dense shared parameters (global memory, its controllers) in the buffer.
    public var denseShared: Double
    /// Parameters of one task (its LSTM, local memory, classifier).
    public var taskParameters: Double
    /// Steps between checkpoints (0: none).
    public var checkpointEvery: Double

    public init(
        cores: Int, alpha: Double, beta: Double, secondsPerToken: Double, tokensPerTask: Double,
        replicatedFixed: Double, replicatedPerTask: Double, rowsPerTask: Double, vocabulary: Double,
        embedding: Double, denseShared: Double, taskParameters: Double, checkpointEvery: Double
    ) {
        self.cores = cores; self.alpha = alpha; self.beta = beta; self.secondsPerToken = secondsPerToken
        self.tokensPerTask = tokensPerTask; self.replicatedFixed = replicatedFixed
        self.replicatedPerTask = replicatedPerTask; self.rowsPerTask = rowsPerTask; self.vocabulary = vocabulary
        self.embedding = embedding; self.denseShared = denseShared; self.taskParameters = taskParameters
        self.checkpointEvery = checkpointEvery
    }

    /// One step's time, in parts (seconds).
    public struct Step: Equatable, Sendable {
        public var compute: Double
        public var replicated: Double
        public var allreduce: Double
        public var checkpoint: Double
        public var total: Double { compute + replicated + allreduce + checkpoint }
    }

    /// Embedding rows a step touches with T tasks.
    public func touchedRows(tasks: Int) -> Double {
        guard vocabulary > 0 else { return 0 }
        return vocabulary * (1 - pow(1 - min(rowsPerTask / vocabulary, 1), Double(tasks)))
    }

    /// Doubles in the step's fused buffer.
    public func bufferDoubles(tasks: Int, ranks: Int) -> Double {
        let split = ranks > tasks ? Double(tasks) * taskParameters : 0
        return touchedRows(tasks: tasks) * embedding + denseShared + split + Double(tasks) + 2
    }

    /// The allreduce of `bytes` over P ranks, `hosts` hosts of `cores` cores.
    public func allreduce(ranks: Int, bytes: Double, hosts: Int = 1) -> Double {
        Self.allreduceTime(
            ranks: ranks, bytes: bytes, cores: cores * max(hosts, 1), fit: (alpha, beta, sigma))
    }

    /// Ranks per core when P ranks run on `hosts` hosts of `cores` cores.
    public func load(ranks: Int, hosts: Int) -> Double {
        let perHost = Double(ranks) / Double(max(hosts, 1))
        return max(1, perHost / Double(cores))
    }

    public func step(ranks: Int, tasks: Int, hosts: Int = 1) -> Step {
        let load = load(ranks: ranks, hosts: hosts)
        let work = Double(tasks) * tokensPerTask * secondsPerToken / Double(ranks)
        let replicated = replicatedFixed + replicatedPerTask * Double(tasks)
        let comm = allreduce(ranks: ranks, bytes: 8 * bufferDoubles(tasks: tasks, ranks: ranks), hosts: hosts)
        // Checkpoint: each task's tensors (4 bytes, with the optimizer state twice that) from its
        // lead to rank 0, one broadcast per task.
        let ckpt =
            checkpointEvery > 0 && ranks > 1
            ? Double(tasks) * (ceil(log2(Double(ranks))) * alpha + 8 * taskParameters * beta) / checkpointEvery : 0
        return Step(compute: load * work, replicated: load * replicated, allreduce: comm, checkpoint: ckpt)
    }

    /// Least-squares α, β and σ from measured allreduce times: (ranks, bytes, seconds) triples
    /// on hosts of `cores` cores. Regressors ⌈log₂P⌉, load·2(P−1)/P·bytes and, when oversubscribed,
    /// ⌈log₂P⌉·load; no intercept; relative errors (each sample weighted by 1/t²), so that the
    /// small messages count as much as the large ones.
    public static func fitAllreduce(
        _ samples: [(ranks: Int, bytes: Double, seconds: Double)], cores: Int
    )
        -> (alpha: Double, beta: Double, sigma: Double)
    {
        var a = [[Double]](repeating: [0, 0, 0], count: 3), b = [0.0, 0, 0]
        let oversubscribed = samples.contains { $0.ranks > cores }
        for s in samples where s.ranks > 1 {
            let x = regressors(ranks: s.ranks, bytes: s.bytes, cores: cores)
            let w = 1 / max(s.seconds * s.seconds, 1e-18)
            for i in 0..<3 {
                for j in 0..<3 { a[i][j] += w * x[i] * x[j] }
                b[i] += w * x[i] * s.seconds
            }
        }
        if !oversubscribed { a[2][2] = 1 }  // no data on σ: 0
        guard let x = solve(a, b) else { return (0, 0, 0) }
        return (x[0], x[1], x[2])
    }

    static func regressors(ranks: Int, bytes: Double, cores: Int) -> [Double] {
        let p = Double(ranks), load = max(1, p / Double(max(cores, 1))), rounds = ceil(log2(p))
        return [rounds, load * 2 * (p - 1) / p * bytes, ranks > cores ? rounds * load : 0]
    }

    /// The allreduce time of the fitted model on hosts of `cores` cores.
    public static func allreduceTime(
        ranks: Int, bytes: Double, cores: Int, fit: (alpha: Double, beta: Double, sigma: Double)
    )
        -> Double
    {
        guard ranks > 1 else { return 0 }
        let x = regressors(ranks: ranks, bytes: bytes, cores: cores)
        return x[0] * fit.alpha + x[1] * fit.beta + x[2] * fit.sigma
    }

    /// Gaussian elimination with partial pivoting (3×3 normal equations).
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        var m = a, v = b
        let n = v.count
        for c in 0..<n {
            guard let p = (c..<n).max(by: { abs(m[$0][c]) < abs(m[$1][c]) }), m[p][c] != 0 else { return nil }
            m.swapAt(c, p); v.swapAt(c, p)
            for r in (c + 1)..<n {
                let f = m[r][c] / m[c][c]
                for k in c..<n { m[r][k] -= f * m[c][k] }
                v[r] -= f * v[c]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            x[r] = (v[r] - ((r + 1)..<n).reduce(0) { $0 + m[r][$1] * x[$1] }) / m[r][r]
        }
        return x
    }
}
