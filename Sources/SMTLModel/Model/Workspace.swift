/// The activation buffers of one network pass (SPEC §2–§5 over a packed batch). A model's tasks
/// run one after another, so they share one workspace, sized for the largest batch any of them
/// has seen: memory per process does not grow with the number of tasks it runs.
public final class Workspace<S: Scalar> {
    // Per token row.
    let x = Buffer<S>()  // embeddings, E
    let gates = Buffer<S>()  // pre-activations, then activated i, f, g, o: 4d
    let hPrev = Buffer<S>()  // h_{t−1}, d
    let cPrev = Buffer<S>()  // c_{t−1}, d
    let cell = Buffer<S>()  // c_t, d
    let hidden = Buffer<S>()  // h_t, d
    let tanhU = Buffer<S>()  // tanh(c_t + gate ⊙ q_t), d
    let readFused = Buffer<S>()  // r_t fed to the fusion gate, W
    let fusion = Buffer<S>()  // [q = W_f r ; gate], 2d
    let dGates = Buffer<S>()
    let dFusion = Buffer<S>()  // [∂q ; ∂gate pre-activation], 2d
    let dx = Buffer<S>()
    // Per batch.
    let weightHHt = Buffer<S>()  // W_hhᵀ, d × 4d, for the forward recurrent product
    // Per batch slot.
    let dHidden = Buffer<S>()  // ∂L/∂h_t for the running step, d
    let dCell = Buffer<S>()  // ∂L/∂c_t, d
    let dRead = Buffer<S>()  // ∂L/∂r_t (fused read), W
    let hLast = Buffer<S>()
    let probabilities = Buffer<S>()
    /// The classifier's outputs before the softmax, per slot (for inspection).
    let logitBuffer = Buffer<S>()
    let dLogits = Buffer<S>()
    /// Dropout masks of the running training pass: per token row (E), per slot (d) and per token
    /// row of the fused read (W).
    let maskX = Buffer<S>()
    let maskH = Buffer<S>()
    let maskR = Buffer<S>()

    /// The buffers of the task's own memory block and of the shared one.
    let local = MemoryWorkspace<S>()
    let global = MemoryWorkspace<S>()
    /// ARC-II: rL_t of every token row, and ∂L/∂rL_t of the running step.
    let readLocal = Buffer<S>()
    let dReadLocal = Buffer<S>()

    public init() {}
}
