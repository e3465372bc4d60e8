import KilnCore

/// File modes as chmod takes them: `"0755"`, `0755` and `755` all mean
/// rwxr-xr-x; a fourth leading digit sets setuid/setgid/sticky.
public enum FileMode {
    /// Parses octal digits (an optional `0o` prefix is accepted too).
    public static func parse(_ text: String) throws(SyntaxError) -> UInt32 {
        var digits = Substring(text)
        if digits.hasPrefix("0o") || digits.hasPrefix("0O") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x37).contains($0) }) else {
            throw SyntaxError("mode \(quoted(text)) must be octal digits, like \"0755\" or \"0644\"")
        }
        let significant = digits.drop { $0 == "0" }
        guard significant.count <= 4, let value = UInt32(significant.isEmpty ? "0" : significant, radix: 8), value <= 0o7777 else {
            throw SyntaxError("mode \(quoted(text)) is larger than 7777")
        }
        return value
    }

    /// Four octal digits, `0755`.
    public static func format(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

extension Owner {
    /// Parses numeric `uid:gid`.
    public init(parsing text: String) throws(SyntaxError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        func id(_ s: Substring) -> UInt32? {
            guard !s.isEmpty, s.utf8.count <= 10, s.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return UInt32(s)
        }
        guard parts.count == 2, let uid = id(parts[0]), let gid = id(parts[1]) else {
            throw SyntaxError("owner \(quoted(text)) must be numeric \"uid:gid\", like \"65532:65532\"")
        }
        self.init(uid: uid, gid: gid)
    }
}
