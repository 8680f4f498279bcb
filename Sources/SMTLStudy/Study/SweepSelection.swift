import Foundation
import SMTLDistribution
import SMTLModel

/// A sweep is one study run at several points of a grid of config values (`launch/sweep`). For
/// every run (the same run name and seed at each point) and every task, the point with the best
/// dev accuracy is chosen, and the test accuracy of that point is reported: the paper's protocol
/// (learning rate and L2 chosen per task on dev). Test accuracy never enters a choice.
public struct SweepSelection {
    /// One point of the grid: its name (e.g. `lr0.1-l2-1e-05`) and its finished runs.
    public struct Point {
        public var name: String
        public var runs: [StudyReport.Run]
        public init(name: String, runs: [StudyReport.Run]) {
            self.name = name
            self.runs = runs
        }
    }

    /// The choice for one task of one run.
    public struct Choice: Equatable {
        public var run: String
        public var seed: Int
        public var task: String
        public var point: String
        public var dev: Double
        public var test: Double
    }

    public var points: [Point]
    public var choices: [Choice]

    /// Chooses, per run, seed and task, the point with the highest best-dev accuracy (ties: the
    /// earlier point in `points`). Only dev accuracies are compared.
    public init(points: [Point]) {
        self.points = points
        var best: [String: Choice] = [:]
        var order: [String] = []
        for p in points {
            for r in p.runs {
                for task in r.taskOrder {
                    guard let t = r.tasks[task] else { continue }
                    let key = "\(r.name)\u{1}\(r.seed)\u{1}\(task)"
                    let c = Choice(run: r.name, seed: r.seed, task: task, point: p.name, dev: t.bestDev, test: t.test)
                    if let old = best[key] {
                        if c.dev > old.dev { best[key] = c }
                    } else {
                        best[key] = c
                        order.append(key)
                    }
                }
            }
        }
        choices = order.map { best[$0]! }
    }

    /// Reads the runs of each point folder (`OUT/<point>/…/results.json`).
    public static func load(_ folders: [String]) throws -> SweepSelection {
        SweepSelection(
            points: try folders.map {
                Point(name: ($0 as NSString).lastPathComponent, runs: try StudyReport.load([$0]).runs)
            })
    }

    /// Markdown: per run, each task's chosen point with its dev and test accuracy, and the mean
    /// test accuracy of the chosen points; then every point's dev/test, for reference.
    public func markdown() -> String {
        var out = ["# Sweep: per task, the point with the best dev accuracy", ""]
        out.append("Points: " + points.map { "`\($0.name)`" }.joined(separator: ", ") + ".")
        out.append("Selection reads dev accuracy only; test is reported at the chosen point.")
        out.append("")
        out.append("| run | seed | task | chosen point | dev | test |")
        out.append("| --- | ---: | --- | --- | ---: | ---: |")
        for c in choices {
            out.append("| \(c.run) | \(c.seed) | \(c.task) | \(c.point) | \(f(c.dev)) | \(f(c.test)) |")
        }
        out.append("")
        out.append("| group | model | seed | tasks | mean test at the chosen points |")
        out.append("| --- | --- | ---: | ---: | ---: |")
        var groups: [String] = []
        var members: [String: [Double]] = [:]
        for c in choices {
            let run = points.lazy.flatMap(\.runs).first { $0.name == c.run && $0.seed == c.seed }
            let model = run?.architecture.displayName ?? c.run
            let key = "| \(c.run.split(separator: "-").first ?? "") | \(model) | \(c.seed) |"
            if members[key] == nil { groups.append(key) }
            members[key, default: []].append(c.test)
        }
        for k in groups {
            let xs = members[k]!
            out.append(k + " \(xs.count) | \(f(xs.reduce(0, +) / Double(xs.count))) |")
        }
        out.append("")
        out.append("Every point (dev / test):")
        out.append("")
        out.append("| run | seed | task | " + points.map(\.name).joined(separator: " | ") + " |")
        out.append("| --- | ---: | --- |" + String(repeating: " ---: |", count: points.count))
        for c in choices {
            let cells = points.map { p -> String in
                guard let r = p.runs.first(where: { $0.name == c.run && $0.seed == c.seed }), let t = r.tasks[c.task]
                else { return "–" }
                return "\(f(t.bestDev)) / \(f(t.test))"
            }
            out.append("| \(c.run) | \(c.seed) | \(c.task) | " + cells.joined(separator: " | ") + " |")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The choices as JSON (a list of objects).
    public func json() -> Data {
        let list = choices.map {
            ["run": $0.run, "seed": $0.seed, "task": $0.task, "point": $0.point, "dev": $0.dev, "test": $0.test]
                as [String: Any]
        }
        return (try? JSONSerialization.data(withJSONObject: list, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    func f(_ x: Double) -> String { String(format: "%.2f", x) }
}
