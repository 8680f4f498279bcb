/// A growable raw buffer: allocated once, reused every step (no allocation per time step).
public final class Buffer<S: Scalar> {
    public private(set) var pointer: UnsafeMutablePointer<S>
    public private(set) var capacity: Int

    public init(_ count: Int = 0) {
        capacity = max(count, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    deinit { pointer.deallocate() }

    /// Makes room for `count` elements; old contents are not kept.
    @inline(__always) public func reserve(_ count: Int) {
        if count <= capacity { return }
        pointer.deallocate()
        capacity = max(count, capacity * 3 / 2)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    @inline(__always) public func zero(_ count: Int) { pointer.update(repeating: 0, count: count) }
}
