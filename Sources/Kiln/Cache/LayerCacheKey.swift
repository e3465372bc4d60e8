import Crypto
import Archive
public import KilnCore
import OCI
public import Plan
import Strategies

/// The cache identity of a layer: everything its bytes depend on, hashed.
///
/// That is the layer's canonical spec (its name left out: renaming a layer
/// changes nothing in its tar; host paths relative to the context, so a
/// checkout elsewhere shares the keys), the content digests of its host inputs,
/// the timestamp every entry carries, the compressor and its settings, and
/// kiln's layer-format version and the cache entry's version. A packages
/// layer whose resolution is known is keyed by that package set instead
/// of its spec, plus whether the base provides the root (usr-merge links).
public struct LayerCacheKey: Hashable, Sendable, CustomStringConvertible {
    /// SHA-256 of the canonical JSON description.
    public let digest: ContentDigest

    /// - Parameters:
    ///   - inputDigests: digests of the plan's host inputs by absolute path
    ///     (``InputDigester``); every input the layer reads must be present.
    ///   - packages: for a packages layer, a digest of its resolved packages
    ///     (names, versions, SHA-256s in install order).
    ///   - compressor: the compressor's identity; by default
    ///     ``LayerFormat/compressor(_:)`` for the plan's compression, which
    ///     names the zlib or libzstd version (tests pass another).
    public init(layer: LayerSpec, plan: ImageBuildPlan, inputDigests: [String: String], packages: ContentDigest? = nil,
                compressor: String? = nil) throws {
        // Host paths relative to the context: a checkout at another path
        // (a CI workspace) has the same keys; the content digests carry
        // everything the layer's bytes depend on.
        var strategy = try CanonicalJSONEncoder.tree(
            of: layer, userInfo: [ImageBuildPlan.inputDigestsKey: inputDigests, ImageBuildPlan.hostPathBaseKey: plan.context])
        if case .object(var fields) = strategy {
            fields["name"] = nil
            // The check reads what the entry records; it changes no byte.
            fields["check_arch"] = nil
            strategy = .object(fields)
        }
        var description: [String: JSONValue] = [
            "format": .integer(Int64(LayerFormat.version)),
            // An entry of another shape is never looked up (see LayerCacheEntry.version).
            "entry": .integer(Int64(LayerCacheEntry.version)),
            "compressor": .string(compressor ?? LayerFormat.compressor(plan.compression, gzip: plan.gzip)),
            "mtime": .integer(plan.created.secondsSinceEpoch),
            "layer": strategy,
        ]
        // A files or derivation layer's bytes do not depend on the
        // platform: one entry serves every platform of a `platforms:` plan.
        switch layer.strategy {
        case .packages, .build: description["platform"] = .string(plan.platform.description)
        default: break
        }
        if case .packages = layer.strategy {
            description["base_is_scratch"] = .bool(plan.base == .scratch)
            if let packages {
                description["packages"] = .string(packages.description)
                // The layer's bytes are a function of the resolution (each
                // package's name, version, architecture, size and SHA-256),
                // not of how it was obtained: a locked build, an unlocked
                // one that resolved the same set, and a plan naming it
                // through other atoms or another mirror share the entry.
                description["layer"] = .string("packages")
            }
        }
        let bytes = try CanonicalJSONEncoder.serialize(.object(description))
        digest = ContentDigest(sha256Bytes: SHA256.hash(data: bytes))
    }

    public var description: String { digest.description }
}
