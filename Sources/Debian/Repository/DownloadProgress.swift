import Strategies
internal import Synchronization

/// Sums up a layer's downloads for its live line (SPEC §4): bytes done of
/// the total where it is known, reported as one ``LayerActivity/transfer``
/// however many files are fetched at once; and a plain line through the
/// build's log as each file is done.
///
/// The total is the planned packages' sizes (known from the index or the
/// lock before anything is fetched) once ``expect(files:bytes:)`` is told,
/// else the sum of the running downloads' `Content-Length`s (0, unknown,
/// while any of them has none).
final class DownloadProgress: Sendable {
    private struct Active {
        var name: String
        var received: Int64 = 0
        var expected: Int64 = -1
    }

    private struct State {
        var next = 0
        var active: [Int: Active] = [:]
        var plannedFiles = 0
        var plannedBytes: Int64 = 0
        var finishedFiles = 0
        var finishedBytes: Int64 = 0
    }

    /// The build's log (also for lines a fetch writes itself).
    let log: @Sendable (String) -> Void
    private let activity: @Sendable (LayerActivity) -> Void
    private let state = Mutex(State())

    init(log: @escaping @Sendable (String) -> Void, activity: @escaping @Sendable (LayerActivity) -> Void) {
        self.log = log
        self.activity = activity
    }

    /// Announces `files` packages of `bytes` in all, about to be fetched
    /// (some may come from the cache: see ``skip(bytes:)``).
    func expect(files: Int, bytes: Int64) {
        report { state in
            state.plannedFiles += files
            state.plannedBytes += bytes
        }
    }

    /// A planned file came from the cache: it counts as done and its bytes
    /// leave the total, so throughput and ETA measure the network only.
    func skip(bytes: Int64) {
        report { state in
            guard state.plannedFiles > 0 else { return }
            state.finishedFiles += 1
            state.plannedBytes -= bytes
        }
    }

    /// Registers a download; returns its ticket.
    func begin(_ url: String) -> Int {
        let name = url.split(separator: "/").last.map(String.init) ?? url
        var ticket = 0
        report { state in
            state.next += 1
            state.active[state.next] = Active(name: name)
            ticket = state.next
        }
        return ticket
    }

    func update(_ ticket: Int, received: Int64, expected: Int64) {
        report { state in
            state.active[ticket]?.received = received
            state.active[ticket]?.expected = expected
        }
    }

    /// Ends a successful download with a plain line: a planned package by
    /// its file name (the lock and `--json` have the URL), anything else
    /// (an index) by its URL, which says which mirror and suite it was.
    func end(_ ticket: Int, url: String, size: Int64) {
        var name: String?
        report { state in
            name = state.plannedFiles > 0 ? state.active[ticket]?.name : nil
            guard state.active.removeValue(forKey: ticket) != nil else { return }
            state.finishedFiles += 1
            state.finishedBytes += size
        }
        log("fetched \(name ?? url) (\(DownloadProgress.size(size)))")
    }

    /// Ends a failed attempt silently (the caller reports the error; a
    /// retry begins again).
    func cancel(_ ticket: Int) {
        report { state in _ = state.active.removeValue(forKey: ticket) }
    }

    /// Changes the state and reports the sum, outside the lock.
    private func report(_ change: (inout State) -> Void) {
        let summary = state.withLock { state -> LayerActivity in
            change(&state)
            return DownloadProgress.summary(state)
        }
        activity(summary)
    }

    private static func summary(_ state: State) -> LayerActivity {
        let running = state.active.values
        let done = state.finishedBytes + running.reduce(0) { $0 + $1.received }
        if state.plannedFiles > 0 {
            let finished = min(state.finishedFiles, state.plannedFiles)
            return .transfer(label: "fetching \(finished)/\(state.plannedFiles) packages", done: done, total: max(state.plannedBytes, 0))
        }
        let known = running.allSatisfy { $0.expected >= 0 }
        let total = known ? state.finishedBytes + running.reduce(0) { $0 + $1.expected } : 0
        let label = running.count == 1 ? "fetching \(running.first!.name)" : "fetching \(running.count) files"
        return .transfer(label: label, done: done, total: total)
    }

    /// `1.2 MB`, `340 kB`, `12 B` (decimal units, one decimal digit).
    static func size(_ bytes: Int64) -> String {
        if bytes < 1000 { return "\(bytes) B" }
        let units = ["kB", "MB", "GB", "TB"]
        var value = bytes
        var unit = -1
        while value >= 1_000_000, unit < units.count - 2 {
            value /= 1000
            unit += 1
        }
        let tenths = (value * 10 + 500) / 1000
        return "\(tenths / 10).\(tenths % 10) \(units[unit + 1])"
    }
}
