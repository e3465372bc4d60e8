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
    /// - Parameter platform: push only this platform's image of a
    ///   multi-platform layout (under the same tag); nil pushes it all.
    public static func push(
        source: String, to target: String?, pusher: ImagePusher, scratch: String, extraMounts: [ContentDigest: Repository] = [:],
        platform: Platform? = nil
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
        let pushed = try platform.map { try choose($0, from: image, in: reader, layout: source) } ?? image
        var result = try await pusher.push(pushed, from: reader, to: reference, extraMounts: extraMounts)
        // The SBOMs attached to the image go with it, as its referrers (with
        // --platform, only those about the platform's image).
        var artifacts = try reader.index().artifacts.filter { MediaType.isManifest($0.mediaType) }
        if pushed.digest != image.digest {
            artifacts = try artifacts.filter { artifact in
                let manifest: ImageManifest = try reader.readJSONBlob(artifact, what: "artifact manifest")
                return manifest.subject?.digest == pushed.digest
            }
        }
        if !artifacts.isEmpty {
            var referrers: [ReferrerPush] = []
            for artifact in artifacts {
                referrers.append(try await pusher.pushReferrer(artifact, from: reader, to: Repository(reference)))
            }
            result.referrers = referrers
        }
        return result
    }

    /// The manifest for `platform` in the image `entry` names: one of an
    /// index's, or the manifest itself when its platform matches.
    private static func choose(_ platform: Platform, from entry: Descriptor, in reader: LayoutReader, layout: String) throws -> Descriptor {
        guard MediaType.isIndex(entry.mediaType) else {
            if let own = entry.platform, !own.satisfies(platform) { throw LayoutPushError.noSuchPlatform(layout: layout, platform: platform, held: [own]) }
            return entry
        }
        let index: ImageIndex = try reader.readJSONBlob(entry, what: "image index")
        guard let chosen = index.manifests.first(where: { $0.platform?.satisfies(platform) ?? false }) else {
            throw LayoutPushError.noSuchPlatform(layout: layout, platform: platform, held: index.manifests.compactMap(\.platform))
        }
        return chosen
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
    /// `--platform` names a platform the image does not hold.
    case noSuchPlatform(layout: String, platform: Platform, held: [Platform])

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
        case .noSuchPlatform(let layout, let platform, let held):
            "\(layout) holds no image for \(platform) (platforms: \(held.map(\.description).joined(separator: ", ")))"
        }
    }
}
