import KilnCore

/// An absolute, normalized path inside the image, never `/` itself.
public struct ImagePath: Hashable, Sendable, CustomStringConvertible {
    /// `/etc/app/config.yaml`.
    public let string: String

    /// Validates `string`.
    /// - Throws: ``SyntaxError`` naming the rule broken and, where there is
    ///   one, the normalized spelling the user probably meant.
    public init(validating string: String) throws(SyntaxError) {
        guard string.hasPrefix("/") else {
            throw SyntaxError("\(quoted(string)) must be an absolute path (start with /)")
        }
        try Self.refuseControlCharacters(string)
        let components = string.split(separator: "/", omittingEmptySubsequences: true)
        if components.contains("..") {
            throw SyntaxError("\(quoted(string)) must not contain \"..\"")
        }
        let normalized = "/" + components.filter { $0 != "." }.joined(separator: "/")
        guard normalized != "/" else { throw SyntaxError("\(quoted(string)) must not be / itself") }
        guard normalized == string else {
            throw SyntaxError("\(quoted(string)) is not normalized (did you mean \(quoted(normalized))?)")
        }
        self.string = string
    }

    /// Paths name files: a NUL cannot be in one at all, and other control
    /// characters (newlines, escapes) only make a path that no one can read
    /// or type, so both are refused.
    static func refuseControlCharacters(_ string: String) throws(SyntaxError) {
        if let scalar = string.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            let name = scalar == "\0" ? "a NUL character (\\0)" : "the control character \(escapedControl(scalar))"
            throw SyntaxError("\(quoted(string)) contains \(name); paths must be printable")
        }
    }

    /// The path relative to `/`, as a layer entry names it.
    public var relative: String { String(string.dropFirst()) }

    public var description: String { string }
}

/// A relative path, normalized, that stays where it starts (no `..`, not
/// absolute): build `workdir`, `paths` under a `root`.
public struct RelativePath: Hashable, Sendable, CustomStringConvertible {
    /// The normalized spelling: `.` and empty components removed, so `./src//lib`
    /// is stored as `src/lib`.
    public let string: String

    /// Normalizes `string` rather than rejecting an unusual spelling, because a
    /// relative path has no canonical form for users to match.
    /// - Throws: ``SyntaxError`` for an absolute path, one containing `..`, or one
    ///   that names no path at all (empty, `.`).
    public init(validating string: String) throws(SyntaxError) {
        guard !string.hasPrefix("/") else { throw SyntaxError("\(quoted(string)) must be a relative path") }
        try ImagePath.refuseControlCharacters(string)
        let components = string.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else { throw SyntaxError("\(quoted(string)) must not contain \"..\"") }
        let normalized = components.filter { $0 != "." }.joined(separator: "/")
        guard !normalized.isEmpty else { throw SyntaxError("\(quoted(string)) names no path") }
        self.string = normalized
    }

    public var description: String { string }
}
