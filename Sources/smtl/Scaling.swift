import ArgumentParser
import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLStudy

/// `smtl scaling`: fits the α-β scaling model (ScalingModel) to measurements made here and
/// predicts the step time to 1,024 ranks and tasks (docs/scaling.md; launch/bench-scaling makes
/// the measurements and runs this).
struct Scaling: Subcommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the scaling model to measured allreduce and training steps; predict to 1,024 ranks.",
        discussion:
            "Inputs are JSON lines: --allreduce from `smtl bench-allreduce --json`, --runs from "
            + "launch/bench-scaling (one line per measured training run: label, ranks, hosts, cores, "
            + "step_seconds of the slowest rank, seconds_per_token from `smtl bench`, the allreduce "
            + "label whose α and β apply, and the run's workload from metrics.jsonl). The compute "
            + "model is fitted on the 1-rank run of each config only; every other run is a check."
    )

    @Option(help: "Allreduce measurements (JSON lines).") var allreduce: String
    @Option(help: "Training-step measurements (JSON lines).") var runs: String
    @Option(help: "Write the report (Markdown) here.") var markdown: String?
    @Option(help: "Write the prediction plot (SVG) here.") var svg: String?
    @Option(help: "The allreduce label whose α and β the prediction uses (default: the slowest fitted).")
    var predictWith: String?
    @Option(help: "Cores per host in the prediction.") var predictCores = 32
    @Option(help: "Cores of the machine the runs were measured on (the check panel of the plot).") var hereCores = 2

    struct Run {
        var label: String, ranks: Int, hosts: Int, cores: Int, stepSeconds: Double, secondsPerToken: Double
        var transport: String, config: String, tasks: Int, workload: [String: Double]
        /// Share of the slowest rank's step in forward + backward (nil: not logged).
        var computeShare: Double?, commShare: Double?
    }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().compactMap { i, line in
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            guard let d = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw InputError(file: path, line: i + 1, "is not a JSON object", hint: "one JSON object per line")
            }
            return d
        }
    }

    func execute() throws {
        // α and β per transport label.
        var samples: [String: [(ranks: Int, bytes: Double, seconds: Double)]] = [:]
        for (i, d) in try Self.jsonLines(allreduce).enumerated() {
            guard let r = d["ranks"] as? Int, let b = d["bytes"] as? Double ?? (d["bytes"] as? Int).map(Double.init),
                let s = d["seconds"] as? Double
            else {
                throw InputError(
                    file: allreduce, line: i + 1, "needs ranks, bytes and seconds",
                    hint: "see smtl bench-allreduce --json")
            }
            samples[d["label"] as? String ?? "", default: []].append((r, b, s))
        }
        typealias Fit = (alpha: Double, beta: Double, sigma: Double)
        var fits: [String: Fit] = [:]
        var report = "## Allreduce: α, β and σ fitted per transport\n\n"
        report +=
            "`t = ⌈log₂P⌉·α + load·2(P−1)/P·bytes·β + ⌈log₂P⌉·load·σ` (the σ term only when the ranks "
            + "outnumber the \(hereCores) cores; load = ranks per core), least squares on relative error.\n\n"
        report += "| transport | α (µs) | β (ns/byte) → bandwidth | σ (µs) | points | median misfit | worst misfit |\n"
        report += "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for (label, xs) in samples.sorted(by: { $0.key < $1.key }) {
            let f = ScalingModel.fitAllreduce(xs, cores: hereCores)
            fits[label] = f
            let errs = xs.filter { $0.ranks > 1 }.map {
                abs(
                    ScalingModel.allreduceTime(ranks: $0.ranks, bytes: $0.bytes, cores: hereCores, fit: f) / $0.seconds
                        - 1)
            }.sorted()
            report += String(
                format: "| %@ | %.2f | %.3f → %.2f GB/s | %.1f | %d | %.0f%% | %.0f%% |\n", label, f.alpha * 1e6,
                f.beta * 1e9, f.beta > 0 ? 1e-9 / f.beta : 0, f.sigma * 1e6, xs.count,
                100 * (errs.isEmpty ? 0 : errs[errs.count / 2]), 100 * (errs.last ?? 0))
        }
        report +=
            "\nEvery point (seconds per call, measured / model):\n\n| transport | ranks | bytes | measured | "
            + "model |\n| --- | ---: | ---: | ---: | ---: |\n"
        for (label, xs) in samples.sorted(by: { $0.key < $1.key }) {
            let f = fits[label]!
            for x in xs.sorted(by: { ($0.ranks, $0.bytes) < ($1.ranks, $1.bytes) }) {
                let model = ScalingModel.allreduceTime(ranks: x.ranks, bytes: x.bytes, cores: hereCores, fit: f)
                report += String(
                    format: "| %@ | %d | %.0f | %.2e | %.2e |\n", label, x.ranks, x.bytes, x.seconds, model)
            }
        }

        // Training runs.
        var list: [Run] = []
        for (i, d) in try Self.jsonLines(runs).enumerated() {
            guard let ranks = d["ranks"] as? Int,
                let step = (d["step_seconds"] as? [Double])?.max() ?? d["step_seconds"] as? Double,
                let tau = d["seconds_per_token"] as? Double, let w = d["workload"] as? [String: Any]
            else {
                throw InputError(
                    file: runs, line: i + 1, "needs ranks, step_seconds, seconds_per_token, workload",
                    hint: "made by launch/bench-scaling")
            }
            let slowest = (d["step_seconds"] as? [Double]).flatMap { xs in xs.indices.max { xs[$0] < xs[$1] } }
            func share(_ k: String) -> Double? {
                slowest.flatMap { i in (d[k] as? [Double]).flatMap { i < $0.count ? $0[i] : nil } }
            }
            list.append(
                Run(
                    label: d["label"] as? String ?? "", ranks: ranks, hosts: d["hosts"] as? Int ?? 1,
                    cores: d["cores"] as? Int ?? 2,
                    stepSeconds: step, secondsPerToken: tau, transport: d["transport"] as? String ?? "",
                    config: d["config"] as? String ?? "", tasks: d["tasks"] as? Int ?? 1,
                    workload: w.compactMapValues { ($0 as? Double) ?? ($0 as? Int).map(Double.init) },
                    computeShare: share("compute_share"), commShare: share("comm_share")))
        }
        func model(_ r: Run, replicatedPerTask: Double, cores: Int, fit: Fit) -> ScalingModel {
            var m = ScalingModel(
                cores: cores, alpha: fit.alpha, beta: fit.beta, secondsPerToken: r.secondsPerToken,
                tokensPerTask: r.workload["tokens_per_task_step"] ?? 0, replicatedFixed: 0,
                replicatedPerTask: replicatedPerTask,
                rowsPerTask: r.workload["rows_per_task_step"] ?? 0, vocabulary: r.workload["vocabulary"] ?? 0,
                embedding: r.workload["embedding"] ?? 0, denseShared: r.workload["dense_shared"] ?? 0,
                taskParameters: r.workload["task_parameters"] ?? 0, checkpointEvery: r.workload["checkpoint_every"] ?? 0
            )
            m.sigma = fit.sigma
            return m
        }
        // τ and ρ per config from its 1-rank run: the forward + backward share of its step over
        // its tokens, and the rest outside the collective per task (bench's τ when the run did
        // not log its compute share).
        var rho: [String: Double] = [:], tauOf: [String: Double] = [:]
        for r in list where r.ranks == 1 {
            let tokens = Double(r.tasks) * (r.workload["tokens_per_task_step"] ?? 0)
            if let cs = r.computeShare, cs > 0, tokens > 0 {
                tauOf[r.config] = r.stepSeconds * cs / tokens
                rho[r.config] = r.stepSeconds * max(0, 1 - cs - (r.commShare ?? 0)) / Double(r.tasks)
            } else {
                tauOf[r.config] = r.secondsPerToken
                let m = model(r, replicatedPerTask: 0, cores: r.cores, fit: (0, 0, 0))
                rho[r.config] = max(0, (r.stepSeconds - m.step(ranks: 1, tasks: r.tasks).total) / Double(r.tasks))
            }
        }
        for i in list.indices { if let t = tauOf[list[i].config] { list[i].secondsPerToken = t } }
        report += "\n## Training steps: model against measurement\n\n"
        report +=
            "Fitted on each config's 1-rank run only: τ (seconds per token of forward + backward) and ρ "
            + "(the rest of the step outside the collective, per task: draws, optimizer, clearing; every rank "
            + "repeats it for every task). Every other row is a prediction checked against its measurement.\n\n"
        for (c, t) in tauOf.sorted(by: { $0.key < $1.key }) {
            report += String(
                format: "* %@: τ = %.2f µs per token (%.0f tokens/s), ρ = %.2f ms per task and step\n", c, t * 1e6,
                1 / t, (rho[c] ?? 0) * 1e3)
        }
        report += "\n"
        report +=
            "| run | config | tasks | ranks | hosts | measured ms | model ms (compute + replicated + allreduce "
            + "+ checkpoint) | error |\n"
        report += "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n"
        var measured: [String: [(Double, Double)]] = [:]
        for r in list {
            guard let rh = rho[r.config] else { continue }
            let fit = fits[r.transport] ?? (0, 0, 0)
            let p = model(r, replicatedPerTask: rh, cores: r.cores, fit: fit).step(
                ranks: r.ranks, tasks: r.tasks, hosts: r.hosts)
            measured[r.config, default: []].append((Double(r.ranks), r.stepSeconds))
            report += String(
                format: "| %@ | %@ | %d | %d | %d | %.1f | %.1f (%.1f + %.1f + %.2f + %.2f) | %+.0f%% |\n",
                r.label, r.config, r.tasks, r.ranks, r.hosts, r.stepSeconds * 1e3, p.total * 1e3, p.compute * 1e3,
                p.replicated * 1e3, p.allreduce * 1e3, p.checkpoint * 1e3, 100 * (p.total / r.stepSeconds - 1))
        }

        // Prediction to 1,024 ranks and tasks, with the slowest transport fitted here (or the one named).
        let label = predictWith ?? fits.max { $0.value.alpha < $1.value.alpha }?.key ?? ""
        guard let fit = fits[label], let base = list.first(where: { $0.ranks == 1 }), let rh = rho[base.config] else {
            throw ValidationError("no 1-rank run or no allreduce fit to predict from")
        }
        let m = model(base, replicatedPerTask: rh, cores: predictCores, fit: fit)
        let sizes = (0...10).map { 1 << $0 }
        func hosts(_ p: Int) -> Int { max(1, (p + predictCores - 1) / predictCores) }
        report +=
            "\n## Prediction to 1,024 ranks (\(base.config) workload, α and β of `\(label)`, \(predictCores) "
            + "cores per host)\n\n"
        report +=
            "Weak scaling in tasks: one task per rank (T = P). Strong scaling: T = \(base.tasks) tasks on P ranks.\n\n"
        report +=
            "| ranks | T = P: step ms | compute | replicated | allreduce | buffer MB | T = \(base.tasks): step "
            + "ms | speed-up over 1 rank |\n"
        report += "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        let one = m.step(ranks: 1, tasks: base.tasks, hosts: 1).total
        var weak: [[(Double, Double)]] = Array(repeating: [], count: 4), strong: [(Double, Double)] = []
        for p in sizes {
            let w = m.step(ranks: p, tasks: p, hosts: hosts(p))
            let s = m.step(ranks: p, tasks: base.tasks, hosts: hosts(p))
            for (k, v) in [w.total, w.compute, w.replicated, w.allreduce].enumerated() {
                weak[k].append((Double(p), v))
            }
            strong.append((Double(p), s.total))
            report += String(
                format: "| %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f | %.1f× |\n", p, w.total * 1e3, w.compute * 1e3,
                w.replicated * 1e3, w.allreduce * 1e3, 8 * m.bufferDoubles(tasks: p, ranks: p) / 1e6, s.total * 1e3,
                one / s.total)
        }
        if let markdown { try report.write(toFile: markdown, atomically: true, encoding: .utf8) } else { print(report) }
        if let svg {
            // The check: the model on this machine's cores with each transport fitted here, and
            // the runs measured on it.
            var check: [ScalingFigure.Curve] = [], here: [(Double, Double)] = []
            let maxHere = list.filter { $0.config == base.config }.map(\.ranks).max() ?? 16
            for (k, t) in Set(list.filter { $0.config == base.config }.map(\.transport)).sorted().enumerated() {
                guard let f = fits[t] else { continue }
                let mh = model(base, replicatedPerTask: rh, cores: hereCores, fit: f)
                let ps = sizes.filter { $0 <= maxHere }
                check.append(
                    .init(
                        name: "model, \(t)",
                        points: ps.map { (Double($0), mh.step(ranks: $0, tasks: base.tasks).total) },
                        dash: k == 0 ? nil : "5,3"))
            }
            here = list.filter { $0.config == base.config }.map { (Double($0.ranks), $0.stepSeconds) }
            let picture = ScalingFigure.svg(
                title:
                    "smtl step time, α-β model, \(base.config) workload; prediction: α, β of \(label), "
                    + "\(predictCores) cores per host",
                panels: [
                    (title: "checked here (\(hereCores) cores; \(base.tasks) tasks)", curves: check, measured: here),
                    (
                        title: "predicted, one task per rank (T = P)",
                        curves: [
                            .init(name: "step", points: weak[0]), .init(name: "compute", points: weak[1], dash: "5,3"),
                            .init(name: "replicated work", points: weak[2], dash: "2,3"),
                            .init(name: "allreduce", points: weak[3], dash: "8,3"),
                        ], measured: []
                    ),
                    (
                        title: "predicted, \(base.tasks) tasks on P ranks",
                        curves: [.init(name: "model", points: strong)],
                        measured: []
                    ),
                ])
            try picture.write(toFile: svg, atomically: true, encoding: .utf8)
        }
    }
}
