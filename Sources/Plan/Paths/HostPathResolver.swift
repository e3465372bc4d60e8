import KilnCore
import Glibc

/// Resolves host paths named in a plan and keeps them inside the context.
///
/// Relative paths resolve against the plan's directory. The result is the
/// real path (symlinks resolved by the kernel's own rules), and it must lie
/// inside the context, whether the way out was `..` or a symlink.
public struct HostPathResolver: Sendable {
    /// The plan file's directory, real path.
    public let directory: String
    /// The context directory, real path.
    public let context: String

    /// Creates a resolver.
    /// - Parameters:
    ///   - directory: the plan's directory, already a real path.
    ///   - context: the directory nothing may escape, already a real path and
    ///     equal to or above `directory`.
    public init(directory: String, context: String) {
        self.directory = directory
        self.context = context
    }

    /// The real path of `raw`, which must exist inside the context.
    /// - Throws: ``SyntaxError`` for a path that escapes the context, lexically
    ///   or through a symlink, or that does not exist.
    /// - Parameter base: the directory a relative `raw` starts from
    ///   (default: the plan's directory).
    public func resolve(_ raw: String, what: String, relativeTo base: String? = nil) throws(SyntaxError) -> String {
        guard !raw.isEmpty else { throw SyntaxError("\(what) must not be empty") }
        do { try ImagePath.refuseControlCharacters(raw) } catch { throw SyntaxError("\(what) \(error.message)") }
        let joined = raw.hasPrefix("/") ? raw : (base ?? directory) + "/" + raw
        let lexical = HostPathResolver.normalize(joined)
        guard isInside(lexical) else {
            throw SyntaxError("\(what) \(quoted(raw)) is outside the context \(context) (use --context DIR to widen it)")
        }
        guard let real = HostPathResolver.realPath(joined) else {
            throw SyntaxError("\(what) \(quoted(raw)) does not exist")
        }
        guard isInside(real) else {
            throw SyntaxError("\(what) \(quoted(raw)) resolves through a symlink to \(real), outside the context \(context)")
        }
        return real
    }

    /// `path` relative to the context ("" for the context itself).
    public func relativeToContext(_ path: String) -> String {
        path == context ? "" : String(path.dropFirst(context == "/" ? 1 : context.count + 1))
    }

    /// Whether the absolute, normalized `path` is the context or below it.
    public func isInside(_ path: String) -> Bool {
        path == context || context == "/" || path.hasPrefix(context + "/")
    }

    /// Lexical normalization of an absolute path: `.`, `..` and empty
    /// components removed (`..` at the top stays at `/`).
    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The kernel's resolution of `path`, or nil if it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
