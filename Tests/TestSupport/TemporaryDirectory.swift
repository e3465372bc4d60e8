public import Foundation
import Glibc

/// A fresh directory under `FileManager.default.temporaryDirectory`, with
/// helpers to fill it, removed (read-only and mode-000 directories too)
/// by ``remove()`` or when the value goes away.
///
/// Write `defer { directory.remove() }` after creating one: Swift may
/// release a value after its last use, before the end of the scope, and a
/// test that goes on using `path` strings must keep the tree until it ends.
public final class TemporaryDirectory: Sendable {
    /// The directory's real path (symlinks resolved), as kiln reports paths.
    public let path: String

    /// Creates `<temporary directory>/<prefix>-XXXXXX` with `mkdtemp`
    /// (mode 0700; see ``allowEveryone()``).
    /// - Throws: ``TestSupportError`` when the directory cannot be made.
    public init(prefix: String = "kiln-tests") throws {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array((base + "/" + prefix + "-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else {
            throw TestSupportError("cannot create a temporary directory in \(base): \(String(cString: strerror(errno)))")
        }
        path = URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path
    }

    deinit {
        TemporaryDirectory.removeTree(path)
    }

    /// Deletes the directory and everything below it, making unreadable or
    /// read-only directories accessible first. Safe to call twice.
    public func remove() {
        TemporaryDirectory.removeTree(path)
    }

    /// `path/relative`.
    public func path(_ relative: String) -> String {
        relative.isEmpty ? path : path + "/" + relative
    }

    /// `path/relative` as a file URL.
    public func url(_ relative: String) -> URL {
        URL(fileURLWithPath: path(relative))
    }

    /// Writes `text` at `relative` with `mode`, creating parent directories.
    /// - Returns: the file's full path.
    @discardableResult
    public func write(_ relative: String, _ text: String, mode: mode_t = 0o644) throws -> String {
        try write(relative, bytes: Array(text.utf8), mode: mode)
    }

    /// Writes `bytes` at `relative` with `mode`, creating parent directories.
    /// - Returns: the file's full path.
    @discardableResult
    public func write(_ relative: String, bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        let file = path(relative)
        try Files.write(bytes, to: file, mode: mode)
        return file
    }

    /// Creates the directory `relative` (and missing parents), then sets its mode.
    /// - Returns: the directory's full path.
    @discardableResult
    public func directory(_ relative: String, mode: mode_t = 0o755) throws -> String {
        let directory = path(relative)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try TemporaryDirectory.setMode(mode, of: directory)
        return directory
    }

    /// Creates a symlink at `relative` whose target is `target`, verbatim.
    /// - Returns: the link's full path.
    @discardableResult
    public func symlink(_ relative: String, to target: String) throws -> String {
        let link = path(relative)
        try FileManager.default.createDirectory(
            atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        return link
    }

    /// Creates a hard link at `relative` to the existing file `existing`
    /// (both relative to the directory).
    @discardableResult
    public func hardlink(_ relative: String, to existing: String) throws -> String {
        let created = path(relative)
        guard link(path(existing), created) == 0 else {
            throw TestSupportError("cannot link \(created) to \(path(existing)): \(String(cString: strerror(errno)))")
        }
        return created
    }

    /// Copies every entry of `source` into this directory (symlinks kept).
    public func copyContents(of source: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: path(name))
        }
    }

    /// Makes the directory and its ancestors up to `/` searchable by every
    /// user, so a tool run as another user (``Tools/asNobody``) can reach
    /// what the test wrote. Ancestors that are already searchable are left
    /// as they are.
    public func allowEveryone() throws {
        try TemporaryDirectory.setMode(0o755, of: path)
        var ancestor = (path as NSString).deletingLastPathComponent
        while ancestor != "/" && !ancestor.isEmpty {
            var info = stat()
            if stat(ancestor, &info) == 0, info.st_mode & 0o001 == 0 {
                try TemporaryDirectory.setMode(mode_t(info.st_mode & 0o7777) | 0o005, of: ancestor)
            }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
    }

    static func setMode(_ mode: mode_t, of path: String) throws {
        guard chmod(path, mode) == 0 else {
            throw TestSupportError("cannot chmod \(String(mode, radix: 8)) \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes a tree even where tests left directories without write or
    /// search permission.
    static func removeTree(_ path: String) {
        let files = FileManager.default
        if (try? files.removeItem(atPath: path)) != nil { return }
        guard files.fileExists(atPath: path) else { return }
        var pending = [path]
        while let directory = pending.popLast() {
            chmod(directory, 0o700)
            for name in (try? files.contentsOfDirectory(atPath: directory)) ?? [] {
                var info = stat()
                let full = directory + "/" + name
                if lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { pending.append(full) }
            }
        }
        try? files.removeItem(atPath: path)
    }
}

/// A test helper could not do what it was asked (a tool failed, a file
/// could not be made); the message says what and why.
public struct TestSupportError: Error, Sendable, CustomStringConvertible {
    /// What failed and why, in one or more lines.
    public let description: String

    /// An error whose message is `description`.
    public init(_ description: String) {
        self.description = description
    }
}
