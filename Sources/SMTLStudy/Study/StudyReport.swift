import Foundation
import SMTLData
import SMTLDistribution
import SMTLModel
import SMTLTraining

/// The finished runs of a study (every `results.json` under some folders), summarised as the
/// paper's tables with the paper's numbers beside ours, as CSV rows and as JSON.
public struct StudyReport {
    public struct TaskResult: Sendable {
        public var bestDev: Double
        public var test: Double
        public var bestStep: Int
    }

    public struct Run: Sendable {
        public var file: String
        public var name: String
        public var architecture: Architecture
        public var seed: Int
        public var taskOrder: [String]
        public var tasks: [String: TaskResult]
        public var steps: Int
        public var budgetSteps: Int
        public var stoppedByPatience: Bool
        public var seconds: Double
        public var ranks: Int
        public var machine: String
        public var command: [String]
        public var multiTask: Bool { taskOrder.count > 1 }
    }

    public var runs: [Run]

    public init(runs: [Run]) { self.runs = runs }

    /// Reads every `results.json` under the given folders.
    public static func load(_ roots: [String]) throws -> StudyReport {
        var files: [String] = []
        for root in roots {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else {
                throw InputError(
                    file: root, "does not exist",
                    hint: "name a study folder (launch/reproduce --out, default runs/study)")
            }
            if !isDir.boolValue { files.append(root); continue }
            let e = FileManager.default.enumerator(atPath: root)
            while let rel = e?.nextObject() as? String {
                if (rel as NSString).lastPathComponent == "results.json" {
                    files.append((root as NSString).appendingPathComponent(rel))
                }
            }
        }
        return StudyReport(runs: try files.sorted().map(parse))
    }

    static func parse(_ file: String) throws -> Run {
        let bytes = try FileReader.bytes(file)
        guard let d = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw InputError(
                file: file, "is not a JSON object",
                hint: "delete it and rerun the run (launch/reproduce skips runs with results.json)")
        }
        func need<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let v = d[key] as? T else {
                throw InputError(
                    file: file, "has no valid `\(key)`",
                    hint: "it was not written by `smtl train`; delete it and rerun the run")
            }
            return v
        }
        let archName = try need("architecture", String.self)
        guard let arch = Architecture(rawValue: archName) else {
            throw InputError(file: file, "has unknown architecture '\(archName)'")
        }
        let order = try need("task_order", [String].self)
        let rawTasks = try need("tasks", [String: Any].self)
        var tasks: [String: TaskResult] = [:]
        for (name, value) in rawTasks {
            guard let t = value as? [String: Any], let dev = t["best_dev"] as? Double,
                let test = t["test_at_best_dev"] as? Double
            else { continue }
            tasks[name] = TaskResult(bestDev: dev, test: test, bestStep: t["best_step"] as? Int ?? 0)
        }
        return Run(
            file: file, name: try need("name", String.self), architecture: arch, seed: try need("seed", Int.self),
            taskOrder: order, tasks: tasks, steps: try need("steps", Int.self),
            budgetSteps: d["budget_steps"] as? Int ?? 0,
            stoppedByPatience: d["stopped_by_patience"] as? Bool ?? false,
            seconds: d["training_seconds"] as? Double ?? 0,
            ranks: d["ranks"] as? Int ?? 1, machine: d["machine"] as? String ?? "",
            command: d["command"] as? [String] ?? [])
    }

    /// A table cell: our test accuracies over seeds.
    public struct Cell: Sendable {
        public var values: [Double]  // one per seed, in seed order
        public var seeds: [Int]
        public var mean: Double { values.reduce(0, +) / Double(values.count) }
        /// Sample standard deviation (n − 1); 0 for one seed.
        public var std: Double {
            guard values.count > 1 else { return 0 }
            let m = mean
            return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        }
    }

    /// The runs that fill the paper's row for a model: single-task runs for LSTM and ME-LSTM,
    /// multi-task runs for ARC-I and ARC-II.
    func rowRuns(_ model: Architecture) -> [Run] {
        let multi = model.isMultiTask
        return runs.filter { $0.architecture == model && $0.multiTask == multi }
    }

    public func cell(_ model: Architecture, _ task: String) -> Cell? {
        var bySeed: [Int: Double] = [:]
        for r in rowRuns(model) { if let t = r.tasks[task] { bySeed[r.seed] = t.test } }
        if bySeed.isEmpty { return nil }
        let seeds = bySeed.keys.sorted()
        return Cell(values: seeds.map { bySeed[$0]! }, seeds: seeds)
    }

    /// The group average: per seed the mean over the group's tasks (seeds with every task), then
    /// mean ± std over those seeds. Nil until every task has a result for some seed.
    public func average(_ model: Architecture, _ group: Study.Group) -> Cell? {
        let cells = group.tasks.map { cell(model, $0.name) }
        guard cells.allSatisfy({ $0 != nil }) else { return nil }
        let common = cells.map { Set($0!.seeds) }.reduce(Set(cells[0]!.seeds)) { $0.intersection($1) }.sorted()
        guard !common.isEmpty else { return nil }
        let values = common.map { s in
            cells.map { c in c!.values[c!.seeds.firstIndex(of: s)!] }.reduce(0, +) / Double(cells.count)
        }
        return Cell(values: values, seeds: common)
    }

    static func fmt(_ c: Cell?) -> String {
        guard let c else { return "—" }
        return c.values.count > 1 ? String(format: "%.1f ± %.1f", c.mean, c.std) : String(format: "%.1f", c.mean)
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600
            ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }

    /// The tables as markdown: per group, for each model our row (mean ± std over seeds), the
    /// paper's row and the difference; then every run with its time. `reproduceOptions` (say
    /// `--configs configs/variant-b --out runs/variant-b`) go into each row's regenerate command.
    public func markdown(reproduceOptions: String = "") -> String {
        let options = reproduceOptions.isEmpty ? "" : reproduceOptions + " "
        var out: [String] = []
        for g in Study.groups {
            out.append("### \(g.title)\n")
            out.append("| model | | " + g.tasks.map(\.header).joined(separator: " | ") + " | Avg. |")
            out.append("|---|---|" + String(repeating: "---:|", count: g.tasks.count + 1))
            for model in Study.models {
                let cells = g.tasks.map { cell(model, $0.name) }
                let avg = average(model, g)
                let n = Set(cells.compactMap { $0?.values.count }).sorted().map(String.init).joined(separator: "/")
                let label = model.displayName + (model.isMultiTask ? " (multi-task)" : " (single task)")
                out.append(
                    "| \(label) | ours" + (n.isEmpty ? "" : ", \(n) seed\(n == "1" ? "" : "s")") + " | "
                        + cells.map(Self.fmt).joined(separator: " | ") + " | " + Self.fmt(avg) + " |")
                let paper = g.tasks.map { Study.paper[model]![$0.name]! }
                out.append(
                    "| | paper | " + paper.map { String(format: "%.1f", $0) }.joined(separator: " | ")
                        + String(format: " | %.1f |", Study.paperAverage(model, g)))
                let diffs = zip(cells, paper).map { c, p in c.map { String(format: "%+.1f", $0.mean - p) } ?? "—" }
                let avgDiff = avg.map { String(format: "%+.1f", $0.mean - Study.paperAverage(model, g)) } ?? "—"
                out.append("| | ours − paper | " + diffs.joined(separator: " | ") + " | \(avgDiff) |")
            }
            out.append("")
            // The command that regenerates each row (launch/reproduce skips finished runs).
            out.append("Regenerate (from the project folder; each row's runs, then the tables):\n")
            for model in Study.models {
                let seeds = Set(
                    rowRuns(model).filter { r in r.taskOrder.allSatisfy { t in g.tasks.contains { $0.name == t } } }
                        .map(\.seed)
                ).sorted()
                guard !seeds.isEmpty else { continue }
                out.append(
                    "* \(model.displayName): `launch/reproduce \(options)--table \(g.table) --model \(model.rawValue) "
                        + "--seeds \"\(seeds.map(String.init).joined(separator: " "))\"`"
                        + (model.isMultiTask ? "" : " (one run per task; add `--task NAME` for one cell)"))
            }
            out.append("")
        }
        out.append("### Runs\n")
        out.append("| run | seed | ranks | steps (budget) | early stop | wall-clock | mean test |")
        out.append("|---|---:|---:|---:|---|---:|---:|")
        for r in runs.sorted(by: { ($0.name, $0.seed) < ($1.name, $1.seed) }) {
            let tests = r.taskOrder.compactMap { r.tasks[$0]?.test }
            let mean = tests.isEmpty ? "—" : String(format: "%.2f", tests.reduce(0, +) / Double(tests.count))
            out.append(
                "| \(r.name) | \(r.seed) | \(r.ranks) | \(r.steps) (\(r.budgetSteps)) | "
                    + "\(r.stoppedByPatience ? "yes" : "no") | \(Self.duration(r.seconds)) | \(mean) |"
            )
        }
        let total = runs.map(\.seconds).reduce(0, +)
        out.append(
            "\n\(runs.count) runs, \(Self.duration(total)) of training in all (sum of the runs' wall-clock times).")
        let machines = Set(runs.map(\.machine)).sorted()
        if !machines.isEmpty { out.append("Machine: " + machines.joined(separator: "; ") + ".") }
        return out.joined(separator: "\n") + "\n"
    }

    /// One CSV row per run and task.
    public func csv() -> String {
        var lines = [
            "group,model,multi_task,task,seed,best_dev,test_at_best_dev,best_step,steps,budget_steps,"
                + "stopped_by_patience,training_seconds,ranks,results_file"
        ]
        for r in runs.sorted(by: { ($0.name, $0.seed) < ($1.name, $1.seed) }) {
            for t in r.taskOrder {
                guard let x = r.tasks[t] else { continue }
                let group = Study.groups.first { $0.tasks.contains { $0.name == t } }?.name ?? ""
                lines.append(
                    [
                        group, r.architecture.rawValue, r.multiTask ? "1" : "0", t, "\(r.seed)",
                        String(format: "%.2f", x.bestDev), String(format: "%.2f", x.test), "\(x.bestStep)",
                        "\(r.steps)", "\(r.budgetSteps)", r.stoppedByPatience ? "1" : "0",
                        String(format: "%.1f", r.seconds), "\(r.ranks)", r.file,
                    ].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table cells as JSON: per group, model and task our mean, std, seeds and values, and the paper's number.
    public func json() -> Data {
        var groups: [String: Any] = [:]
        for g in Study.groups {
            var models: [String: Any] = [:]
            for model in Study.models {
                var cells: [String: Any] = [:]
                for (t, _) in g.tasks + [("average", "Avg.")] {
                    let c = t == "average" ? average(model, g) : cell(model, t)
                    var d: [String: Any] = [
                        "paper": t == "average" ? Study.paperAverage(model, g) : Study.paper[model]![t]!
                    ]
                    if let c { d["mean"] = c.mean; d["std"] = c.std; d["seeds"] = c.seeds; d["values"] = c.values }
                    cells[t] = d
                }
                models[model.rawValue] = cells
            }
            groups[g.name] = models
        }
        return (try? JSONSerialization.data(withJSONObject: groups, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }
}
