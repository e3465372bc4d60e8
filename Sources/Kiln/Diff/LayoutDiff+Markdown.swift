import KilnCore
import OCI

extension LayoutDiff {
    /// The diff for a pull-request comment: manifest and config tables, one
    /// row per layer, and the files of each differing layer folded away.
    var markdown: String {
        markdownDocument.render()
    }

    /// The summary first (a table with each layer's size, packages and
    /// file counts, then each layer's packages), never cut; then, folded,
    /// each layer's files by directory and its file list.
    var markdownDocument: MarkdownDocument {
        var document = MarkdownDocument(old: old, new: new)
        guard !isEqual else { return document.saying("No differences: both layouts hold the same image.") }
        let rows = layers.map { layer in
            [layer.newPosition.map(String.init) ?? "", Markdown.code(layer.displayName), Markdown.cell(layer.sizeText),
             Markdown.cell(layer.packagesText), Markdown.cell(layer.filesColumn)]
        }
        document.summary += Markdown.table(["#", "layer", "size", "packages", "files"], rows) + [""]
        for layer in layers where !layer.packages.isEmpty {
            let rows = layer.packages.map { change in
                [change.sign, Markdown.code(change.name), change.oldVersion.map(Markdown.code) ?? "", change.newVersion.map(Markdown.code) ?? "",
                 change.architecture + (change.change == .added || change.change == .removed ? "" : ", " + change.change.rawValue)]
            }
            // Packages are the summary: a short list is shown, a long one folded.
            let summary = "<code>" + Markdown.html(layer.displayName) + "</code> packages: " + layer.packagesText
            document.summary += Markdown.details(summary, Markdown.table(["", "package", "old", "new", "arch"], rows), open: rows.count <= Markdown.openLimit)
        }
        document.summary += Markdown.changes("manifest", manifest)
        document.summary += Markdown.changes("config", config)
        for layer in layers where !layer.fields.filter({ $0.field != "blob_size" }).isEmpty {
            document.summary += Markdown.changes("layer " + layer.displayName, layer.fields.filter { $0.field != "blob_size" })
        }
        for layer in layers where !layer.files.isEmpty {
            let directories = layer.directories.map { [Markdown.code($0.path + "/"), $0.counts] }
            document.sections.append(.init(
                summary: "<code>" + Markdown.html(layer.displayName) + "</code>: files by directory", header: ["directory", "files"],
                rows: directories, open: directories.count <= 10))
        }
        for layer in layers where !layer.files.isEmpty {
            var rows: [[String]] = []
            for file in layer.files {
                if file.change == .changed {
                    let words = { (side: KeyPath<ValueChange, JSONValue?>) in
                        file.fields.compactMap { change in change[keyPath: side].map { change.field + " " + LayoutLayerChange.word($0, field: change.field) } }.joined(separator: ", ")
                    }
                    rows.append(["~", Markdown.code(file.key), Markdown.cell(words(\.old)), Markdown.cell(words(\.new))])
                } else {
                    let record = Markdown.cell(LayoutLayerChange.record(file.old ?? file.new))
                    rows.append([file.change.sign, Markdown.code(file.key), file.old == nil ? "" : record, file.new == nil ? "" : record])
                }
            }
            let summary = "<code>" + Markdown.html(layer.displayName) + "</code>: \(layer.files.count) file" + (layer.files.count == 1 ? "" : "s")
            document.sections.append(.init(summary: summary, header: ["", "path", "old", "new"], rows: rows))
        }
        return document
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

    /// The files column of the summary table: `same`, `same files,
    /// recompressed`, or the counts (`12 added, 3 changed`).
    var filesColumn: String {
        switch status {
        case .same, .recompressed: summary
        case .added, .removed, .changed: files.isEmpty ? Self.sameEntries : filesText
        }
    }

    /// The layer's kiln name, or `layer N`.
    var displayName: String { name ?? "layer \(newPosition ?? oldPosition ?? 0)" }

    /// One record field's value in a few words: digests shortened, strings
    /// bare, sizes in human units.
    static func word(_ value: JSONValue, field: String = "") -> String {
        switch value {
        case .string(let text): DiffValue.digest(text)
        case .integer(let number): field == "size" ? DiffValue.size(number) : String(number)
        default: DiffValue.display(value)
        }
    }
}
