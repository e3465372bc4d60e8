import KilnCore

/// One package relation: a name, optionally a version constraint.
///
/// `libc6 (>= 2.36)`, `python3:any`, `foo [amd64]`. An architecture
/// qualifier (`:any`, `:native`, `:amd64`) is dropped: kiln installs one
/// architecture (plus `all`), so every qualifier names the same packages.
public struct Relation: Hashable, Sendable, CustomStringConvertible {
    /// The package (real or virtual) name.
    public var name: String
    /// The version constraint, or nil for any version.
    public var constraint: VersionConstraint?

    /// Memberwise; `name` must be a valid package name with any `:arch`
    /// qualifier already removed.
    public init(name: String, constraint: VersionConstraint? = nil) {
        self.name = name
        self.constraint = constraint
    }

    /// Whether a package `name` at `version` satisfies this relation.
    public func isSatisfied(by version: DebianVersion) -> Bool {
        constraint?.isSatisfied(by: version) ?? true
    }

    /// `name (op version)` as Debian writes it.
    public var description: String {
        guard let constraint else { return name }
        return "\(name) (\(constraint))"
    }
}

/// `<< <= = >= >>` and a version.
public struct VersionConstraint: Hashable, Sendable, CustomStringConvertible {
    /// The comparison.
    public var op: Operator
    /// The version compared with.
    public var version: DebianVersion

    /// Creates a constraint: satisfied by a candidate `c` when `c op version`.
    public init(_ op: Operator, _ version: DebianVersion) {
        self.op = op
        self.version = version
    }

    /// The five operators of deb822 relation fields.
    public enum Operator: String, Hashable, Sendable {
        /// Strictly earlier.
        case earlier = "<<"
        /// Earlier or equal (also dpkg's obsolete `<`).
        case earlierOrEqual = "<="
        /// Exactly equal, epoch and revision included.
        case equal = "="
        /// Later or equal (also dpkg's obsolete `>`).
        case laterOrEqual = ">="
        /// Strictly later.
        case later = ">>"
    }

    /// Whether `candidate` satisfies `candidate op version`.
    public func isSatisfied(by candidate: DebianVersion) -> Bool {
        let order = DebianVersion.compare(candidate, version)
        return switch op {
        case .earlier: order < 0
        case .earlierOrEqual: order <= 0
        case .equal: order == 0
        case .laterOrEqual: order >= 0
        case .later: order > 0
        }
    }

    /// `op version`.
    public var description: String { "\(op.rawValue) \(version)" }
}

/// One comma-separated item of a relation field: alternatives joined by `|`.
public struct Dependency: Hashable, Sendable, CustomStringConvertible {
    /// At least one alternative, in the order written (the first is preferred).
    public var alternatives: [Relation]

    /// Memberwise; `alternatives` must not be empty.
    public init(alternatives: [Relation]) {
        self.alternatives = alternatives
    }

    /// `a (>= 1) | b`.
    public var description: String { alternatives.map(\.description).joined(separator: " | ") }
}

/// A relation field that cannot be parsed.
public struct RelationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text that failed.
    public var text: String
    /// Why.
    public var reason: String

    /// Creates an error; `text` is the item that failed, `reason` why.
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "invalid package relation \"\(text)\": \(reason)" }
}

/// Parsing of `Depends`-style fields and of the plan's package atoms.
public enum RelationParser {
    /// Parses a `Depends`/`Pre-Depends` field.
    ///
    /// Alternatives restricted to other architectures (`foo [!amd64]`) are
    /// dropped; an item left with no alternative is dropped too, as dpkg does
    /// for the architecture it installs. Build profiles (`<!nocheck>`) are
    /// ignored: they only restrict build dependencies.
    /// - Parameter architecture: the Debian architecture installed (`amd64`).
    /// - Throws: ``RelationError`` for a malformed item.
    public static func dependencies(_ field: String, architecture: String) throws(RelationError) -> [Dependency] {
        var result: [Dependency] = []
        for item in field.split(separator: ",") {
            var alternatives: [Relation] = []
            let trimmedItem = String(item).trimmingSpaces
            if trimmedItem.isEmpty { continue }
            for alternative in trimmedItem.split(separator: "|") {
                if let relation = try relation(String(alternative), architecture: architecture) {
                    alternatives.append(relation)
                }
            }
            if !alternatives.isEmpty { result.append(Dependency(alternatives: alternatives)) }
        }
        return result
    }

    /// Parses a `Provides` field: names with an optional `(= version)`.
    /// - Throws: ``RelationError`` for a malformed item or an operator other
    ///   than `=`.
    public static func provides(_ field: String) throws(RelationError) -> [Relation] {
        var result: [Relation] = []
        for item in field.split(separator: ",") {
            let text = String(item).trimmingSpaces
            if text.isEmpty { continue }
            guard let relation = try relation(text, architecture: nil) else { continue }
            if let constraint = relation.constraint, constraint.op != .equal {
                throw RelationError(text: text, reason: "a Provides version must use \"=\"")
            }
            result.append(relation)
        }
        return result
    }

    /// Parses one atom of a plan's `names:`: `name`, `name=version` or
    /// `name (op version)`.
    /// - Throws: ``RelationError`` when the atom is malformed.
    public static func atom(_ text: String) throws(RelationError) -> Relation {
        let trimmed = text.trimmingSpaces
        if !trimmed.contains("("), let equals = trimmed.firstIndex(of: "=") {
            let name = String(trimmed[..<equals]).trimmingSpaces
            let versionText = String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces
            try checkName(name, in: text)
            do {
                return Relation(name: name, constraint: VersionConstraint(.equal, try DebianVersion(versionText)))
            } catch {
                throw RelationError(text: text, reason: error.description)
            }
        }
        guard !trimmed.contains("|"), !trimmed.contains(","), !trimmed.contains("[") else {
            throw RelationError(text: text, reason: "a package atom is one name, \"name=version\" or \"name (op version)\"")
        }
        // `relation` only returns nil for an architecture restriction, which
        // the guard above rules out.
        return try relation(trimmed, architecture: nil)!
    }

    /// One alternative: `name[:qualifier] [(op version)] [[arches]] [<profiles>]`.
    /// Returns nil when an architecture restriction excludes `architecture`.
    static func relation(_ raw: String, architecture: String?) throws(RelationError) -> Relation? {
        var text = Substring(raw.trimmingSpaces)
        // Build profiles only restrict build dependencies.
        if let angle = firstOutsideParentheses("<", in: text) {
            text = Substring(String(text[..<angle]).trimmingSpaces)
        }
        var restriction: Substring?
        if let open = text.firstIndex(of: "[") {
            guard text.last == "]" else { throw RelationError(text: raw, reason: "unclosed \"[\"") }
            restriction = text[text.index(after: open)..<text.index(before: text.endIndex)]
            text = Substring(String(text[..<open]).trimmingSpaces)
        }
        var constraint: VersionConstraint?
        if let open = text.firstIndex(of: "(") {
            guard text.last == ")" else { throw RelationError(text: raw, reason: "unclosed \"(\"") }
            constraint = try parseConstraint(text[text.index(after: open)..<text.index(before: text.endIndex)], in: raw)
            text = Substring(String(text[..<open]).trimmingSpaces)
        }
        var name = String(text)
        if let colon = name.firstIndex(of: ":") { name = String(name[..<colon]) }
        try checkName(name, in: raw)
        if let restriction, let architecture, !matches(restriction, architecture: architecture, in: raw) {
            return nil
        }
        return Relation(name: name, constraint: constraint)
    }

    private static func firstOutsideParentheses(_ target: Character, in text: Substring) -> Substring.Index? {
        var depth = 0
        for index in text.indices {
            switch text[index] {
            case "(": depth += 1
            case ")": depth -= 1
            case target where depth == 0: return index
            default: break
            }
        }
        return nil
    }

    private static func parseConstraint(_ text: Substring, in raw: String) throws(RelationError) -> VersionConstraint {
        let body = String(text).trimmingSpaces
        let operators: [(String, VersionConstraint.Operator)] = [
            ("<<", .earlier), ("<=", .earlierOrEqual), (">=", .laterOrEqual), (">>", .later),
            ("=", .equal), ("<", .earlierOrEqual), (">", .laterOrEqual),  // `<` and `>` are dpkg's obsolete spellings
        ]
        for (spelling, op) in operators where body.hasPrefix(spelling) {
            let versionText = String(body.dropFirst(spelling.count)).trimmingSpaces
            do {
                return VersionConstraint(op, try DebianVersion(versionText))
            } catch {
                throw RelationError(text: raw, reason: error.description)
            }
        }
        throw RelationError(text: raw, reason: "expected one of << <= = >= >> before the version")
    }

    private static func matches(_ restriction: Substring, architecture: String, in raw: String) -> Bool {
        let arches = restriction.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let negated = arches.allSatisfy { $0.hasPrefix("!") }
        if negated { return !arches.contains("!" + architecture) }
        return arches.contains(architecture) || arches.contains("any") || arches.contains("linux-any")
    }

    private static func checkName(_ name: String, in raw: String) throws(RelationError) {
        guard let first = name.utf8.first else { throw RelationError(text: raw, reason: "the package name is empty") }
        let valid = name.utf8.allSatisfy { byte in
            switch byte {
            case 0x30...0x39, 0x61...0x7a, UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."): true
            default: false
            }
        }
        guard valid, (0x30...0x39).contains(first) || (0x61...0x7a).contains(first) else {
            throw RelationError(text: raw, reason: "\"\(name)\" is not a valid package name (lowercase letters, digits, + - .)")
        }
    }
}
