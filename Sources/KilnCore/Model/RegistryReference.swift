/// An image in a registry, `[host[:port]/]path[:tag][@sha256:<hex>]`, read
/// as docker reads it: the first component is a registry host when it holds
/// a `.` or a `:` or is `localhost`; otherwise the registry is `docker.io`,
/// where a one-component path gets `library/` (`alpine` is
/// `docker.io/library/alpine`).
///
/// A reference with neither tag nor digest means the tag `latest`
/// (``referenceInRepository``); with both, the digest is what is pulled.
public struct RegistryReference: Hashable, Sendable, CustomStringConvertible {
    /// The registry Docker Hub's references name, and the default one.
    public static let dockerHub = "docker.io"
    /// The host serving Docker Hub's registry API: docker's reference rules
    /// map `docker.io` to it. The one place this name is spelled.
    public static let dockerHubAPIHost = "registry-1.docker.io"
    /// The key `docker login` files Docker Hub's credentials under (in
    /// `auths` and for credential helpers), docker's legacy index address.
    public static let dockerHubCredentialKey = "https://index.docker.io/v1/"

    /// The registry, `host[:port]`: `docker.io`, `127.0.0.1:5000`.
    public var registry: String
    /// The repository path in the registry: `library/alpine`, `team/app`.
    public var repository: String
    /// The tag, if one was given (nil means `latest` unless there is a digest).
    public var tag: String?
    /// The manifest digest, if one was given.
    public var digest: ContentDigest?

    /// Creates a reference from parts that are already valid.
    public init(registry: String, repository: String, tag: String? = nil, digest: ContentDigest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses a reference as docker does (see the type's summary).
    /// - Throws: ``RegistryReferenceError`` naming the text and what is
    ///   wrong with it: a control character, an empty part, an uppercase or
    ///   otherwise invalid path component, an invalid host, tag or digest,
    ///   or a name over 255 bytes.
    public init(parsing text: String) throws(RegistryReferenceError) {
        func fail(_ reason: String) -> RegistryReferenceError { RegistryReferenceError(text: text, reason: reason) }
        guard !text.isEmpty else { throw fail("it is empty") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw fail("it contains a control character")
        }

        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            let digestText = rest[rest.index(after: at)...]
            guard !digestText.isEmpty else { throw fail("the digest after @ is empty") }
            do {
                digest = try ContentDigest(parsing: String(digestText))
            } catch {
                throw fail("digest \(Self.quoted(digestText)) is invalid (expected sha256: and 64 lowercase hex digits)")
            }
            rest = rest[..<at]
        } else {
            digest = nil
        }
        let lastSlash = rest.lastIndex(of: "/") ?? rest.startIndex
        if let colon = rest[lastSlash...].lastIndex(of: ":") {
            let tagText = rest[rest.index(after: colon)...]
            guard !tagText.isEmpty else { throw fail("the tag after : is empty") }
            guard ReferenceGrammar.isTag(tagText) else {
                throw fail("tag \(Self.quoted(tagText)) is invalid (1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)")
            }
            tag = String(tagText)
            rest = rest[..<colon]
        } else {
            tag = nil
        }
        guard !rest.isEmpty else { throw fail("the repository is empty") }

        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, ReferenceGrammar.isDomain(components[0]) {
            let host = components.removeFirst()
            guard ReferenceGrammar.isRegistryHost(host) else {
                throw fail("registry host \(Self.quoted(host)) is invalid (expected host[:port])")
            }
            registry = String(host)
        } else {
            registry = Self.dockerHub
        }
        switch ReferenceGrammar.problem(inPath: components) {
        case nil: break
        case .uppercase: throw fail("repository must be lowercase")
        case .invalidComponent(let component) where component.isEmpty: throw fail("the repository has an empty component")
        case .invalidComponent(let component):
            throw fail("repository component \(Self.quoted(component)) is invalid (allowed: lowercase letters, digits, and . _ __ - between them)")
        case .empty, .tooLong, .invalidHost: throw fail("the repository is invalid")
        }
        if registry == Self.dockerHub, components.count == 1 {
            components.insert("library", at: 0)
        }
        repository = components.joined(separator: "/")
        guard name.utf8.count <= ReferenceGrammar.maxNameLength else {
            throw fail("the name is longer than \(ReferenceGrammar.maxNameLength) characters")
        }
    }

    /// `registry/repository[:tag][@digest]`.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// `registry/repository`, without tag or digest.
    public var name: String { registry + "/" + repository }

    /// The host (and port) to send API requests to: ``registry``, except
    /// that `docker.io` is served by ``dockerHubAPIHost``.
    public var apiHost: String { Self.apiHost(forRegistry: registry) }

    /// The host (and port) serving `registry`'s API: `registry` itself,
    /// except that `docker.io` is served by ``dockerHubAPIHost``.
    public static func apiHost(forRegistry registry: String) -> String {
        registry == dockerHub ? dockerHubAPIHost : registry
    }

    /// What to ask the repository for: the digest if there is one, else the
    /// tag, else `latest`.
    public var referenceInRepository: String { digest?.description ?? tag ?? "latest" }

    /// The same image with `tag` as its tag (the digest, if any, is kept).
    public func with(tag: String?) -> RegistryReference {
        var copy = self
        copy.tag = tag
        return copy
    }

    /// The same image with `digest` as its digest (the tag, if any, is kept).
    public func with(digest: ContentDigest?) -> RegistryReference {
        var copy = self
        copy.digest = digest
        return copy
    }

    /// `text` quoted for a one-line message: escapes from Swift's own
    /// `debugDescription`, and cut past 100 characters.
    static func quoted(_ text: some StringProtocol) -> String {
        let limit = 100
        guard text.count > limit else { return String(text).debugDescription }
        return String(text.prefix(limit)).debugDescription.dropLast() + "…\" (\(text.count) characters)"
    }
}

/// Text that is not a valid registry reference.
public struct RegistryReferenceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text given as a reference.
    public var text: String
    /// What is wrong with it: `repository must be lowercase`.
    public var reason: String

    /// The error for `text`, saying `reason`.
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    /// `invalid image reference "Foo": repository must be lowercase`.
    public var description: String { "invalid image reference \(RegistryReference.quoted(text)): \(reason)" }
}
