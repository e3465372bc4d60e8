import KilnCore
import OCI

extension PlanDiff {
    /// The diff for a pull-request comment: image and config tables, one
    /// table row per layer with what changed and what the cache does, and
    /// the details of each changed layer folded away.
    var markdown: String {
        markdownDocument.render()
    }

    var markdownDocument: MarkdownDocument {
        var document = MarkdownDocument(old: old, new: new)
        guard !isEqual else { return document.saying("No differences: both plans describe the same image.") }
        document.summary += Markdown.changes("image", image)
        document.summary += Markdown.changes("config", config)
        let changes = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let resolutions = Dictionary(packages.map { ($0.layer, $0) }, uniquingKeysWith: { first, _ in first })
        let rows = cache.map { outcome -> [String] in
            let change = changes[outcome.name]
            let position = outcome.outcome == .removed ? "" : String(change?.newPosition ?? position(of: outcome.name))
            let summary = [change?.summary, resolutions[outcome.name].map { "packages: " + Markdown.cell($0.countsText) }]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; ")
            return [position, Markdown.code(outcome.name), outcome.type, summary, outcome.markdown]
        }
        document.summary += Markdown.table(["#", "layer", "type", "change", "cache"], rows) + [""]
        for layer in packages where !layer.known {
            document.summary += ["**" + Markdown.html(layer.layer) + "**: " + Markdown.html(layer.unknownReason ?? ""), ""]
        }
        for layer in packages where layer.known {
            let rows = layer.changes.map { change in
                [change.sign, Markdown.code(change.name), change.oldVersion.map(Markdown.code) ?? "", change.newVersion.map(Markdown.code) ?? "",
                 change.architecture + (change.change == .added || change.change == .removed ? "" : ", " + change.change.rawValue)]
            }
            let summary = "<code>" + Markdown.html(layer.layer) + "</code> packages: " + Markdown.html(layer.headline)
            // Packages are part of the summary, never cut: a short list shown,
            // a long one folded.
            document.summary += Markdown.details(summary, Markdown.table(["", "package", "old", "new", "arch"], rows), open: rows.count <= Markdown.openLimit)
        }
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
            document.sections.append(.init(summary: summary, header: ["", "what", "old", "new"], rows: rows))
            // The layer's changed texts right after its table.
            for text in texts where text.layer == layer.name {
                let what = text.section == "command" ? "command" : text.key
                let summary = "<code>" + Markdown.html(text.layer) + "</code> " + Markdown.html(what) + ": text changed"
                document.sections.append(.init(summary: summary, header: [], rows: [], open: text.hunks.count <= 3 * Markdown.openLimit, block: text.hunks))
            }
        }
        if cache.contains(where: { $0.outcome == .rebuilt }) { document.footer.append(Self.digestNote) }
        return document
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
