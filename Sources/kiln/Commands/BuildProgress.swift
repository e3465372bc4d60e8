import Foundation
import Kiln
import KilnCore
import OCI
import Plan
import Registry
import Strategies
import Synchronization

/// Renders a build on stderr: a live line per running layer on a terminal,
/// plain lines otherwise; build commands' output prefixed with the layer name.
final class BuildProgress: BuildObserver, Sendable {
    private let interactive: Bool
    private let startLines: Bool
    private let nameWidth: Int
    private let screen: Mutex<Screen>
    /// A registry base's downloads, which end before any layer starts, so
    /// their live lines never share the screen with the layers'.
    private let transfers: TransferProgressView
    /// Redraws the live lines twice a second while layers run, so elapsed
    /// times move when nothing else does (a quiet build command).
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    /// - Parameter mode: `tty` redraws a live line per running layer,
    ///   `plain` prints a line as each layer starts, `none` neither; the
    ///   layer summaries print in every mode.
    init(mode: ProgressMode, nameWidth: Int = 12) {
        self.interactive = mode == .tty
        self.startLines = mode == .plain
        self.nameWidth = nameWidth
        screen = Mutex(Screen(interactive: mode == .tty))
        transfers = TransferProgressView(mode: mode)
        if interactive {
            let task = Task.detached { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    guard let self else { return }
                    self.screen.withLock { $0.redraw(force: false) }
                }
            }
            ticker.withLock { $0 = task }
        }
    }

    deinit { stopTicking() }

    private func stopTicking() {
        ticker.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    func transferStarted(_ blob: Descriptor, direction: TransferDirection) {
        transfers.transferStarted(blob, direction: direction)
    }

    func transferProgressed(_ blob: Descriptor, done: Int64, total: Int64) {
        transfers.transferProgressed(blob, done: done, total: total)
    }

    func transferFinished(_ blob: Descriptor, outcome: TransferOutcome) {
        transfers.transferFinished(blob, outcome: outcome)
    }

    func layerStarted(_ index: Int, layer: LayerSpec) {
        screen.withLock { screen in
            screen.active[index] = ActiveLayer(name: layer.name, strategy: layer.strategy.typeName)
            if interactive { screen.redraw(force: true) }
            if startLines { screen.print(permanent: "[\(layer.name)] \(layer.strategy.typeName): started") }
        }
    }

    func layerSized(_ index: Int, bytes: Int64) {
        guard interactive else { return }
        screen.withLock { screen in
            screen.active[index]?.total = bytes
            screen.active[index]?.streaming = ContinuousClock.now
            screen.redraw(force: true)
        }
    }

    func layerProgress(_ index: Int, bytes: Int64) {
        guard interactive else { return }
        screen.withLock { screen in
            screen.active[index]?.bytes = bytes
            screen.redraw(force: false)
        }
    }

    func layerActivity(_ index: Int, _ activity: LayerActivity) {
        guard interactive else { return }
        screen.withLock { screen in
            guard var layer = screen.active[index] else { return }
            let changed = layer.activity.map { !$0.sameKind(as: activity) } ?? true
            if changed { layer.activitySince = ContinuousClock.now }
            layer.activity = activity
            screen.active[index] = layer
            screen.redraw(force: changed)
        }
    }

    func layerOutput(_ index: Int, layer: LayerSpec, line: String) {
        screen.withLock { screen in
            screen.active[index]?.lastLine = line
            screen.print(permanent: "[\(layer.name)] \(line)")
        }
    }

    func layerFinished(_ index: Int, report: LayerReport) {
        let nameWidth = self.nameWidth
        screen.withLock { screen in
            screen.active[index] = nil
            screen.finished[index] = report
            while let next = screen.finished.removeValue(forKey: screen.nextToPrint) {
                let compact = screen.summaryForm()
                screen.printHeaderOnce(Self.header(nameWidth: nameWidth, compact: compact))
                screen.print(permanent: Self.summary(next, nameWidth: nameWidth, compact: compact))
                // A cached layer's notes were news when it was built; they
                // stay in --json. Long notes wrap at 100 columns.
                if !next.cached {
                    for note in next.notes {
                        for line in Self.wrap("[\(next.displayName)] note: \(note)", width: 100) { screen.print(permanent: line) }
                    }
                }
                screen.nextToPrint += 1
            }
            if interactive { screen.redraw(force: true) }
        }
    }

    func baseLayerReused(_ report: LayerReport) {
        let nameWidth = self.nameWidth
        screen.withLock { screen in
            let compact = screen.summaryForm()
            screen.printHeaderOnce(Self.header(nameWidth: nameWidth, compact: compact))
            screen.print(permanent: Self.summary(report, nameWidth: nameWidth, compact: compact))
        }
    }

    func note(_ text: String) {
        screen.withLock { $0.print(permanent: "note: \(text)") }
    }

    func warning(_ warning: PlanWarning) {
        screen.withLock { $0.print(permanent: warning.description) }
    }

    /// The final lines: image and manifest digest.
    func finish(_ report: BuildReport) {
        stopTicking()
        screen.withLock { screen in
            screen.clear()
            var lines = ["image \(report.image)"]
            if let platforms = report.platforms {
                lines.append("index \(report.manifestDigest)")
                for image in platforms {
                    lines.append("  \(image.platform) manifest \(image.manifestDigest)")
                    if let sbom = image.sbom { lines.append("  \(image.platform) sbom \(sbom.format) \(sbom.artifact): \(sbom.coverage.summary)") }
                }
            } else {
                lines.append("manifest \(report.manifestDigest)")
                if let config = report.configDigest { lines.append("config \(config)") }
            }
            if let output = report.output { lines.append("layout \(output)") }
            if let tar = report.tarOutput { lines.append("archive \(tar)") }
            if report.output == nil && report.tarOutput == nil { lines.append("nothing written (no -o or --tar)") }
            if let sbom = report.sbom { lines.append("sbom \(sbom.format) \(sbom.artifact): \(sbom.coverage.summary)") }
            lines.append(String(format: "built in %.2fs", report.seconds))
            for line in lines { Terminal.line(line) }
        }
    }

    /// Clears the live lines before an error is printed.
    func abandon() {
        stopTicking()
        transfers.clear()
        screen.withLock { $0.clear() }
    }

    /// The line of a command that says what it does: the first that is not
    /// blank, a comment or shell setup (`set -eu`).
    static func gist(of command: String) -> String {
        let lines = command.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.first { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("set ") } ?? lines.first ?? command
    }

    /// The column heads printed above the first layer line.
    static func header(nameWidth: Int, compact: Bool = false) -> String {
        if compact {
            return pad("layer", nameWidth) + " " + pad("type", 10) + " " + leftPad("entries", 7) + "  "
                + leftPad("size", 9) + " → " + pad("blob", 9) + "  " + pad("digest", 12) + " time"
        }
        return pad("layer", nameWidth) + " " + pad("type", 10) + " " + leftPad("entries", 12) + "  "
            + leftPad("size", 9) + " → " + pad("blob", 9) + "  " + pad("diff_id", 12) + " " + pad("digest", 12) + " time"
    }

    /// One layer's line within 100 columns (names up to 12 characters):
    /// name, strategy, entries, size before and after compression, diff_id
    /// and digest shortened to 12 hex digits (`--json` and `kiln inspect`
    /// have them whole), whether it was built or came from the cache, and
    /// how long it took.
    ///
    /// `compact` fits 80 columns, for a terminal narrower than 100: the
    /// diff_id column goes (the digest names the blob; `--json` and
    /// `kiln inspect` have both), entries are a bare count and times keep
    /// three significant digits.
    static func summary(_ report: LayerReport, nameWidth: Int, compact: Bool = false) -> String {
        let base = report.strategy == "base"
        let entries = base ? "" : compact ? "\(report.entries)" : "\(report.entries) entries"
        let sizes = base
            ? leftPad("", 9) + "   " + pad(ByteCount.format(report.compressedSize), 9)
            : leftPad(ByteCount.format(report.uncompressedSize), 9) + " → " + pad(ByteCount.format(report.compressedSize), 9)
        let time = compact && report.seconds >= 10
            ? String(format: report.seconds >= 100 ? "%.0fs" : "%.1fs", report.seconds) : String(format: "%.2fs", report.seconds)
        let source = base ? "reused" : (report.cached ? "cached " : "built ") + time
        let digests = compact
            ? String(report.digest.hex.prefix(12))
            : String(report.diffID.hex.prefix(12)) + " " + String(report.digest.hex.prefix(12))
        return pad(report.displayName, nameWidth) + " " + pad(report.strategy, 10) + " " + leftPad(entries, compact ? 7 : 12) + "  "
            + sizes + "  " + digests + " " + source
    }

    /// `text` broken at spaces into lines of at most `width` characters
    /// (a longer word stands alone), continuation lines indented by two.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if candidate.count > width, !current.isEmpty {
                lines.append(current)
                current = "  " + word
            } else {
                current = candidate
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}

/// What is on stderr: the live lines of running layers and the summaries
/// waiting for their turn; written by whichever thread reports, one at a
/// time (behind ``BuildProgress``'s lock).
/// A running layer's live line: preparing (fetching, running its
/// command), then streaming its tree.
private struct ActiveLayer {
    var name: String
    var strategy: String
    /// What it does before it streams, since when.
    var activity: LayerActivity? = nil
    var activitySince = ContinuousClock.now
    /// The last line its command printed.
    var lastLine: String? = nil
    var bytes: Int64 = 0
    /// The tar stream's estimated length, once the layer's tree is known.
    var total: Int64 = 0
    /// When the stream started (nil while the layer prepares).
    var streaming: ContinuousClock.Instant? = nil
}

private struct Screen {
    let interactive: Bool
    var active: [Int: ActiveLayer] = [:]
    var drawnLines = 0
    var lastDraw = ContinuousClock.now
    /// Finished layers wait here until every layer before them is printed,
    /// so summaries come in plan order whatever order layers finish in.
    var finished: [Int: LayerReport] = [:]
    var nextToPrint = 0
    var headerPrinted = false
    /// Whether summaries take the 80-column form, decided at the first.
    var compact: Bool?

    init(interactive: Bool) {
        self.interactive = interactive
    }

    /// Whether summaries take the 80-column form: only on a terminal
    /// narrower than 100 columns (a log or a pipe gets the full line);
    /// decided once, so the header and every line agree.
    mutating func summaryForm() -> Bool {
        if let compact { return compact }
        let decided = Terminal.isInteractive && Terminal.columns < 100
        compact = decided
        return decided
    }

    mutating func printHeaderOnce(_ header: String) {
        guard !headerPrinted else { return }
        headerPrinted = true
        print(permanent: header)
    }

    mutating func print(permanent line: String) {
        clear()
        Terminal.line(line)
        if interactive { redraw(force: true) }
    }

    mutating func clear() {
        guard interactive, drawnLines > 0 else { return }
        FileHandleWriter.stderr.write("\u{1B}[\(drawnLines)F\u{1B}[J")
        drawnLines = 0
    }

    mutating func redraw(force: Bool) {
        let now = ContinuousClock.now
        guard force || now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        clear()
        let width = Terminal.columns - 1
        let lines = active.keys.sorted().map { index -> String in
            let layer = active[index]!
            let head = "  \(layer.name) (\(layer.strategy)) "
            if let streaming = layer.streaming {
                return ProgressLine.line(head, done: layer.bytes, total: layer.total, since: streaming, now: now, width: width)
            }
            // Before its tree streams a layer prepares: resolving, fetching
            // packages, running its command.
            switch layer.activity {
            case .transfer(let label, let done, let total):
                return ProgressLine.line(head + label + "  ", done: done, total: total, since: layer.activitySince, now: now, width: width)
            case .running(let command):
                // One row: the first line of a script, control characters
                // (tabs, carriage returns, escapes) as spaces.
                let said = Terminal.printable(firstLine: layer.lastLine ?? BuildProgress.gist(of: command))
                return Terminal.fit(head + "running " + ProgressLine.elapsed(now - layer.activitySince) + "  " + said, width: width)
            case nil:
                return Terminal.fit(head + "preparing…", width: width)
            }
        }
        for line in lines { FileHandleWriter.stderr.write(line + "\n") }
        drawnLines = lines.count
    }
}
