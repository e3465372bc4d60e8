import Foundation
public import KilnCore
import OCI
public import Registry

/// `kiln push` and `build --push`: the image of a layout (or an
/// oci-archive) sent to a registry.
public enum LayoutPush {
    /// Pushes the image `source` holds to `target`, or to the image's own
    /// `name:tag` when `target` is nil; a target without a tag or digest
    /// gets the image's tag.
    /// - Parameter scratch: an empty directory an archive may be unpacked into.
    /// - Throws: ``LayoutError``, ``RegistryError``, ``PushError``,
    ///   ``LayoutPushError``.
    public static func push(
        source: String, to target: String?, pusher: ImagePusher, scratch: String, extraMounts: [ContentDigest: Repository] = [:]
    ) async throws -> PushResult {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw LayoutPushError.missing(source)
        }
        let reader = try isDirectory.boolValue
            ? LayoutReader(directory: source)
            : LayoutReader.unpackArchive(source, into: scratch)
        let images = try reader.index().images.filter { $0.annotations?[LayoutReader.refNameAnnotation] != nil }
        guard images.count == 1, let image = images.first else {
            throw LayoutPushError.notOneImage(layout: source, refs: images.compactMap { $0.annotations?[LayoutReader.refNameAnnotation] })
        }
        let tag = image.annotations?[LayoutReader.refNameAnnotation]
        var reference: RegistryReference
        if let target {
            do {
                reference = try RegistryReference(parsing: target)
            } catch {
                throw LayoutPushError.badReference("\(error)")
            }
            if reference.tag == nil, reference.digest == nil, let tag { reference = reference.with(tag: tag) }
        } else {
            guard let name = image.annotations?[LayoutReader.imageNameAnnotation] else {
                throw LayoutPushError.noTarget(layout: source)
            }
            do {
                reference = try RegistryReference(parsing: name)
            } catch {
                throw LayoutPushError.badReference("the image's name \(name): \(error)")
            }
        }
        var result = try await pusher.push(image, from: reader, to: reference, extraMounts: extraMounts)
        // The SBOMs attached to the image go with it, as its referrers.
        let artifacts = try reader.index().artifacts.filter { MediaType.isManifest($0.mediaType) }
        if !artifacts.isEmpty {
            var pushed: [ReferrerPush] = []
            for artifact in artifacts {
                pushed.append(try await pusher.pushReferrer(artifact, from: reader, to: Repository(reference)))
            }
            result.referrers = pushed
        }
        return result
    }
}

/// Why a layout cannot be pushed.
public enum LayoutPushError: Error, Sendable, CustomStringConvertible {
    /// The layout names no image, or several.
    case notOneImage(layout: String, refs: [String])
    /// No reference was given and the image names none.
    case noTarget(layout: String)
    /// The reference does not parse.
    case badReference(String)
    /// Nothing is at the source path.
    case missing(String)

    public var description: String {
        switch self {
        case .notOneImage(let layout, let refs) where refs.isEmpty:
            "\(layout): no image with an org.opencontainers.image.ref.name to push"
        case .notOneImage(let layout, let refs):
            "\(layout) holds \(refs.count) images (\(refs.joined(separator: ", "))); kiln pushes a layout of one"
        case .noTarget(let layout):
            "\(layout): the image names no repository (io.containerd.image.name); give the reference to push to"
        case .badReference(let message):
            message
        case .missing(let source):
            "\(source): no such layout directory or oci-archive"
        }
    }
}
