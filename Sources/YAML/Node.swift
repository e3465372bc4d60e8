/// A position in a YAML text, 1-based, columns counted in characters.
public struct Mark: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column, counted in Unicode characters rather than bytes, so it
    /// matches what an editor shows for non-ASCII text.
    public var column: Int

    /// Creates a mark from 1-based coordinates (libyaml's 0-based ones are
    /// converted by the parser).
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: Mark, rhs: Mark) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    /// `line:column`.
    public var description: String { "\(line):\(column)" }
}

/// One node of a YAML document, with the position where it starts.
///
/// Aliases are already resolved: an alias node is a copy of its anchored
/// node (keeping the anchor's marks). Scalars keep their exact text, so
/// interpretation (`1.10` as a string, `0755` as an octal mode) is the
/// reader's choice, never the parser's.
public struct Node: Hashable, Sendable {
    /// The node's content.
    public var value: Value
    /// Where the node starts.
    public var mark: Mark
    /// An explicit standard tag (`str`, `int`, `bool`, `null`, `float`,
    /// `seq`, `map` from `tag:yaml.org,2002:`), or nil when the node has none.
    public var tag: StandardTag?

    /// Creates a node; `mark` is where its first character is, and `tag` is nil
    /// unless the document spelled out one of the standard tags.
    public init(_ value: Value, mark: Mark, tag: StandardTag? = nil) {
        self.value = value
        self.mark = mark
        self.tag = tag
    }

    /// The three kinds of YAML node.
    public enum Value: Hashable, Sendable {
        /// A scalar with its text and style, uninterpreted.
        case scalar(Scalar)
        /// A sequence's items in document order.
        case sequence([Node])
        /// A mapping's pairs in document order; keys are scalars and unique (the
        /// parser rejects duplicates).
        case mapping([Pair])
    }

    /// The scalar, if this node is one.
    public var scalar: Scalar? {
        if case .scalar(let scalar) = value { scalar } else { nil }
    }

    /// The items, if this node is a sequence.
    public var sequence: [Node]? {
        if case .sequence(let items) = value { items } else { nil }
    }

    /// The pairs in document order, if this node is a mapping.
    public var mapping: [Pair]? {
        if case .mapping(let pairs) = value { pairs } else { nil }
    }

    /// Whether this is a plain `null`, `Null`, `NULL`, `~` or empty scalar
    /// without a tag other than `!!null` (YAML 1.2 core schema).
    public var isNull: Bool {
        guard let scalar, scalar.style == .plain, tag == nil || tag == .null else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.text)
    }

    /// A word for messages: "a scalar", "a list", "a mapping", "null".
    public var kindDescription: String {
        switch value {
        case .scalar: isNull ? "null" : "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}

/// A scalar's text and how it was written.
public struct Scalar: Hashable, Sendable {
    /// The scalar's content, exactly as the document spells it (after
    /// YAML's own quoting and folding rules).
    public var text: String
    /// How it was written; only plain scalars can mean anything but a string.
    public var style: Style

    /// Creates a scalar from its already unquoted and unfolded text.
    public init(text: String, style: Style) {
        self.text = text
        self.style = style
    }

    /// YAML scalar styles.
    public enum Style: Hashable, Sendable {
        /// `plain` is the only style that may be read as a non-string (`true`,
        /// `8080`, `null`); quoted, literal (`|`) and folded (`>`) scalars are always
        /// strings.
        case plain, singleQuoted, doubleQuoted, literal, folded
    }
}

/// One key/value pair of a mapping.
public struct Pair: Hashable, Sendable {
    /// The key, always a scalar node; its mark is what duplicate-key errors point at.
    public var key: Node
    /// The value, of any kind.
    public var value: Node

    /// Creates a pair; the parser only builds pairs with scalar keys.
    public init(key: Node, value: Node) {
        self.key = key
        self.value = value
    }
}

/// The tags from YAML's core schema that a plan may spell out explicitly.
public enum StandardTag: String, Hashable, Sendable {
    /// One case per core-schema tag, named after the part following
    /// `tag:yaml.org,2002:` (so `!!str` is `.str`).
    case str, int, bool, null, float, seq, map
}
