/// The time a run has left, for the progress line's ETA: the pace of the recent steps plus the
/// evaluations still to come, instead of the average since the start. A run paused on the way (a
/// job stopped with SIGSTOP while a benchmark or CI runs, a laptop asleep) would otherwise read
/// hours where minutes remain until enough steps had passed to dilute the pause.
///
/// * A step's time is the gap between two consecutive steps. The last `window` gaps count; a gap
///   longer than `pauseFactor` times their median is taken for a pause and left out.
/// * An evaluation's time (the gap from its step to its report) is kept apart and counted once for
///   each evaluation still to come, so the steps' pace is not diluted by it either.
/// * A checkpoint's time is left out (small next to a step window's).
///
/// Pure: every time is passed in, in seconds, so the arithmetic is tested with made-up clocks.
public struct RemainingTime {
    public let window: Int
    public let pauseFactor: Double
    var gaps: [Double] = []
    var next = 0
    var lastMark: Double?
    public private(set) var evaluationSeconds: Double?

    public init(window: Int = 200, pauseFactor: Double = 20) {
        precondition(window > 0 && pauseFactor > 1)
        self.window = window
        self.pauseFactor = pauseFactor
        gaps.reserveCapacity(window)
    }

    /// The run starts (or resumes) now: the next step's gap counts from here.
    public mutating func started(at now: Double) { lastMark = now }

    /// A training step ended now.
    public mutating func stepped(at now: Double) {
        if let last = lastMark {
            let gap = max(0, now - last)
            if gaps.count < window { gaps.append(gap) } else { gaps[next] = gap }
            next = (next + 1) % window
        }
        lastMark = now
    }

    /// An evaluation that began at the last step ended now.
    public mutating func evaluated(at now: Double) {
        if let last = lastMark { evaluationSeconds = max(0, now - last) }
        lastMark = now
    }

    /// Something that is neither a step nor an evaluation (a checkpoint) ended now.
    public mutating func skipped(at now: Double) { lastMark = now }

    /// Seconds per step over the window, pauses left out; nil before the first gap.
    public var secondsPerStep: Double? {
        guard !gaps.isEmpty else { return nil }
        let sorted = gaps.sorted()
        let median = sorted[sorted.count / 2]
        let kept = median > 0 ? sorted.filter { $0 <= pauseFactor * median } : sorted
        return kept.reduce(0, +) / Double(kept.count)
    }

    /// The evaluations a run evaluating every `evalEvery` steps and at its last step still has to
    /// do after `step`.
    public static func evaluationsLeft(step: Int, totalSteps: Int, evalEvery: Int) -> Int {
        guard step < totalSteps, evalEvery > 0 else { return 0 }
        return totalSteps / evalEvery - step / evalEvery + (totalSteps % evalEvery == 0 ? 0 : 1)
    }

    /// Seconds left for `stepsLeft` steps and `evaluationsLeft` evaluations; nil until a step's
    /// pace is known.
    public func estimate(stepsLeft: Int, evaluationsLeft: Int) -> Double? {
        guard let pace = secondsPerStep else { return nil }
        return pace * Double(max(0, stepsLeft)) + (evaluationSeconds ?? 0) * Double(max(0, evaluationsLeft))
    }
}
