import KilnCore

/// Why a value from a plan is malformed; the decoder adds the place.
public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the value, without its location: the decoder puts
    /// where it is in the plan (`layer "app": `) before it and attaches the
    /// `file:line:column`.
    public var message: String
    /// Creates an error; `message` should quote the offending value.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
