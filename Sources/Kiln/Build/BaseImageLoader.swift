import Foundation
import KilnCore
import OCI
import Plan

/// A base image found and verified.
struct LoadedBase: Sendable {
    var image: LayoutImage
    /// The layout as the plan names it: its directory, or the archive an
    /// `oci-archive:` base was unpacked from.
    var label: String

    /// `error` about a layer's blob, naming the blob inside ``label`` rather
    /// than the temporary directory an archive was unpacked into.
    func naming(_ error: LayoutError, of layer: LayoutLayer) -> LayoutError {
        let shown = label + "/blobs/" + layer.descriptor.digest.blobPath
        switch error {
        case .digestMismatch(_, let expected, let actual): return .digestMismatch(path: shown, expected: expected, actual: actual)
        case .sizeMismatch(_, let expected, let actual): return .sizeMismatch(path: shown, expected: expected, actual: actual)
        case .blobMissing(_, let digest): return .blobMissing(path: shown, digest: digest)
        default: return error
        }
    }
}

/// Opens `oci:` and `oci-archive:` bases. Layer blobs are verified against
/// their digests when they are imported into the staging layout (one hash
/// per blob, not two); manifests and configs as they are read.
enum BaseImageLoader {
    static func load(_ base: BaseImage, platform: Platform, scratch: String) throws -> LoadedBase? {
        do {
            switch base {
            case .scratch:
                return nil
            case .ociLayout(let path, let ref):
                let reader = try LayoutReader(directory: path)
                return LoadedBase(image: try reader.image(ref: ref, platform: platform, verifyLayers: false), label: reader.label)
            case .ociArchive(let path, let ref):
                try FileManager.default.createDirectory(atPath: scratch + "/base", withIntermediateDirectories: true)
                let reader = try LayoutReader.unpackArchive(path, into: scratch + "/base")
                return LoadedBase(image: try reader.image(ref: ref, platform: platform, verifyLayers: false), label: reader.label)
            }
        } catch {
            throw ImageBuildError.base(error)
        }
    }
}
