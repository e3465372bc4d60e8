import Foundation
import Archive
public import KilnCore
import Glibc
import Synchronization

/// Builds an OCI image layout in a staging directory beside the output, then
/// swaps it in whole.
///
/// The staging directory is a hidden sibling of the output
/// (`.<name>.kiln-<pid>-<random>`), so it is on the same file system: the layer
/// engine writes blobs straight into it (``temporaryBlobPath()`` then
/// ``commitBlob(at:digest:)``), base-image and cached blobs are cloned or
/// copied (never hard-linked: see ``importBlob(from:descriptor:)``), and
/// publishing is a rename, never a copy.
///
/// ``publish()`` replaces the output atomically:
/// - no output yet: `rename(staging, output)`;
/// - an existing layout directory: `renameat2(RENAME_EXCHANGE)` swaps the
///   two in one step, then the old tree (now at the staging path) is
///   deleted. A crash at any point leaves either the old or the new layout
///   at the output path, complete (every file is fsynced before the swap),
///   plus at most a hidden `.<name>.kiln-*` sibling, which the next build
///   of the same output deletes (``WorkDirectoryClaim``).
/// - where the file system cannot exchange: the old layout is renamed aside
///   to `.<name>.kiln-old-<random>`, the new one renamed in, the old one
///   deleted. A failure between the two renames moves the old one back; a
///   crash there leaves the output path empty with the previous layout in
///   the `kiln-old` sibling, from which it can be renamed back by hand.
///
/// The output must be absent, an empty directory or an OCI layout (a
/// directory with `oci-layout`): kiln never replaces anything else. If the
/// staging is released without ``publish()`` (an error anywhere in the
/// build), the staging directory is deleted and the output is untouched.
public final class LayoutStaging: Sendable {
    /// The layout directory being replaced or created.
    public let output: String
    /// The staging directory's path.
    public let directory: String
    /// Published or discarded, and the last temporary blob number given.
    private let state = Mutex<(closed: Bool, nextTemporary: Int, remote: Set<ContentDigest>)>((false, 0, []))
    /// The lock that marks the staging directory as in use.
    private let claim: WorkDirectoryClaim?

    /// Checks the output path and creates the staging directory beside it.
    /// - Throws: ``LayoutError/outputNotDirectory(path:)``,
    ///   ``LayoutError/outputIsSymlink(path:)``, ``LayoutError/outputNotLayout(path:entries:)``,
    ///   ``LayoutError/outputParentMissing(path:parent:)``, or an I/O error.
    public init(output: String) throws(LayoutError) {
        let output = LayoutStaging.absolute(output)
        try LayoutStaging.checkOutput(output)
        let parent = BlobFiles.parent(of: output)
        guard BlobFiles.exists(parent) else { throw .outputParentMissing(path: output, parent: parent) }
        // Staging left by a killed build of this output goes first; this
        // one is claimed for as long as it is used (WorkDirectoryClaim).
        let prefix = "." + BlobFiles.baseName(of: output) + ".kiln-"
        WorkDirectoryClaim.removeAbandoned(in: parent, prefix: prefix)
        let directory = parent + "/" + WorkDirectoryClaim.namePrefix(prefix) + AtomicFile.randomSuffix()
        try BlobFiles.makeDirectory(directory)
        claim = WorkDirectoryClaim(directory)
        do {
            try BlobFiles.makeDirectory(directory + "/blobs")
            try BlobFiles.makeDirectory(directory + "/blobs/sha256")
            try BlobFiles.makeDirectory(directory + "/tmp")
        } catch {
            TreeRemoval.remove(directory)
            throw error
        }
        self.output = output
        self.directory = directory
    }

    deinit {
        if !state.withLock({ $0.closed }) { TreeRemoval.remove(directory) }
    }

    /// The path a blob with `digest` has in the staging layout.
    public func blobPath(_ digest: ContentDigest) -> String {
        directory + "/blobs/" + digest.blobPath
    }

    /// Declares a blob that stays in a registry: the image may name it
    /// without it being staged (a build that only pushes, to a registry
    /// that has it). Such a layout is for that push, not for readers.
    public func declareRemote(_ digest: ContentDigest) {
        _ = state.withLock { $0.remote.insert(digest) }
    }

    /// Whether a blob with `digest` is staged.
    public func hasBlob(_ digest: ContentDigest) -> Bool {
        BlobStore.isRegularFile(blobPath(digest))
    }

    /// The bytes of a small staged blob, or nil (not verified: staged blobs
    /// were verified as they were written).
    public func readSmallBlob(_ digest: ContentDigest, limit: Int) -> [UInt8]? {
        BlobStore.read(blobPath(digest), limit: limit)
    }

    /// A fresh path inside the staging directory (same file system as the
    /// blobs) where a blob can be written before its digest is known.
    public func temporaryBlobPath() -> String {
        let number = state.withLock { state in
            state.nextTemporary += 1
            return state.nextTemporary
        }
        return directory + "/tmp/blob-\(number)"
    }

    /// Moves a finished blob into `blobs/sha256/`. The caller computed
    /// `digest` while writing it; an identical blob already there is kept.
    /// - Parameter path: a file on the staging file system, usually from
    ///   ``temporaryBlobPath()``.
    public func commitBlob(at path: String, digest: ContentDigest) throws(LayoutError) {
        try checkOpen()
        guard rename(path, blobPath(digest)) == 0 else {
            throw .io(operation: "move blob into", path: blobPath(digest), errno: errno)
        }
    }

    /// Adds a blob from elsewhere (a base image's, the cache's): a
    /// copy-on-write clone where the file system makes one, else a copy —
    /// never a hard link, so damaging the cache or the base layout in
    /// place later cannot change this output — verified against
    /// `descriptor` as it is made.
    /// - Throws: ``LayoutError/digestMismatch(path:expected:actual:)`` or
    ///   ``LayoutError/sizeMismatch(path:expected:actual:)`` (nothing is left
    ///   behind), ``LayoutError/blobMissing(path:digest:)``, an I/O error.
    public func importBlob(from source: String, descriptor: Descriptor) throws(LayoutError) {
        try checkOpen()
        let destination = blobPath(descriptor.digest)
        if BlobFiles.exists(destination) { return }
        guard BlobFiles.exists(source) else { throw .blobMissing(path: source, digest: descriptor.digest) }
        let temporary = temporaryBlobPath()
        let found: (digest: ContentDigest, size: Int64)
        do {
            found = try FileHashing.independentCopy(from: source, to: temporary)
        } catch {
            throw LayoutError(error)
        }
        guard found.digest == descriptor.digest else {
            unlink(temporary)
            throw .digestMismatch(path: source, expected: descriptor.digest, actual: found.digest)
        }
        guard found.size == descriptor.size else {
            unlink(temporary)
            throw .sizeMismatch(path: source, expected: descriptor.size, actual: found.size)
        }
        try commitBlob(at: temporary, digest: descriptor.digest)
    }

    /// Writes `value` as canonical JSON into a blob.
    /// - Returns: the blob's descriptor (digest of exactly the bytes written).
    public func writeJSONBlob(_ value: some Encodable, mediaType: String, what: String) throws(LayoutError) -> Descriptor {
        try checkOpen()
        return try writeBlob(LayoutStaging.encode(value, what: what), mediaType: mediaType)
    }

    /// Writes `bytes` as they are into a blob (a manifest as a registry
    /// served it: its digest is of exactly these bytes).
    /// - Returns: the blob's descriptor.
    public func writeBlob(_ bytes: [UInt8], mediaType: String) throws(LayoutError) -> Descriptor {
        try checkOpen()
        let descriptor = Descriptor(mediaType: mediaType, digest: LayoutStaging.digest(of: bytes), size: Int64(bytes.count))
        let path = blobPath(descriptor.digest)
        if !BlobFiles.exists(path) { try BlobFiles.writeNew(bytes, to: path) }
        return descriptor
    }

    /// Writes `index.json` listing `manifests` (each already staged) and
    /// `oci-layout`: a layout of images kiln did not build (`kiln pull`).
    /// - Throws: ``LayoutError/blobNotStaged(digest:)``, an I/O error.
    public func writeIndex(_ manifests: [Descriptor]) throws(LayoutError) {
        try checkOpen()
        for manifest in manifests where !BlobFiles.exists(blobPath(manifest.digest)) {
            throw .blobNotStaged(digest: manifest.digest)
        }
        try BlobFiles.writeNew(LayoutStaging.encode(ImageIndex(manifests: manifests), what: "index.json"), to: directory + "/index.json")
        try BlobFiles.writeNew(LayoutStaging.encode(LayoutMarker(), what: "oci-layout"), to: directory + "/oci-layout")
    }

    /// Writes the config, the manifest, `index.json`, Docker's
    /// `manifest.json` and `oci-layout`. Every layer's blob must be staged.
    /// - Throws: ``LayoutError/blobNotStaged(digest:)``,
    ///   ``LayoutError/layerCountMismatch(what:layers:diffIDs:)``, an I/O error.
    public func writeImage(_ image: LayoutImageSpec) throws(LayoutError) -> WrittenImage {
        let written = try writeManifest(image)
        let index = try writeTag(written.manifest, name: image.name, tag: image.tag, annotations: image.annotations, docker: written)
        return WrittenImage(manifest: index.manifests[0], config: written.config, layers: written.layers, index: index)
    }

    /// Writes an image's config and manifest blobs, not `index.json`.
    /// - Returns: the manifest's descriptor carrying the image's platform,
    ///   as an index lists it.
    /// - Throws: ``LayoutError/blobNotStaged(digest:)``,
    ///   ``LayoutError/layerCountMismatch(what:layers:diffIDs:)``, an I/O error.
    public func writeManifest(_ image: LayoutImageSpec) throws(LayoutError) -> WrittenImage {
        try checkOpen()
        guard image.config.rootfs.diffIDs.count == image.layers.count else {
            throw .layerCountMismatch(what: "the image config", layers: image.layers.count, diffIDs: image.config.rootfs.diffIDs.count)
        }
        let remote = state.withLock { $0.remote }
        for layer in image.layers where !remote.contains(layer.digest) && !BlobFiles.exists(blobPath(layer.digest)) {
            throw .blobNotStaged(digest: layer.digest)
        }
        let config = try writeJSONBlob(image.config, mediaType: MediaType.imageConfig, what: "image config")
        let manifest = ImageManifest(config: config, layers: image.layers, annotations: image.annotations.isEmpty ? nil : image.annotations)
        var entry = try writeJSONBlob(manifest, mediaType: MediaType.imageManifest, what: "image manifest")
        entry.platform = image.platform
        return WrittenImage(manifest: entry, config: config, layers: image.layers, index: ImageIndex(manifests: [entry]))
    }

    /// Writes an image index blob over `manifests` (each with its
    /// platform), for a multi-platform image (SPEC §1.5).
    /// - Returns: its descriptor.
    public func writeImageIndex(_ manifests: [Descriptor], annotations: [String: String]) throws(LayoutError) -> Descriptor {
        try checkOpen()
        for manifest in manifests where !BlobFiles.exists(blobPath(manifest.digest)) { throw .blobNotStaged(digest: manifest.digest) }
        let index = ImageIndex(manifests: manifests, annotations: annotations.isEmpty ? nil : annotations)
        return try writeJSONBlob(index, mediaType: MediaType.imageIndex, what: "image index")
    }

    /// Writes `index.json` with `entry` (an image manifest or an image
    /// index) tagged `name:tag` — `annotations` plus `ref.name` and
    /// `io.containerd.image.name`, which win — `oci-layout`, and Docker's
    /// `manifest.json` listing the image `docker`.
    /// - Returns: `index.json`'s content.
    public func writeTag(_ entry: Descriptor, name: String, tag: String, annotations: [String: String], docker: WrittenImage) throws(LayoutError) -> ImageIndex {
        var entry = entry
        var annotations = annotations
        annotations[LayoutReader.refNameAnnotation] = tag
        annotations[LayoutReader.imageNameAnnotation] = name + ":" + tag
        entry.annotations = annotations
        try writeIndex([entry])
        let manifest = [DockerManifestEntry(
            config: "blobs/" + docker.config.digest.blobPath, repoTags: [name + ":" + tag],
            layers: docker.layers.map { "blobs/" + $0.digest.blobPath })]
        try BlobFiles.writeNew(LayoutStaging.encode(manifest, what: "manifest.json"), to: directory + "/manifest.json")
        return ImageIndex(manifests: [entry])
    }

    /// Replaces the output with the staging directory (see the type's
    /// documentation for the exact steps). After this the staging object is
    /// closed.
    /// - Throws: the output checks of ``init(output:)`` (the output may have
    ///   changed meanwhile), an I/O error; the previous output is intact then.
    public func publish() throws(LayoutError) {
        try publish(exchange: true)
    }

    /// ``publish()``, with the exchange step optional so tests reach the
    /// rename-aside path on file systems that support exchanging.
    func publish(exchange: Bool) throws(LayoutError) {
        try checkOpen()
        TreeRemoval.remove(directory + "/tmp")
        try BlobFiles.syncTree(directory)
        try LayoutStaging.checkOutput(output)
        let parent = BlobFiles.parent(of: output)
        if try BlobFiles.kind(at: output) == .missing {
            guard rename(directory, output) == 0 else { throw .io(operation: "rename \(directory) to", path: output, errno: errno) }
        } else if exchange, try BlobFiles.exchange(directory, output) {
            // The previous layout now sits at the staging path.
            TreeRemoval.remove(directory)
        } else {
            let aside = parent + "/." + BlobFiles.baseName(of: output) + ".kiln-old-" + AtomicFile.randomSuffix()
            guard rename(output, aside) == 0 else { throw .io(operation: "move aside", path: output, errno: errno) }
            guard rename(directory, output) == 0 else {
                let code = errno
                _ = rename(aside, output)
                throw .io(operation: "rename \(directory) to", path: output, errno: code)
            }
            TreeRemoval.remove(aside)
        }
        state.withLock { $0.closed = true }
        BlobFiles.syncDirectory(parent)
    }

    /// Deletes the staging directory without touching the output. Also done
    /// when the staging object is released unpublished.
    public func discard() {
        let wasClosed = state.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        if !wasClosed { TreeRemoval.remove(directory) }
    }

    private func checkOpen() throws(LayoutError) {
        if state.withLock({ $0.closed }) { throw .stagingClosed(path: directory) }
    }

    private static func checkOutput(_ output: String) throws(LayoutError) {
        switch try BlobFiles.kind(at: output) {
        case .missing: return
        case .symlink: throw .outputIsSymlink(path: output)
        case .regular, .other: throw .outputNotDirectory(path: output)
        case .directory:
            if BlobFiles.exists(output + "/oci-layout") {
                let strangers = strangerFiles(in: output)
                guard strangers.isEmpty else { throw .outputHoldsOtherFiles(path: output, files: strangers) }
                return
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? ["?"]
            guard contents.isEmpty else { throw .outputNotLayout(path: output, entries: contents.sorted()) }
        }
    }

    /// What in the layout `directory` no layout (kiln's or another tool's)
    /// holds, relative to it, sorted: the output is replaced whole, so a
    /// file put beside a layout would be deleted with it. A layout holds
    /// `oci-layout`, `index.json`, Docker's `manifest.json`, and
    /// `blobs/<algorithm>/<encoded>` regular files.
    static func strangerFiles(in directory: String) -> [String] {
        let layoutFiles: Set<String> = ["oci-layout", "index.json", "manifest.json"]
        let fileManager = FileManager.default
        var strangers: [String] = []
        for name in (try? fileManager.contentsOfDirectory(atPath: directory)) ?? [] {
            if layoutFiles.contains(name), (try? BlobFiles.kind(at: directory + "/" + name)) == .regular { continue }
            guard name == "blobs", (try? BlobFiles.kind(at: directory + "/blobs")) == .directory else {
                strangers.append(name)
                continue
            }
            for algorithm in (try? fileManager.contentsOfDirectory(atPath: directory + "/blobs")) ?? [] {
                let folder = "blobs/" + algorithm
                guard (try? BlobFiles.kind(at: directory + "/" + folder)) == .directory else {
                    strangers.append(folder)
                    continue
                }
                for blob in (try? fileManager.contentsOfDirectory(atPath: directory + "/" + folder)) ?? []
                where (try? BlobFiles.kind(at: directory + "/" + folder + "/" + blob)) != .regular {
                    strangers.append(folder + "/" + blob)
                }
            }
        }
        return strangers.sorted()
    }

    private static func absolute(_ path: String) -> String {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed.hasPrefix("/") { return trimmed }
        return FileManager.default.currentDirectoryPath + "/" + trimmed
    }

    static func encode(_ value: some Encodable, what: String) throws(LayoutError) -> [UInt8] {
        do {
            return try CanonicalJSONEncoder().encode(value)
        } catch {
            throw .encoding(what: what, error: error)
        }
    }

    static func digest(of bytes: [UInt8]) -> ContentDigest {
        BlobDigest.sha256(bytes)
    }
}

/// What ``LayoutStaging/writeImage(_:)`` needs to describe one image.
public struct LayoutImageSpec: Hashable, Sendable {
    /// Repository, e.g. `registry.example.com/team/app`.
    public var name: String
    /// Written as the index descriptor's `org.opencontainers.image.ref.name`,
    /// which is what `oci:DIR:TAG` selects.
    public var tag: String
    /// Goes on the index's manifest descriptor.
    public var platform: Platform
    /// The finished config (diff_ids in layer order).
    public var config: ImageConfig
    /// Layer descriptors, bottom first, each already staged.
    public var layers: [Descriptor]
    /// The plan's annotations: on the manifest and on the index descriptor
    /// (where kiln's `ref.name` and `io.containerd.image.name` win).
    public var annotations: [String: String]

    /// Memberwise; `annotations` defaults to none.
    public init(name: String, tag: String, platform: Platform, config: ImageConfig, layers: [Descriptor], annotations: [String: String] = [:]) {
        self.name = name
        self.tag = tag
        self.platform = platform
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}

/// What ``LayoutStaging/writeImage(_:)`` (or ``LayoutStaging/writeManifest(_:)``) wrote.
public struct WrittenImage: Hashable, Sendable {
    /// The manifest's descriptor as `index.json` holds it (from
    /// `writeManifest`: with its platform, no annotations).
    public var manifest: Descriptor
    /// The config blob's descriptor.
    public var config: Descriptor
    /// The layers' descriptors, bottom first.
    public var layers: [Descriptor]
    /// `index.json`'s content.
    public var index: ImageIndex
}
