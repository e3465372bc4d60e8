import KilnCore
import Plan

/// The input digests a layer's provenance names: a build layer records its
/// command's inputs with their content digests (the same digests its cache
/// key covers).
enum ProvenanceInputs {
    /// Digests of the layer's host inputs by absolute path; empty for
    /// layers whose provenance names none.
    ///
    /// With the cache the key has already digested them and `digester`
    /// remembers, so this costs nothing; with `--no-cache` they are hashed
    /// here, once. An input that cannot be digested is left out (its
    /// provenance says nil), so the strategy, not this, reports why it
    /// cannot be read, as it always has.
    /// - Parameter digester: the build cache's digester, or one on the
    ///   build's pool.
    static func digests(of layer: LayerSpec, digester: InputDigester) -> [String: ContentDigest] {
        guard case .build = layer.strategy else { return [:] }
        var digests: [String: ContentDigest] = [:]
        for path in layer.hostInputs {
            digests[path] = try? digester.digest(of: path)
        }
        return digests
    }
}
