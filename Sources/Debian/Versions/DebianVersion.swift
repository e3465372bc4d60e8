import KilnCore

/// A Debian package version, `[epoch:]upstream[-revision]`, ordered as
/// deb-version(7) and `dpkg --compare-versions` order them.
///
/// Equality is by order, as dpkg sees it: `1.0`, `0:1.0` and `1.00` are the
/// same version. The text as written is kept for output.
public struct DebianVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The version as written.
    public let text: String
    /// The epoch (0 when absent).
    public let epoch: UInt64
    /// The upstream version.
    public let upstream: String
    /// The Debian revision ("" when absent).
    public let revision: String

    /// Parses a version string.
    /// - Throws: ``VersionError`` when the string is empty, the epoch is not
    ///   a number, the upstream part is empty or does not start with a digit
    ///   (as dpkg requires), or a character is not allowed in its part.
    public init(_ text: String) throws(VersionError) {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw VersionError(version: text, reason: "it is empty") }
        var rest = Substring(trimmed)
        var epoch: UInt64 = 0
        if let colon = rest.firstIndex(of: ":") {
            let epochText = rest[..<colon]
            guard !epochText.isEmpty, epochText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = UInt64(epochText) else {
                throw VersionError(version: text, reason: "the epoch \"\(epochText)\" is not a number")
            }
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        var revision: Substring = ""
        if let dash = rest.lastIndex(of: "-") {
            revision = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
        }
        guard let first = rest.utf8.first else { throw VersionError(version: text, reason: "the upstream version is empty") }
        guard (0x30...0x39).contains(first) else {
            throw VersionError(version: text, reason: "the upstream version must start with a digit")
        }
        for byte in rest.utf8 where !DebianVersion.isAllowed(byte, extra: "-:") {
            throw VersionError(version: text, reason: "invalid character \"\(Character(Unicode.Scalar(byte)))\" in the upstream version")
        }
        for byte in revision.utf8 where !DebianVersion.isAllowed(byte, extra: "") {
            throw VersionError(version: text, reason: "invalid character \"\(Character(Unicode.Scalar(byte)))\" in the revision")
        }
        self.text = trimmed
        self.epoch = epoch
        self.upstream = String(rest)
        self.revision = String(revision)
    }

    private static func isAllowed(_ byte: UInt8, extra: String) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: true
        case UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "~"): true
        default: extra.utf8.contains(byte)
        }
    }

    /// The version as written.
    public var description: String { text }

    public static func == (lhs: DebianVersion, rhs: DebianVersion) -> Bool { compare(lhs, rhs) == 0 }

    public func hash(into hasher: inout Hasher) {
        // Hash the parts that survive normalization: trailing zero-runs and
        // leading zeros do not change order, so only the epoch is safe.
        hasher.combine(epoch)
    }

    public static func < (lhs: DebianVersion, rhs: DebianVersion) -> Bool { compare(lhs, rhs) < 0 }

    /// -1, 0 or 1 as `lhs` sorts before, with, or after `rhs`.
    public static func compare(_ lhs: DebianVersion, _ rhs: DebianVersion) -> Int {
        if lhs.epoch != rhs.epoch { return lhs.epoch < rhs.epoch ? -1 : 1 }
        let upstream = comparePart(Array(lhs.upstream.utf8), Array(rhs.upstream.utf8))
        if upstream != 0 { return upstream }
        return comparePart(Array(lhs.revision.utf8), Array(rhs.revision.utf8))
    }

    /// deb-version(7): alternate non-digit runs (compared character by
    /// character with `~` lowest, then the end of the run, then letters,
    /// then everything else) and digit runs (compared numerically).
    private static func comparePart(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            var firstDiff = 0
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ac = i < a.count && !isDigit(a[i]) ? order(a[i]) : 0
                let bc = j < b.count && !isDigit(b[j]) ? order(b[j]) : 0
                if ac != bc { return ac < bc ? -1 : 1 }
                i += 1
                j += 1
            }
            while i < a.count, a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count, b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.count, isDigit(a[i]), j < b.count, isDigit(b[j]) {
                if firstDiff == 0, a[i] != b[j] { firstDiff = a[i] < b[j] ? -1 : 1 }
                i += 1
                j += 1
            }
            if i < a.count, isDigit(a[i]) { return 1 }
            if j < b.count, isDigit(b[j]) { return -1 }
            if firstDiff != 0 { return firstDiff }
        }
        return 0
    }

    private static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }

    /// dpkg's `order()`: `~` sorts before the end of a part, letters before
    /// every other character.
    private static func order(_ c: UInt8) -> Int {
        switch c {
        case UInt8(ascii: "~"): -1
        case 0x41...0x5a, 0x61...0x7a: Int(c)
        default: Int(c) + 256
        }
    }
}

/// A version string dpkg would reject.
public struct VersionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The string as given.
    public var version: String
    /// Why it is not a version.
    public var reason: String

    /// Creates an error; `reason` names the rule broken (the character, the part).
    public init(version: String, reason: String) {
        self.version = version
        self.reason = reason
    }

    public var description: String { "invalid Debian version \"\(version)\": \(reason)" }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\n" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\n" { slice = slice.dropLast() }
        return String(slice)
    }
}
