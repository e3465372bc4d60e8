import Archive
import KilnCore
internal import Glibc

/// Finds references to store paths the way Nix does: occurrences of
/// `<storeDir>/<32 nix-base32 characters>-` in bytes.
///
/// Files are read through one fixed-size buffer; the last bytes of each
/// chunk are carried over to the next, so a reference split across two
/// reads is still found and no file is ever held whole.
struct StoreReferenceScanner {
    /// `<storeDir>/`.
    private let prefix: [UInt8]
    /// Bytes read per `read(2)`.
    private let chunkSize: Int

    /// Length of a store path's hash part.
    static let hashLength = 32
    /// The 32 characters of Nix's base32 (no `e`, `o`, `u`, `t`).
    static let alphabet = Array("0123456789abcdfghijklmnpqrsvwxyz".utf8)

    private static let isHashCharacter: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for character in alphabet { table[Int(character)] = true }
        return table
    }()

    /// - Parameter chunkSize: bytes per read; tests make it small to put
    ///   references across every possible boundary.
    init(storeDir: String, chunkSize: Int = 1 << 20) {
        prefix = Array((storeDir + "/").utf8)
        self.chunkSize = max(1, chunkSize)
    }

    /// Bytes a whole reference spans: the prefix, the hash, the `-`.
    private var matchLength: Int { prefix.count + StoreReferenceScanner.hashLength + 1 }

    /// Whether `hash` is a well-formed hash part.
    static func isHash<Bytes: Collection>(_ hash: Bytes) -> Bool where Bytes.Element == UInt8 {
        hash.count == hashLength && hash.allSatisfy { isHashCharacter[Int($0)] }
    }

    /// The hash parts referenced in `bytes` (a symlink target, say).
    func hashes<Bytes: Collection>(in bytes: Bytes) -> Set<String> where Bytes.Element == UInt8 {
        var found = Set<String>()
        let array = Array(bytes)
        array.withUnsafeBytes { buffer in
            collect(in: buffer, into: &found)
        }
        return found
    }

    /// The hash parts referenced in the contents of the file at `path`.
    /// - Throws: the `errno` of the failed `open` or `read`.
    func hashes(inFileAt path: String) throws(ScanError) -> Set<String> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw ScanError(operation: "open", errno: errno) }
        defer { close(descriptor) }
        let carryCapacity = matchLength - 1
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: carryCapacity + chunkSize, alignment: 16)
        defer { window.deallocate() }
        var found = Set<String>()
        var carried = 0
        while true {
            let count = read(descriptor, window.baseAddress! + carried, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw ScanError(operation: "read", errno: errno)
            }
            if count == 0 { break }
            let filled = carried + count
            collect(in: UnsafeRawBufferPointer(rebasing: window[..<filled]), into: &found)
            // Every start before `filled - carryCapacity` was checked with
            // its whole match in view; the rest start again with more bytes.
            carried = min(filled, carryCapacity)
            window.baseAddress!.copyMemory(from: window.baseAddress! + (filled - carried), byteCount: carried)
        }
        return found
    }

    /// Adds every reference that lies wholly inside `buffer`.
    private func collect(in buffer: UnsafeRawBufferPointer, into found: inout Set<String>) {
        let length = matchLength
        guard buffer.count >= length, let base = buffer.baseAddress else { return }
        let first = Int32(prefix[0])
        var position = 0
        let lastStart = buffer.count - length
        while position <= lastStart {
            guard let hit = memchr(base + position, first, lastStart - position + 1) else { return }
            let start = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            position = start + 1
            let matchesPrefix = prefix.withUnsafeBytes { memcmp(base + start, $0.baseAddress!, prefix.count) == 0 }
            guard matchesPrefix else { continue }
            let hashStart = start + prefix.count
            let hash = UnsafeRawBufferPointer(rebasing: buffer[hashStart..<hashStart + StoreReferenceScanner.hashLength])
            guard buffer[hashStart + StoreReferenceScanner.hashLength] == UInt8(ascii: "-"),
                  StoreReferenceScanner.isHash(hash) else { continue }
            found.insert(String(decoding: hash, as: UTF8.self))
        }
    }

    /// A failed system call while scanning one file.
    struct ScanError: Error, Hashable, CustomStringConvertible {
        var operation: String
        var errno: Int32

        var description: String { "cannot \(operation): \(String(cString: strerror(errno)))" }
    }
}
