import KilnCore
import OCI

extension LayoutDiff {
    /// The diff as lines for a terminal: manifest and config changes, then
    /// every layer (`=` for the same blob) with the files that differ.
    func text(style: TextStyle) -> String {
        var lines = style.header(old: old, new: new)
        guard !isEqual else { return (lines + ["no differences"]).joined(separator: "\n") + "\n" }
        lines += summaryLines(style: style)
        lines += style.section("manifest", manifest) + style.section("config", config)
        lines.append(style.heading("layers"))
        for layer in layers {
            lines.append(style.line(layer.kind, "  " + layer.sign + " " + layer.title + ": " + layer.digestText + layer.statusNote))
            lines += layer.fields.map { LayoutLayerChange.fieldLine($0, style: style, indent: "      ") }
            for file in layer.files {
                let label = "      " + file.change.sign + " " + file.key
                if file.change == .changed {
                    lines.append(style.line(.changed, label))
                    lines += file.fields.map { LayoutLayerChange.fieldLine($0, style: style, indent: "          ") }
                } else {
                    lines.append(style.line(file.change, label + ": " + LayoutLayerChange.record(file.old ?? file.new)))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension LayoutLayerChange {
    /// The change kind for coloring; nil for the same blob.
    var kind: ChangeKind? {
        switch status {
        case .same: nil
        case .recompressed, .changed: .changed
        case .added: .added
        case .removed: .removed
        }
    }

    /// `=` for the same blob, else the change's sign.
    var sign: String { kind?.sign ?? "=" }

    /// `config (layer 2)`, `layer 1 (layer 1 → 2)`, `legacy (was layer 3)`.
    var title: String {
        let position: String
        switch (oldPosition, newPosition) {
        case let (old?, new?) where old != new: position = "layer \(old) → \(new)"
        case let (_, new?): position = "layer \(new)"
        case let (old?, nil): position = "was layer \(old)"
        case (nil, nil): position = ""
        }
        return (name ?? "layer \(newPosition ?? oldPosition ?? 0)") + " (" + position + ")"
    }

    /// The blob digest, or `old → new`.
    var digestText: String {
        switch (oldDigest, newDigest) {
        case let (old?, new?) where old != new: DiffValue.digest(old.description) + " → " + DiffValue.digest(new.description)
        case let (_, new?): DiffValue.digest(new.description)
        case let (old?, nil): DiffValue.digest(old.description)
        case (nil, nil): ""
        }
    }

    /// What the status adds to the digests.
    var statusNote: String {
        switch status {
        case .recompressed: ", same files (recompressed)"
        case .added, .removed: ", \(files.count) entr" + (files.count == 1 ? "y" : "ies")
        case .changed where files.isEmpty: ", " + Self.sameEntries
        case .same, .changed: ""
        }
    }

    /// `~ blob_size: 9.5 MiB → 17.1 MiB (+7.6 MiB)`: a field line with
    /// sizes in human units.
    static func fieldLine(_ change: ValueChange, style: TextStyle, indent: String) -> String {
        let label = change.field + (change.key.map { " " + $0 } ?? "")
        return style.line(change.change, indent + change.change.sign + " " + label + ": " + fieldValues(change))
    }

    /// A layer whose tar differs while every entry's record is the same.
    static let sameEntries = "same entries (times, order or header details differ)"

    /// An entry's record in a few words: `file 0644 0:0 3 bytes sha256:…`,
    /// `symlink 0777 0:0 → target`, `whiteout`.
    static func record(_ value: JSONValue?) -> String {
        let fields = TreeDiff.object(value)
        func text(_ key: String) -> String? {
            switch fields[key] {
            case .string(let text)?: text
            case .integer(let number)?: String(number)
            default: nil
            }
        }
        var words = [text("type"), text("mode"), text("owner")].compactMap { $0 }
        if case .integer(let size)? = fields["size"] { words.append(DiffValue.size(size)) }
        if let digest = text("digest") { words.append(DiffValue.digest(digest)) }
        if let device = text("device") { words.append("device " + device) }
        if let target = text("target") { words.append("→ " + target) }
        if fields["opaque"] == .bool(true) { words.append("(opaque: hides what lower layers have below it)") }
        return words.joined(separator: " ")
    }
}
