public import KilnCore
public import OCI

/// Where pulled blobs go: a layout being staged (`kiln pull`) or the
/// cache's blob store (registry bases).
public protocol BlobDestination: Sendable {
    /// The path the blob with `digest` has (or will have) there.
    func blobPath(_ digest: ContentDigest) -> String
    /// Whether the blob is there already (nothing to fetch).
    func hasBlob(_ digest: ContentDigest) -> Bool
    /// Stores a manifest's bytes exactly as they are.
    func writeBlob(_ bytes: [UInt8], mediaType: String) throws -> Descriptor
    /// The bytes of a small blob that is there, or nil.
    func readSmallBlob(_ digest: ContentDigest, limit: Int) -> [UInt8]?
}

extension LayoutStaging: BlobDestination {}
extension BlobStore: BlobDestination {}
