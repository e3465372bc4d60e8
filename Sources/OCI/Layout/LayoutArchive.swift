import Foundation
import Archive
public import KilnCore
import Glibc
import Synchronization

/// Writes an OCI image layout directory as one tar archive (`--tar`), the
/// form `docker load`, `podman load` and `skopeo copy oci-archive:` take.
///
/// The archive is deterministic like a layer: entries sorted by path,
/// every mtime the plan's `created`, owners 0:0, files 0644, directories
/// 0755. It is written beside its destination and only renamed into place
/// by ``PendingArchive/commit()``, so the build can publish the layout and
/// the archive together, and a failure leaves any previous archive as it was.
public enum LayoutArchive {
    /// Archives `oci-layout`, `index.json`, `manifest.json` and `blobs/` of
    /// `directory` into a temporary file beside `file`.
    /// - Returns: the written archive, not yet in place.
    /// - Throws: ``LayoutError`` for an unreadable layout or a failed write
    ///   (nothing is left behind).
    public static func write(directory: String, to file: String, modificationTime: Timestamp) throws(LayoutError) -> PendingArchive {
        var tree = LayerTree()
        do {
            for name in ["oci-layout", "index.json", "manifest.json"] {
                try tree.insert(try fileEntry(directory + "/" + name, path: name))
            }
            let blobs = directory + "/blobs/sha256"
            let names = try FileManager.default.contentsOfDirectory(atPath: blobs)
            for name in names { try tree.insert(try fileEntry(blobs + "/" + name, path: "blobs/sha256/" + name)) }
        } catch let error as LayoutError {
            throw error
        } catch {
            throw .archiveWrite(path: file, detail: "cannot read the layout \(directory): \(error)")
        }
        let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let temporary = BlobFiles.parent(of: absolute) + "/." + BlobFiles.baseName(of: absolute) + ".kiln-" + AtomicFile.randomSuffix()
        do {
            let sink = try FileByteSink(creating: temporary)
            let tar = TarWriter(sink: sink, modificationTime: modificationTime)
            for entry in try tree.sortedEntries() { try tar.append(entry) }
            try tar.finish()
            try sink.close()
        } catch {
            unlink(temporary)
            throw .archiveWrite(path: absolute, detail: "\(error)")
        }
        return PendingArchive(temporary: temporary, destination: absolute)
    }

    private static func fileEntry(_ hostPath: String, path: String) throws(LayoutError) -> LayerEntry {
        var info = stat()
        guard stat(hostPath, &info) == 0 else { throw .io(operation: "stat", path: hostPath, errno: errno) }
        return LayerEntry(path: path, kind: .regular(.file(path: hostPath, size: Int64(info.st_size))), mode: 0o644)
    }
}

/// An archive written beside its destination, waiting to be renamed into
/// place. Released without ``commit()``, it is deleted.
public final class PendingArchive: Sendable {
    /// The temporary file.
    public let temporary: String
    /// Where ``commit()`` puts it (absolute).
    public let destination: String
    /// Committed (or committing): the temporary is no longer this object's
    /// to delete.
    private let done = Atomic<Bool>(false)

    init(temporary: String, destination: String) {
        self.temporary = temporary
        self.destination = destination
    }

    deinit {
        if !done.load(ordering: .acquiring) { unlink(temporary) }
    }

    /// Renames the archive into place (replacing any previous one).
    /// - Throws: ``LayoutError/io(operation:path:errno:)``; the temporary is removed.
    public func commit() throws(LayoutError) {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do { try AtomicFile.rename(temporary, to: destination) } catch { throw LayoutError(error) }
    }
}
