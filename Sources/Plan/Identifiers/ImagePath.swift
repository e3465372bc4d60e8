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
        guard !string.utf8.contains(0) else { throw SyntaxError("\(quoted(string)) contains a NUL byte") }
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
        let components = string.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else { throw SyntaxError("\(quoted(string)) must not contain \"..\"") }
        let normalized = components.filter { $0 != "." }.joined(separator: "/")
        guard !normalized.isEmpty else { throw SyntaxError("\(quoted(string)) names no path") }
        self.string = normalized
    }

    public var description: String { string }
}
