/// This rank's step times between two evaluations: each step's wall-clock, the part of it spent
/// in the step's collectives, the part in the forward and backward of its batches (the rest is
/// the bookkeeping every rank repeats: draws, the optimizer, clearing), and whether it lent.
public struct StepTiming: Sendable {
    /// One step.
    public struct Sample: Sendable {
        public var seconds = 0.0
        public var communication = 0.0
        public var compute = 0.0
        public var lent = false
        /// The placement's cost of this rank's batches (token-equivalents, `Placement.batchCost`).
        public var cost = 0.0
    }

    public private(set) var steps = 0
    public private(set) var seconds = 0.0
    public private(set) var communication = 0.0
    public private(set) var compute = 0.0
    public private(set) var stepsWithLoans = 0
    public private(set) var cost = 0.0

    public init() {}

    public mutating func add(_ s: Sample) {
        steps += 1
        seconds += s.seconds
        communication += s.communication
        compute += s.compute
        cost += s.cost
        if s.lent { stepsWithLoans += 1 }
    }

    /// Mean step seconds, communication share and compute share of the window, and the compute
    /// seconds per token-equivalent of the rank's batches (0: it ran none).
    var means: [Double] {
        [
            steps > 0 ? seconds / Double(steps) : 0, seconds > 0 ? communication / seconds : 0,
            seconds > 0 ? compute / seconds : 0, cost > 0 ? compute / cost : 0,
        ]
    }
}
