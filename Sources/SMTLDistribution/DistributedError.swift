/// A failure in a distributed run, naming the rank and task.
public struct DistributedError: Error, CustomStringConvertible {
    public var rank: Int
    public var task: String?
    public var message: String
    public var hint: String?
    package init(rank: Int, task: String? = nil, message: String, hint: String? = nil) {
        (self.rank, self.task, self.message, self.hint) = (rank, task, message, hint)
    }
    public var description: String {
        "rank \(rank)" + (task.map { " (task \($0))" } ?? "") + ": " + message + (hint.map { ". " + $0 } ?? "")
    }
}
