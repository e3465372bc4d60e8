internal import Foundation
public import KilnCore
public import OCI

/// One artifact pushed as a referrer of the image (an SBOM).
public struct ReferrerPush: Sendable, Hashable, Codable {
    /// The artifact manifest's digest.
    public var digest: ContentDigest
    /// Its `artifactType`.
    public var artifactType: String
    /// The manifest it refers to.
    public var subject: ContentDigest
    /// `referrers-api` when the registry answered with `OCI-Subject` (it
    /// lists referrers itself), else `referrers-tag`: the artifact was
    /// added to the index under the tag `sha256-<hex of subject>`.
    public var via: String
    /// Blobs sent (the empty config, the document).
    public var uploaded: Int

    enum CodingKeys: String, CodingKey {
        case digest, subject, via, uploaded
        case artifactType = "artifact_type"
    }
}

extension ImagePusher {
    /// Pushes the artifact `artifact` (an entry of the layout's
    /// `index.json` whose manifest has a `subject`) to `repository`: its
    /// blobs (skipped when there), its manifest by digest, and, where the
    /// registry does not answer with `OCI-Subject`, the referrers tag
    /// schema's index (distribution-spec 1.1): the tag `sha256-<hex>` of
    /// the subject holds an image index of its referrers' descriptors,
    /// merged with what the tag already listed.
    /// - Throws: ``RegistryError``, ``LayoutError``, ``PushError``.
    public func pushReferrer(_ artifact: Descriptor, from layout: LayoutReader, to repository: Repository) async throws -> ReferrerPush {
        let bytes = try layout.readBlob(artifact)
        let manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(bytes))
        guard let subject = manifest.subject else {
            throw PushError.unsupportedMediaType(digest: artifact.digest, mediaType: artifact.mediaType + " without a subject")
        }
        var uploaded = 0
        for blob in [manifest.config] + manifest.layers {
            if try await client.blobExists(repository, digest: blob.digest) { continue }
            try layout.verifyBlob(blob)
            try await client.uploadBlob(repository, descriptor: blob, from: layout.blobPath(blob.digest), progress: nil)
            uploaded += 1
        }
        let mediaType = manifest.mediaType ?? MediaType.imageManifest
        let (digest, processed) = try await client.putReferrer(repository, bytes: bytes, mediaType: mediaType)
        let artifactType = manifest.artifactType ?? manifest.config.mediaType
        if !processed {
            // The descriptor a referrers list holds: artifactType and the
            // manifest's annotations (distribution-spec 1.1).
            let entry = Descriptor(
                mediaType: mediaType, digest: digest, size: Int64(bytes.count), annotations: manifest.annotations, artifactType: artifactType)
            var index = try await client.referrersTag(repository, of: subject.digest) ?? ImageIndex(manifests: [])
            if !index.manifests.contains(where: { $0.digest == digest }) {
                index.manifests.append(entry)
                let encoded = try CanonicalJSONEncoder().encode(index)
                _ = try await client.putManifest(
                    repository, reference: RegistryClient.referrersTag(of: subject.digest), bytes: encoded, mediaType: MediaType.imageIndex)
            }
        }
        return ReferrerPush(
            digest: digest, artifactType: artifactType, subject: subject.digest, via: processed ? "referrers-api" : "referrers-tag", uploaded: uploaded)
    }
}
