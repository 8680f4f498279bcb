/// An error in something a user gave us: a data file, a config, a checkpoint. The message names
/// the file and, where there is one, the line, and says how to fix the problem.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var message: String
    public var hint: String?
    /// The task the file belongs to, when there is one (shown in distributed runs).
    public var task: String?

    public init(file: String, line: Int? = nil, _ message: String, hint: String? = nil, task: String? = nil) {
        self.file = file
        self.line = line
        self.message = message
        self.hint = hint
        self.task = task
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": " + message
        if let task { s += " (task \(task))" }
        if let hint { s += ". " + hint }
        return s
    }
}
