/// The four models of Liu, Qiu & Huang (EMNLP 2016), SPEC §5.
///
/// What tells the models apart is named here, as properties, so the rest of the code asks
/// "has a fusion gate?" or "which memory feeds the fusion gate?" and never compares cases. A new
/// architecture is a new case here plus its memory path (`MemoryPath.make`).
public enum Architecture: String, Codable, CaseIterable, Sendable {
    /// Plain LSTM, single task.
    case lstm = "lstm"
    /// LSTM with one external memory (`local`) joined through the fusion gate.
    case meLSTM = "me-lstm"
    /// ARC-I: every task reads and writes one global shared memory.
    case arc1 = "arc-i"
    /// ARC-II: each task has a local memory; all tasks share a global one.
    case arc2 = "arc-ii"

    /// A memory block of the model: the task's own or the one all tasks share.
    public enum Memory: Sendable { case local, global }

    /// What drives the global memory's controller: h_t (ARC-I) or the local read rL_t (ARC-II).
    public enum ControllerInput: Sendable { case hidden, localRead }

    /// The memory whose read vector enters the fusion gate (§4); nil without a fusion gate.
    public var fusedMemory: Memory? {
        switch self {
        case .lstm: return nil
        case .meLSTM: return .local
        case .arc1, .arc2: return .global
        }
    }

    /// What the global memory's controller reads; nil without a global memory.
    public var globalControllerInput: ControllerInput? {
        switch self {
        case .lstm, .meLSTM: return nil
        case .arc1: return .hidden
        case .arc2: return .localRead
        }
    }

    /// Whether the LSTM output goes through the fusion gate (§4).
    public var hasFusion: Bool { fusedMemory != nil }
    /// Whether the task owns a `local` memory block.
    public var hasLocalMemory: Bool {
        switch self {
        case .lstm, .arc1: return false
        case .meLSTM, .arc2: return true
        }
    }
    /// Whether a `global` memory block is shared by all tasks.
    public var hasGlobalMemory: Bool { globalControllerInput != nil }
    /// Whether the model is a multi-task model (its tasks share a memory and train together);
    /// the others are trained one task at a time in the study.
    public var isMultiTask: Bool { hasGlobalMemory }

    /// Width of the global controller's input u (SPEC §5: d for ARC-I, W for ARC-II).
    public func globalControllerWidth(_ dims: Dimensions) -> Int {
        switch globalControllerInput {
        case .hidden?: return dims.hidden
        case .localRead?: return dims.memoryWidth
        case nil: return 0
        }
    }

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
