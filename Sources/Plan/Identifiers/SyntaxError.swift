/// Why a value from a plan is malformed; the decoder adds the place.
public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
