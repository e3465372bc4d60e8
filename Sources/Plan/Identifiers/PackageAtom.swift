import KilnCore

/// The syntax of a `names:` entry of a packages layer: `name`,
/// `name=version`, or `name (>= version)` (any of `<< <= = >= >>`), with an
/// optional `:arch` qualifier on the name.
public enum PackageAtom {
    /// Checks `atom`'s syntax only; whether the package or version exists is the
    /// resolver's question.
    /// - Throws: ``SyntaxError`` naming the accepted forms.
    public static func validate(_ atom: String) throws(SyntaxError) {
        var name = Substring(atom)
        var version: Substring?
        if let eq = atom.firstIndex(of: "=") , !atom.contains("(") {
            name = atom[..<eq]
            version = atom[atom.index(after: eq)...]
        } else if let open = atom.firstIndex(of: "(") {
            guard atom.hasSuffix(")") else { throw invalid(atom) }
            name = atom[..<open]
            while name.last == " " { name = name.dropLast() }
            let relation = atom[atom.index(after: open)..<atom.index(before: atom.endIndex)].split(separator: " ", omittingEmptySubsequences: true)
            guard relation.count == 2, ["<<", "<=", "=", ">=", ">>"].contains(relation[0]) else { throw invalid(atom) }
            version = relation[1]
        }
        let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard isName(parts[0]), parts.count == 1 || isArch(parts[1]) else { throw invalid(atom) }
        if let version {
            guard let first = version.utf8.first, (0x30...0x39).contains(first),
                  version.utf8.allSatisfy({ isAlnum($0) || ".+~:-".utf8.contains($0) }) else { throw invalid(atom) }
        }
    }

    private static func invalid(_ atom: String) -> SyntaxError {
        SyntaxError("package \(quoted(atom)) must be name, name=version, or name (>= version)")
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x61...0x7a).contains(b) || (0x41...0x5a).contains(b)
    }

    /// Debian package names: `[a-z0-9][a-z0-9+.-]+`.
    private static func isName(_ s: Substring) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.count >= 2, let first = bytes.first, (0x30...0x39).contains(first) || (0x61...0x7a).contains(first) else { return false }
        return bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) || "+.-".utf8.contains($0) }
    }

    private static func isArch(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) || $0 == UInt8(ascii: "-") }
    }
}
