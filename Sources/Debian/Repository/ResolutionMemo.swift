internal import Crypto
internal import Foundation
internal import Glibc
import KilnCore
import Plan

/// The last resolution of a packages layer against a given state of its
/// repositories, kept in the download cache
/// (`<cache>/debian/resolutions/<key>.json`, in the lock file's format).
///
/// The key covers the layer's resolution inputs (names, `exclude`,
/// `resolve`, sources, architecture: ``PackagesStrategy/inputsDigest(of:plan:)``)
/// and, per apt source in order, its URI, suite, components and
/// architectures and the SHA-256 of its verified release text. The release
/// names every index by SHA-256 and each index is checked against it, so
/// the same releases mean the same package records and the same resolution:
/// an unchanged repository costs its InRelease (one `304` where the server
/// sends validators) and no index is fetched or parsed. A layer with a
/// `dir:` source is resolved every time (its `.deb`s are local; they are
/// read anyway).
struct ResolutionMemo: Sendable {
    /// Bumped whenever the resolver could choose differently from the same records.
    static let version = 1

    let path: String

    init(cacheDirectory: String, inputs: ContentDigest, releases: [(source: AptSource, sha256: String?)]) {
        let document = JSONValue.object([
            "memo": .integer(Int64(Self.version)),
            "inputs": .string(inputs.description),
            "sources": .array(releases.map { source, sha256 in
                .object([
                    "uri": .string(source.uri), "suite": .string(source.suite),
                    "components": .array(source.components.map { .string($0) }),
                    "architectures": source.architectures.map { .array($0.map { .string($0) }) } ?? .null,
                    "release": sha256.map { .string($0) } ?? .null,
                ])
            }),
        ])
        let key = Hex.string(Array(SHA256.hash(data: LockFile.bytes(document))))
        path = (cacheDirectory as NSString).appendingPathComponent("debian/resolutions/\(key).json")
    }

    /// The remembered resolution, or nil (none, or unreadable: resolved again).
    func load() -> LockedLayer? {
        guard let data = FileManager.default.contents(atPath: path),
              let lock = try? LockFile.decode(Array(data), path: path), let layer = lock.layers["layer"] else { return nil }
        // A use: `kiln cache prune` removes the least recently used first.
        utimensat(AT_FDCWD, path, nil, 0)
        return layer
    }

    /// Remembers `layer`; a failure only costs the next build a resolution.
    func store(_ layer: LockedLayer) {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? AtomicFile.write(LockFile(layers: ["layer": layer]).encoded(), to: path)
    }
}
