import Foundation

/// A scratch directory under the system's temporary directory, removed
/// when the value goes away.
final class TestDirectory {
    /// The directory's real path (symlinks resolved), as kiln reports it.
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("kiln-plantests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.resolvingSymlinksInPath().path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/relative`.
    func url(_ relative: String) -> URL {
        URL(fileURLWithPath: path).appendingPathComponent(relative)
    }

    /// Writes `text` at `relative`, creating parent directories.
    @discardableResult
    func write(_ relative: String, _ text: String, executable: Bool = false) throws -> String {
        try write(relative, Array(text.utf8), executable: executable)
    }

    /// Writes `bytes` at `relative`, creating parent directories.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8], executable: Bool = false) throws -> String {
        let url = url(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: url.path)
        return url.path
    }

    /// Creates the directory `relative` and its parents.
    @discardableResult
    func directory(_ relative: String) throws -> String {
        let url = url(relative)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Creates a symlink at `relative` whose target is `target`, verbatim.
    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: url(relative).path, withDestinationPath: target)
    }

    /// Copies every entry of `source` into this directory (symlinks kept).
    func copyContents(of source: URL) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: url(name))
        }
    }
}
