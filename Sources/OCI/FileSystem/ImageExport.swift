public import Archive
import Foundation
public import KilnCore
import Glibc

/// An image's file system written out: as a directory (what `umoci unpack`
/// gives as `rootfs`) or as one flattened tar in kiln's layer form (SPEC
/// §2: sorted, parents first, one mtime, numeric owners, hardlinks kept).
///
/// Both are written beside their destination and renamed into place, so a
/// failed export leaves nothing behind; every member that could not be
/// applied is named in the error and makes the export fail.
public enum ImageExport {
    /// What an export wrote.
    public struct Summary: Hashable, Sendable {
        /// Entries of the file system (the root not counted).
        public var entries: Int
        /// Bytes of regular files (each hardlinked file once).
        public var bytes: Int64
    }

    /// Writes the file system of `layers` (bottom first) into `directory`,
    /// which must not exist or be empty.
    /// - Throws: ``ImageFileSystemError``.
    public static func rootfs(_ layers: [LayoutLayer], to directory: String) throws(ImageFileSystemError) -> Summary {
        try checkEmptyOrMissing(directory)
        let staging = try makeStaging(beside: directory)
        do throws(ImageFileSystemError) {
            let summary = try unpack(layers, into: staging).1
            guard rename(staging, directory) == 0 else { throw ImageFileSystemError.output(path: directory, detail: RootfsWriter.message(errno)) }
            return summary
        } catch {
            TreeRemoval.remove(staging)
            throw error
        }
    }

    /// Writes the file system of `layers` as one tar at `file`, every entry
    /// with mtime `modificationTime`.
    /// - Throws: ``ImageFileSystemError``.
    public static func tar(_ layers: [LayoutLayer], to file: String, modificationTime: Timestamp) throws(ImageFileSystemError) -> Summary {
        let staging = try makeStaging(beside: file)
        defer { TreeRemoval.remove(staging) }
        let temporary = AtomicFile.temporaryPath(beside: file)
        do {
            let (system, summary) = try unpack(layers, into: staging + "/rootfs")
            var entries: [LayerEntry] = []
            var firstPath: [Int: String] = [:]
            var refused: [RefusedEntry] = []
            for (path, node) in system.entries() {
                var entry = LayerEntry(path: path, kind: .directory, mode: node.mode, uid: node.uid, gid: node.gid)
                switch node.kind {
                case .directory: break
                case .regular:
                    if let first = firstPath[node.inode] {
                        entry.kind = .hardlink(target: first)
                    } else {
                        firstPath[node.inode] = path
                        entry.kind = .regular(.file(path: staging + "/rootfs/" + path, size: node.size))
                    }
                case .symlink(let target): entry.kind = .symlink(target: target)
                case .fifo, .characterDevice, .blockDevice, .hardlink:
                    refused.append(RefusedEntry(layer: "(flattened)", path: path, reason: .unsupported("a fifo, which kiln's tar form does not hold")))
                    continue
                }
                entries.append(entry)
            }
            guard refused.isEmpty else { throw ImageFileSystemError.refused(refused) }
            let sink = try FileByteSink(creating: temporary)
            let writer = TarWriter(sink: sink, modificationTime: modificationTime)
            for entry in entries { try writer.append(entry) }
            try writer.finish()
            try sink.close()
            try AtomicFile.rename(temporary, to: file)
            return summary
        } catch let error as ImageFileSystemError {
            unlink(temporary)
            throw error
        } catch {
            unlink(temporary)
            throw .output(path: file, detail: "\(error)")
        }
    }

    /// Applies `layers` into `directory` (created, 0755); fails naming every
    /// refused member.
    private static func unpack(_ layers: [LayoutLayer], into directory: String) throws(ImageFileSystemError) -> (ImageFileSystem, Summary) {
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST, chmod(directory, 0o755) == 0 else {
            throw .output(path: directory, detail: RootfsWriter.message(errno))
        }
        let writer = try RootfsWriter(root: directory)
        let system = ImageFileSystem()
        for layer in layers { try system.apply(layer, sink: writer) }
        guard system.refused.isEmpty else { throw .refused(system.refused) }
        let entries = system.entries()
        do {
            try writer.finish(directories: entries.compactMap { $0.node.kind == .directory ? ($0.path, $0.node.modificationTime) : nil })
        } catch {
            throw .output(path: directory, detail: "\(error)")
        }
        var counted = Set<Int>()
        var bytes: Int64 = 0
        for (_, node) in entries {
            if node.kind == .regular, counted.insert(node.inode).inserted { bytes += node.size }
        }
        return (system, Summary(entries: entries.count, bytes: bytes))
    }

    private static func checkEmptyOrMissing(_ directory: String) throws(ImageFileSystemError) {
        var info = stat()
        guard lstat(directory, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR, let names = try? FileManager.default.contentsOfDirectory(atPath: directory), names.isEmpty else {
            throw .output(path: directory, detail: "exists and is not an empty directory (kiln export writes a new one)")
        }
    }

    /// A new private directory beside `path`, on the same file system.
    private static func makeStaging(beside path: String) throws(ImageFileSystemError) -> String {
        var template = Array((AtomicFile.temporaryPath(beside: path) + "-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw .output(path: path, detail: "cannot make a directory beside it: \(RootfsWriter.message(errno))")
        }
        return String(cString: made)
    }
}
