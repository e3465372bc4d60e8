import KilnCore

/// Layer names: `[a-z0-9][a-z0-9._-]*`, at most 128 characters, so they are
/// safe in file names, cache keys and history entries.
public enum LayerName {
    /// Checks `name` against the layer-name rule.
    /// - Throws: ``SyntaxError`` stating the rule, and suggesting the lowercased
    ///   name when only case is wrong.
    public static func validate(_ name: String) throws(SyntaxError) {
        let bytes = Array(name.utf8)
        func lowerAlnum(_ b: UInt8) -> Bool { (0x61...0x7a).contains(b) || (0x30...0x39).contains(b) }
        guard let first = bytes.first, lowerAlnum(first), bytes.count <= 128,
              bytes.allSatisfy({ lowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            let hint = name.lowercased() != name ? " (did you mean \(quoted(name.lowercased()))?)" : ""
            throw SyntaxError("layer name \(quoted(name)) is invalid: use lowercase letters, digits, . _ - and start with a letter or digit\(hint)")
        }
    }
}
