public import Foundation

/// Reading and writing whole (small) files by path, for test fixtures.
public enum Files {
    /// The bytes of the file at `path`.
    public static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The file at `path` as UTF-8 text (invalid bytes replaced).
    public static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    /// Creates or replaces the file at `path` with `bytes` and sets its
    /// mode, creating missing parent directories.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        guard chmod(path, mode) == 0 else {
            throw TestSupportError("cannot chmod \(String(mode, radix: 8)) \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// ``write(_:to:mode:)`` for `text` in UTF-8.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// The names in `directory`, hidden ones included, sorted by byte order.
    public static func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
