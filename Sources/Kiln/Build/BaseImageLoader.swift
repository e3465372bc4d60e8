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

/// Opens `oci:`, `oci-archive:` and registry bases. Layer blobs are
/// verified against their digests when they are imported into the staging
/// layout (one hash per blob, not two); manifests and configs as they are
/// read (a registry's blobs also as they download).
enum BaseImageLoader {
    /// The base, and for a registry base what it resolved to.
    struct Loaded: Sendable {
        var base: LoadedBase?
        var registry: RegistryBase.Resolved?
    }

    static func load(plan: ImageBuildPlan, options: BuildOptions, observer: any BuildObserver, scratch: String) async throws -> Loaded {
        do {
            switch plan.base {
            case .scratch:
                return Loaded()
            case .ociLayout(let path, let ref):
                let reader = try LayoutReader(directory: path)
                return Loaded(base: LoadedBase(image: try reader.image(ref: ref, platform: plan.platform, verifyLayers: false), label: reader.label))
            case .ociArchive(let path, let ref):
                try FileManager.default.createDirectory(atPath: scratch + "/base", withIntermediateDirectories: true)
                let reader = try LayoutReader.unpackArchive(path, into: scratch + "/base")
                return Loaded(base: LoadedBase(image: try reader.image(ref: ref, platform: plan.platform, verifyLayers: false), label: reader.label))
            case .registry(let reference):
                let resolved = try await RegistryBase.load(reference, plan: plan, options: options, observer: observer)
                return Loaded(base: resolved.base, registry: resolved)
            }
        } catch let error as ImageBuildError {
            throw error
        } catch {
            throw ImageBuildError.base(plan.valueLocations["base"].map { BasePlanError(location: $0, error: error) as any Error } ?? error)
        }
    }
}
