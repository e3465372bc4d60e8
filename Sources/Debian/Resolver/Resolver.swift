import KilnCore
import Plan

/// Picks the packages a layer installs from what the sources offer.
///
/// The rule, chosen to be predictable rather than clever (no backtracking):
/// - Only packages of the target architecture and `all` are considered.
/// - Every requested atom is selected first, in plan order; then
///   dependencies (`Pre-Depends`, then `Depends`) are followed breadth-first.
/// - A dependency is already met when any alternative is satisfied by a
///   selected package (by name, or through a selected package's
///   `Provides`), or names an excluded package.
/// - Otherwise the first alternative with any candidate decides: the highest
///   version of a real package of that name satisfying the constraint; if
///   there is none, the one package that provides it (a versioned relation
///   needs a versioned `Provides`, as in Debian policy). Several different
///   providers are an error naming them: the plan must pick one.
/// - One version per name: a relation that the selected version does not
///   satisfy is an error.
/// - Equal name and version in several sources: the first source wins.
///
/// Essential packages are not added implicitly; Conflicts and Breaks are
/// not checked (nothing is configured, so nothing can break at install).
public struct Resolver: Sendable {
    private var byName: [String: [PackageRecord]] = [:]
    private var providers: [String: [(record: PackageRecord, version: DebianVersion?)]] = [:]
    /// The Debian architecture installed (`amd64`).
    public let architecture: String

    /// - Parameters:
    ///   - packages: every record the sources offer, sources in priority order.
    ///   - architecture: the Debian architecture installed; `all` packages
    ///     are considered alongside it.
    public init(packages: [PackageRecord], architecture: String) {
        self.architecture = architecture
        var seen: Set<String> = []
        for record in packages where record.architecture == architecture || record.architecture == "all" {
            guard seen.insert("\(record.name) \(record.version.text) \(record.architecture)").inserted else { continue }
            byName[record.name, default: []].append(record)
            for provided in record.provides {
                providers[provided.name, default: []].append((record, provided.constraint?.version))
            }
        }
        for (name, records) in byName {
            // Stable: among equal versions the earlier source stays first.
            byName[name] = records.enumerated().sorted { lhs, rhs in
                let order = DebianVersion.compare(lhs.element.version, rhs.element.version)
                return order != 0 ? order > 0 : lhs.offset < rhs.offset
            }.map(\.element)
        }
    }

    /// Every version of `name` offered, highest first.
    public func versions(of name: String) -> [PackageRecord] { byName[name] ?? [] }

    /// Resolves a layer's atoms.
    /// - Parameters:
    ///   - atoms: the plan's `names:` as written.
    ///   - exclude: names that count as satisfied and are never installed.
    ///   - transitive: follow `Depends` and `Pre-Depends` (`resolve: transitive`).
    /// - Returns: the packages in install order: a package after everything
    ///   it depends on (cycles broken by name), ties by name.
    /// - Throws: ``ResolutionError``.
    public func resolve(_ atoms: [String], exclude: [String], transitive: Bool) throws(ResolutionError) -> [PackageRecord] {
        let excluded = Set(exclude)
        var selection = Selection()
        var queue: [PackageRecord] = []
        // The requested atom (its index) each selected package is there for.
        var requestedBy: [String: Int] = [:]
        // Every failure is kept, so one run reports them all (SPEC §4).
        var failures: [ResolutionError.Failure] = []
        var relations: [Relation] = []
        for atom in atoms {
            do {
                relations.append(try RelationParser.atom(atom))
            } catch {
                throw .invalidAtom(error)
            }
        }
        // Selects what `choice` gives for the atom at `atom`, or keeps why not.
        func select(for atom: Int, _ choice: () throws(ResolutionError) -> PackageRecord) {
            do {
                let record = try choice()
                selection.add(record)
                queue.append(record)
                requestedBy[record.name] = atom
            } catch {
                failures.append(.init(atom: atom, error: suggesting(error)))
            }
        }
        // Real names first, so a requested package is the provider a
        // requested virtual name then finds already selected.
        let ordered = relations.indices.filter { !versions(of: relations[$0].name).isEmpty }
            + relations.indices.filter { versions(of: relations[$0].name).isEmpty }
        for index in ordered {
            let relation = relations[index]
            guard !excluded.contains(relation.name) else {
                failures.append(.init(atom: index, error: .requestedAndExcluded(relation.name)))
                continue
            }
            if selection.satisfier(of: relation) != nil { continue }
            select(for: index) { () throws(ResolutionError) in try choose(relation, excluded: excluded, selection: selection, neededBy: nil) }
        }
        if transitive {
            var next = 0
            while next < queue.count {
                let package = queue[next]
                let atom = requestedBy[package.name]!
                next += 1
                let needs: [Dependency]
                do {
                    needs = try dependencies(of: package)
                } catch {
                    failures.append(.init(atom: atom, error: error))
                    continue
                }
                for dependency in needs {
                    if dependency.alternatives.contains(where: { excluded.contains($0.name) || selection.satisfier(of: $0) != nil }) {
                        continue
                    }
                    select(for: atom) { () throws(ResolutionError) in try choose(dependency, excluded: excluded, selection: selection, neededBy: package) }
                }
            }
        }
        if !failures.isEmpty {
            // Plan order; within one atom, the order they were found in.
            throw .requested(failures.enumerated().sorted { ($0.element.atom, $0.offset) < ($1.element.atom, $1.offset) }.map(\.element))
        }
        return try installOrder(queue, selection: selection)
    }

    /// `error` with a "did you mean" for a requested name no source has,
    /// drawn from every real and virtual name the sources offer.
    private func suggesting(_ error: ResolutionError) -> ResolutionError {
        guard case .notFound(let relation, nil, _) = error else { return error }
        let names = Set(byName.keys).union(providers.keys).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return .notFound(relation: relation, neededBy: nil, suggestion: KeySuggestion.closest(to: relation.name, in: names))
    }

    private func dependencies(of package: PackageRecord) throws(ResolutionError) -> [Dependency] {
        var result: [Dependency] = []
        for (field, text) in [("Pre-Depends", package.preDepends), ("Depends", package.depends)] where !text.isEmpty {
            do {
                result += try RelationParser.dependencies(text, architecture: architecture)
            } catch {
                throw .invalidRelation(package: package.label, field: field, error: error)
            }
        }
        return result
    }

    /// The first alternative with any candidate decides.
    private func choose(_ dependency: Dependency, excluded: Set<String>, selection: Selection, neededBy: PackageRecord) throws(ResolutionError) -> PackageRecord {
        var firstFailure: ResolutionError?
        for alternative in dependency.alternatives {
            do {
                return try choose(alternative, excluded: excluded, selection: selection, neededBy: (neededBy, dependency))
            } catch {
                if case .ambiguousVirtual = error { throw error }
                if firstFailure == nil { firstFailure = error }
            }
        }
        throw firstFailure!
    }

    private func choose(
        _ relation: Relation, excluded: Set<String>, selection: Selection, neededBy: (package: PackageRecord, dependency: Dependency)?
    ) throws(ResolutionError) -> PackageRecord {
        let need = neededBy.map { "\($0.package.name) \($0.package.version) depends on \"\($0.dependency)\"" }
        if let selected = selection.byName[relation.name] {
            throw .versionConflict(relation: relation, selected: selected.label, neededBy: need)
        }
        let real = versions(of: relation.name)
        if let best = real.first(where: { relation.isSatisfied(by: $0.version) }) {
            return best
        }
        var providing: [String: PackageRecord] = [:]
        for (record, version) in providers[relation.name] ?? [] where !excluded.contains(record.name) {
            if relation.constraint != nil {
                guard let version, relation.isSatisfied(by: version) else { continue }
            }
            if selection.byName[record.name] != nil { continue }
            if let current = providing[record.name], current.version >= record.version { continue }
            providing[record.name] = record
        }
        if providing.count == 1 { return providing.values.first! }
        if providing.count > 1 {
            throw .ambiguousVirtual(name: relation.name, providers: providing.keys.sorted(), neededBy: need)
        }
        if !real.isEmpty {
            throw .noMatchingVersion(relation: relation, available: real.map(\.version.text), neededBy: need)
        }
        throw .notFound(relation: relation, neededBy: need, suggestion: nil)
    }

    /// Dependencies first. Packages that depend on each other (a cycle, such
    /// as libc6 and libgcc-s1) form one group, placed as a whole once
    /// everything the group depends on is placed, its members by name.
    /// Among groups ready at once, the one with the smallest name goes first.
    private func installOrder(_ selected: [PackageRecord], selection: Selection) throws(ResolutionError) -> [PackageRecord] {
        var edges: [String: Set<String>] = [:]
        for package in selected {
            var targets: Set<String> = []
            for dependency in try dependencies(of: package) {
                for alternative in dependency.alternatives {
                    if let met = selection.satisfier(of: alternative) {
                        if met.name != package.name { targets.insert(met.name) }
                        break
                    }
                }
            }
            edges[package.name] = targets
        }
        let groups = Resolver.stronglyConnectedComponents(edges)
        var groupOf: [String: Int] = [:]
        for (index, group) in groups.enumerated() { for name in group { groupOf[name] = index } }
        var remaining = Set(groups.indices)
        var order: [PackageRecord] = []
        func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
        while !remaining.isEmpty {
            let ready = remaining.filter { index in
                groups[index].allSatisfy { name in edges[name]!.allSatisfy { groupOf[$0] == index || !remaining.contains(groupOf[$0]!) } }
            }
            // The condensation of a graph has no cycles, so some group is always ready.
            let pick = ready.min { precedes(groups[$0].min(by: precedes)!, groups[$1].min(by: precedes)!) }!
            remaining.remove(pick)
            order += groups[pick].sorted(by: precedes).map { selection.byName[$0]! }
        }
        return order
    }

    /// Tarjan's algorithm, iteratively: the strongly connected components of
    /// a dependency graph (every node a key of `edges`).
    static func stronglyConnectedComponents(_ edges: [String: Set<String>]) -> [[String]] {
        var index = 0
        var indices: [String: Int] = [:]
        var lowLinks: [String: Int] = [:]
        var onStack: Set<String> = []
        var stack: [String] = []
        var components: [[String]] = []
        for root in edges.keys.sorted() where indices[root] == nil {
            // Each frame: a node and the successors still to visit.
            var frames: [(node: String, successors: [String])] = []
            func enter(_ node: String) {
                indices[node] = index
                lowLinks[node] = index
                index += 1
                stack.append(node)
                onStack.insert(node)
                frames.append((node, edges[node, default: []].sorted()))
            }
            enter(root)
            while !frames.isEmpty {
                let node = frames[frames.count - 1].node
                if let next = frames[frames.count - 1].successors.popLast() {
                    if indices[next] == nil {
                        enter(next)
                    } else if onStack.contains(next) {
                        lowLinks[node] = min(lowLinks[node]!, indices[next]!)
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last?.node { lowLinks[parent] = min(lowLinks[parent]!, lowLinks[node]!) }
                if lowLinks[node] == indices[node] {
                    var component: [String] = []
                    while let member = stack.popLast() {
                        onStack.remove(member)
                        component.append(member)
                        if member == node { break }
                    }
                    components.append(component)
                }
            }
        }
        return components
    }

    /// What has been selected so far, and what it provides.
    private struct Selection {
        var byName: [String: PackageRecord] = [:]
        var provided: [String: [(record: PackageRecord, version: DebianVersion?)]] = [:]

        mutating func add(_ record: PackageRecord) {
            byName[record.name] = record
            for relation in record.provides {
                provided[relation.name, default: []].append((record, relation.constraint?.version))
            }
        }

        /// The selected package that satisfies `relation`, if any.
        func satisfier(of relation: Relation) -> PackageRecord? {
            if let record = byName[relation.name], relation.isSatisfied(by: record.version) { return record }
            for (record, version) in provided[relation.name] ?? [] {
                if relation.constraint == nil { return record }
                if let version, relation.isSatisfied(by: version) { return record }
            }
            return nil
        }
    }
}

/// Why a layer's packages cannot be resolved.
public enum ResolutionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A `names:` atom is malformed.
    case invalidAtom(RelationError)
    /// A name is both requested and excluded.
    case requestedAndExcluded(String)
    /// No package or provider of that name in any source; `suggestion` is
    /// the name offered that it is probably a misspelling of.
    case notFound(relation: Relation, neededBy: String?, suggestion: String?)
    /// The package exists, but no version satisfies the relation.
    case noMatchingVersion(relation: Relation, available: [String], neededBy: String?)
    /// Several packages provide the virtual name and none is selected.
    case ambiguousVirtual(name: String, providers: [String], neededBy: String?)
    /// Another version of the package is already selected.
    case versionConflict(relation: Relation, selected: String, neededBy: String?)
    /// A package's relation field cannot be parsed.
    case invalidRelation(package: String, field: String, error: RelationError)
    /// Every failure of a resolution, in plan order of the requested name
    /// each is about; one line each.
    case requested([Failure])

    /// One failure, and the requested name (an index into `names:`) it
    /// happened for: the name itself, or the package it pulled in whose
    /// dependency failed.
    public struct Failure: Hashable, Sendable {
        /// Index of the atom in the layer's `names:`.
        public var atom: Int
        /// What failed; never ``ResolutionError/requested(_:)``.
        public var error: ResolutionError
    }

    public var description: String {
        func because(_ neededBy: String?) -> String { neededBy.map { " (\($0))" } ?? "" }
        switch self {
        case .invalidAtom(let error):
            return "names: \(error)"
        case .requestedAndExcluded(let name):
            return "package \"\(name)\" is both in names and in exclude"
        case .notFound(let relation, let neededBy, let suggestion):
            return "package \"\(relation.name)\" is not in any source\(because(neededBy))" + (suggestion.map { " (did you mean \"\($0)\"?)" } ?? "")
        case .noMatchingVersion(let relation, let available, let neededBy):
            return "no version of \"\(relation.name)\" satisfies \"\(relation)\"; available: \(available.joined(separator: ", "))\(because(neededBy))"
        case .ambiguousVirtual(let name, let providers, let neededBy):
            return "\"\(name)\" is a virtual package provided by \(providers.joined(separator: ", ")); name one of them in names\(because(neededBy))"
        case .versionConflict(let relation, let selected, let neededBy):
            return "\"\(relation)\" cannot be satisfied: \(selected) is already selected\(because(neededBy))"
        case .invalidRelation(let package, let field, let error):
            return "package \(package): \(field): \(error)"
        case .requested(let failures):
            return failures.map(\.error.description).joined(separator: "\n")
        }
    }
}
