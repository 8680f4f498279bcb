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
/// progress, so the training thread pays one lock per collective. With a roll call (MPI started
/// with MPI_THREAD_MULTIPLE), the same thread answers the other ranks' pings, and a timeout's
/// message names the ranks that did not arrive and what the others are doing (see `RollCall`).
public final class WatchedCommunicator: Communicator {
    public typealias Phase = CollectivePhase

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
    let rollCall: RollCall?
    private var collectives = 0  // completed, under `lock`
    private let mpiLock = NSLock()  // the watchdog thread's MPI calls against `shutdown`
    private var isShutDown = false

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }

    public init(
        _ inner: Communicator, timeout: Double, stopGrace: Double = 60,
        underLauncher: Bool = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil,
        stopRequested: @escaping @Sendable () -> Bool = { false },
        rollCall: RollCall? = nil,
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
        self.rollCall = rollCall
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

    public func enter(step: Int) { self.step = step }

    /// Runs `body` in `phase` (the allowance of its collectives).
    public func during<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
        lock.lock(); let before = self.phase; self.phase = phase; lock.unlock()
        defer { lock.lock(); self.phase = before; lock.unlock() }
        return try body()
    }

    private var lastLook: UInt64 = DispatchTime.now().uptimeNanoseconds

    /// Stops the watchdog's own MPI calls (before MPI_Finalize).
    public func shutdown() {
        mpiLock.lock()
        isShutDown = true
        mpiLock.unlock()
    }

    private var state: RollCallState {
        lock.lock(); defer { lock.unlock() }
        return RollCallState(inCollective: started > 0, step: _step, collectives: collectives)
    }

    /// Who is where, for a timeout's message.
    private func rollCallReport() -> String {
        guard let rollCall else {
            return "some rank did not arrive (frozen, cut off by the network, or its host is gone)"
        }
        mpiLock.lock(); defer { mpiLock.unlock() }
        guard !isShutDown else { return "some rank did not arrive" }
        let me = state
        let wait = min(5, max(1, timeout))
        let answers = rollCall.ask(me, seconds: wait)
        var text = type(of: rollCall).describe(me, rank: rank, size: size, answers: answers, waited: wait)
        if answers.count < size - 1, underLauncher, let grace = Self.endLauncherLater(parent) {
            text +=
                " (mpirun cannot reach a lost host to end its ranks and would wait for TCP to give up, "
                + "about 15 minutes: it is ended in \(grace) s if still running)"
        }
        return text
    }

    /// After a timeout with ranks that did not answer, mpirun waits to hear from the daemon of a
    /// host it can no longer reach until TCP gives up (about 15 minutes), although every rank has
    /// ended. A rank whose parent is mpirun itself leaves a detached helper that ends mpirun if it
    /// is still running `grace` seconds later (SIGKILL: an aborting mpirun answers SIGTERM with a
    /// segmentation fault); ranks elsewhere end on their
    /// own watchdog or when their daemon goes. Returns the grace, or nil when the parent is not mpirun.
    static func endLauncherLater(_ parent: pid_t, grace: Int = 20) -> Int? {
        let name = ((try? String(contentsOfFile: "/proc/\(parent)/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard ["mpirun", "mpiexec", "orterun", "prterun"].contains(name) else { return nil }
        let script =
            "sleep \(grace); [ \"$(cat /proc/\(parent)/comm 2>/dev/null)\" = \(name) ] && kill -KILL \(parent)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        for fd in 3..<1024 { posix_spawn_file_actions_addclose(&actions, Int32(fd)) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)  // POSIX_SPAWN_SETSID (glibc; not imported)
        let words: [String] = ["/bin/sh", "-c", script]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        return posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ) == 0 ? grace : nil
    }

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
            end(
                "smtl: rank \(rank): its launcher (mpirun) is gone; exiting instead of waiting for ranks that "
                    + "will not come")
            return true
        }
        if let rollCall {
            mpiLock.lock()
            if !isShutDown { rollCall.answer(state) }
            mpiLock.unlock()
        }
        lock.lock()
        let (t0, name, ph, s) = (started, what, phase, _step)
        lock.unlock()
        guard t0 > 0 else { return false }
        let waited = Double(Int64(bitPattern: DispatchTime.now().uptimeNanoseconds &- t0)) / 1e9
        let limit = timeout * (Self.allowance[ph] ?? 1)
        if stopRequested() && waited > stopGrace {
            end(
                "smtl: rank \(rank) of \(size): a stop was requested and the \(name) at step \(s) has waited "
                    + String(format: "%.0f", waited) + " s for the other ranks; ending the job without the last "
                    + "checkpoint (resume from the newest one)")
            return true
        }
        if waited > limit {
            end(
                "smtl: rank \(rank) of \(size): the \(name) (\(ph.rawValue) phase) at step \(s) has waited "
                    + String(format: "%.0f", waited) + " s, over the collective timeout of "
                    + String(format: "%g", limit) + " s: " + rollCallReport()
                    + "; ending the job. Raise --collective-timeout if steps are that slow")
            return true
        }
        return false
    }

    @inline(__always) private func timed<T>(_ name: String, _ body: () -> T) -> T {
        lock.lock(); started = DispatchTime.now().uptimeNanoseconds; what = name; lock.unlock()
        defer { lock.lock(); started = 0; collectives += 1; lock.unlock() }
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
    public func exchange(
        send: UnsafeRawPointer?, bytes sendBytes: Int, to: Int, receive: UnsafeMutableRawPointer?,
        bytes receiveBytes: Int, from: Int
    ) {
        timed("exchange of tensors between ranks") {
            inner.exchange(send: send, bytes: sendBytes, to: to, receive: receive, bytes: receiveBytes, from: from)
        }
    }
    public func split(color: Int, key: Int) -> Communicator {
        timed("communicator split") { inner.split(color: color, key: key) }
    }
    public func idleBarrier() { timed("barrier") { inner.idleBarrier() } }
    public func nodeLocalRank() -> Int? { inner.nodeLocalRank() }

    public func abort(_ code: Int32) -> Never { inner.abort(code) }
}
