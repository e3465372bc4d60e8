/// What every layer strategy is to the build pipeline: a value holding
/// what differs per strategy (the plan's layer, a packages lock, where
/// system sources are read) that prepares that layer's tree.
///
/// Named for what it does rather than `LayerStrategy`, which is the plan's
/// enum of the four `type:`s; a conformer is made from one of its cases.
/// `files`, `build` and `derivation` conform here, `packages` in Debian.
public protocol LayerPreparing: Sendable {
    /// Produces the layer: its tree, the temporary directories its file
    /// contents live in, notes, and the provenance of every path.
    /// - Throws: the strategy's own error type (``FilesStrategyError``,
    ///   ``BuildError``, ``DerivationError``, the packages strategy's).
    func prepare(_ context: StrategyContext) async throws -> PreparedLayer
}
