import KilnCore

/// The summary a layout diff leads with: per layer, its size before and
/// after, the packages its dpkg database gains, loses or changes, and its
/// changed files counted by directory.
extension LayoutLayerChange {
    /// Directories the summary shows per layer before "… N more".
    static let directoryLimit = 10
    /// Path components a file's directory is cut to for counting
    /// (`/usr/share/zoneinfo/America/X` counts under `/usr/share/zoneinfo`).
    static let directoryDepth = 3

    /// `9.5 MiB → 17.1 MiB (+7.6 MiB)`, or one size when it did not change.
    var sizeText: String {
        switch (oldSize, newSize) {
        case let (old?, new?) where old != new:
            DiffValue.size(old) + " → " + DiffValue.size(new) + " (" + DiffValue.delta(new - old) + ")"
        case let (_, new?): DiffValue.size(new)
        case let (old?, nil): DiffValue.size(old)
        case (nil, nil): ""
        }
    }

    /// `19 added, 1 upgraded` over the packages; empty without any.
    var packagesText: String {
        let kinds: [PackageChange.Kind] = [.added, .removed, .upgraded, .downgraded, .rebuilt]
        return kinds.compactMap { kind -> String? in
            let count = packages.filter { $0.change == kind }.count
            return count == 0 ? nil : "\(count) \(kind.rawValue)"
        }.joined(separator: ", ")
    }

    /// `340 added, 18 changed` over the files; empty without any.
    var filesText: String {
        Self.counts(files.map(\.change))
    }

    /// The summary line after the layer's title: size, packages, files.
    var summaryText: String {
        var parts = [sizeText]
        switch status {
        case .same: parts.append("same")
        case .recompressed: parts.append("same files, recompressed")
        case .added, .removed, .changed:
            if !packages.isEmpty { parts.append("packages: " + packagesText) }
            if !files.isEmpty { parts.append("files: " + filesText) }
            if status == .changed, files.isEmpty { parts.append(Self.sameEntries) }
        }
        return parts.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// Changed entries counted by directory (cut to ``directoryDepth``
    /// components; a directory entry under itself): most first, then by path.
    var directories: [(path: String, counts: String, total: Int)] {
        var groups: [String: [ChangeKind]] = [:]
        for file in files {
            // A directory counts under itself, anything else under its parent.
            let isDirectory = TreeDiff.string(TreeDiff.object(file.new ?? file.old)["type"]) == "directory"
            groups[Self.directory(of: isDirectory ? file.key + "/" : file.key), default: []].append(file.change)
        }
        return groups.map { (path: $0.key, counts: Self.counts($0.value), total: $0.value.count) }
            .sorted { $0.total != $1.total ? $0.total > $1.total : $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// The directory `path` counts under; a path ending in `/` is itself.
    static func directory(of path: String) -> String {
        let parts = path.hasSuffix("/") ? path.split(separator: "/")[...] : path.split(separator: "/").dropLast()
        return parts.isEmpty ? "/" : "/" + parts.prefix(directoryDepth).joined(separator: "/")
    }

    /// `3 added, 1 removed, 2 changed`.
    static func counts(_ kinds: [ChangeKind]) -> String {
        [ChangeKind.added, .removed, .changed].compactMap { kind -> String? in
            let count = kinds.filter { $0 == kind }.count
            return count == 0 ? nil : "\(count) \(kind.rawValue)"
        }.joined(separator: ", ")
    }

    /// A layer or file field for people: sizes (`blob_size`, `size`) in
    /// human units, other values as JSON.
    static func fieldValues(_ change: ValueChange) -> String {
        guard change.field == "size" || change.field == "blob_size" else { return TextStyle.values(change.old, change.new) }
        let text = TextStyle.values(change.old, change.new) { value in
            if case .integer(let bytes) = value { return DiffValue.size(bytes) }
            return DiffValue.display(value)
        }
        if case .integer(let old)? = change.old, case .integer(let new)? = change.new {
            return text + " (" + DiffValue.delta(new - old) + ")"
        }
        return text
    }
}

extension LayoutDiff {
    /// The text summary: one line per layer, then its packages and its
    /// files by directory.
    func summaryLines(style: TextStyle) -> [String] {
        var lines = [style.heading("summary")]
        for layer in layers {
            lines.append(style.line(layer.kind, "  " + layer.sign + " " + layer.title + ": " + layer.summaryText))
            lines += layer.packages.map { style.line($0.kind, "      " + $0.sign + " " + $0.text) }
            let directories = layer.directories
            for directory in directories.prefix(LayoutLayerChange.directoryLimit) {
                lines.append("      " + directory.path + "/: " + directory.counts)
            }
            if directories.count > LayoutLayerChange.directoryLimit {
                lines.append("      … \(directories.count - LayoutLayerChange.directoryLimit) more directories")
            }
        }
        return lines
    }
}
