public import Plan

extension LockedLayer {
    /// What a stale entry no longer matches in `layer`, for a person:
    /// a requested name the entry does not pin, or pins at a version the
    /// plan no longer accepts; else that its inputs (names, sources,
    /// `resolve`, `exclude`, architecture) changed. The lock keeps only a
    /// digest of those inputs, so more cannot be said.
    public func staleness(for layer: PackagesLayer) -> String {
        let changes = self.changes(for: layer)
        return changes.isEmpty
            ? "the layer's names, sources, resolve, exclude or architecture changed since kiln lock"
            : changes.joined(separator: "; ")
    }

    /// What the entry can be seen to no longer match in `layer`'s names:
    /// a requested name it does not pin, a version the name no longer
    /// accepts; empty when the change is elsewhere (or the entry is fresh).
    public func changes(for layer: PackagesLayer) -> [String] {
        var changes: [String] = []
        for atom in layer.names {
            guard let relation = try? RelationParser.atom(atom) else { continue }
            guard let pinned = packages.first(where: { $0.name == relation.name }) else {
                changes.append("\"\(atom)\" is not among its packages")
                continue
            }
            if let version = try? DebianVersion(pinned.version), !relation.isSatisfied(by: version) {
                changes.append("it pins \(pinned.name) \(pinned.version), not \"\(atom)\"")
            }
        }
        return changes
    }
}
