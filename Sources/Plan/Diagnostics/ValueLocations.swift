import KilnCore
import YAML

/// Where a plan wrote some of its values, for what is found after parsing
/// to point at, as plan errors do: errors (a missing package, a store path
/// that does not exist, a base layout that cannot be read) and warnings
/// (`file:line:col: warning: …` about `entrypoint`, `cmd` or a build
/// command).
///
/// Keys are the value's path in the plan as messages write it: `base`,
/// `entrypoint`, `cmd` and ``command(ofLayer:)`` (the plan's), `names[0]`
/// or `store_path` (a layer's); a list's items are `key[0]`, `key[1]`….
/// Equal to every other and hashing nothing: where a plan says something
/// is not what it means, so reformatting a plan keeps it equal.
public struct ValueLocations: Hashable, Sendable {
    private var byKey: [String: SourceLocation] = [:]

    /// None known.
    public init() {}

    /// The key of a build layer's `command` in the plan's locations.
    public static func command(ofLayer name: String) -> String { "layers/\(name)/command" }

    /// The place of the value at `key`, if the plan wrote it.
    public subscript(key: String) -> SourceLocation? {
        get { byKey[key] }
        set { byKey[key] = newValue }
    }

    /// The place of item `item` of the list at `key` when known, else of
    /// the value.
    public subscript(_ key: String, item item: Int?) -> SourceLocation? {
        if let item, let found = byKey[key + "[\(item)]"] { return found }
        return byKey[key]
    }

    /// Records `node` (and each item of a list) under `key`.
    mutating func record(_ key: String, _ node: Node, file: String) {
        byKey[key] = SourceLocation(file: file, line: node.mark.line, column: node.mark.column)
        for (index, item) in (node.sequence ?? []).enumerated() {
            byKey[key + "[\(index)]"] = SourceLocation(file: file, line: item.mark.line, column: item.mark.column)
        }
    }

    /// Always true: see the type's documentation.
    public static func == (lhs: ValueLocations, rhs: ValueLocations) -> Bool { true }

    /// Hashes nothing, as `==` compares nothing.
    public func hash(into hasher: inout Hasher) {}
}
