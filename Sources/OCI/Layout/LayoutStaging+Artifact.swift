import Glibc
public import KilnCore

extension LayoutStaging {
    /// The empty JSON blob (`{}`), the config of every artifact manifest.
    public static let emptyConfig: [UInt8] = Array("{}".utf8)

    /// Stages an OCI 1.1 artifact that refers to `subject`, the way oras
    /// and cosign store one: an image manifest
    /// (`application/vnd.oci.image.manifest.v1+json`) with `artifactType`,
    /// the empty config descriptor, one layer holding `document` (media
    /// type `artifactType`), and `subject`. It is listed in `index.json`
    /// after the images, with its `artifactType` and no `ref.name`, so
    /// tools that pick an image by its tag never see it; the image's own
    /// manifest does not change.
    ///
    /// Call after ``writeImage(_:)`` (or ``writeIndex(_:)``), once per
    /// artifact (a multi-platform build attaches one per platform image).
    /// - Returns: the artifact manifest's descriptor as `index.json` lists it.
    /// - Throws: ``LayoutError/blobNotStaged(digest:)`` when `subject` is
    ///   not staged, an I/O error.
    public func attachArtifact(_ document: [UInt8], artifactType: String, subject: Descriptor, annotations: [String: String] = [:]) throws(LayoutError) -> Descriptor {
        guard hasBlob(subject.digest) else { throw .blobNotStaged(digest: subject.digest) }
        let manifest = try LayoutStaging.artifactManifest(
            document: writeBlob(document, mediaType: artifactType), artifactType: artifactType,
            config: writeBlob(LayoutStaging.emptyConfig, mediaType: MediaType.emptyJSON), subject: subject, annotations: annotations)
        var entry = try writeJSONBlob(manifest, mediaType: MediaType.imageManifest, what: "artifact manifest")
        entry.artifactType = artifactType
        entry.annotations = annotations.isEmpty ? nil : annotations
        let indexPath = directory + "/index.json"
        var index: ImageIndex = try decode(BlobFiles.readSmall(indexPath, limit: LayoutReader.documentLimit), path: indexPath, what: "image index")
        if !index.manifests.contains(entry) { index.manifests.append(entry) }
        let temporary = temporaryBlobPath()
        try BlobFiles.writeNew(LayoutStaging.encode(index, what: "index.json"), to: temporary)
        guard rename(temporary, indexPath) == 0 else { throw .io(operation: "replace", path: indexPath, errno: errno) }
        return entry
    }

    /// The artifact manifest ``attachArtifact(_:artifactType:subject:annotations:)``
    /// writes (also what a push of a computed SBOM sends).
    public static func artifactManifest(
        document: Descriptor, artifactType: String, config: Descriptor, subject: Descriptor, annotations: [String: String]
    ) -> ImageManifest {
        // The subject is named by what identifies it: media type, digest,
        // size; not the layout's annotations or platform.
        let subject = Descriptor(mediaType: subject.mediaType, digest: subject.digest, size: subject.size)
        return ImageManifest(
            artifactType: artifactType, config: config, layers: [document], subject: subject,
            annotations: annotations.isEmpty ? nil : annotations)
    }
}
