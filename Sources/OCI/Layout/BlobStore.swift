internal import Foundation
public import KilnCore
internal import Glibc

/// A directory of blobs by digest, laid out as an OCI layout without an
/// index (`oci-layout`, `blobs/sha256/<hex>`), that several kiln processes
/// share: the cache's store of registry blobs (bases), so a rebuild and a
/// locked build read them from disk. Every file appears by `rename`, whole;
/// readers verify what they read (``LayoutReader`` over the directory).
public struct BlobStore: Sendable {
    /// The directory.
    public let directory: String

    /// Opens the store at `directory`, creating it and its marker.
    /// - Throws: ``LayoutError/io(operation:path:errno:)``.
    public init(directory: String) throws(LayoutError) {
        self.directory = directory
        for path in [directory, directory + "/blobs", directory + "/blobs/sha256", directory + "/tmp"] {
            if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .io(operation: "create", path: path, errno: errno) }
        }
        let marker = directory + "/oci-layout"
        if !BlobFiles.exists(marker) {
            try writeAtomically(LayoutStaging.encode(LayoutMarker(), what: "oci-layout"), to: marker)
        }
    }

    /// The path of the blob with `digest`.
    public func blobPath(_ digest: ContentDigest) -> String {
        directory + "/blobs/" + digest.blobPath
    }

    /// Whether the blob is stored (a regular file; its content is verified
    /// when it is read).
    public func hasBlob(_ digest: ContentDigest) -> Bool {
        Self.isRegularFile(blobPath(digest))
    }

    /// Stores `bytes` under their digest, atomically.
    /// - Returns: their descriptor with `mediaType`.
    public func writeBlob(_ bytes: [UInt8], mediaType: String) throws -> Descriptor {
        let descriptor = Descriptor(mediaType: mediaType, digest: BlobDigest.sha256(bytes), size: Int64(bytes.count))
        if !hasBlob(descriptor.digest) { try writeAtomically(bytes, to: blobPath(descriptor.digest)) }
        return descriptor
    }

    /// The bytes of a stored blob when they hash to `digest`; nil when it
    /// is missing, larger than `limit`, or does not match (then it is
    /// removed, so it is fetched again).
    public func readSmallBlob(_ digest: ContentDigest, limit: Int) -> [UInt8]? {
        guard let bytes = Self.read(blobPath(digest), limit: limit) else { return nil }
        guard BlobDigest.sha256(bytes) == digest else {
            unlink(blobPath(digest))
            return nil
        }
        return bytes
    }

    private func writeAtomically(_ bytes: [UInt8], to path: String) throws(LayoutError) {
        let temporary = directory + "/tmp/" + AtomicFile.randomSuffix()
        try BlobFiles.writeNew(bytes, to: temporary)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(operation: "rename into", path: path, errno: code)
        }
    }

    static func isRegularFile(_ path: String) -> Bool {
        (try? BlobFiles.kind(at: path)) == .regular
    }

    static func read(_ path: String, limit: Int) -> [UInt8]? {
        guard isRegularFile(path) else { return nil }
        return try? BlobFiles.readSmall(path, limit: limit)
    }
}
