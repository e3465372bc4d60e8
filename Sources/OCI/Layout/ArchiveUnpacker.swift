import Archive
import KilnCore
import Glibc

/// Unpacks a tarred layout (`oci-archive`) with ``TarReader``, accepting
/// only what a layout holds: directories, regular files, hard links, all
/// inside the destination.
struct ArchiveUnpacker {
    let archive: String
    let destination: String

    func unpack() throws {
        let reader = TarReader(source: try Decompressor(detectingFormatOf: FileByteSource(path: archive)))
        var buffer = [UInt8](repeating: 0, count: BlobFiles.chunkSize)
        while let member = try reader.next() {
            guard let relative = try member.normalizedPath() else { continue }
            let path = destination + "/" + relative
            switch member.kind {
            case .directory:
                try makeDirectories(relative)
            case .regular:
                try makeParents(relative)
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
                try makeParents(relative)
                guard link(destination + "/" + target, path) == 0 else {
                    throw LayoutError.io(operation: "link \(target) to", path: path, errno: errno)
                }
            default:
                throw LayoutError.archive(path: archive, detail: "member \(member.path) is not a file or directory; an OCI layout archive holds only those")
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
