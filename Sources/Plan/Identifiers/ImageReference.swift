import KilnCore

/// Syntax of image names and tags, as the OCI distribution spec and Docker
/// reference grammar define them.
public enum ImageReference {
    /// Checks a repository name: `[host[:port]/]component(/component)*`,
    /// components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, at most 255 bytes.
    public static func validateName(_ name: String) throws(SyntaxError) {
        guard !name.isEmpty else { throw SyntaxError("image name must not be empty") }
        guard name.utf8.count <= 255 else { throw SyntaxError("image name \(quoted(name)) is longer than 255 characters") }
        var components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.count > 1, isDomain(components[0]) {
            try validateDomain(components.removeFirst(), in: name)
        }
        for component in components where !isPathComponent(component) {
            if component.lowercased() != component, isPathComponent(component.lowercased()) {
                throw SyntaxError("image name \(quoted(name)) must be lowercase (did you mean \(quoted(name.lowercased()))?)")
            }
            throw SyntaxError("image name \(quoted(name)) has an invalid component \(quoted(component)) (allowed: lowercase letters, digits, and . _ __ - between them)")
        }
    }

    /// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func validateTag(_ tag: String) throws(SyntaxError) {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128,
              isWord(first), bytes.allSatisfy({ isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else {
            throw SyntaxError("tag \(quoted(tag)) is invalid (1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)")
        }
    }

    /// Docker's rule: the first component names a registry when it holds a
    /// `.` or a `:`, or is `localhost`.
    private static func isDomain(_ component: String) -> Bool {
        component.contains(".") || component.contains(":") || component == "localhost"
    }

    private static func validateDomain(_ domain: String, in name: String) throws(SyntaxError) {
        let parts = domain.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let host = parts[0]
        let hostOK = !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last else { return false }
            return isAlnum(first) && isAlnum(last) && bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
        let portOK = parts.count == 1 || (!parts[1].isEmpty && parts[1].utf8.count <= 5 && parts[1].utf8.allSatisfy { (0x30...0x39).contains($0) })
        guard hostOK, portOK else {
            throw SyntaxError("image name \(quoted(name)) has an invalid registry host \(quoted(domain))")
        }
    }

    private static func isPathComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if isLowerAlnum(bytes[i]) { i += 1; continue }
            // A separator run: ".", "_", "__", or one or more "-".
            var j = i
            while j < bytes.count, !isLowerAlnum(bytes[j]) { j += 1 }
            let run = bytes[i..<j]
            let ok = run.elementsEqual(".".utf8) || run.elementsEqual("_".utf8) || run.elementsEqual("__".utf8)
                || run.allSatisfy { $0 == UInt8(ascii: "-") }
            guard ok else { return false }
            i = j
        }
        return true
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (0x61...0x7a).contains(b) || (0x30...0x39).contains(b) }
    private static func isAlnum(_ b: UInt8) -> Bool { isLowerAlnum(b) || (0x41...0x5a).contains(b) }
    private static func isWord(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") }
}
