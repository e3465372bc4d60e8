public import Archive
public import KilnCore

/// The media types kiln writes and reads.
public enum MediaType {
    /// An OCI image manifest.
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    /// An OCI image index.
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    /// An OCI image config.
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    /// An uncompressed layer tar.
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    /// A gzip-compressed layer tar.
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// A zstd-compressed layer tar.
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"

    /// The empty JSON blob `{}`: the config of an artifact manifest (OCI 1.1).
    public static let emptyJSON = "application/vnd.oci.empty.v1+json"

    /// Docker's schema 2 manifest, accepted in base images.
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    /// Docker's manifest list, accepted in base images.
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// Docker's image config, accepted in base images.
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    /// Docker's gzip layer, accepted in base images.
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// Docker's uncompressed layer, accepted in base images.
    public static let dockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

    /// Whether the media type names a manifest (OCI or Docker).
    public static func isManifest(_ mediaType: String) -> Bool {
        mediaType == imageManifest || mediaType == dockerManifest
    }

    /// Whether the media type names an index (OCI) or manifest list (Docker).
    public static func isIndex(_ mediaType: String) -> Bool {
        mediaType == imageIndex || mediaType == dockerManifestList
    }

    /// How a layer blob of this media type is compressed, or nil when the
    /// media type is not a layer kiln can read. The non-distributable
    /// variants count as their distributable twins.
    public static func layerCompression(_ mediaType: String) -> DecompressionFormat? {
        switch mediaType.replacingNondistributable {
        case layerTar, dockerLayerTar: DecompressionFormat.none
        case layerTarGzip, dockerLayerGzip: .gzip
        case layerTarZstd: .zstd
        default: nil
        }
    }
}

extension String {
    fileprivate var replacingNondistributable: String {
        let prefix = "application/vnd.oci.image.layer.nondistributable.v1.tar"
        guard hasPrefix(prefix) else { return self }
        return MediaType.layerTar + dropFirst(prefix.count)
    }
}

extension MediaType {
    /// The OCI media type of a layer with the same bytes: a Docker schema 2
    /// layer (a base pulled from a Docker registry) becomes its OCI twin in
    /// the OCI manifest kiln writes, which OCI tools require; the blob and
    /// its digest stay as they are.
    public static func ociLayer(_ mediaType: String) -> String {
        switch mediaType {
        case dockerLayerGzip: layerTarGzip
        case dockerLayerTar: layerTar
        default: mediaType
        }
    }

    /// The layer media type kiln writes for a plan's compression.
    public static func layer(_ compression: Compression) -> String {
        switch compression {
        case .gzip: layerTarGzip
        case .zstd: layerTarZstd
        case .none: layerTar
        }
    }
}

extension MediaType {
    /// A WebAssembly module or component stored as it is, one per layer,
    /// as containerd's runwasi reads it (kiln's `wasm` layers).
    public static let wasmLayer = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm"
}
