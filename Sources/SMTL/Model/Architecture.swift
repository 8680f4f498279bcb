/// The four models of Liu, Qiu & Huang (EMNLP 2016), SPEC §5.
public enum Architecture: String, Codable, CaseIterable, Sendable {
    /// Plain LSTM, single task.
    case lstm = "lstm"
    /// LSTM with one external memory (`local`) joined through the fusion gate.
    case meLSTM = "me-lstm"
    /// ARC-I: every task reads and writes one global shared memory.
    case arc1 = "arc-i"
    /// ARC-II: each task has a local memory; all tasks share a global one.
    case arc2 = "arc-ii"

    /// Whether the LSTM output goes through the fusion gate (§4).
    public var hasFusion: Bool { self != .lstm }
    /// Whether the task owns a `local` memory block.
    public var hasLocalMemory: Bool { self == .meLSTM || self == .arc2 }
    /// Whether a `global` memory block is shared by all tasks.
    public var hasGlobalMemory: Bool { self == .arc1 || self == .arc2 }

    public var displayName: String {
        switch self {
        case .lstm: return "LSTM"
        case .meLSTM: return "ME-LSTM"
        case .arc1: return "ARC-I"
        case .arc2: return "ARC-II"
        }
    }
}

/// Sizes, SPEC §1.
public struct Dimensions: Codable, Equatable, Sendable {
    /// Word-embedding width E.
    public var embedding: Int
    /// LSTM hidden width d.
    public var hidden: Int
    /// Memory rows K.
    public var memoryRows: Int
    /// Memory row width W (the paper's M).
    public var memoryWidth: Int
    /// Vocabulary size V.
    public var vocabulary: Int

    public init(embedding: Int, hidden: Int, memoryRows: Int, memoryWidth: Int, vocabulary: Int) {
        self.embedding = embedding
        self.hidden = hidden
        self.memoryRows = memoryRows
        self.memoryWidth = memoryWidth
        self.vocabulary = vocabulary
    }
}
