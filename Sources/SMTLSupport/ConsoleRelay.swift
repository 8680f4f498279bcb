import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Standard output through a relay, so that a training rank never blocks on a console that nobody
/// reads. Under mpirun, a rank's stdout is a pipe that mpirun drains; when mpirun is starved of
/// CPU by busy ranks, or pauses its event loop while it ends a job (it waits a second between
/// SIGCONT, SIGTERM and SIGKILL), the pipe fills, the printing rank blocks in write(2), and it can
/// no longer reach the step boundary where it honours a stop request: the job is killed without
/// its stop checkpoint. With the relay, fd 1 is a pipe read by a thread of this process into
/// memory, and a second thread writes that memory to the real stdout; the training thread only
/// ever writes into a pipe that is drained at once. At exit, what is left is written for at most
/// a few seconds. Beyond `capacity` bytes waiting, new output is dropped and counted (a note says
/// how much). Started by `smtl train`. OpenMPI gives a rank's stdout a pseudo-terminal with a
/// small buffer, so the relay is used whatever stdout is; stdout stays line-buffered.
public enum ConsoleRelay {
    public static let capacity = 64 << 20
    private static let condition = NSCondition()
    private static var pending = [UInt8]()
    private static var dropped = 0
    private static var writing = false
    private static var started = false
    private static var realStdout: Int32 = -1
    private static var readEnd: Int32 = -1

    /// Starts the relay (once; not when a pipe cannot be made).
    public static func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        fflush(stdout)
        let real = dup(1)
        guard real >= 0, dup2(fds[1], 1) >= 0 else {
            close(fds[0]); close(fds[1])
            return
        }
        close(fds[1])
        setvbuf(stdout, nil, _IOLBF, 0)  // a line at a time, as on the terminal it may replace
        realStdout = real
        readEnd = fds[0]
        started = true
        Thread.detachNewThread { drain() }
        Thread.detachNewThread { relay() }
        atexit { ConsoleRelay.finish(within: 3) }
    }

    /// Reads the pipe into memory as fast as it fills.
    private static func drain() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            condition.lock()
            if pending.count + n <= capacity {
                pending.append(contentsOf: buffer[0..<n])
            } else {
                dropped += n
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Writes what is pending to the real stdout (this thread may block; no other does).
    private static func relay() {
        while true {
            condition.lock()
            while pending.isEmpty && dropped == 0 { condition.wait() }
            var chunk = pending
            pending.removeAll(keepingCapacity: true)
            if dropped > 0 {
                chunk += Array("[smtl: \(dropped) bytes of console output dropped: stdout was not being read]\n".utf8)
                dropped = 0
            }
            writing = true
            condition.unlock()
            var offset = 0
            while offset < chunk.count {
                let n = chunk.withUnsafeBytes { write(realStdout, $0.baseAddress! + offset, chunk.count - offset) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
            condition.lock()
            writing = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Flushes stdout into the relay and waits until the relay has written it out, for at most
    /// `seconds`.
    public static func finish(within seconds: Double) {
        guard started else { return }
        fflush(stdout)
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while Date() < deadline {
            var more = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let unread = poll(&more, 1, 0) > 0
            if !unread && pending.isEmpty && !writing { return }
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.01)))
        }
    }
}
