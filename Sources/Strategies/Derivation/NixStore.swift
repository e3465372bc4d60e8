import Archive
import KilnCore
internal import Glibc

/// A Nix-style store directory: the names of its store paths, indexed by
/// hash part, to turn scanned references into store paths.
struct NixStore {
    /// The store directory, absolute, without a trailing `/`.
    let directory: String
    /// Store path names (`<hash>-<name>`) by hash part.
    private let namesByHash: [String: [String]]

    /// Lists `directory` once.
    ///
    /// Entries that are not `<hash>-<name>` (`.links`, temporary files)
    /// are ignored, and so are `<hash>-<name>.lock` files, which Nix creates
    /// beside a path while building it and which share its hash.
    init(directory: String, layer: String) throws(DerivationError) {
        self.directory = directory
        guard let stream = opendir(directory) else {
            throw DerivationError(layer: layer, reason: .fileSystem(
                operation: "list the store directory", path: directory, message: String(cString: strerror(errno))))
        }
        defer { closedir(stream) }
        var index: [String: [String]] = [:]
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard NixStore.isStorePathName(name), !name.hasSuffix(".lock") else { continue }
            index[String(name.prefix(StoreReferenceScanner.hashLength)), default: []].append(name)
        }
        namesByHash = index
    }

    /// The store path names whose hash part is `hash`, sorted.
    func names(withHash hash: String) -> [String] {
        (namesByHash[hash] ?? []).sorted()
    }

    /// Whether `name` is `<32 nix-base32 characters>-<name>` with a name
    /// Nix accepts: not empty, not starting with `.`, of letters, digits
    /// and `+-._?=`.
    static func isStorePathName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        let hashLength = StoreReferenceScanner.hashLength
        guard bytes.count > hashLength + 1, bytes[hashLength] == UInt8(ascii: "-"),
              StoreReferenceScanner.isHash(bytes[..<hashLength]) else { return false }
        let rest = bytes[(hashLength + 1)...]
        guard rest.first != UInt8(ascii: ".") else { return false }
        return rest.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "+-._?=".utf8.contains(byte)
            }
        }
    }

}
