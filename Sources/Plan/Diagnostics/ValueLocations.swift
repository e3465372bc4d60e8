/// Where a plan wrote some of its values, for errors found after parsing
/// (a missing package, a store path that does not exist, a base layout
/// that cannot be read) to point at, as plan errors do.
///
/// Keys are the value's path in the plan as messages write it: `base`
/// (the plan's), `names[0]` or `store_path` (a layer's). Equal to every
/// other and hashing nothing: where a plan says something is not what it
/// means, so reformatting a plan keeps it equal.
public struct ValueLocations: Hashable, Sendable {
    private var byKey: [String: SourceLocation] = [:]

    /// None known.
    public init() {}

    /// The place of the value at `key`, if the plan wrote it.
    public subscript(key: String) -> SourceLocation? {
        get { byKey[key] }
        set { byKey[key] = newValue }
    }

    /// Always true: see the type's documentation.
    public static func == (lhs: ValueLocations, rhs: ValueLocations) -> Bool { true }

    /// Hashes nothing, as `==` compares nothing.
    public func hash(into hasher: inout Hasher) {}
}
