internal import Foundation
public import KilnCore
internal import KilnHTTP
public import OCI
internal import Crypto

extension RegistryClient {
    /// Uploads a manifest that has a `subject` (an SBOM artifact) by its
    /// digest, as ``putManifest(_:reference:bytes:mediaType:)`` does.
    /// - Returns: the digest, and whether the registry answered with
    ///   `OCI-Subject` (distribution-spec 1.1): then it keeps the referrers
    ///   list itself; otherwise the caller maintains the referrers tag.
    public func putReferrer(_ repository: Repository, bytes: [UInt8], mediaType: String) async throws(RegistryError) -> (digest: ContentDigest, subjectProcessed: Bool) {
        let digest = ContentDigest(sha256Bytes: SHA256.hash(data: bytes))
        let call = Call.writing(repository, subject: Self.subject(digest.description))
        let url = try url(repository, "manifests/" + digest.description, call: call)
        let response = try await exchange(call, "PUT", url, headers: ["Content-Type": mediaType], body: .bytes(bytes))
        guard (200...299).contains(response.status) else { throw await unexpected(response, call) }
        try Self.crossCheck(response.headers, digest, call)
        return (digest, response.headers["OCI-Subject"] != nil)
    }

    /// The referrers of `subject` (distribution-spec 1.1): from the
    /// referrers API when the registry has it, else from the referrers tag
    /// `sha256-<hex>` (the fallback oras and cosign use). Empty when
    /// neither knows any.
    /// - Throws: ``RegistryError`` for failures other than "not found".
    public func referrers(_ repository: Repository, of subject: ContentDigest) async throws(RegistryError) -> [Descriptor] {
        let call = Call.reading(.pulling, repository, subject: "@" + subject.description)
        let url = try url(repository, "referrers/" + subject.description, call: call)
        let response = try await exchange(call, "GET", url, headers: ["Accept": MediaType.imageIndex])
        if response.status == 200, Self.mediaType(response.headers["Content-Type"]) == MediaType.imageIndex {
            let bytes: [UInt8]
            do {
                bytes = try await response.body.collect(upTo: Self.manifestLimit)
            } catch {
                throw call.error(.invalidResponse, "the referrers list could not be read: \(error)")
            }
            if let index = try? JSONDecoder().decode(ImageIndex.self, from: Data(bytes)) { return index.manifests }
            throw call.error(.invalidResponse, "the referrers list is not an image index")
        }
        _ = await Self.prefix(of: response.body, limit: 4096)
        guard response.status == 404 || response.status == 405 || response.status == 400 || response.status == 200 else {
            throw await unexpected(response, call)
        }
        return try await referrersTag(repository, of: subject)?.manifests ?? []
    }

    /// The index under the referrers tag of `subject`, or nil.
    public func referrersTag(_ repository: Repository, of subject: ContentDigest) async throws(RegistryError) -> ImageIndex? {
        let tag = Self.referrersTag(of: subject)
        do {
            let fetched = try await fetchManifest(repository, reference: tag)
            return try? JSONDecoder().decode(ImageIndex.self, from: Data(fetched.bytes))
        } catch {
            if error.kind == .notFound { return nil }
            throw error
        }
    }

    /// `sha256-<hex>`: the tag the referrers tag schema keeps a subject's
    /// referrers under.
    public static func referrersTag(of subject: ContentDigest) -> String {
        "sha256-" + subject.hex
    }
}
