/// The syntax of image names and tags, as the OCI distribution spec and
/// docker's reference grammar define them: one definition for the plan's
/// `name`/`tag` (Plan) and registry references (``RegistryReference``), each
/// of which words its own messages from a ``ReferenceGrammar/NameProblem``.
public enum ReferenceGrammar {
    /// The longest name, `[host[:port]/]path`, in bytes.
    public static let maxNameLength = 255

    /// Why a name is not valid; the first problem found, in the order the
    /// cases are listed.
    public enum NameProblem: Hashable, Sendable {
        /// The name is empty.
        case empty
        /// The name is longer than ``maxNameLength`` bytes.
        case tooLong
        /// The registry host (the first component) is not `host[:port]`.
        case invalidHost(String)
        /// A path component has uppercase letters and would be valid in
        /// lowercase.
        case uppercase(String)
        /// A path component is empty or not `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
        case invalidComponent(String)
    }

    /// Checks a name, `[host[:port]/]component(/component)*`: nil when valid.
    public static func problem(inName name: String) -> NameProblem? {
        guard !name.isEmpty else { return .empty }
        guard name.utf8.count <= maxNameLength else { return .tooLong }
        var components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, isDomain(components[0]) {
            let domain = components.removeFirst()
            guard isRegistryHost(domain) else { return .invalidHost(String(domain)) }
        }
        return problem(inPath: components)
    }

    /// Checks the components of a repository path (no host): nil when valid.
    public static func problem(inPath components: [Substring]) -> NameProblem? {
        for component in components where !isPathComponent(component) {
            if component.lowercased() != component, isPathComponent(component.lowercased()[...]) {
                return .uppercase(String(component))
            }
            return .invalidComponent(String(component))
        }
        return nil
    }

    /// Whether `tag` is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isTag(_ tag: some StringProtocol) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        return isWord(first) && bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Docker's rule: the first component of a name names a registry when
    /// it holds a `.` or a `:`, or is `localhost`.
    public static func isDomain(_ component: some StringProtocol) -> Bool {
        component.contains(".") || component.contains(":") || component == "localhost"
    }

    /// Whether `domain` is `host[:port]`: dot-separated labels of letters,
    /// digits and inner `-`, and a port of 1 to 5 digits.
    public static func isRegistryHost(_ domain: some StringProtocol) -> Bool {
        let parts = domain.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let host = parts[0]
        let hostOK = !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last else { return false }
            return isAlnum(first) && isAlnum(last) && bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
        let portOK = parts.count == 1
            || (!parts[1].isEmpty && parts[1].utf8.count <= 5 && parts[1].utf8.allSatisfy { (0x30...0x39).contains($0) })
        return hostOK && portOK
    }

    /// Whether `component` is `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    public static func isPathComponent(_ component: Substring) -> Bool {
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
