import KilnCore
internal import Foundation
internal import Glibc
internal import Synchronization

/// Reports downloads: on a terminal, one line per download redrawn in place
/// while it runs; otherwise (and once each finishes) a plain line through
/// the build's log.
final class DownloadProgress: Sendable {
    private struct Active {
        var name: String
        var received: Int64 = 0
        var expected: Int64 = -1
        var lastDraw: UInt64 = 0
    }

    let log: @Sendable (String) -> Void
    private let isTerminal: Bool
    private let active = Mutex<(next: Int, table: [Int: Active])>((0, [:]))

    init(log: @escaping @Sendable (String) -> Void, isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.log = log
        self.isTerminal = isTerminal
    }

    /// Registers a download; returns its ticket.
    func begin(_ url: String) -> Int {
        let name = url.split(separator: "/").last.map(String.init) ?? url
        return active.withLock { state in
            state.next += 1
            state.table[state.next] = Active(name: name)
            return state.next
        }
    }

    /// Redraws the ticket's line on a terminal, at most ten times a second.
    func update(_ ticket: Int, received: Int64, expected: Int64) {
        guard isTerminal else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let line: String? = active.withLock { state in
            guard var entry = state.table[ticket] else { return nil }
            entry.received = received
            entry.expected = expected
            let draw = now - entry.lastDraw > 100_000_000
            if draw { entry.lastDraw = now }
            state.table[ticket] = entry
            guard draw else { return nil }
            let total = expected > 0 ? " / " + DownloadProgress.size(expected) : ""
            return "\r\u{1B}[K  fetching \(entry.name) \(DownloadProgress.size(received))\(total)"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Ends a successful download with a plain line.
    func end(_ ticket: Int, url: String, size: Int64) {
        finish(ticket)
        log("fetched \(url) (\(DownloadProgress.size(size)))")
    }

    /// Ends a failed attempt silently (the caller reports the error).
    func cancel(_ ticket: Int) {
        finish(ticket)
    }

    private func finish(_ ticket: Int) {
        let drawn = active.withLock { state in state.table.removeValue(forKey: ticket)?.lastDraw ?? 0 }
        if isTerminal, drawn != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
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
