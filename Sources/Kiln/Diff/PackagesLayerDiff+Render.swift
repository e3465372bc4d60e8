import KilnCore

extension PackagesLayerDiff {
    /// `1 upgraded, 19 added`, or why the packages are unknown.
    var countsText: String {
        guard known else { return "resolution unknown" }
        let kinds: [PackageChange.Kind] = [.added, .removed, .upgraded, .downgraded, .rebuilt]
        return kinds.compactMap { kind -> String? in
            let count = changes.filter { $0.change == kind }.count
            return count == 0 ? nil : "\(count) \(kind.rawValue)"
        }.joined(separator: ", ")
    }

    /// `.deb files 9.5 MiB → 17.1 MiB (+7.6 MiB)` when both sides are known.
    var sizeText: String? {
        guard let oldBytes, let newBytes, oldBytes != newBytes else { return nil }
        return ".deb files " + DiffValue.size(oldBytes) + " → " + DiffValue.size(newBytes) + " (" + DiffValue.delta(newBytes - oldBytes) + ")"
    }

    /// `lock → resolved`: where each side's packages come from.
    var sourcesText: String {
        switch (oldSource, newSource) {
        case let (old?, new?): old == new ? old.rawValue : old.rawValue + " → " + new.rawValue
        case let (old?, nil): old.rawValue
        case let (nil, new?): new.rawValue
        case (nil, nil): ""
        }
    }

    /// The heading line's text after the layer name.
    var headline: String {
        guard known else { return unknownReason ?? "" }
        return ([countsText] + (sizeText.map { [$0] } ?? []) + ["from " + sourcesText]).joined(separator: "; ")
    }
}

extension PackageChange {
    /// `+` added, `-` removed, `~` another version or `.deb`.
    var sign: String {
        switch change {
        case .added: "+"
        case .removed: "-"
        case .upgraded, .downgraded, .rebuilt: "~"
        }
    }

    /// For coloring: added, removed or changed.
    var kind: ChangeKind {
        switch change {
        case .added: .added
        case .removed: .removed
        case .upgraded, .downgraded, .rebuilt: .changed
        }
    }

    /// `tzdata 2024a-0+deb12u1 → 2025a-0+deb12u1 (all, upgraded)`, `libcurl4 7.88.1-10 (amd64)`.
    var text: String {
        let versions = TextStyle.values(oldVersion.map(JSONValue.string), newVersion.map(JSONValue.string)) { TreeDiff.string($0) ?? "" }
        let note = change == .added || change == .removed ? architecture : architecture + ", " + change.rawValue
        return name + " " + versions + " (" + note + ")"
    }
}
