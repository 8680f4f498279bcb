/// A failure in a distributed run, naming the rank and task.
public struct DistributedError: Error, CustomStringConvertible {
    public var rank: Int
    public var task: String?
    public var message: String
    public var hint: String?
    public var description: String {
        "rank \(rank)" + (task.map { " (task \($0))" } ?? "") + ": " + message + (hint.map { ". " + $0 } ?? "")
    }
}
