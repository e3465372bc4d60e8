/// Why a YAML text cannot be read, and where.
public struct YAMLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the problem is.
    public var mark: Mark
    /// What is wrong, for a person.
    public var message: String

    /// Creates an error at `mark`; `message` should say what to change, since it
    /// is shown to the plan's author as is.
    public init(_ mark: Mark, _ message: String) {
        self.mark = mark
        self.message = message
    }

    /// `line:column: message`.
    public var description: String { "\(mark): \(message)" }
}
