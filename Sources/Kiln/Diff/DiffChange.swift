public import KilnCore
import OCI

/// Which side something is on: only the new one, only the old one, or both
/// with different values.
public enum ChangeKind: String, Hashable, Sendable, Encodable {
    /// Only the new side has it.
    case added
    /// Only the old side has it.
    case removed
    /// Both sides have it, with different values.
    case changed

    /// The sign the text and markdown forms put before a change.
    public var sign: String {
        switch self {
        case .added: "+"
        case .removed: "-"
        case .changed: "~"
        }
    }
}

/// One value that differs: a plain field (`tag`, `command`), one key of a
/// map (`env` `RUST_LOG`), or one member of a set (`expose` `"8080/tcp"`).
///
/// `old` is nil when the value is only on the new side, `new` when it is
/// only on the old side; JSON `null` never stands for "absent".
public struct ValueChange: Hashable, Sendable, Encodable {
    /// The field as `kiln plan` (or the OCI document) names it.
    public var field: String
    /// The map key, for map fields; nil for plain fields and sets.
    public var key: String?
    /// The old side's value; nil when only the new side has one.
    public var old: JSONValue?
    /// The new side's value; nil when only the old side has one.
    public var new: JSONValue?

    /// A change of `field` (of its `key`, for a map) from `old` to `new`.
    public init(field: String, key: String? = nil, old: JSONValue?, new: JSONValue?) {
        self.field = field
        self.key = key
        self.old = old
        self.new = new
    }

    /// Added, removed or changed, from which sides hold a value.
    public var change: ChangeKind {
        old == nil ? .added : new == nil ? .removed : .changed
    }

    private enum Keys: String, CodingKey { case change, field, key, old, new }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(change, forKey: .change)
        try container.encode(field, forKey: .field)
        try container.encodeIfPresent(key, forKey: .key)
        try container.encodeIfPresent(old, forKey: .old)
        try container.encodeIfPresent(new, forKey: .new)
    }
}

/// One member of a keyed list that differs: a `files` entry (by image path),
/// a package (by name), a build input (by path), a file in a layer tar.
public struct ItemChange: Hashable, Sendable, Encodable {
    /// The list it belongs to: `files`, `names`, `inputs`, `sources`.
    public var section: String
    /// What identifies the item within its list.
    public var key: String
    /// The whole item on the old side; nil when only the new side has it.
    public var old: JSONValue?
    /// The whole item on the new side; nil when only the old side has it.
    public var new: JSONValue?
    /// For an item on both sides, its fields that differ.
    public var fields: [ValueChange]

    /// The item `key` of `section`, whole on each side, and its fields that differ.
    public init(section: String, key: String, old: JSONValue?, new: JSONValue?, fields: [ValueChange]) {
        self.section = section
        self.key = key
        self.old = old
        self.new = new
        self.fields = fields
    }

    /// Added, removed or changed, from which sides hold the item.
    public var change: ChangeKind {
        old == nil ? .added : new == nil ? .removed : .changed
    }

    private enum Keys: String, CodingKey { case change, section, key, old, new, fields }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(change, forKey: .change)
        try container.encode(section, forKey: .section)
        try container.encode(key, forKey: .key)
        try container.encodeIfPresent(old, forKey: .old)
        try container.encodeIfPresent(new, forKey: .new)
        try container.encode(fields, forKey: .fields)
    }
}
