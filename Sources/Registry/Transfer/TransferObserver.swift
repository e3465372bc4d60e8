public import OCI

/// Hears about blob transfers as they happen, from any task: what the
/// terminal shows as live lines (bytes, throughput, ETA) and counts.
public protocol TransferObserver: Sendable {
    /// A blob starts moving (`size` bytes, from its descriptor).
    func transferStarted(_ blob: Descriptor, direction: TransferDirection)
    /// Bytes of a blob moved so far (`done` of `total`).
    func transferProgressed(_ blob: Descriptor, done: Int64, total: Int64)
    /// A blob needs no more work, and why.
    func transferFinished(_ blob: Descriptor, outcome: TransferOutcome)
}

/// Which way a blob goes.
public enum TransferDirection: Sendable {
    case download, upload
}

/// How a blob came to be where it is needed.
public enum TransferOutcome: String, Sendable {
    /// Sent to the registry.
    case uploaded
    /// Mounted from another repository on the same registry.
    case mounted
    /// The registry had it already.
    case existing
    /// Fetched from the registry.
    case downloaded
    /// Already on disk (the cache, or an earlier blob of the same pull).
    case cached
}

/// An observer that ignores everything.
public struct SilentTransfers: TransferObserver {
    /// The observer.
    public init() {}
    public func transferStarted(_ blob: Descriptor, direction: TransferDirection) {}
    public func transferProgressed(_ blob: Descriptor, done: Int64, total: Int64) {}
    public func transferFinished(_ blob: Descriptor, outcome: TransferOutcome) {}
}
