import Foundation
public import KilnCore
import OCI
public import Plan
public import Registry

/// A registry base (SPEC §1.3): the tag resolved once and pinned in the
/// lock file, the platform's manifest chosen from an index, every blob
/// verified as it downloads and kept in the cache's blob store
/// (`<cache>/registry`, an OCI layout without an index), so a rebuild and
/// a locked build read it from disk with no network.
enum RegistryBase {
    /// What the base was taken from, for the lock file, the note and the
    /// image's `base.name`/`base.digest` annotations.
    struct Resolved: Sendable {
        var base: LoadedBase
        var pin: LockedBase
        /// Whether the lock file gave the digest (else the tag was resolved now).
        var pinned: Bool
    }

    /// The cache's store of registry blobs.
    static func store(cacheDirectory: String) throws -> BlobStore {
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        return try BlobStore(directory: cacheDirectory + "/registry")
    }

    /// Loads the base of `plan`, taking its pin from the plan's lock file
    /// when the lock pins this reference; with `--locked` it must.
    static func load(_ reference: RegistryReference, plan: ImageBuildPlan, options: BuildOptions, observer: any BuildObserver) async throws -> Resolved {
        let lockPath = LockFile.path(for: plan)
        var pin: LockedBase?
        if FileManager.default.fileExists(atPath: lockPath) {
            do {
                pin = try LockFile.read(from: lockPath).base
            } catch {
                throw ImageBuildError.lock((options.locked ? "--locked: " : "") + "\(error)")
            }
        } else if options.locked {
            throw ImageBuildError.lock("--locked: \(LockFileError.missing(path: lockPath))")
        }
        let current = pin.flatMap { $0.reference == reference.description ? $0.pin(for: plan) : nil }
        if options.locked, current == nil {
            let why = pin.map { pin in
                pin.reference == reference.description
                    ? "does not pin the base \(reference.description) for \(plan.platform)"
                    : "pins the base \(pin.reference), but the plan says \(reference.description)"
            } ?? "does not pin the base \(reference.description)"
            throw ImageBuildError.lock("--locked: \(lockPath) \(why); run `kiln lock`")
        }
        let resolved = try await RegistryClient.session(options.registry) { client in
            let puller = ImagePuller(client: client, jobs: options.jobs, observer: observer)
            return try await load(reference, pin: current, platform: plan.platform, puller: puller, store: store(cacheDirectory: options.cacheDirectory))
        }
        if !resolved.pinned {
            observer.note("base \(reference.description) resolved to \(resolved.pin.digest) (not pinned by \(lockPath); `kiln lock` pins it)")
        }
        return resolved
    }

    /// Fetches what the store lacks of the base: the pinned platform
    /// manifest by digest (read from the store when it is there), else
    /// what the reference's tag names now.
    static func load(_ reference: RegistryReference, pin: LockedBase?, platform: Platform, puller: ImagePuller, store: BlobStore) async throws -> Resolved {
        let pulled = try await puller.pull(
            pin.map { reference.with(digest: $0.manifest) } ?? reference, selection: .platform(platform), into: store)
        let reader = try LayoutReader(directory: store.directory)
        let image = try reader.image(descriptor: pulled.image, reference: reference.description, platform: platform, verifyLayers: false)
        return Resolved(
            base: LoadedBase(image: image, label: store.directory),
            pin: pin ?? LockedBase(reference: reference.description, digest: pulled.digest, manifest: pulled.image.digest),
            pinned: pin != nil)
    }
}

/// `kiln lock` for a registry base: what the reference's tag names now.
public enum BaseLock {
    /// Resolves `reference` for `platform` and fetches the base into the
    /// cache (so the next build needs no network for it).
    /// - Returns: the pin the lock file records.
    public static func resolve(_ reference: RegistryReference, platform: Platform, registry: RegistryOptions, cacheDirectory: String) async throws -> LockedBase {
        try await RegistryClient.session(registry) { client in
            let puller = ImagePuller(client: client, jobs: 4)
            return try await RegistryBase.load(reference, pin: nil, platform: platform, puller: puller, store: RegistryBase.store(cacheDirectory: cacheDirectory)).pin
        }
    }
}
