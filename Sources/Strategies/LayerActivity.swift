/// What a layer is doing before its tree streams, for the live line of a
/// terminal (SPEC §4): fetching files, running its command.
///
/// Strategies report activity through ``StrategyContext/activity``, from
/// any thread and as often as their work moves; the observer decides how
/// often to draw.
public enum LayerActivity: Sendable, Equatable {
    /// Files are being fetched: `done` bytes of `total` (0 when the total
    /// is not known yet). `label` says what, e.g. `fetching 3/12 packages`.
    case transfer(label: String, done: Int64, total: Int64)
    /// The layer's command started; its output lines follow through
    /// ``StrategyContext/log``.
    case running(command: String)
}

extension LayerActivity {
    /// Whether both are transfers or both are commands (a new kind starts
    /// a new clock for throughput and elapsed time).
    public func sameKind(as other: LayerActivity) -> Bool {
        switch (self, other) {
        case (.transfer, .transfer), (.running, .running): true
        default: false
        }
    }
}
