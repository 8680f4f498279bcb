import Foundation

/// A communicator that never waits forever. Every collective is timed by a watchdog thread: one
/// that has not completed within `timeout` seconds (times the phase's allowance: evaluation and
/// checkpoints take longer than a step) ends the process with a message, and mpirun then ends
/// the job. A frozen rank (SIGSTOP), a network partition or a dead host thus ends the job
/// instead of leaving the other ranks spinning. Also:
///
/// * after a stop request (SIGTERM/SIGUSR1), a collective that waits more than `stopGrace`
///   seconds ends the process: the stop is bounded even when a rank cannot take part;
/// * under mpirun, a rank whose launcher died (reparented to init) exits on its own;
/// * time during which this process itself was suspended (SIGSTOP, `scontrol suspend`) does not
///   count: a job whose ranks are all suspended and resumed goes on.
///
/// The checks run on their own thread and read only a lock-protected record of the collective in
/// progress, so the training thread pays one lock per collective.
public final class WatchedCommunicator: Communicator {
    public enum Phase: String, Sendable {
        case step, evaluation, checkpoint, fineTuning = "fine-tuning"
    }

    let inner: Communicator
    public let timeout: Double
    public let stopGrace: Double
    /// How many times `timeout` each phase may wait (fine-tuning: each rank fine-tunes its own
    /// tasks for as long as they take, so only the stop grace applies).
    public static let allowance: [Phase: Double] = [.step: 1, .evaluation: 10, .checkpoint: 10, .fineTuning: .infinity]

    private let lock = NSLock()
    private var started: UInt64 = 0  // uptime ns when the current collective began; 0: none
    private var what = ""
    private var phase = Phase.step
    /// Set by the trainer at each step, for the message.
    public var step: Int {
        get { lock.lock(); defer { lock.unlock() }; return _step }
        set { lock.lock(); _step = newValue; lock.unlock() }
    }
    private var _step = 0
    private let parent = getppid()
    private let underLauncher: Bool
    /// Reads the stop request (Trainer.stopRequested) without depending on the trainer.
    private let stopRequested: @Sendable () -> Bool
    /// What ends the process (tests replace it).
    let end: @Sendable (String) -> Void

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }

    public init(
        _ inner: Communicator, timeout: Double, stopGrace: Double = 60,
        underLauncher: Bool = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil,
        stopRequested: @escaping @Sendable () -> Bool = { false },
        end: @escaping @Sendable (String) -> Void = { message in
            FileHandle.standardError.write(Data((message + "\n").utf8))
            _exit(3)
        }
    ) {
        self.inner = inner
        self.timeout = timeout
        self.stopGrace = stopGrace
        self.underLauncher = underLauncher
        self.stopRequested = stopRequested
        self.end = end
        let thread = Thread { [weak self] in
            while let me = self {
                if me.check() { return }
                usleep(250_000)
            }
        }
        thread.name = "smtl-watchdog"
        thread.start()
    }

    /// Runs `body` in `phase` (the allowance of its collectives).
    public func during<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
        lock.lock(); let before = self.phase; self.phase = phase; lock.unlock()
        defer { lock.lock(); self.phase = before; lock.unlock() }
        return try body()
    }

    private var lastLook: UInt64 = DispatchTime.now().uptimeNanoseconds

    /// One look; true when the process is ending.
    func check() -> Bool {
        // A look that comes seconds late means this process was suspended (SIGSTOP, Slurm's
        // suspend): that time was not spent waiting for other ranks, so it does not count.
        let now = DispatchTime.now().uptimeNanoseconds
        let gap = now - lastLook
        lastLook = now
        if gap > 5_000_000_000 {
            lock.lock()
            if started > 0 { started = min(started + gap, now) }
            lock.unlock()
        }
        if underLauncher && getppid() != parent {
            end("smtl: rank \(rank): its launcher (mpirun) is gone; exiting instead of waiting for ranks that "
                + "will not come")
            return true
        }
        lock.lock()
        let (t0, name, ph, s) = (started, what, phase, _step)
        lock.unlock()
        guard t0 > 0 else { return false }
        let waited = Double(Int64(bitPattern: DispatchTime.now().uptimeNanoseconds &- t0)) / 1e9
        let limit = timeout * (Self.allowance[ph] ?? 1)
        if stopRequested() && waited > stopGrace {
            end("smtl: rank \(rank) of \(size): a stop was requested and the \(name) at step \(s) has waited "
                + String(format: "%.0f", waited) + " s for the other ranks; ending the job without the last "
                + "checkpoint (resume from the newest one)")
            return true
        }
        if waited > limit {
            end("smtl: rank \(rank) of \(size): the \(name) (\(ph.rawValue) phase) at step \(s) has waited "
                + String(format: "%.0f", waited) + " s, over the collective timeout of "
                + String(format: "%g", limit) + " s: some rank did not arrive (frozen, cut off by the network, "
                + "or its host is gone); ending the job. Raise --collective-timeout if steps are that slow")
            return true
        }
        return false
    }

    @inline(__always) private func timed<T>(_ name: String, _ body: () -> T) -> T {
        lock.lock(); started = DispatchTime.now().uptimeNanoseconds; what = name; lock.unlock()
        defer { lock.lock(); started = 0; lock.unlock() }
        return body()
    }

    public func allreduceSum(_ data: UnsafeMutablePointer<Float>, count: Int) {
        timed("allreduce of \(count) floats") { inner.allreduceSum(data, count: count) }
    }
    public func allreduceSum(_ data: UnsafeMutablePointer<Double>, count: Int) {
        timed("allreduce of \(count) doubles") { inner.allreduceSum(data, count: count) }
    }
    public func allreduceMax(_ data: UnsafeMutablePointer<UInt8>, count: Int) {
        timed("allreduce (max) of \(count) bytes") { inner.allreduceMax(data, count: count) }
    }
    public func allreduceMax(_ data: UnsafeMutablePointer<Int32>, count: Int) {
        timed("allreduce (max) of \(count) ints") { inner.allreduceMax(data, count: count) }
    }
    public func broadcast(_ data: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        timed("broadcast of \(bytes) bytes from rank \(root)") { inner.broadcast(data, bytes: bytes, root: root) }
    }
    public func split(color: Int, key: Int) -> Communicator {
        timed("communicator split") { inner.split(color: color, key: key) }
    }
    public func idleBarrier() { timed("barrier") { inner.idleBarrier() } }
    public func abort(_ code: Int32) -> Never { inner.abort(code) }
}
