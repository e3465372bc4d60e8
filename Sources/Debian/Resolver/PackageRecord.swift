import KilnCore

/// One binary package an index offers: identity, relations, where to fetch it.
///
/// Relation fields are kept as written and parsed when the resolver visits
/// the package, so reading a 60 000-package index parses only what is used.
public struct PackageRecord: Hashable, Sendable {
    /// `Package:`.
    public var name: String
    /// `Version:`.
    public var version: DebianVersion
    /// `Architecture:` (`amd64`, `all`, …).
    public var architecture: String
    /// `Depends:` as written.
    public var depends: String
    /// `Pre-Depends:` as written.
    public var preDepends: String
    /// `Provides:`, parsed (the resolver needs every provider up front).
    public var provides: [Relation]
    /// Absolute URL of the `.deb` (`http://`, `https://`, `file://`).
    public var url: String
    /// `Size:`.
    public var size: Int64
    /// `SHA256:`, lowercase hex.
    public var sha256: String
    /// The source it came from (`uri suite`, or the directory), for messages.
    public var origin: String

    /// Memberwise; the index reader is ``init(stanza:baseURI:origin:)``, which
    /// validates every field. `sha256` must be lowercase, as the fetcher compares
    /// it as text.
    public init(
        name: String, version: DebianVersion, architecture: String, depends: String = "", preDepends: String = "",
        provides: [Relation] = [], url: String, size: Int64, sha256: String, origin: String
    ) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.depends = depends
        self.preDepends = preDepends
        self.provides = provides
        self.url = url
        self.size = size
        self.sha256 = sha256
        self.origin = origin
    }

    /// `name version architecture`, as apt prints a candidate.
    public var label: String { "\(name) \(version) (\(architecture))" }

    /// Builds a record from an index stanza.
    /// - Parameters:
    ///   - baseURI: the archive root `Filename:` is relative to.
    /// - Throws: ``IndexError`` for a missing or malformed field.
    public init(stanza: Deb822Stanza, baseURI: String, origin: String) throws(IndexError) {
        func field(_ name: String) throws(IndexError) -> String {
            guard let value = stanza[name], !value.isEmpty else {
                throw IndexError(origin: origin, line: stanza.line, message: "missing \"\(name)\" field")
            }
            return value
        }
        let name = try field("Package")
        let versionText = try field("Version")
        let version: DebianVersion
        do {
            version = try DebianVersion(versionText)
        } catch {
            throw IndexError(origin: origin, line: stanza.line, message: "package \(name): \(error)")
        }
        let provides: [Relation]
        do {
            provides = try RelationParser.provides(stanza["Provides"] ?? "")
        } catch {
            throw IndexError(origin: origin, line: stanza.line, message: "package \(name): \(error)")
        }
        guard let size = Int64(try field("Size")), size >= 0 else {
            throw IndexError(origin: origin, line: stanza.line, message: "package \(name): \"Size\" is not a number")
        }
        let sha256 = try field("SHA256").lowercased()
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw IndexError(origin: origin, line: stanza.line, message: "package \(name): \"SHA256\" is not 64 hex digits")
        }
        var filename = Substring(try field("Filename"))
        while filename.hasPrefix("./") { filename = filename.dropFirst(2) }
        while filename.hasPrefix("/") { filename = filename.dropFirst() }
        guard !filename.split(separator: "/").contains("..") else {
            throw IndexError(origin: origin, line: stanza.line, message: "package \(name): \"Filename\" leaves the repository")
        }
        self.init(
            name: name, version: version, architecture: try field("Architecture"),
            depends: stanza["Depends"] ?? "", preDepends: stanza["Pre-Depends"] ?? "", provides: provides,
            url: baseURI + "/" + filename, size: size, sha256: sha256, origin: origin
        )
    }
}

/// An index entry that cannot be used.
public struct IndexError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The index URL or `.deb` path.
    public var origin: String
    /// The stanza's first line (0 when not from an index).
    public var line: Int
    /// What is wrong.
    public var message: String

    /// Creates an error; `line` is 0 when the problem is not in an index (a
    /// `.deb` in a directory source).
    public init(origin: String, line: Int, message: String) {
        self.origin = origin
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(origin):\(line): \(message)" : "\(origin): \(message)" }
}
