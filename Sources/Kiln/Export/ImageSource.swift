import Foundation
import KilnCore
import OCI
public import Registry

/// An image a command names (`kiln export`, `kiln sbom`): an OCI layout
/// directory, an oci-archive, or — when no such path exists — a registry
/// reference, pulled into a layout.
enum ImageSource {
    /// The layout holding the image, and the registry reference it was
    /// pulled from, if it was.
    /// - Parameters:
    ///   - platform: for a registry, the platform pulled (default: this machine's).
    ///   - scratch: an empty private directory for an unpacked archive or
    ///     a pulled image.
    ///   - puller: how registry references are fetched; nil refuses them.
    static func open(_ source: String, platform: Platform?, scratch: String, puller: ImagePuller?) async throws -> (LayoutReader, RegistryReference?) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) {
            return (isDirectory.boolValue ? try LayoutReader(directory: source) : try LayoutReader.unpackArchive(source, into: scratch), nil)
        }
        guard let reference = try? RegistryReference(parsing: source) else { throw ExportError.noSuchSource(source) }
        guard let puller else { throw ExportError.registryUnavailable(source) }
        let pulled = scratch + "/pulled"
        _ = try await LayoutPull.pull(reference, selection: .platform(platform ?? Platform.host), output: pulled, puller: puller)
        return (try LayoutReader(directory: pulled), reference)
    }
}
