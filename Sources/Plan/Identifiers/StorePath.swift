import KilnCore

/// Nix store path names: `<store_dir>/<32 nix-base32 characters>-<name>`.
public enum StorePath {
    /// Nix's base-32 alphabet (no e, o, u, t).
    public static let alphabet = Array("0123456789abcdfghijklmnpqrsvwxyz".utf8)

    /// Checks that `path` sits directly under `storeDir` and is named as
    /// Nix names store objects.
    public static func validate(_ path: String, storeDir: String) throws(SyntaxError) {
        do {
            _ = try ImagePath(validating: path)
        } catch {
            throw SyntaxError("store path \(error.message)")
        }
        guard path.hasPrefix(storeDir + "/") else {
            throw SyntaxError("store path \(quoted(path)) is not under the store directory \(storeDir)")
        }
        let name = path.dropFirst(storeDir.count + 1)
        guard !name.contains("/") else {
            throw SyntaxError("store path \(quoted(path)) must name a store object directly under \(storeDir), not a path inside one")
        }
        let bytes = Array(name.utf8)
        let nameBytes = bytes.dropFirst(33)
        guard bytes.count > 33, bytes[..<32].allSatisfy(alphabet.contains), bytes[32] == UInt8(ascii: "-"),
              nameBytes.first != UInt8(ascii: "."),
              nameBytes.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || "+-._?=".utf8.contains($0) })
        else {
            throw SyntaxError("store path \(quoted(path)) must be named <32-character nix-base32 hash>-<name>")
        }
    }
}
