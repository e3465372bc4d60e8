import KilnCore
import OCI

extension LayoutDiff {
    /// The diff for a pull-request comment: manifest and config tables, one
    /// row per layer, and the files of each differing layer folded away.
    var markdown: String {
        var lines = Markdown.heading(old: old, new: new)
        guard !isEqual else { return (lines + ["No differences: both layouts hold the same image."]).joined(separator: "\n") + "\n" }
        lines += Markdown.changes("manifest", manifest)
        lines += Markdown.changes("config", config)
        let rows = layers.map { layer in
            [layer.newPosition.map(String.init) ?? "", Markdown.code(layer.name ?? "layer \(layer.newPosition ?? layer.oldPosition ?? 0)"),
             Markdown.code(layer.digestText), layer.summary]
        }
        lines += Markdown.table(["#", "layer", "digest", "change"], rows) + [""]
        for layer in layers where !layer.files.isEmpty || !layer.fields.isEmpty {
            var rows = layer.fields.map { [$0.change.sign, Markdown.code($0.field), Markdown.value($0.old), Markdown.value($0.new)] }
            for file in layer.files {
                if file.change == .changed {
                    let words = { (side: KeyPath<ValueChange, JSONValue?>) in
                        file.fields.compactMap { change in change[keyPath: side].map { change.field + " " + LayoutLayerChange.word($0) } }.joined(separator: ", ")
                    }
                    rows.append(["~", Markdown.code(file.key), Markdown.cell(words(\.old)), Markdown.cell(words(\.new))])
                } else {
                    let record = Markdown.cell(LayoutLayerChange.record(file.old ?? file.new))
                    rows.append([file.change.sign, Markdown.code(file.key), file.old == nil ? "" : record, file.new == nil ? "" : record])
                }
            }
            let title = layer.name ?? "layer \(layer.newPosition ?? layer.oldPosition ?? 0)"
            let summary = "<code>" + Markdown.html(title) + "</code>: \(layer.files.count) file" + (layer.files.count == 1 ? "" : "s")
            lines += Markdown.details(summary, Markdown.table(["", "path", "old", "new"], Markdown.capped(rows, columns: 4)))
        }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension LayoutLayerChange {
    /// The change column: `same`, `recompressed`, `added: 5 entries`, or the
    /// file counts (`1 added, 2 changed`).
    var summary: String {
        switch status {
        case .same: return "same"
        case .recompressed: return "same files, recompressed"
        case .added, .removed: return status.rawValue + ": \(files.count) entr" + (files.count == 1 ? "y" : "ies")
        case .changed:
            let counts = [ChangeKind.added, .removed, .changed].compactMap { kind -> String? in
                let count = files.filter { $0.change == kind }.count
                return count == 0 ? nil : "\(count) \(kind.rawValue)"
            }
            return counts.isEmpty ? Self.sameEntries : counts.joined(separator: ", ")
        }
    }

    /// One record field's value in a few words: digests shortened, strings bare.
    static func word(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): DiffValue.digest(text)
        case .integer(let number): String(number)
        default: DiffValue.display(value)
        }
    }
}
