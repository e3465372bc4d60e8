import KilnCore
import YAML

/// Where the plan wrote the values later checks warn about (SPEC §4,
/// `file:line:col: warning: …`): `entrypoint`, `cmd` and each build
/// layer's `command`, the whole value and each list item.
///
/// Like ``LayerSpec/location``, it is not part of what a plan means:
/// every two values compare equal, so reformatting a plan keeps it equal.
public struct ValueLocations: Hashable, Sendable {
    private var map: [String: SourceLocation] = [:]

    /// No locations (a plan made in code).
    public init() {}

    /// The key of a build layer's `command`.
    public static func command(ofLayer name: String) -> String { "layers/\(name)/command" }

    /// Where the value `key` (`entrypoint`, `cmd`, ``command(ofLayer:)``)
    /// starts, or its list item `item` when given and known.
    public subscript(_ key: String, item item: Int? = nil) -> SourceLocation? {
        if let item, let found = map[key + "[\(item)]"] { return found }
        return map[key]
    }

    /// Records `node` (and each item of a list) under `key`.
    mutating func record(_ key: String, _ node: Node, file: String) {
        map[key] = SourceLocation(file: file, line: node.mark.line, column: node.mark.column)
        for (index, item) in (node.sequence ?? []).enumerated() {
            map[key + "[\(index)]"] = SourceLocation(file: file, line: item.mark.line, column: item.mark.column)
        }
    }

    public static func == (lhs: ValueLocations, rhs: ValueLocations) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
}
