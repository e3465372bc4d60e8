import Crypto
import Debian
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
    /// its diff_id on the way. Whiteouts are read as the OCI image spec
    /// says (``ChangesetEntry``): `.wh.NAME` is listed as NAME with type
    /// `whiteout` (what the layer removes, not a file it adds), and an
    /// opaque marker as `opaque: true` on its directory.
    /// - Parameter layout: how messages name the layout the layer is in.
    /// - Returns: each entry's record by image path (`/etc/motd`); a path
    ///   stored twice keeps its last entry, as extraction would.
    /// - Throws: ``DiffError/diffIDMismatch(layout:digest:expected:actual:)``,
    ///   ``DiffError/layer(layout:digest:detail:)`` for an unreadable blob.
    static func read(_ layer: LayoutLayer, layout: String) throws -> [String: JSONValue] {
        try listing(layer, layout: layout).entries
    }

    /// A layer's entries and the Debian packages its dpkg database records
    /// (`/var/lib/dpkg/status.d/*`, as kiln and distroless write it, and
    /// `/var/lib/dpkg/status`), by package name.
    struct Listing {
        var entries: [String: JSONValue] = [:]
        var packages: [String: InstalledPackage] = [:]
    }

    /// ``read(_:layout:)``, keeping the packages of the dpkg database too.
    static func listing(_ layer: LayoutLayer, layout: String) throws -> Listing {
        var entries: [String: JSONValue] = [:]
        var packages: [String: InstalledPackage] = [:]
        var opaque: [String] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do {
            let stream = try LayerStream(layer)
            while let member = try stream.next() {
                let change: ChangesetEntry
                do {
                    change = try ChangesetEntry(member)
                } catch {
                    throw DiffError.layer(layout: layout, digest: layer.descriptor.digest, detail: "\(member.path): \(error)")
                }
                switch change {
                case .root: continue
                case .whiteout(let path): entries["/" + path] = .object(["type": .string("whiteout")])
                case .opaque(let directory): opaque.append("/" + directory)
                case .entry(let path, let member):
                    var capture: [UInt8]? = InstalledPackage.isStatusFile(path) && member.size <= InstalledPackage.maxStatusSize ? [] : nil
                    entries["/" + path] = .object(try record(member, content: stream.reader, buffer: &buffer, capture: &capture))
                    if let capture { for package in InstalledPackage.parse(capture) { packages[package.name] = package } }
                }
            }
            try stream.finish()
        } catch let error as DiffError {
            throw error
        } catch ImageFileSystemError.diffIDMismatch(let digest, let expected, let actual) {
            throw DiffError.diffIDMismatch(layout: layout, digest: digest, expected: expected, actual: actual)
        } catch ImageFileSystemError.layer(let digest, let detail) {
            throw DiffError.layer(layout: layout, digest: digest, detail: detail)
        } catch {
            throw DiffError.layer(layout: layout, digest: layer.descriptor.digest, detail: "\(error)")
        }
        for directory in opaque {
            var record = entries[directory].map(TreeDiff.object) ?? ["type": .string("directory")]
            record["opaque"] = .bool(true)
            entries[directory] = .object(record)
        }
        return Listing(entries: entries, packages: packages)
    }

    /// A member's record: type, mode, owner, and per type its size and
    /// content digest, link target or device numbers.
    private static func record(_ member: TarMember, content reader: TarReader, buffer: inout [UInt8], capture: inout [UInt8]?) throws -> [String: JSONValue] {
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
                capture?.append(contentsOf: buffer[..<count])
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
        return record
    }

    /// The order fields of a record are reported in.
    static let fieldOrder = ["type", "size", "mode", "owner", "target", "device", "digest", "opaque"]
}

/// A package as a layer's dpkg database records it.
struct InstalledPackage: VersionedPackage {
    var name: String
    var version: String
    var architecture: String

    /// Status files larger than this are not read for packages.
    static let maxStatusSize: Int64 = 16 << 20

    /// `var/lib/dpkg/status`, or a `var/lib/dpkg/status.d/` entry other than
    /// an `.md5sums` list (the path without its leading `/`).
    static func isStatusFile(_ path: String) -> Bool {
        if path == "var/lib/dpkg/status" { return true }
        guard path.hasPrefix("var/lib/dpkg/status.d/") else { return false }
        let name = path.dropFirst("var/lib/dpkg/status.d/".count)
        return !name.isEmpty && !name.contains("/") && !name.hasSuffix(".md5sums")
    }

    /// The installed packages a status file lists; a file that does not
    /// parse as deb822 lists none (it is still compared as a file).
    static func parse(_ bytes: [UInt8]) -> [InstalledPackage] {
        var parser = Deb822Parser(source: "status", allowComments: false)
        guard let stanzas = try? parser.feed(bytes) + parser.finish() else { return [] }
        return stanzas.compactMap { stanza in
            guard let name = stanza["Package"], let version = stanza["Version"] else { return nil }
            // `Status: deinstall ok config-files` and the like: not installed.
            if let status = stanza["Status"], !status.hasSuffix(" installed") { return nil }
            return InstalledPackage(name: name, version: version, architecture: stanza["Architecture"] ?? "")
        }
    }
}
