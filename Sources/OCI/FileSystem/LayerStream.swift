public import Archive
import Crypto
public import KilnCore

/// One layer blob read as its tar stream: decompressed as its media type
/// says and hashed on the way, so ``finish()`` can prove the stream is the
/// one the image's config names (its diff_id).
public final class LayerStream {
    /// The layer read.
    public let layer: LayoutLayer
    /// The tar reader over the decompressed stream.
    public let reader: TarReader
    private let hashing: HashingByteSource

    /// Opens `layer`'s blob.
    /// - Throws: ``ImageFileSystemError/layer(digest:detail:)`` when the blob
    ///   cannot be opened or its compression is not recognized.
    public init(_ layer: LayoutLayer) throws(ImageFileSystemError) {
        self.layer = layer
        do {
            hashing = HashingByteSource(try Decompressor(format: layer.compression, source: FileByteSource(path: layer.path)))
        } catch {
            throw .layer(digest: layer.descriptor.digest, detail: "\(error)")
        }
        reader = TarReader(source: hashing)
    }

    /// The next member, or nil at the end of the archive — also when the
    /// stream stops without its end-of-archive blocks or inside them, after
    /// a whole member: umoci 0.4 writes such layers, and every extractor
    /// reads them the same way. ``finish()`` still proves the stream is the
    /// one the image names. A member whose content is cut short stays an
    /// error.
    /// - Throws: ``ImageFileSystemError/layer(digest:detail:)``.
    public func next() throws(ImageFileSystemError) -> TarMember? {
        do {
            return try reader.next()
        } catch TarReadError.truncated, TarReadError.missingEndMarker {
            return nil
        } catch {
            throw .layer(digest: layer.descriptor.digest, detail: "\(error)")
        }
    }

    /// Checks the SHA-256 of the tar stream read against the layer's diff_id.
    /// - Throws: ``ImageFileSystemError/diffIDMismatch(digest:expected:actual:)``.
    public func finish() throws(ImageFileSystemError) {
        let found = ContentDigest(sha256Bytes: hashing.hasher.finalize())
        guard found == layer.diffID else {
            throw .diffIDMismatch(digest: layer.descriptor.digest, expected: layer.diffID, actual: found)
        }
    }
}

/// Passes bytes through while hashing them: the tar stream's SHA-256 is the
/// layer's diff_id.
final class HashingByteSource: ByteSource {
    private let source: any ByteSource
    var hasher = SHA256()

    init(_ source: any ByteSource) {
        self.source = source
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try source.read(into: buffer)
        if count > 0 { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
        return count
    }
}
