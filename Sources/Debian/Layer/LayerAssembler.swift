internal import Crypto
internal import Foundation
internal import Archive
import KilnCore
internal import Strategies
internal import Glibc

/// Unpacks `.deb` data archives into one layer tree: file contents into a
/// scratch directory, metadata from the tar headers, `/usr` merged, the
/// dpkg status files scanners read, and what skipped maintainer scripts
/// would have produced where an image is unusable without it.
///
/// Every path it puts in the tree is recorded in ``provenance``: the
/// package whose data archive shipped it (the first one in install order
/// when several ship it identically), or what kiln generated and for which
/// package.
struct LayerAssembler {
    /// Where file contents are written (one file per entry, numbered).
    let scratch: String
    private(set) var tree = LayerTree()
    private(set) var provenance = Provenance()
    /// Package name → its origin in ``provenance``.
    private var packageOrigins: [String: Provenance.OriginID] = [:]
    /// Image path → who shipped it and what it was, for conflict checks.
    private var owners: [String: (package: String, fingerprint: Fingerprint?)] = [:]
    /// Image path → scratch file, for regular files.
    private var contents: [String: String] = [:]
    /// Packages with maintainer scripts → the scripts.
    private(set) var skippedScripts: [(package: String, scripts: [String])] = []
    private var installed: [String] = []
    private var mergedTops: Set<String> = []
    private var fileCount = 0

    /// What two packages must agree on to ship the same path.
    private enum Fingerprint: Hashable {
        case directory
        case file(sha256: String, mode: UInt32, uid: UInt32, gid: UInt32)
        case symlink(String)
    }

    init(scratch: String) {
        self.scratch = scratch
    }

    /// Adds one package's files and status entries.
    /// - Parameters:
    ///   - name: the package name (for status files and messages).
    ///   - debPath: the verified `.deb`.
    ///   - sha256: its lowercase hex SHA-256 (for the provenance).
    ///   - expected: name, version and architecture the index promised.
    /// - Throws: ``DebArchiveError``.
    mutating func add(package name: String, version: String, architecture: String, sha256: String, debPath: String) throws(DebArchiveError) {
        let deb = try DebFile(path: debPath)
        let control = try deb.readControl()
        try check(control.control, name: name, version: version, architecture: architecture, path: debPath)
        if !control.scripts.isEmpty { skippedScripts.append((name, control.scripts)) }
        installed.append(name)
        packageOrigins[name] = provenance.add(.package(Provenance.Package(name: name, version: version, architecture: architecture, sha256: sha256)))
        let md5sums = try unpackData(of: deb, package: name)
        var status = control.control
        if status.last != UInt8(ascii: "\n") { status.append(UInt8(ascii: "\n")) }
        let generated = provenance.add(.generated(Provenance.Generated(reason: "dpkg status", package: name)))
        try insert(LayerEntry(path: "var/lib/dpkg/status.d/" + name, kind: .regular(.bytes(status)), mode: 0o644), package: name, fingerprint: nil, origin: generated)
        try insert(LayerEntry(path: "var/lib/dpkg/status.d/" + name + ".md5sums", kind: .regular(.bytes(md5sums)), mode: 0o644), package: name, fingerprint: nil, origin: generated)
    }

    /// The `.deb` must be the package the index named; a mismatch means the
    /// index and the file disagree and neither can be trusted.
    private func check(_ control: [UInt8], name: String, version: String, architecture: String, path: String) throws(DebArchiveError) {
        let stanza: Deb822Stanza?
        do {
            stanza = try Deb822Parser.parse(String(decoding: control, as: UTF8.self), source: path + ": control").first
        } catch {
            throw .controlMismatch(path: path, message: "unreadable control file: \(error)")
        }
        guard let stanza else { throw .controlMismatch(path: path, message: "empty control file") }
        let actual = (stanza["Package"] ?? "", stanza["Version"] ?? "", stanza["Architecture"] ?? "")
        guard actual.0 == name, actual.2 == architecture,
              let have = try? DebianVersion(actual.1), let want = try? DebianVersion(version), have == want else {
            throw .controlMismatch(path: path, message: "the file is \(actual.0) \(actual.1) (\(actual.2)), the index says \(name) \(version) (\(architecture))")
        }
    }

    /// Streams `data.tar` into the tree; returns the md5sums file.
    private mutating func unpackData(of deb: DebFile, package: String) throws(DebArchiveError) -> [UInt8] {
        var md5sums: [UInt8] = []
        var ownFiles: [String: Fingerprint] = [:]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        do {
            let reader = try deb.dataReader()
            while let member = try reader.next() {
                guard !member.path.hasPrefix("/") else { throw DebArchiveError.unsafePath(package: package, path: member.path) }
                let normalized: String?
                do {
                    normalized = try member.normalizedPath()
                } catch {
                    throw DebArchiveError.unsafePath(package: package, path: member.path)
                }
                guard let original = normalized else { continue }
                let path = UsrMerge.merged(original)
                if path != original { mergedTops.insert(String(original.split(separator: "/")[0])) }
                switch member.kind {
                case .directory:
                    try insert(LayerEntry(path: path, kind: .directory, mode: member.mode, uid: member.uid, gid: member.gid), package: package, fingerprint: .directory)
                case .symlink(let target):
                    if UsrMerge.isSelfLink(at: original, target: target) { continue }
                    try insert(LayerEntry(path: path, kind: .symlink(target: target), mode: 0o777, uid: member.uid, gid: member.gid), package: package, fingerprint: .symlink(target))
                case .hardlink(let rawTarget):
                    let target: String?
                    do {
                        target = try member.normalizedLinkTarget()
                    } catch {
                        throw DebArchiveError.hardlinkEscapes(package: package, path: original, target: rawTarget)
                    }
                    guard !rawTarget.hasPrefix("/"), let target, let fingerprint = ownFiles[UsrMerge.merged(target)] else {
                        throw DebArchiveError.hardlinkEscapes(package: package, path: original, target: rawTarget)
                    }
                    let merged = UsrMerge.merged(target)
                    if try insert(LayerEntry(path: path, kind: .hardlink(target: merged), mode: member.mode, uid: member.uid, gid: member.gid), package: package, fingerprint: fingerprint) {
                        if let source = contents[merged] { contents[path] = source }
                    }
                    ownFiles[path] = fingerprint
                    md5sums += md5Line(digest: md5Digests[merged] ?? "", path: path)
                case .regular:
                    let (file, sha256, md5) = try write(reader, size: member.size, buffer: &buffer)
                    let fingerprint = Fingerprint.file(sha256: sha256, mode: member.mode, uid: member.uid, gid: member.gid)
                    let entry = LayerEntry(path: path, kind: .regular(.file(path: file, size: member.size)), mode: member.mode, uid: member.uid, gid: member.gid)
                    if try insert(entry, package: package, fingerprint: fingerprint) {
                        contents[path] = file
                    } else {
                        unlink(file)
                    }
                    ownFiles[path] = fingerprint
                    md5Digests[path] = md5
                    md5sums += md5Line(digest: md5, path: path)
                case .characterDevice, .blockDevice, .fifo:
                    let type = member.kind == .fifo ? "FIFO" : "device file"
                    throw DebArchiveError.unsupportedEntry(package: package, path: original, type: type)
                }
            }
        } catch let error as DebArchiveError {
            throw error
        } catch {
            throw .corruptMember(path: deb.path, member: deb.dataMemberName, message: "\(error)")
        }
        return md5sums
    }

    private var md5Digests: [String: String] = [:]

    private func md5Line(digest: String, path: String) -> [UInt8] {
        Array((digest + "  " + path + "\n").utf8)
    }

    /// Inserts an entry unless an identical one is there.
    /// - Parameters:
    ///   - fingerprint: what makes two packages' entries the same; nil for
    ///     generated files, which never match another entry.
    ///   - origin: the provenance of a generated entry; `package`'s own
    ///     origin when nil.
    /// - Returns: false when an identical entry already held the path.
    @discardableResult
    private mutating func insert(
        _ entry: LayerEntry, package: String, fingerprint: Fingerprint?, origin: Provenance.OriginID? = nil
    ) throws(DebArchiveError) -> Bool {
        if let existing = owners[entry.path] {
            if let fingerprint, existing.fingerprint == fingerprint { return false }
            guard existing.package == package else {
                throw .conflict(path: entry.path, first: existing.package, second: package)
            }
            // A package may repeat a path in its own archive; as with tar,
            // the later member wins.
        }
        owners[entry.path] = (package, fingerprint)
        do {
            try tree.upsert(entry)
        } catch {
            throw .unsafePath(package: package, path: entry.path)
        }
        // A package's own entries are inserted only after add() recorded it.
        provenance.assign(entry.path, to: origin ?? packageOrigins[package]!)
        return true
    }

    /// Copies the current member's content to a new scratch file, hashing it.
    private mutating func write(_ reader: TarReader, size: Int64, buffer: inout [UInt8]) throws -> (path: String, sha256: String, md5: String) {
        fileCount += 1
        let path = scratch + "/" + String(fileCount)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DebArchiveError.unreadable(path: path, message: "cannot create: " + String(cString: strerror(errno))) }
        defer { close(fd) }
        var sha = SHA256()
        var md5 = Insecure.MD5()
        var written: Int64 = 0
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.readContent(into: $0) }
            if count == 0 { break }
            let failure: Int32 = buffer.withUnsafeBytes { bytes in
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                sha.update(bufferPointer: chunk)
                md5.update(bufferPointer: chunk)
                var offset = 0
                while offset < count {
                    let result = Glibc.write(fd, chunk.baseAddress! + offset, count - offset)
                    if result < 0, errno == EINTR { continue }
                    guard result > 0 else { return result < 0 ? errno : ENOSPC }
                    offset += result
                }
                return 0
            }
            guard failure == 0 else {
                throw DebArchiveError.unreadable(path: path, message: "cannot write: " + String(cString: strerror(failure)))
            }
            written += Int64(count)
        }
        guard written == size else { throw DebArchiveError.unreadable(path: path, message: "wrote \(written) of \(size) bytes") }
        return (path, Hex.string(sha.finalize()), Hex.string(md5.finalize()))
    }

    /// Adds what the skipped maintainer scripts would have made that an image
    /// cannot do without, and the `/bin` → `/usr/bin` links of a merged-/usr
    /// root when the layer is the bottom of the image.
    mutating func finish(addUsrMergeLinks: Bool) throws(DebArchiveError) {
        if installed.contains("ca-certificates") { try writeCertificateBundle() }
        if addUsrMergeLinks {
            var origin: Provenance.OriginID?
            for top in UsrMerge.aliased where mergedTops.contains(top) || tree["usr/" + top] != nil {
                let id = origin ?? provenance.add(.generated(Provenance.Generated(reason: "usr-merge")))
                origin = id
                try insert(LayerEntry(path: top, kind: .symlink(target: "usr/" + top), mode: 0o777), package: "kiln", fingerprint: .symlink("usr/" + top), origin: id)
            }
        }
    }

    /// `/etc/ssl/certs/ca-certificates.crt` as update-ca-certificates writes
    /// it: every certificate of the package in path order, each ending in a
    /// newline.
    private mutating func writeCertificateBundle() throws(DebArchiveError) {
        let prefix = "usr/share/ca-certificates/"
        let certificates = contents.keys
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".crt") && owners[$0]?.package == "ca-certificates" }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var bundle: [UInt8] = []
        for certificate in certificates {
            guard let data = FileManager.default.contents(atPath: contents[certificate]!) else {
                throw .unreadable(path: contents[certificate]!, message: "cannot read the unpacked certificate /\(certificate)")
            }
            bundle += data
            if let last = bundle.last, last != UInt8(ascii: "\n") { bundle.append(UInt8(ascii: "\n")) }
        }
        fileCount += 1
        let path = scratch + "/" + String(fileCount)
        guard FileManager.default.createFile(atPath: path, contents: Data(bundle)) else {
            throw .unreadable(path: path, message: "cannot write the certificate bundle")
        }
        let origin = provenance.add(.generated(Provenance.Generated(reason: "update-ca-certificates", package: "ca-certificates")))
        try insert(
            LayerEntry(path: "etc/ssl/certs/ca-certificates.crt", kind: .regular(.file(path: path, size: Int64(bundle.count))), mode: 0o644),
            package: "ca-certificates", fingerprint: nil, origin: origin)
    }
}
