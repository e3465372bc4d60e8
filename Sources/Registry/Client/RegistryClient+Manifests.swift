internal import Foundation
public import KilnCore
internal import KilnHTTP
public import OCI
internal import Crypto

extension RegistryClient {
    /// The most a manifest or index may weigh.
    public static let manifestLimit = 4 << 20

    /// The manifest media types asked for (OCI and Docker schema 2).
    static let manifestAccept = [
        MediaType.imageIndex, MediaType.imageManifest, MediaType.dockerManifestList, MediaType.dockerManifest,
    ].joined(separator: ", ")

    /// Docker's schema 1 media types, refused by name.
    static let schema1MediaTypes: Set = [
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ]

    /// Fetches a manifest or index by tag or digest (`Accept`: OCI
    /// manifest and index, Docker schema 2 manifest and list).
    ///
    /// The digest is computed from the bytes: it must equal the one asked
    /// for, and the registry's `Docker-Content-Digest`, when sent.
    /// - Throws: ``RegistryError``: `.notFound` (`MANIFEST_UNKNOWN`,
    ///   `NAME_UNKNOWN`), `.unsupported` for Docker schema 1,
    ///   `.invalidResponse` for HTML or other non-JSON, `.tooLarge` past
    ///   ``manifestLimit``, `.digestMismatch`, and the failures of any request.
    public func fetchManifest(_ repository: Repository, reference: String) async throws(RegistryError) -> FetchedManifest {
        let call = Call.reading(.pulling, repository, subject: Self.subject(reference))
        let expected = try Self.digest(inReference: reference, call)
        let url = try url(repository, "manifests/" + reference, call: call)
        let (response, bytes) = try await fetchBody(call, url, headers: ["Accept": Self.manifestAccept], limit: Self.manifestLimit, what: "manifest")
        let digest = ContentDigest(sha256Bytes: SHA256.hash(data: bytes))
        if let expected, digest != expected {
            throw call.error(.digestMismatch, "the registry sent a manifest whose digest is \(digest), not the \(expected) asked for")
        }
        try Self.crossCheck(response.headers, digest, call)
        let mediaType = try Self.manifestMediaType(bytes, contentType: response.headers["Content-Type"], call)
        return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest)
    }

    /// Asks for a manifest's descriptor without its body (`HEAD`): digest,
    /// size and media type, or nil when the registry has no such manifest.
    ///
    /// When the registry leaves out `Docker-Content-Digest` or the length,
    /// the manifest is fetched to compute them.
    /// - Throws: ``RegistryError`` (as ``fetchManifest(_:reference:)``).
    public func manifestDescriptor(_ repository: Repository, reference: String) async throws(RegistryError) -> Descriptor? {
        let call = Call.reading(.checking, repository, subject: Self.subject(reference))
        let expected = try Self.digest(inReference: reference, call)
        let url = try url(repository, "manifests/" + reference, call: call)
        let response = try await exchange(call, "HEAD", url, headers: ["Accept": Self.manifestAccept])
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw await unexpected(response, call) }
        let contentType = Self.mediaType(response.headers["Content-Type"])
        if let contentType, Self.schema1MediaTypes.contains(contentType) { throw Self.schema1(contentType, call) }
        guard let header = response.headers["Docker-Content-Digest"], let digest = try? ContentDigest(parsing: header),
              response.expectedLength >= 0, let contentType, Self.isManifestMediaType(contentType)
        else {
            let manifest = try await fetchManifest(repository, reference: reference)
            return Descriptor(mediaType: manifest.mediaType, digest: manifest.digest, size: Int64(manifest.bytes.count))
        }
        if let expected, digest != expected {
            throw call.error(.digestMismatch, "the registry says the manifest's digest is \(digest), not the \(expected) asked for")
        }
        return Descriptor(mediaType: contentType, digest: digest, size: response.expectedLength)
    }

    /// Uploads a manifest (or index) under `reference` (a tag or its
    /// digest), with `mediaType` as its `Content-Type`.
    /// - Returns: the digest of `bytes`.
    /// - Throws: ``RegistryError``: the registry refused it (e.g.
    ///   `MANIFEST_BLOB_UNKNOWN` when a blob it names is missing), or its
    ///   `Docker-Content-Digest` differs from the digest of `bytes`.
    public func putManifest(_ repository: Repository, reference: String, bytes: [UInt8], mediaType: String) async throws(RegistryError) -> ContentDigest {
        let call = Call.writing(repository, subject: Self.subject(reference))
        let digest = ContentDigest(sha256Bytes: SHA256.hash(data: bytes))
        if let expected = try Self.digest(inReference: reference, call), expected != digest {
            throw call.error(.digestMismatch, "the manifest's digest is \(digest), not \(expected)")
        }
        let url = try url(repository, "manifests/" + reference, call: call)
        let response = try await exchange(call, "PUT", url, headers: ["Content-Type": mediaType], body: .bytes(bytes))
        guard (200...299).contains(response.status) else { throw await unexpected(response, call) }
        try Self.crossCheck(response.headers, digest, call)
        return digest
    }

    // MARK: - Helpers

    /// `:tag` or `@sha256:…`, for messages.
    static func subject(_ reference: String) -> String {
        reference.contains(":") ? "@" + reference : ":" + reference
    }

    /// The digest a reference names, or nil for a tag.
    static func digest(inReference reference: String, _ call: Call) throws(RegistryError) -> ContentDigest? {
        guard reference.contains(":") else { return nil }
        do {
            return try ContentDigest(parsing: reference)
        } catch {
            throw call.error(.configuration, error.description)
        }
    }

    /// The media type of a `Content-Type` value (no parameters, lower case).
    static func mediaType(_ contentType: String?) -> String? {
        guard let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased(),
              !type.isEmpty else { return nil }
        return type
    }

    static func isManifestMediaType(_ type: String) -> Bool {
        MediaType.isManifest(type) || MediaType.isIndex(type)
    }

    /// A manifest's media type: its `Content-Type` when that names a
    /// manifest or index, else its `mediaType` field, else what its fields
    /// say (`manifests`: an OCI index, else an OCI manifest).
    static func manifestMediaType(_ bytes: [UInt8], contentType: String?, _ call: Call) throws(RegistryError) -> String {
        let type = mediaType(contentType)
        if let type, schema1MediaTypes.contains(type) { throw schema1(type, call) }
        guard bytes.first(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) == UInt8(ascii: "{"),
              let document = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else {
            let summary = ErrorBody(bytes, contentType: contentType).message.map { ": " + $0 } ?? ""
            throw call.error(.invalidResponse, "the registry's answer is not a JSON manifest (Content-Type \(type ?? "none"))" + summary)
        }
        let field = document["mediaType"] as? String
        if let field, schema1MediaTypes.contains(field) { throw schema1(field, call) }
        if (document["schemaVersion"] as? NSNumber)?.intValue == 1 { throw schema1(field ?? type ?? "schemaVersion 1", call) }
        if let type, isManifestMediaType(type) { return type }
        if let field, !field.isEmpty { return field }
        return document["manifests"] != nil ? MediaType.imageIndex : MediaType.imageManifest
    }

    static func schema1(_ type: String, _ call: Call) -> RegistryError {
        call.error(.unsupported, "the manifest uses Docker schema 1 (\(type)), which kiln does not read; "
            + "copy the image again with a current docker, podman or skopeo to store it as schema 2 or OCI")
    }

    /// Fails when the registry's `Docker-Content-Digest` is not `digest`.
    static func crossCheck(_ headers: HTTPHeaderFields, _ digest: ContentDigest, _ call: Call) throws(RegistryError) {
        guard let header = headers["Docker-Content-Digest"]?.trimmingCharacters(in: .whitespaces), header.hasPrefix("sha256:") else { return }
        guard header == digest.description else {
            throw call.error(.digestMismatch, "the registry's Docker-Content-Digest \(ErrorBody.oneLine(header)) is not the content's digest \(digest)")
        }
    }
}
