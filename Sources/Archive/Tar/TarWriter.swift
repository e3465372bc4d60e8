import Glibc
public import KilnCore

/// A streaming POSIX tar writer for layer entries, deterministic byte for
/// byte.
///
/// Each entry becomes one ustar header, preceded by a PAX extended header
/// (`x`) only when ustar cannot hold a value: a path that cannot be split
/// into prefix (155) / name (100) at a slash, a link target over 100 bytes,
/// a size of 8 GiB or more, a uid or gid above 0o7777777 (or a timestamp
/// past the year 2242). PAX records are written in key order under the
/// constant header name `PaxHeaders/<last path component>`.
///
/// Every header carries the writer's one modification time, the numeric
/// uid/gid with empty user and group names, the permission bits as the mode,
/// and no atime, ctime or extended attributes, so nothing about the host or
/// the moment leaks into the stream.
///
/// Names are written relative (`etc/motd`: no `./`, no leading `/`) and
/// directories WITHOUT a trailing slash. The layer is streamed in byte order
/// of the full path (``LayerTree/sortedEntries()``), and with these names the
/// order a lister shows (GNU `tar -t`, Python's tarfile) is that same byte
/// order — `a`, `a-b`, `a/x` — whereas a directory written as `a/` would be
/// listed before `a-b` although `/` sorts after `-`, making a correctly
/// sorted layer look unsorted to anyone checking the listing.
///
/// Regular files stored as ``FileContent/file(path:size:)`` are read while
/// streaming through one fixed buffer; a file that is missing, unreadable,
/// not a regular file, or not of the listed size is a ``LayerWriteError``.
public final class TarWriter<Sink: ByteSink> {
    /// Where the stream goes.
    public let sink: Sink
    /// The mtime of every entry.
    public let modificationTime: Timestamp
    /// Entries appended so far (PAX headers not counted).
    public private(set) var entryCount = 0
    /// Bytes of tar stream written so far.
    public private(set) var bytesWritten: Int64 = 0
    /// The ELF executables and shared objects among the regular files
    /// appended so far, read from the first bytes of each file as it
    /// streams (no extra read).
    public private(set) var elfFiles = ELFFiles()
    /// Symlinks among the entries appended so far.
    public private(set) var symlinkCount = 0

    private let header: UnsafeMutableRawBufferPointer
    private let zeros: UnsafeMutableRawBufferPointer
    private let readBuffer: UnsafeMutableRawBufferPointer
    /// The caller's buffer ``readBuffer`` is, when it lent one.
    private let lentBuffer: BlockBuffer?
    private var finished = false

    /// The size of the buffer file contents are read through.
    static var readBufferSize: Int { 256 * 1024 }

    /// A writer that streams into `sink`, stamping every entry with
    /// `modificationTime`.
    public convenience init(sink: Sink, modificationTime: Timestamp) {
        self.init(sink: sink, modificationTime: modificationTime, readBuffer: nil)
    }

    /// A writer that reads file contents through `readBuffer` (at least
    /// ``readBufferSize`` bytes; the caller's to reuse once the writer is
    /// gone), or through one of its own when nil.
    init(sink: Sink, modificationTime: Timestamp, readBuffer lent: BlockBuffer?) {
        self.sink = sink
        self.modificationTime = modificationTime
        header = .allocate(byteCount: TarHeaderEncoding.blockSize, alignment: 16)
        zeros = .allocate(byteCount: 2 * TarHeaderEncoding.blockSize, alignment: 16)
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        if let lent {
            precondition(lent.bytes.count >= TarWriter.readBufferSize, "a lent read buffer holds at least readBufferSize bytes")
            readBuffer = UnsafeMutableRawBufferPointer(rebasing: lent.bytes[..<TarWriter.readBufferSize])
        } else {
            readBuffer = .allocate(byteCount: TarWriter.readBufferSize, alignment: 16)
        }
        lentBuffer = lent
    }

    deinit {
        header.deallocate()
        zeros.deallocate()
        if lentBuffer == nil { readBuffer.deallocate() }
    }

    /// Appends one entry: its header(s), then its content for a regular file.
    ///
    /// The caller gives entries in stream order; the writer does not sort.
    /// - Throws: ``LayerWriteError/unrepresentablePath(_:)`` for a path or
    ///   link target that is not normalized or holds a NUL byte;
    ///   ``LayerWriteError`` for a source file that cannot be read as
    ///   listed; whatever the sink throws.
    public func append(_ entry: LayerEntry) throws {
        precondition(!finished, "TarWriter.append after finish")
        let path = Array(entry.path.utf8)
        guard LayerTree.isNormalized(entry.path), !path.contains(0) else {
            throw LayerWriteError.unrepresentablePath(entry.path)
        }
        var pax: [(key: String, value: [UInt8])] = []
        let mtime = UInt64(max(0, modificationTime.secondsSinceEpoch))

        var fields = TarHeaderEncoding.Fields(
            name: [], mode: entry.mode & 0o7777, uid: UInt64(entry.uid), gid: UInt64(entry.gid),
            size: 0, mtime: mtime, typeflag: .regular)
        if let (prefix, name) = TarHeaderEncoding.split(path) {
            fields.prefix = prefix
            fields.name = name
        } else {
            pax.append(("path", path))
            fields.name = path.prefix(TarHeaderEncoding.nameField.width)
        }
        switch entry.kind {
        case .directory:
            fields.typeflag = .directory
        case .regular(let content):
            fields.typeflag = .regular
            fields.size = UInt64(content.size)
        case .symlink(let target), .hardlink(let target):
            let targetBytes = Array(target.utf8)
            guard !targetBytes.contains(0), !targetBytes.isEmpty else {
                throw LayerWriteError.unrepresentableLinkTarget(path: entry.path, target: target)
            }
            if case .hardlink = entry.kind {
                fields.typeflag = .hardlink
                guard LayerTree.isNormalized(target) else {
                    throw LayerWriteError.unrepresentableLinkTarget(path: entry.path, target: target)
                }
            } else {
                fields.typeflag = .symlink
                symlinkCount += 1
            }
            if targetBytes.count <= TarHeaderEncoding.linknameField.width {
                fields.linkname = targetBytes[...]
            } else {
                pax.append(("linkpath", targetBytes))
                fields.linkname = targetBytes.prefix(TarHeaderEncoding.linknameField.width)
            }
        }
        // Values ustar cannot hold go to PAX, and the ustar field holds 0,
        // as Python's tarfile does.
        if fields.size > TarHeaderEncoding.maxLargeNumber {
            pax.append(("size", TarHeaderEncoding.decimal(fields.size)))
            fields.size = 0
        }
        if fields.uid > TarHeaderEncoding.maxSmallNumber {
            pax.append(("uid", TarHeaderEncoding.decimal(fields.uid)))
            fields.uid = 0
        }
        if fields.gid > TarHeaderEncoding.maxSmallNumber {
            pax.append(("gid", TarHeaderEncoding.decimal(fields.gid)))
            fields.gid = 0
        }
        if fields.mtime > TarHeaderEncoding.maxLargeNumber {
            pax.append(("mtime", TarHeaderEncoding.decimal(fields.mtime)))
            fields.mtime = 0
        }
        if !pax.isEmpty { try writePAXHeader(pax, for: path, mtime: fields.mtime) }

        TarHeaderEncoding.encode(fields, into: header)
        try emit(UnsafeRawBufferPointer(header))
        if case .regular(let content) = entry.kind {
            switch content {
            case .bytes(let bytes):
                try bytes.withUnsafeBytes { buffer in
                    elfFiles.record(path: "/" + entry.path, firstBytes: UnsafeRawBufferPointer(rebasing: buffer.prefix(ELFHeader.maximumSize)))
                    try emit(buffer)
                }
            case .file(let source, let size, let identity):
                try copyFile(source, size: size, identity: identity, entry: entry.path)
            }
            try pad(content.size)
        }
        entryCount += 1
    }

    /// Writes the two zero blocks that end the archive.
    /// - Throws: whatever the sink throws.
    public func finish() throws {
        precondition(!finished, "TarWriter.finish twice")
        finished = true
        try emit(UnsafeRawBufferPointer(zeros))
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes)
        bytesWritten += Int64(bytes.count)
    }

    private func pad(_ size: Int64) throws {
        let remainder = Int(size % Int64(TarHeaderEncoding.blockSize))
        if remainder != 0 {
            try emit(UnsafeRawBufferPointer(rebasing: zeros[..<(TarHeaderEncoding.blockSize - remainder)]))
        }
    }

    private func writePAXHeader(_ records: [(key: String, value: [UInt8])], for path: [UInt8], mtime: UInt64) throws {
        var data: [UInt8] = []
        for record in records.sorted(by: { $0.key < $1.key }) {
            data += TarHeaderEncoding.paxRecord(key: record.key, value: record.value)
        }
        let baseName = path.split(separator: 0x2F).last ?? path[...]
        let name = Array("PaxHeaders/".utf8) + baseName
        let fields = TarHeaderEncoding.Fields(
            name: name.prefix(TarHeaderEncoding.nameField.width), mode: 0o644, uid: 0, gid: 0,
            size: UInt64(data.count), mtime: mtime, typeflag: .paxExtended)
        TarHeaderEncoding.encode(fields, into: header)
        try emit(UnsafeRawBufferPointer(header))
        try data.withUnsafeBytes { try emit($0) }
        try pad(Int64(data.count))
    }

    /// Streams exactly `size` bytes of `source`, checking that the file is
    /// still the regular file of that size it was when listed.
    ///
    /// Opened with `O_NOFOLLOW`: a file swapped for a symlink after it was
    /// listed (to a file outside the context, of the same size) is refused
    /// rather than followed; and `O_NONBLOCK`, so one swapped for a FIFO
    /// cannot hang the build before `fstat` refuses it. Everything read comes
    /// from the descriptor that was checked.
    /// With the `identity` the file was listed with, the descriptor must be
    /// that very file: a directory on the path swapped for a symlink after
    /// listing (which `O_NOFOLLOW`, for the last component only, does not
    /// see) leads to another inode and is refused.
    private func copyFile(_ source: String, size: Int64, identity: FileIdentity?, entry: String) throws {
        let descriptor = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            if code == ELOOP { throw LayerWriteError.sourceNotRegularFile(source: source, entry: entry) }
            if code == ENOENT || code == ENOTDIR { throw LayerWriteError.sourceMissing(source: source, entry: entry) }
            throw LayerWriteError.sourceUnreadable(source: source, entry: entry, errno: code)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw LayerWriteError.sourceUnreadable(source: source, entry: entry, errno: errno)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw LayerWriteError.sourceNotRegularFile(source: source, entry: entry)
        }
        if let identity, identity != FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)) {
            throw LayerWriteError.sourceReplaced(source: source, entry: entry)
        }
        guard Int64(status.st_size) == size else {
            throw LayerWriteError.sourceSizeChanged(source: source, entry: entry, listed: size, now: Int64(status.st_size))
        }
        var remaining = size
        var sawEnd = size == 0
        while remaining > 0 {
            // Asking for one byte more than is left detects a file that grew
            // since the fstat without another read call.
            let request = Int(min(Int64(readBuffer.count), remaining + 1))
            let count = read(descriptor, readBuffer.baseAddress, request)
            if count < 0 {
                if errno == EINTR { continue }
                throw LayerWriteError.sourceUnreadable(source: source, entry: entry, errno: errno)
            }
            if count == 0 {
                throw LayerWriteError.sourceSizeChanged(source: source, entry: entry, listed: size, now: size - remaining)
            }
            if Int64(count) > remaining {
                throw LayerWriteError.sourceSizeChanged(source: source, entry: entry, listed: size, now: nil)
            }
            if remaining == size {
                elfFiles.record(path: "/" + entry, firstBytes: UnsafeRawBufferPointer(rebasing: readBuffer[..<min(count, ELFHeader.maximumSize)]))
            }
            try emit(UnsafeRawBufferPointer(rebasing: readBuffer[..<count]))
            remaining -= Int64(count)
            sawEnd = count < request
        }
        if !sawEnd {
            var probe: UInt8 = 0
            var count: Int
            repeat { count = read(descriptor, &probe, 1) } while count < 0 && errno == EINTR
            if count > 0 {
                throw LayerWriteError.sourceSizeChanged(source: source, entry: entry, listed: size, now: nil)
            }
        }
    }
}
