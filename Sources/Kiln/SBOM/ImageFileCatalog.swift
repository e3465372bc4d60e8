import Crypto
import KilnCore
import OCI

/// Every regular file of an image (its layers applied with whiteouts), with
/// its SHA-1 and SHA-256, the layer that put it there and the path that
/// layer gave it; plus the bytes of the files the SBOM reads (dpkg's
/// database, `debian/copyright` files), as the final image has them.
struct ImageFileCatalog {
    /// One regular file of the image.
    struct File: Sendable {
        /// Relative to the root, no leading `/` (`usr/bin/app`).
        var path: String
        var sha1: String
        var sha256: String
        var size: Int64
        /// Index of the layer (in the subject's order) that wrote it last.
        var layer: Int
        /// The path as that layer's tar named it (differs from ``path``
        /// only when a symlink among its parents was followed).
        var memberPath: String
    }

    /// Sorted by path bytes.
    var files: [File]
    /// Bytes of the files ``isCaptured(_:)`` selects, by path.
    var captured: [String: [UInt8]]
    /// The applied file system, to resolve paths dpkg lists name.
    let fileSystem: ImageFileSystem

    /// Files larger than this are not kept in memory for reading.
    static let captureLimit: Int64 = 16 << 20

    /// Whether the SBOM reads the file at `path` (relative).
    static func isCaptured(_ path: String) -> Bool {
        if path == "var/lib/dpkg/status" { return true }
        if path.hasPrefix("var/lib/dpkg/status.d/") { return !path.dropFirst(22).contains("/") }
        if path.hasPrefix("var/lib/dpkg/info/") {
            return !path.dropFirst(18).contains("/") && (path.hasSuffix(".list") || path.hasSuffix(".md5sums"))
        }
        if path.hasPrefix("usr/share/doc/"), path.hasSuffix("/copyright") {
            return path.split(separator: "/").count == 5
        }
        return false
    }

    /// Applies `layers` in order and hashes every regular file as it streams.
    /// - Throws: ``ImageFileSystemError`` for an unreadable layer.
    static func read(_ layers: [LayoutLayer]) throws(ImageFileSystemError) -> ImageFileCatalog {
        let fileSystem = ImageFileSystem()
        let sink = HashingSink(fileSystem: fileSystem)
        for (index, layer) in layers.enumerated() {
            sink.layer = index
            try fileSystem.apply(layer, sink: sink)
        }
        var files: [File] = []
        var captured: [String: [UInt8]] = [:]
        for (path, node) in fileSystem.entries() {
            guard case .regular = node.kind, let file = sink.files[path] else { continue }
            files.append(file)
            if let bytes = sink.captured[path] { captured[path] = bytes }
        }
        return ImageFileCatalog(files: files, captured: captured, fileSystem: fileSystem)
    }

    /// Records each regular file's hashes as the file system creates it;
    /// the last record of a path is the one the image keeps (a path removed
    /// later is simply not in the final listing).
    private final class HashingSink: FileSystemSink {
        unowned let fileSystem: ImageFileSystem
        var layer = 0
        var files: [String: File] = [:]
        var captured: [String: [UInt8]] = [:]
        private var buffer = [UInt8](repeating: 0, count: 1 << 16)

        init(fileSystem: ImageFileSystem) {
            self.fileSystem = fileSystem
        }

        func remove(_ path: String) throws(RefusedEntry.Reason) {}

        func update(_ path: String, _ node: FileSystemNode) throws(RefusedEntry.Reason) {}

        func create(_ path: String, _ node: FileSystemNode, content: (UnsafeMutableRawBufferPointer) throws -> Int) throws(RefusedEntry.Reason) {
            guard case .regular = node.kind else { return }
            var sha1 = Insecure.SHA1()
            var sha256 = SHA256()
            let capture = ImageFileCatalog.isCaptured(path) && node.size <= ImageFileCatalog.captureLimit
            var bytes: [UInt8] = []
            var size: Int64 = 0
            do {
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try content($0) }
                    if count == 0 { break }
                    buffer.withUnsafeBytes { raw in
                        let chunk = UnsafeRawBufferPointer(rebasing: raw[..<count])
                        sha1.update(bufferPointer: chunk)
                        sha256.update(bufferPointer: chunk)
                        if capture { bytes += chunk }
                    }
                    size += Int64(count)
                }
            } catch {
                throw .system("\(error)")
            }
            files[path] = File(
                path: path, sha1: Hex.string(sha1.finalize()), sha256: Hex.string(sha256.finalize()), size: size,
                layer: layer, memberPath: fileSystem.memberPath)
            if capture { captured[path] = bytes } else { captured[path] = nil }
        }

        func link(_ path: String, to target: String) throws(RefusedEntry.Reason) {
            guard var file = files[target] else { return }
            file.path = path
            file.layer = layer
            file.memberPath = fileSystem.memberPath
            files[path] = file
            captured[path] = captured[target]
        }
    }
}
