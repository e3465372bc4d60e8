import KilnCore
import YAML

extension PlanDecoder {
    /// The keys each strategy accepts besides `name` and `type`.
    static let layerKeys: [String: [String]] = [
        "files": ["files", "root", "paths", "check_arch"],
        "packages": ["names", "sources", "resolve", "exclude", "check_arch"],
        "build": ["command", "inputs", "workdir", "env", "sandbox", "timeout", "check_arch"],
        "derivation": ["store_path", "store_dir", "closure", "check_arch"],
        "wasm": ["module"],
    ]
    static let strategyNames = ["files", "packages", "build", "derivation", "wasm"]

    /// The keys a layer may hold, in a fixed order (suggestions for a
    /// misspelling must not depend on hashing), and a sentence for each key
    /// that belongs somewhere else.
    struct LayerKeySet {
        var allowed: [String]
        var elsewhere: [String: String]
    }

    /// Per layer type, computed once: a plan of a thousand layers
    /// would otherwise rebuild these tables a thousand times.
    static let layerKeySets: [String: LayerKeySet] = Dictionary(uniqueKeysWithValues: strategyNames.map { type in
        let allowed = ["name", "type"] + layerKeys[type]!
        var elsewhere: [String: String] = [:]
        for other in strategyNames where other != type {
            for key in layerKeys[other]! where !allowed.contains(key) {
                elsewhere[key] = "is not valid in a \(type) layer (it belongs to \(other) layers)"
            }
        }
        for key in topLevelKeys where !allowed.contains(key) && elsewhere[key] == nil {
            elsewhere[key] = "belongs at the top level of the plan, not in a layer"
        }
        return (type, LayerKeySet(allowed: allowed, elsewhere: elsewhere))
    })

    /// For a layer whose type is missing or unknown: every strategy's keys.
    static let anyLayerKeySet: LayerKeySet = {
        let allowed = ["name", "type"] + strategyNames.flatMap { layerKeys[$0]! }
        let elsewhere = Dictionary(uniqueKeysWithValues: topLevelKeys.filter { !allowed.contains($0) }
            .map { ($0, "belongs at the top level of the plan, not in a layer") })
        return LayerKeySet(allowed: allowed, elsewhere: elsewhere)
    }()

    mutating func layers(_ node: Node?) -> [LayerSpec]? {
        guard let node else { return [] }
        guard let items = node.sequence else {
            diagnostics.error(node.mark, "\"layers\" must be a list of layers, not \(describe(node))")
            return nil
        }
        var result: [LayerSpec] = []
        var names: [String: Mark] = [:]
        var ok = true
        for (index, item) in items.enumerated() {
            guard let layer = layer(item, index: index) else {
                ok = false
                continue
            }
            let nameMark = item.mapping?.first { $0.key.scalar?.text == "name" }?.value.mark ?? item.mark
            if let first = names[layer.name] {
                // An alias copies the anchored node with its marks, so both uses have one place.
                let other = first == nameMark ? "an alias repeats the layer" : "first used at \(first)"
                diagnostics.error(nameMark, "duplicate layer name \(quoted(layer.name)) (\(other))")
                ok = false
            } else {
                names[layer.name] = nameMark
            }
            result.append(layer)
        }
        return ok ? result : nil
    }

    private mutating func layer(_ node: Node, index: Int) -> LayerSpec? {
        let pairs = node.mapping ?? []
        let rawName = pairs.first { $0.key.scalar?.text == "name" }?.value.scalar?.text
        let rawType = pairs.first { $0.key.scalar?.text == "type" }?.value.scalar?.text
        let prefix = rawName.map { "layer \(quoted($0)): " } ?? "layers[\(index)]: "
        let keys = rawType.flatMap { PlanDecoder.layerKeySets[$0] } ?? PlanDecoder.anyLayerKeySet
        guard let fields = Fields(node, prefix: prefix, what: "a layer", allowed: keys.allowed, elsewhere: keys.elsewhere, diagnostics: &diagnostics) else {
            return nil
        }
        // An invalid name is reported by position: repeating it as the
        // prefix (`layer "My App": layer name "My App" is invalid`) says it twice.
        let name: String? = fields.required("name", diagnostics: &diagnostics).flatMap { node in
            checked(node, "layers[\(index)]: \"name\"", prefix: "layers[\(index)]: ") { text throws(SyntaxError) in try LayerName.validate(text); return text }
        }
        guard let typeNode = fields.required("type", diagnostics: &diagnostics),
              let type = diagnostics.string(typeNode, "\(prefix)\"type\"") else { return nil }
        let strategy: LayerStrategy?
        switch type {
        case "files": strategy = files(fields, prefix: prefix).map(LayerStrategy.files)
        case "packages": strategy = packages(fields, prefix: prefix).map(LayerStrategy.packages)
        case "build": strategy = build(fields, prefix: prefix).map(LayerStrategy.build)
        case "derivation": strategy = derivation(fields, prefix: prefix).map(LayerStrategy.derivation)
        case "wasm": strategy = wasm(fields, prefix: prefix).map(LayerStrategy.wasm)
        default:
            diagnostics.error(typeNode.mark, "\(prefix)unknown layer type \(quoted(type))"
                + KeySuggestion.hint(for: type, in: PlanDecoder.strategyNames) + "; the types are files, packages, build, derivation, wasm")
            strategy = nil
        }
        let checkArch = fields.value("check_arch").map { diagnostics.bool($0, "\(prefix)\"check_arch\"") } ?? true
        guard let name, let strategy, let checkArch else { return nil }
        if let command = fields.value("command") { locations.record(ValueLocations.command(ofLayer: name), command, file: file) }
        var spec = LayerSpec(name: name, strategy: strategy, location: diagnostics.location(node.mark), checkArch: checkArch)
        spec.valueLocations = valueLocations(of: fields)
        return spec
    }

    // MARK: files

    private static let fileEntryKeys = ["path", "source", "content", "symlink", "directory", "remove", "replace", "mode", "owner"]
    private static let contentKinds = ["source", "content", "symlink", "directory"]

    private mutating func files(_ fields: Fields, prefix: String) -> FilesLayer? {
        var entries: [FileEntry] = []
        var ok = true
        if let node = fields.value("files") {
            if let items = node.sequence {
                for (index, item) in items.enumerated() {
                    if let entry = fileEntry(item, prefix: prefix, index: index) { entries.append(entry) } else { ok = false }
                }
            } else {
                diagnostics.error(node.mark, "\(prefix)\"files\" must be a list of entries, not \(describe(node))")
                ok = false
            }
        }
        if fields.has("root") || fields.has("paths") {
            if let expanded = rootPaths(fields, prefix: prefix) { entries += expanded } else { ok = false }
        }
        if !fields.has("files"), !fields.has("paths") {
            // With "root", rootPaths has already said that "paths" is missing.
            if !fields.has("root") {
                diagnostics.error(fields.node.mark, "\(prefix)a files layer needs \"files\" or \"paths\"")
            }
            return nil
        }
        var seen: [String: SourceLocation] = [:]
        for entry in entries {
            if let first = seen[entry.path] {
                let other = first == entry.location ? "an alias repeats the entry" : "the other at \(first.line):\(first.column)"
                diagnostics.errors(at: entry.location, "\(prefix)two entries produce the image path \(entry.path) (\(other))")
                ok = false
            }
            seen[entry.path] = entry.location
        }
        return ok ? FilesLayer(entries: entries) : nil
    }

    private mutating func fileEntry(_ node: Node, prefix: String, index: Int) -> FileEntry? {
        let resolver = paths // a copy: closures below run while self is mutated
        let rawPath = node.mapping?.first { $0.key.scalar?.text == "path" }?.value.scalar?.text
        let entryPrefix = prefix + (rawPath.map { "file \(quoted($0)): " } ?? "files[\(index)]: ")
        guard let fields = Fields(node, prefix: entryPrefix, what: "a files entry", allowed: PlanDecoder.fileEntryKeys, diagnostics: &diagnostics) else {
            return nil
        }
        // A bad path is reported by position: the prefix would repeat it.
        let pathPrefix = prefix + "files[\(index)]: "
        let path = fields.required("path", diagnostics: &diagnostics).flatMap { node in
            checked(node, "\(pathPrefix)\"path\"", prefix: pathPrefix, label: "path") { text throws(SyntaxError) in try ImagePath(validating: text).string }
        }
        if fields.has("remove") { return removal(fields, path: path, entryPrefix: entryPrefix) }
        // In the order the plan writes them, so the error points at the second one.
        let kinds = PlanDecoder.contentKinds.compactMap { fields[$0] }.sorted { $0.key.mark < $1.key.mark }.compactMap { $0.key.scalar?.text }
        var content: FileEntry.Content?
        if kinds.count > 1 {
            diagnostics.error(fields[kinds[1]]!.key.mark, "\(entryPrefix)has both \(quoted(kinds[0])) and \(quoted(kinds[1])); an entry holds exactly one of source, content, symlink, directory")
        } else if let kind = kinds.first, let value = fields.value(kind) {
            switch kind {
            case "source":
                content = checked(value, "\(entryPrefix)\"source\"", prefix: entryPrefix) { text throws(SyntaxError) in try .source(resolver.resolve(text, what: "source")) }
            case "content":
                content = diagnostics.string(value, "\(entryPrefix)\"content\"", allowNUL: true).map(FileEntry.Content.content)
            case "symlink":
                content = diagnostics.nonEmptyString(value, "\(entryPrefix)\"symlink\"", plain: true).map(FileEntry.Content.symlink)
            default:
                if let flag = diagnostics.bool(value, "\(entryPrefix)\"directory\"") {
                    if flag { content = .directory } else {
                        diagnostics.error(value.mark, "\(entryPrefix)\"directory\" can only be true; remove it for a file")
                    }
                }
            }
        } else {
            diagnostics.error(fields.node.mark, "\(entryPrefix)needs exactly one of source, content, symlink, directory")
        }
        let mode = fields.value("mode").flatMap { node in
            checked(node, "\(entryPrefix)\"mode\"", prefix: entryPrefix) { text throws(SyntaxError) in try FileMode.parse(text) }
        }
        let owner = fields.value("owner").flatMap { node in
            checked(node, "\(entryPrefix)\"owner\"", prefix: entryPrefix) { text throws(SyntaxError) in try Owner(parsing: text) }
        }
        if case .symlink = content, let node = fields.value("mode") {
            diagnostics.error(node.mark, "\(entryPrefix)a symlink has no mode of its own (remove \"mode\")")
            return nil
        }
        var replace = false
        if let pair = fields["replace"] {
            guard let flag = diagnostics.bool(pair.value, "\(entryPrefix)\"replace\"") else { return nil }
            if flag, kinds.first.map({ $0 != "directory" }) ?? false {
                // A file or symlink replaces a lower path anyway; only a
                // directory would merge with the lower one.
                diagnostics.error(pair.key.mark, "\(entryPrefix)\"replace\" needs \"directory: true\": only a directory replaces what lower layers have below its path")
                return nil
            }
            replace = flag
        }
        guard let path, let content, fields.value("mode") == nil || mode != nil, fields.value("owner") == nil || owner != nil else { return nil }
        return FileEntry(path: path, content: content, mode: mode, owner: owner, replace: replace, location: diagnostics.location(fields.node.mark))
    }

    /// `{ path, remove: true }`: the path and nothing else (SPEC §1.4).
    private mutating func removal(_ fields: Fields, path: String?, entryPrefix: String) -> FileEntry? {
        let others = (PlanDecoder.contentKinds + ["replace", "mode", "owner"]).compactMap { fields[$0] }.sorted { $0.key.mark < $1.key.mark }
        if let other = others.first, let key = other.key.scalar?.text {
            let why = PlanDecoder.contentKinds.contains(key)
                ? "a removed path holds nothing (to replace a directory, write directory: true and replace: true)"
                : "a whiteout has no mode, owner or replace of its own"
            diagnostics.error(other.key.mark, "\(entryPrefix)\"remove\" cannot go with \(quoted(key)): \(why)")
            return nil
        }
        let value = fields.value("remove")!
        guard let flag = diagnostics.bool(value, "\(entryPrefix)\"remove\"") else { return nil }
        guard flag else {
            diagnostics.error(value.mark, "\(entryPrefix)\"remove\" can only be true; drop it to keep the path")
            return nil
        }
        guard let path else { return nil }
        return FileEntry(path: path, content: .remove, location: diagnostics.location(fields.node.mark))
    }

    /// `root` + `paths`: each path under `root` lands at the same path under `/`.
    private mutating func rootPaths(_ fields: Fields, prefix: String) -> [FileEntry]? {
        let resolver = paths // a copy: closures below run while self is mutated
        guard let pathsNode = fields.value("paths") else {
            diagnostics.error(fields["root"]!.key.mark, "\(prefix)\"root\" needs \"paths\" (the paths under it to copy)")
            return nil
        }
        var root = directory
        if let node = fields.value("root") {
            guard let resolved = checked(node, "\(prefix)\"root\"", prefix: prefix, { text throws(SyntaxError) in try resolver.resolve(text, what: "root") }) else { return nil }
            root = resolved
        }
        guard let list = diagnostics.stringList(pathsNode, "\(prefix)\"paths\"") else { return nil }
        var entries: [FileEntry] = []
        var ok = true
        for (index, text) in list.enumerated() {
            let item = pathsNode.sequence?[index] ?? pathsNode
            do {
                let relative = try RelativePath(validating: text).string
                let host = try paths.resolve(relative, what: "path", relativeTo: root)
                entries.append(FileEntry(path: "/" + relative, content: .source(host), location: diagnostics.location(item.mark)))
            } catch {
                diagnostics.error(item.mark, "\(prefix)\"paths\": \(error.message)")
                ok = false
            }
        }
        return ok ? entries : nil
    }

    // MARK: packages

    private static let repositoryKeys = ["uri", "suite", "components", "signed_by", "allow_unsigned"]

    private mutating func packages(_ fields: Fields, prefix: String) -> PackagesLayer? {
        var ok = true
        var names: [String] = []
        if let node = fields.required("names", diagnostics: &diagnostics), let list = diagnostics.stringList(node, "\(prefix)\"names\"") {
            if list.isEmpty { diagnostics.error(node.mark, "\(prefix)\"names\" must name at least one package"); ok = false }
            for (index, atom) in list.enumerated() {
                do { try PackageAtom.validate(atom) } catch {
                    diagnostics.error(node.sequence?[index].mark ?? node.mark, "\(prefix)\(error.message)")
                    ok = false
                }
            }
            names = list
        } else {
            ok = false
        }
        var sources: [PackageSource] = [.system]
        if let node = fields.value("sources") {
            if let parsed = packageSources(node, prefix: prefix) { sources = parsed } else { ok = false }
        }
        let resolve = fields.value("resolve").map { keyword($0, "\(prefix)\"resolve\"", PackagesLayer.Resolution.self) } ?? .transitive
        let exclude = fields.value("exclude").map { diagnostics.stringList($0, "\(prefix)\"exclude\"") } ?? []
        guard ok, let resolve, let exclude else { return nil }
        return PackagesLayer(names: names, sources: sources, resolve: resolve, exclude: exclude)
    }

    private mutating func packageSources(_ node: Node, prefix: String) -> [PackageSource]? {
        let resolver = paths // a copy: closures below run while self is mutated
        if let text = node.scalar?.text, !node.isNull {
            guard text == "system" else {
                diagnostics.error(node.mark, "\(prefix)\"sources\" must be system, or a list of repositories ({uri, suite, components, signed_by, allow_unsigned}) and directories ({dir}), not \(describe(node))")
                return nil
            }
            return [.system]
        }
        guard let items = node.sequence, !items.isEmpty else {
            diagnostics.error(node.mark, "\(prefix)\"sources\" must be system, or a non-empty list of repositories and directories")
            return nil
        }
        var result: [PackageSource] = []
        var ok = true
        for (index, item) in items.enumerated() {
            let itemPrefix = "\(prefix)sources[\(index)]: "
            if item.scalar?.text == "system", !item.isNull { result.append(.system); continue }
            if item.scalar != nil {
                diagnostics.error(item.mark, "\(itemPrefix)a package source must be system, a repository {uri, suite, components} or a directory {dir}, not \(describe(item))")
                ok = false
                continue
            }
            let isDirectory = item.mapping?.contains { $0.key.scalar?.text == "dir" } ?? false
            let allowed = isDirectory ? ["dir"] : PlanDecoder.repositoryKeys
            let elsewhere = isDirectory
                ? Dictionary(uniqueKeysWithValues: PlanDecoder.repositoryKeys.map { ($0, "is not valid with \"dir\": a source is either a repository {uri, suite, …} or a directory {dir}") })
                : [:]
            guard let fields = Fields(item, prefix: itemPrefix, what: "a package source", allowed: allowed, elsewhere: elsewhere, diagnostics: &diagnostics) else { ok = false; continue }
            if isDirectory {
                let dir = checked(fields.value("dir")!, "\(itemPrefix)\"dir\"", prefix: itemPrefix) { text throws(SyntaxError) in try resolver.resolve(text, what: "dir") }
                if let dir { result.append(.directory(dir)) } else { ok = false }
                continue
            }
            let uri = fields.required("uri", diagnostics: &diagnostics).flatMap { node in
                checked(node, "\(itemPrefix)\"uri\"", prefix: itemPrefix) { text throws(SyntaxError) in
                    guard let scheme = ["http://", "https://", "file://"].first(where: text.hasPrefix) else {
                        throw SyntaxError("uri \(quoted(text)) must start with http://, https:// or file://")
                    }
                    guard text.count > scheme.count else { throw SyntaxError("uri \(quoted(text)) names nothing after \(scheme)") }
                    return text
                }
            }
            let suite = fields.required("suite", diagnostics: &diagnostics).flatMap { diagnostics.nonEmptyString($0, "\(itemPrefix)\"suite\"") }
            let components = fields.value("components").map { diagnostics.stringList($0, "\(itemPrefix)\"components\"") } ?? []
            let signedBy: String?? = fields.value("signed_by").map { node in
                checked(node, "\(itemPrefix)\"signed_by\"", prefix: itemPrefix) { text throws(SyntaxError) in
                    // A keyring is trust configuration, not build input: it may live outside the context.
                    guard !text.isEmpty else { throw SyntaxError("keyring must not be empty (it would name the plan's directory)") }
                    let absolute = HostPathResolver.normalize(text.hasPrefix("/") ? text : resolver.directory + "/" + text)
                    guard let real = HostPathResolver.realPath(absolute) else { throw SyntaxError("keyring \(quoted(text)) does not exist") }
                    return real
                }
            }
            let allowUnsigned = fields.value("allow_unsigned").map { diagnostics.bool($0, "\(itemPrefix)\"allow_unsigned\"") } ?? false
            if let suite, suite.hasSuffix("/") == false, components?.isEmpty == true {
                diagnostics.error(fields.node.mark, "\(itemPrefix)a suite needs \"components\" (a flat repository's suite ends with /)")
                ok = false
            }
            guard let uri, let suite, let components, signedBy.map({ $0 != nil }) ?? true, let allowUnsigned else { ok = false; continue }
            result.append(.repository(AptRepository(uri: uri, suite: suite, components: components, signedBy: signedBy ?? nil, allowUnsigned: allowUnsigned)))
        }
        return ok ? result : nil
    }

    // MARK: build

    private mutating func build(_ fields: Fields, prefix: String) -> BuildLayer? {
        let resolver = paths // a copy: closures below run while self is mutated
        var command: BuildLayer.Command?
        if let node = fields.required("command", diagnostics: &diagnostics) {
            if node.sequence != nil {
                if let argv = diagnostics.stringList(node, "\(prefix)\"command\"") {
                    if argv.isEmpty { diagnostics.error(node.mark, "\(prefix)\"command\" must not be an empty list") } else { command = .argv(argv) }
                }
            } else if let text = diagnostics.nonEmptyString(node, "\(prefix)\"command\"") {
                command = .shell(text)
            }
        }
        var inputs: [BuildInput] = []
        var inputsOK = true
        if let node = fields.value("inputs"), let list = diagnostics.stringList(node, "\(prefix)\"inputs\"") {
            for (index, text) in list.enumerated() {
                let item = node.sequence?[index] ?? node
                guard let host = checked(item, "\(prefix)\"inputs\"", prefix: prefix, { text throws(SyntaxError) in try resolver.resolve(text, what: "input") }) else {
                    inputsOK = false
                    continue
                }
                let lexical = HostPathResolver.normalize(text.hasPrefix("/") ? text : directory + "/" + text)
                let relative = paths.relativeToContext(lexical)
                if let other = inputs.first(where: { $0.relativePath == relative || $0.relativePath.isEmpty || relative.isEmpty
                    || relative.hasPrefix($0.relativePath + "/") || $0.relativePath.hasPrefix(relative + "/") }) {
                    diagnostics.error(item.mark, "\(prefix)input \(quoted(text)) overlaps input \(quoted(other.relativePath.isEmpty ? "." : other.relativePath))")
                    inputsOK = false
                    continue
                }
                inputs.append(BuildInput(relativePath: relative, hostPath: host))
            }
        } else if fields.has("inputs") {
            inputsOK = false
        }
        let workdir = fields.value("workdir").map { node in
            checked(node, "\(prefix)\"workdir\"", prefix: prefix, label: "workdir") { text throws(SyntaxError) in try RelativePath(validating: text).string }
        }
        let env = fields.value("env").map { environment($0, "\(prefix)\"env\"", reserved: BuildLayer.reservedEnvironment) } ?? [:]
        let sandbox = fields.value("sandbox").map { keyword($0, "\(prefix)\"sandbox\"", BuildLayer.Sandbox.self) } ?? BuildLayer.Sandbox.none
        let timeout = fields.value("timeout").map { diagnostics.integer($0, "\(prefix)\"timeout\" (seconds)", in: 1...604_800) }
        guard let command, inputsOK, workdir.map({ $0 != nil }) ?? true, let env, let sandbox, timeout.map({ $0 != nil }) ?? true else { return nil }
        return BuildLayer(command: command, inputs: inputs, workdir: workdir ?? nil, env: env, sandbox: sandbox, timeout: timeout ?? nil)
    }

    // MARK: derivation

    private mutating func derivation(_ fields: Fields, prefix: String) -> DerivationLayer? {
        var storeDir = "/nix/store"
        if let node = fields.value("store_dir") {
            guard let dir = checked(node, "\(prefix)\"store_dir\"", prefix: prefix, label: "store_dir", { text throws(SyntaxError) in try ImagePath(validating: text).string }) else { return nil }
            storeDir = dir
        }
        let closure = fields.value("closure").map { diagnostics.bool($0, "\(prefix)\"closure\"") } ?? true
        guard let node = fields.required("store_path", diagnostics: &diagnostics) else { return nil }
        let defaultStore = !fields.has("store_dir")
        let storePath = checked(node, "\(prefix)\"store_path\"", prefix: prefix) { text throws(SyntaxError) in
            do throws(SyntaxError) {
                try StorePath.validate(text, storeDir: storeDir)
            } catch {
                // A path under another store usually means store_dir was forgotten.
                if defaultStore, text.hasPrefix("/"), !text.hasPrefix(storeDir + "/") {
                    throw SyntaxError(error.message + " (set store_dir for another store)")
                }
                throw error
            }
            return text
        }
        guard let storePath, let closure else { return nil }
        return DerivationLayer(storePath: storePath, storeDir: storeDir, closure: closure)
    }
}

extension Diagnostics {
    mutating func errors(at location: SourceLocation, _ message: String) {
        error(Mark(line: location.line, column: location.column), message)
    }
}
