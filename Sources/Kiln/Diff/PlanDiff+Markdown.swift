import KilnCore
import OCI

extension PlanDiff {
    /// The diff for a pull-request comment: image and config tables, one
    /// table row per layer with what changed and what the cache does, and
    /// the details of each changed layer folded away.
    var markdown: String {
        var lines = Markdown.heading(old: old, new: new)
        guard !isEqual else { return (lines + ["No differences: both plans describe the same image."]).joined(separator: "\n") + "\n" }
        lines += Markdown.changes("image", image)
        lines += Markdown.changes("config", config)
        let changes = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let rows = cache.map { outcome -> [String] in
            let change = changes[outcome.name]
            let position = outcome.outcome == .removed ? "" : String(change?.newPosition ?? position(of: outcome.name))
            return [position, Markdown.code(outcome.name), outcome.type, change?.summary ?? "", outcome.markdown]
        }
        lines += Markdown.table(["#", "layer", "type", "change", "cache"], rows) + [""]
        for layer in layers where !layer.fields.isEmpty || !layer.items.isEmpty {
            var rows = layer.fields.map { [$0.change.sign, Markdown.label($0), Markdown.value($0.old), Markdown.value($0.new)] }
            for item in layer.items {
                let label = Markdown.code(item.section) + " " + Markdown.code(item.key)
                if item.change == .changed, !item.fields.isEmpty {
                    rows += item.fields.map { [$0.change.sign, label + " " + Markdown.code($0.field), Markdown.value($0.old), Markdown.value($0.new)] }
                } else {
                    rows.append([item.change.sign, label, Markdown.value(item.old), Markdown.value(item.new)])
                }
            }
            let count = layer.fields.count + layer.items.count
            let state = layer.change == .added || layer.change == .removed ? " (\(layer.change.rawValue))" : ""
            let summary = "<code>" + Markdown.html(layer.name) + "</code>" + state + ": \(count) change" + (count == 1 ? "" : "s")
            lines += Markdown.details(summary, Markdown.table(["", "what", "old", "new"], Markdown.capped(rows, columns: 4)))
        }
        if cache.contains(where: { $0.outcome == .rebuilt }) { lines.append(Self.digestNote) }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A layer's 1-based position in the new plan, from the cache list
    /// (which lists every new layer in order, removed ones after).
    private func position(of name: String) -> Int {
        (cache.firstIndex { $0.name == name } ?? 0) + 1
    }
}

extension LayerChange {
    /// What changed, in a few words: `added`, `removed (was 2)`, `moved
    /// from 3`, or the fields and item counts (`command; files: 1 added`).
    var summary: String {
        switch change {
        case .added: return "added"
        case .removed: return "removed (was \(oldPosition ?? 0))"
        case .moved: return "moved from \(oldPosition ?? 0)"
        case .changed: break
        }
        var parts: [String] = []
        for field in fields.map(\.field) where !parts.contains(field) { parts.append(field) }
        var sections: [String] = []
        for item in items where !sections.contains(item.section) { sections.append(item.section) }
        for section in sections {
            let counts = [ChangeKind.added, .removed, .changed].compactMap { kind -> String? in
                let count = items.filter { $0.section == section && $0.change == kind }.count
                return count == 0 ? nil : "\(count) \(kind.rawValue)"
            }
            parts.append(section + ": " + counts.joined(separator: ", "))
        }
        if moved { parts.append("moved from \(oldPosition ?? 0)") }
        return Markdown.cell(parts.joined(separator: "; "))
    }
}

extension LayerCacheOutcome {
    /// The cache column: `kept`, `**rebuilt** (spec)`, `built`, `reused
    /// (old x)`, `removed`.
    var markdown: String {
        switch outcome {
        case .rebuilt: "**rebuilt** " + detail
        case .reused: "reused " + Markdown.cell(detail)
        case .built: outcome.rawValue + (detail.isEmpty ? "" : " " + Markdown.cell(detail))
        case .kept, .removed: outcome.rawValue
        }
    }
}
