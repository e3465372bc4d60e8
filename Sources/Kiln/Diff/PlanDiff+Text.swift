import Foundation
import KilnCore
import OCI

extension PlanDiff {
    /// The diff as lines for a terminal: `--- old` / `+++ new`, then the
    /// image, config, layers and cache sections that have something to say.
    func text(style: TextStyle) -> String {
        var lines = style.header(old: old, new: new)
        guard !isEqual else { return (lines + ["no differences"]).joined(separator: "\n") + "\n" }
        lines += style.section("image", image) + style.section("config", config)
        if !layers.isEmpty {
            lines.append(style.heading("layers"))
            for layer in layers {
                lines.append(style.line(layer.signKind, "  " + layer.signKind.sign + " " + layer.name + " (" + layer.type + ", " + layer.positionText + ")"))
                for field in layer.fields {
                    lines.append(style.change(field, indent: "      "))
                    if field.field == "command", let text = text(layer.name, "command", "command") { lines += text.lines(style: style, indent: "          ") }
                }
                for item in layer.items {
                    lines += Self.lines(item, style: style, indent: "      ")
                    if item.section == "files", let text = text(layer.name, "files", item.key) { lines += text.lines(style: style, indent: "          ") }
                }
            }
        }
        if !packages.isEmpty {
            lines.append(style.heading("packages"))
            for layer in packages {
                lines.append(style.line(layer.known ? ChangeKind.changed : nil, "  " + (layer.known ? "~ " : "? ") + layer.layer + ": " + layer.headline))
                lines += layer.changes.map { style.line($0.kind, "      " + $0.sign + " " + $0.text) }
            }
        }
        lines.append(style.heading("cache"))
        let width = cache.map(\.name.count).max() ?? 0
        for outcome in cache {
            let detail = outcome.detail
            let name = detail.isEmpty ? outcome.name : outcome.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + detail
            lines.append("  " + style.paint(outcome.outcome.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0), outcome.sgr) + " " + name)
        }
        if cache.contains(where: { $0.outcome == .rebuilt }) { lines.append(Self.digestNote) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The text diff of one item, if the diff has one.
    func text(_ layer: String, _ section: String, _ key: String) -> TextDiff? {
        texts.first { $0.layer == layer && $0.section == section && $0.key == key }
    }

    /// Why a change to one layer does not ripple up, unlike a Dockerfile's cache.
    static let digestNote = "Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs."

    /// An item on one line (`+ files /etc/motd: {…}`), or a header with one
    /// line per changed field below it.
    static func lines(_ item: ItemChange, style: TextStyle, indent: String) -> [String] {
        let label = indent + item.change.sign + " " + item.section + " " + item.key
        guard item.change == .changed, !item.fields.isEmpty else {
            return [style.line(item.change, label + ": " + TextStyle.values(item.old, item.new))]
        }
        return [style.line(.changed, label)] + item.fields.map { style.change($0, indent: indent + "    ") }
    }
}

extension LayerChange {
    /// A moved layer is shown as changed: the image changes, if not the layer.
    var signKind: ChangeKind {
        switch change {
        case .added: .added
        case .removed: .removed
        case .moved, .changed: .changed
        }
    }

    /// `layer 3`, `layer 2 → 3`, `was layer 2`.
    var positionText: String {
        switch (oldPosition, newPosition) {
        case let (old?, new?) where old != new: "layer \(old) → \(new)"
        case let (_, new?): "layer \(new)"
        case let (old?, nil): "was layer \(old)"
        case (nil, nil): ""
        }
    }
}

extension LayerCacheOutcome {
    /// `(spec, inputs)` for a rebuilt layer, `(cached as old layer "x")` for
    /// a reused one, nothing otherwise.
    var detail: String {
        let fetched = shared == true ? "fetched from the shared cache" : nil
        switch outcome {
        case .rebuilt: return "(" + (reasons + (fetched.map { [$0] } ?? [])).joined(separator: ", ") + ")"
        case .reused: return "(cached as old layer \"\(reusedFrom ?? "")\")"
        case .built: return fetched.map { "(\($0))" } ?? ""
        case .kept, .removed: return ""
        }
    }

    /// Rebuilt in yellow, new in green, removed in red, kept dim.
    var sgr: String {
        switch outcome {
        case .rebuilt: "33"
        case .built, .reused: "32"
        case .removed: "31"
        case .kept: "2"
        }
    }
}

extension TextDiff {
    /// The hunks, indented, `-` lines red and `+` lines green.
    func lines(style: TextStyle, indent: String) -> [String] {
        hunks.map { line in
            let kind: ChangeKind? = line.hasPrefix("+") ? .added : line.hasPrefix("-") ? .removed : nil
            return style.line(kind, indent + line)
        }
    }
}
