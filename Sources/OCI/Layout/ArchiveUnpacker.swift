import Archive
import KilnCore
import Glibc

/// Unpacks a tarred layout (`oci-archive`) with ``TarReader``, keeping only
/// what the layout's `index.json` reaches: `oci-layout`, `index.json`, then
/// the manifests (and nested indexes) it lists, then their configs and
/// layers — one streaming pass over the archive for each level.
///
/// An archive is input: a small compressed file may expand to gigabytes of
/// members that no image uses. Unreferenced members are skipped without
/// being written, each blob kept must be exactly the size its descriptor
/// says, and the layout's own files at most ``LayoutReader/documentLimit``.
/// Every member is still checked: only directories, regular files and hard
/// links, all inside the destination.
struct ArchiveUnpacker {
    let archive: String
    let destination: String

    /// Passes after the first: index → manifest → config and layers is
    /// three; each nested index adds one (the reader follows at most 4).
    static let maxBlobPasses = 7

    func unpack() throws {
        try extract(["oci-layout": nil, "index.json": nil])
        guard let index: ImageIndex = try document("index.json") else { return }
        var pending = index.manifests
        var extracted = Set<ContentDigest>()
        var passes = 0
        while !pending.isEmpty {
            passes += 1
            guard passes <= Self.maxBlobPasses else {
                throw LayoutError.archive(path: archive, detail: "image indexes nested more than \(Self.maxBlobPasses - 2) deep")
            }
            var wanted: [String: Int64?] = [:]
            for descriptor in pending where !extracted.contains(descriptor.digest) {
                wanted["blobs/" + descriptor.digest.blobPath] = descriptor.size
            }
            try extract(wanted)
            extracted.formUnion(pending.map(\.digest))
            var next: [Descriptor] = []
            for descriptor in pending {
                let relative = "blobs/" + descriptor.digest.blobPath
                if MediaType.isIndex(descriptor.mediaType), let nested: ImageIndex = try document(relative) {
                    next += nested.manifests
                } else if MediaType.isManifest(descriptor.mediaType), let manifest: ImageManifest = try document(relative) {
                    next += [manifest.config] + manifest.layers
                }
            }
            pending = next.filter { !extracted.contains($0.digest) }
        }
    }

    /// Reads a JSON file just extracted, to find what it references; nil
    /// when the archive did not hold it (``LayoutReader`` then says which
    /// blob is missing). Its digest is checked later, when it is used.
    private func document<Document: Decodable>(_ relative: String) throws -> Document? {
        let path = destination + "/" + relative
        guard try BlobFiles.kind(at: path) == .regular else { return nil }
        return try decode(BlobFiles.readSmall(path, limit: LayoutReader.documentLimit), path: archive + ": " + relative, what: "layout document")
    }

    /// One pass over the archive, writing the members named in `wanted`
    /// (relative path → the exact size it must have, or nil for a layout
    /// file of at most ``LayoutReader/documentLimit`` bytes).
    private func extract(_ wanted: [String: Int64?]) throws {
        let reader = TarReader(source: try Decompressor(detectingFormatOf: FileByteSource(path: archive)))
        var buffer = [UInt8](repeating: 0, count: BlobFiles.chunkSize)
        while let member = try reader.next() {
            guard let relative = try member.normalizedPath() else { continue }
            switch member.kind {
            case .directory, .regular, .hardlink: break
            default:
                throw LayoutError.archive(path: archive, detail: "member \(member.path) is not a file or directory; an OCI layout archive holds only those")
            }
            guard let expected = wanted[relative] else { continue }
            let path = destination + "/" + relative
            switch member.kind {
            case .regular:
                if let size = expected, member.size != size {
                    throw LayoutError.archive(path: archive, detail: "member \(relative) is \(member.size) bytes, but its descriptor says \(size)")
                }
                if expected == nil, member.size > Int64(LayoutReader.documentLimit) {
                    throw LayoutError.archive(path: archive, detail: "member \(relative) is \(member.size) bytes, more than a layout file may be (\(LayoutReader.documentLimit))")
                }
                try makeParents(relative)
                // A member listed twice: the last one wins, as tar does.
                if try BlobFiles.kind(at: path) == .regular { unlink(path) }
                let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard descriptor >= 0 else { throw LayoutError.io(operation: "create", path: path, errno: errno) }
                defer { close(descriptor) }
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try reader.readContent(into: $0) }
                    if count == 0 { break }
                    try BlobFiles.writeAll(descriptor, buffer[..<count], path: path)
                }
            case .hardlink:
                guard let target = try member.normalizedLinkTarget() else { continue }
                guard try BlobFiles.kind(at: destination + "/" + target) == .regular else {
                    throw LayoutError.archive(path: archive, detail: "member \(relative) is a hard link to \(target), which the layout does not use")
                }
                try makeParents(relative)
                guard link(destination + "/" + target, path) == 0 else {
                    throw LayoutError.io(operation: "link \(target) to", path: path, errno: errno)
                }
            default:
                throw LayoutError.archive(path: archive, detail: "member \(member.path) is not a file; an OCI layout's files and blobs are regular files")
            }
        }
    }

    private func makeParents(_ relative: String) throws {
        guard let slash = relative.lastIndex(of: "/") else { return }
        try makeDirectories(String(relative[..<slash]))
    }

    private func makeDirectories(_ relative: String) throws {
        var path = destination
        for component in relative.split(separator: "/") {
            path += "/" + component
            switch try BlobFiles.kind(at: path) {
            case .directory: continue
            case .missing: try BlobFiles.makeDirectory(path)
            case .symlink, .regular, .other:
                throw LayoutError.archive(path: archive, detail: "\(relative) crosses \(path), which is not a directory")
            }
        }
    }
}
