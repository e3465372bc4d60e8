import Crypto
import Archive
import KilnCore
import OCI
import Plan
import Strategies

/// The entries of a layer blob, read in one streaming pass: per path, its
/// type, mode, owner, size, link target and content digest. Only these
/// records are kept in memory, never file content; modification times are
/// left out (kiln sets them all to `created`, reported once in the config).
///
/// A tar that stops early after a whole member is read up to there; see
/// ``next(_:)``.
enum LayerListing {
    /// Reads `layer`'s tar (decompressed as its media type says), checking
    /// its diff_id on the way.
    /// - Parameter layout: how messages name the layout the layer is in.
    /// - Returns: each entry's record by image path (`/etc/motd`); a path
    ///   stored twice keeps its last entry, as extraction would.
    /// - Throws: ``DiffError/diffIDMismatch(layout:digest:expected:actual:)``,
    ///   ``DiffError/layer(layout:digest:detail:)`` for an unreadable blob.
    static func read(_ layer: LayoutLayer, layout: String) throws -> [String: JSONValue] {
        let hashing: HashingByteSource
        let reader: TarReader
        do {
            hashing = HashingByteSource(try Decompressor(format: layer.compression, source: FileByteSource(path: layer.path)))
            reader = TarReader(source: hashing)
        } catch {
            throw DiffError.layer(layout: layout, digest: layer.descriptor.digest, detail: "\(error)")
        }
        var entries: [String: JSONValue] = [:]
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do {
            while let member = try next(reader) {
                guard let relative = try member.normalizedPath() else { continue }
                var record: [String: JSONValue] = [
                    "mode": .string(FileMode.format(member.mode)),
                    "owner": .string("\(member.uid):\(member.gid)"),
                ]
                switch member.kind {
                case .regular:
                    record["type"] = .string("file")
                    record["size"] = .integer(member.size)
                    var hasher = SHA256()
                    while true {
                        let count = try buffer.withUnsafeMutableBytes { try reader.readContent(into: $0) }
                        if count == 0 { break }
                        buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                    }
                    record["digest"] = .string(ContentDigest(sha256Bytes: hasher.finalize()).description)
                case .directory:
                    record["type"] = .string("directory")
                case .symlink(let target):
                    record["type"] = .string("symlink")
                    record["target"] = .string(target)
                case .hardlink:
                    record["type"] = .string("hardlink")
                    record["target"] = .string("/" + (try member.normalizedLinkTarget() ?? ""))
                case .characterDevice(let major, let minor):
                    record["type"] = .string("char")
                    record["device"] = .string("\(major):\(minor)")
                case .blockDevice(let major, let minor):
                    record["type"] = .string("block")
                    record["device"] = .string("\(major):\(minor)")
                case .fifo:
                    record["type"] = .string("fifo")
                }
                entries["/" + relative] = .object(record)
            }
        } catch {
            throw DiffError.layer(layout: layout, digest: layer.descriptor.digest, detail: "\(error)")
        }
        let found = ContentDigest(sha256Bytes: hashing.hasher.finalize())
        guard found == layer.diffID else {
            throw DiffError.diffIDMismatch(layout: layout, digest: layer.descriptor.digest, expected: layer.diffID, actual: found)
        }
        return entries
    }

    /// The next member, or nil at the end of the archive — also when the
    /// stream stops without its end-of-archive blocks or inside them, after
    /// a whole member: umoci 0.4 writes such layers, and every extractor
    /// reads them the same way. The diff_id check that follows still proves
    /// the stream is the one the image names. A member whose content is cut
    /// short stays an error (its content is read in full before this).
    private static func next(_ reader: TarReader) throws -> TarMember? {
        do {
            return try reader.next()
        } catch TarReadError.truncated, TarReadError.missingEndMarker {
            return nil
        }
    }

    /// The order fields of a record are reported in.
    static let fieldOrder = ["type", "size", "mode", "owner", "target", "device", "digest"]
}

/// Passes bytes through while hashing them: the tar stream's SHA-256 is the
/// layer's diff_id.
private final class HashingByteSource: ByteSource {
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
