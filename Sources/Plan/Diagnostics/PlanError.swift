import KilnCore

/// One error found in a plan, at a place in its file.
///
/// Printed as `plan.yaml:12:5: error: layer "app": unknown key "comand" (did you mean "command"?)`.
public struct PlanError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the offending key or value starts.
    public var location: SourceLocation
    /// What is wrong, phrased for the person editing the plan.
    public var message: String

    /// Creates an error at `location`; `message` names the offending key or
    /// value, since it is shown after `error:` as is.
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): error: \(message)" }
}

/// Every error found in one plan, in file order.
public struct PlanErrors: Error, Sendable, CustomStringConvertible {
    /// At least one error.
    public var errors: [PlanError]

    /// Collects one plan's errors.
    /// - Precondition: `errors` is not empty; a plan without errors must not
    ///   throw.
    public init(_ errors: [PlanError]) {
        precondition(!errors.isEmpty, "PlanErrors needs at least one error")
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
