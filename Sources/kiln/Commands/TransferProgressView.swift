import Foundation
import KilnCore
import OCI
import Registry
import Synchronization

/// Renders registry transfers on stderr (SPEC §4): on a terminal one live
/// line per moving blob with a bar, bytes done of the total, throughput and
/// ETA; with `--progress plain` a line per blob as it is done; nothing with
/// `none`.
final class TransferProgressView: TransferObserver, Sendable {
    private let mode: ProgressMode
    private let state = Mutex(State())

    private struct State {
        var active: [ContentDigestKey: Transfer] = [:]
        var order: [ContentDigestKey] = []
        var drawnLines = 0
        var lastDraw = ContinuousClock.now - .seconds(1)
    }

    private typealias ContentDigestKey = String

    private struct Transfer {
        var direction: TransferDirection
        var done: Int64 = 0
        var total: Int64
        var started = ContinuousClock.now
    }

    init(mode: ProgressMode) {
        self.mode = mode
    }

    func transferStarted(_ blob: Descriptor, direction: TransferDirection) {
        guard mode == .tty else { return }
        state.withLock { state in
            let key = blob.digest.hex
            state.active[key] = Transfer(direction: direction, total: blob.size)
            state.order.append(key)
            redraw(&state, force: true)
        }
    }

    func transferProgressed(_ blob: Descriptor, done: Int64, total: Int64) {
        guard mode == .tty else { return }
        state.withLock { state in
            state.active[blob.digest.hex]?.done = done
            if total > 0 { state.active[blob.digest.hex]?.total = total }
            redraw(&state, force: false)
        }
    }

    func transferFinished(_ blob: Descriptor, outcome: TransferOutcome) {
        state.withLock { state in
            let key = blob.digest.hex
            state.active[key] = nil
            state.order.removeAll { $0 == key }
            // Blobs already on disk moved nothing: not worth a line.
            if mode == .plain, outcome != .cached {
                clear(&state)
                Terminal.line("\(outcome.rawValue) \(String(blob.digest.hex.prefix(12))) \(ByteCount.format(blob.size))")
            }
            if mode == .tty { redraw(&state, force: true) }
        }
    }

    /// Removes the live lines (before the result or an error is printed).
    func clear() {
        state.withLock { clear(&$0) }
    }

    private func clear(_ state: inout State) {
        guard state.drawnLines > 0 else { return }
        FileHandleWriter.stderr.write("\u{1B}[\(state.drawnLines)F\u{1B}[J")
        state.drawnLines = 0
    }

    private func redraw(_ state: inout State, force: Bool) {
        let now = ContinuousClock.now
        guard force || now - state.lastDraw > .milliseconds(100) else { return }
        state.lastDraw = now
        clear(&state)
        // At most 8 lines: the oldest transfers; the rest are summed up.
        let shown = state.order.prefix(8)
        var lines = shown.compactMap { key in state.active[key].map { Self.line(key: key, $0, now: now) } }
        if state.order.count > shown.count { lines.append("  … and \(state.order.count - shown.count) more") }
        for line in lines { FileHandleWriter.stderr.write(line + "\n") }
        state.drawnLines = lines.count
    }

    /// `  ↑ 0123456789ab [#######-------]  50%  12.0 MiB / 24.0 MiB  30.1 MiB/s  ETA 0:01`
    private static func line(key: String, _ transfer: Transfer, now: ContinuousClock.Instant) -> String {
        let arrow = transfer.direction == .upload ? "↑" : "↓"
        return ProgressLine.line(
            "  \(arrow) \(key.prefix(12)) ", done: transfer.done, total: transfer.total, since: transfer.started, now: now,
            width: Terminal.columns - 1)
    }
}

/// The part of a live line that measures: a bar and percentage where the
/// total is known, bytes done (of the total), throughput and ETA — for
/// registry transfers and for layers as they stream (SPEC §4).
enum ProgressLine {
    /// `[#######-------]  50%  12.0 MiB / 24.0 MiB  30.1 MiB/s  ETA 0:01`;
    /// without a total, `12.0 MiB  30.1 MiB/s`. An estimated total that is
    /// passed shows 99% until the work is done.
    static func measure(
        done: Int64, total: Int64, since started: ContinuousClock.Instant, now: ContinuousClock.Instant, barWidth: Int = 20
    ) -> String {
        let elapsed = now - started
        let seconds = max(0.001, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let rate = Double(done) / seconds
        var text = ""
        if total > 0 {
            let fraction = min(0.99, Double(done) / Double(total))
            let filled = Int(fraction * Double(barWidth))
            text += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "] "
            text += String(format: "%3d%%  ", Int(fraction * 100))
            text += "\(ByteCount.format(done)) / \(ByteCount.format(max(done, total)))  "
        } else {
            text += "\(ByteCount.format(done))  "
        }
        text += "\(ByteCount.format(Int64(rate)))/s"
        if total > 0, rate > 0 {
            let remaining = Int(Double(max(0, total - done)) / rate)
            text += String(format: "  ETA %d:%02d", remaining / 60, remaining % 60)
        }
        return text
    }

    /// `head` and the measure within `width` columns: the bar shrinks (to
    /// 5) before anything is cut.
    static func line(
        _ head: String, done: Int64, total: Int64, since started: ContinuousClock.Instant, now: ContinuousClock.Instant, width: Int
    ) -> String {
        let full = head + measure(done: done, total: total, since: started, now: now)
        guard full.count > width, total > 0 else { return Terminal.fit(full, width: width) }
        let bar = max(5, 20 - (full.count - width))
        return Terminal.fit(head + measure(done: done, total: total, since: started, now: now, barWidth: bar), width: width)
    }

    /// `0:07`, `12:30`, `1:02:03`.
    static func elapsed(_ duration: Duration) -> String {
        let seconds = Int(duration.components.seconds)
        if seconds >= 3600 { return String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60) }
        return String(format: "%d:%02d", seconds / 60, seconds % 60)
    }
}
