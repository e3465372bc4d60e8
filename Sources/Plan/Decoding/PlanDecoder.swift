import KilnCore
import YAML

/// Turns a plan's node tree into an ``ImageBuildPlan``, reporting every
/// problem it finds instead of stopping at the first.
struct PlanDecoder {
    var diagnostics: Diagnostics
    let loader: PlanLoader
    let file: String
    let directory: String
    var paths: HostPathResolver
    var locations = ValueLocations()

    static let topLevelKeys = [
        "kiln", "name", "tag", "base", "platform", "platforms", "created", "compression", "gzip", "sbom", "layers",
        "entrypoint", "cmd", "env", "workdir", "user", "expose", "volumes", "stop_signal", "labels", "annotations",
    ]

    init(diagnostics: Diagnostics, loader: PlanLoader, file: String, directory: String) {
        self.diagnostics = diagnostics
        self.loader = loader
        self.file = file
        self.directory = directory
        self.paths = HostPathResolver(directory: directory, context: directory)
    }

    mutating func plan(_ root: Node) -> ImageBuildPlan? {
        let layerKeys = Set(PlanDecoder.layerKeys.values.joined()).union(["type"])
        let elsewhere = Dictionary(uniqueKeysWithValues: layerKeys.map { ($0, "belongs inside a layer (under layers:)") })
        guard let fields = Fields(root, prefix: "", what: "the plan", allowed: PlanDecoder.topLevelKeys, elsewhere: elsewhere, diagnostics: &diagnostics) else {
            return nil
        }
        resolveContext(at: root.mark)

        if let node = fields.required("kiln", hint: " (the plan format version: add \"kiln: 1\")", diagnostics: &diagnostics),
           let version = diagnostics.integer(node, "\"kiln\" (the plan format version)", in: 0...Int(Int32.max)), version != 1 {
            diagnostics.error(node.mark, "unsupported plan format version \(version) (this kiln reads version 1)")
        }
        let name = fields.required("name", diagnostics: &diagnostics).flatMap { node in
            checked(node, "\"name\"") { text throws(SyntaxError) in try ImageReference.validateName(text); return text }
        }
        let tag = fields.value("tag").map { node in
            checked(node, "\"tag\"") { text throws(SyntaxError) in try ImageReference.validateTag(text); return text }
        } ?? "latest"
        var base: BaseImage? = .scratch
        if let node = fields.value("base") { base = self.base(node) }
        let platforms = self.platforms(fields)
        let platform = fields.value("platform").map { node in
            checked(node, "\"platform\"") { text throws(SyntaxError) in try Platform(parsing: text) }
        } ?? platforms?.first ?? loader.hostPlatform
        let created = self.created(fields.value("created"))
        let compression = fields.value("compression").map { node in
            keyword(node, "\"compression\"", Compression.self)
        } ?? .gzip
        let gzip = gzipSettings(fields, compression: compression)
        let sbom = fields.value("sbom").flatMap { node in keyword(node, "\"sbom\"", SBOMFormat.self) }
        let layers = self.layers(fields.value("layers"))
        if let layers, layers.isEmpty, base == .scratch {
            diagnostics.error(fields.value("layers")?.mark ?? root.mark, "an image from scratch needs at least one layer (add layers:)")
        }
        let config = runtimeConfig(fields)
        let annotations = fields.value("annotations").flatMap { diagnostics.stringMap($0, "\"annotations\"") } ?? [:]

        guard let name, let tag, let base, let platform, let created, let compression, let gzip, let layers, var config,
              fields.value("platforms") == nil || platforms != nil else { return nil }
        guard checkLayerKinds(layers, platforms: platforms ?? [platform], config: &config) else { return nil }
        var plan = ImageBuildPlan(
            file: file, directory: directory, context: paths.context, name: name, tag: tag, base: base,
            platform: platform, created: created, compression: compression, layers: layers,
            config: config, annotations: annotations)
        plan.platforms = platforms
        plan.sbom = sbom
        plan.gzip = gzip
        plan.valueLocations = locations
        plan.valueLocations["base"] = fields.value("base").map { diagnostics.location($0.mark) }
        return plan
    }

    /// `platforms:` (SPEC §1.5): a non-empty list of distinct platforms,
    /// never beside `platform:`; nil when absent or wrong (reported).
    private mutating func platforms(_ fields: Fields) -> [Platform]? {
        guard let node = fields.value("platforms") else { return nil }
        if let single = fields.value("platform") {
            diagnostics.error(single.mark, "\"platform\" and \"platforms\" are exclusive: list every platform under \"platforms\"")
            return nil
        }
        guard let items = node.sequence else {
            let hint = node.scalar.map { " (write [\(quoted($0.text))])" } ?? ""
            diagnostics.error(node.mark, "\"platforms\" must be a list of platforms like [linux/amd64, linux/arm64]\(hint)")
            return nil
        }
        guard !items.isEmpty else {
            diagnostics.error(node.mark, "\"platforms\" is empty: list at least one platform, like [linux/amd64, linux/arm64]")
            return nil
        }
        var result: [Platform] = []
        var ok = true
        for (index, item) in items.enumerated() {
            guard let platform = checked(item, "\"platforms\"[\(index)]", { text throws(SyntaxError) in try Platform(parsing: text) }) else {
                ok = false
                continue
            }
            if result.contains(platform) {
                diagnostics.error(item.mark, "\"platforms\"[\(index)]: \(quoted(platform.description)) is listed twice")
                ok = false
            }
            result.append(platform)
        }
        return ok ? result : nil
    }

    /// Applies `--context`: it must exist and contain the plan's directory.
    private mutating func resolveContext(at mark: Mark) {
        guard let requested = loader.context else { return }
        let absolute = requested.hasPrefix("/") ? requested : PlanLoader.currentDirectory() + "/" + requested
        guard let real = HostPathResolver.realPath(absolute) else {
            diagnostics.error(mark, "the context directory \(requested) does not exist")
            return
        }
        let widened = HostPathResolver(directory: directory, context: real)
        guard widened.isInside(directory) else {
            diagnostics.error(mark, "the context \(real) does not contain the plan's directory \(directory)")
            return
        }
        paths = widened
    }

    // MARK: image

    private mutating func base(_ node: Node) -> BaseImage? {
        guard let text = diagnostics.nonEmptyString(node, "\"base\"") else { return nil }
        if text == "scratch" { return .scratch }
        for (prefix, archive) in [("oci:", false), ("oci-archive:", true)] where text.hasPrefix(prefix) {
            let rest = String(text.dropFirst(prefix.count))
            guard let (path, ref) = splitBaseReference(rest, node: node, what: archive ? "base archive" : "base layout") else { return nil }
            return archive ? .ociArchive(path: path, ref: ref) : .ociLayout(path: path, ref: ref)
        }
        if text.hasPrefix("docker://") {
            diagnostics.error(node.mark, "base \(quoted(text)): write a registry reference without docker:// (\(quoted(String(text.dropFirst(9)))))")
            return nil
        }
        // A one-word base close to "scratch" is a typo, not an image on
        // Docker Hub.
        if !text.contains("/"), !text.contains(":"), !text.contains("@"), KeySuggestion.closest(to: text, in: ["scratch"]) != nil {
            diagnostics.error(node.mark, "base \(quoted(text)) must be scratch, oci:DIR[:REF], oci-archive:FILE[:REF] or a registry reference" + KeySuggestion.hint(for: text, in: ["scratch"]))
            return nil
        }
        // `base: 7777` or `base: true` is a number or a boolean to every
        // YAML tool but kiln; as a registry reference it must be a string.
        if let scalar = node.scalar, scalar.style == .plain, node.tag == nil, PlainScalar.isCoreSchemaNonString(text) {
            diagnostics.error(node.mark, "base \(quoted(text)) is read as a number or boolean by YAML tools; quote it to name a registry image")
            return nil
        }
        do {
            return .registry(try RegistryReference(parsing: text))
        } catch {
            diagnostics.error(node.mark, "base: \(error) (a base is scratch, oci:DIR[:REF], oci-archive:FILE[:REF] or [host[:port]/]path[:tag][@sha256:…])")
            return nil
        }
    }

    /// `DIR[:REF]`: the whole text names the path when it exists (paths may
    /// hold colons); otherwise the last colon separates the ref.
    private mutating func splitBaseReference(_ text: String, node: Node, what: String) -> (String, String?)? {
        func absolute(_ path: String) -> String { HostPathResolver.normalize(path.hasPrefix("/") ? path : directory + "/" + path) }
        if !text.isEmpty, let real = HostPathResolver.realPath(absolute(text)) { return (real, nil) }
        if let colon = text.lastIndex(of: ":") {
            let path = String(text[..<colon]), ref = String(text[text.index(after: colon)...])
            if !path.isEmpty, !ref.isEmpty, let real = HostPathResolver.realPath(absolute(path)) { return (real, ref) }
        }
        diagnostics.error(node.mark, BaseReferenceMessage.missing(text, what: what, absolute: absolute))
        return nil
    }

    private mutating func created(_ node: Node?) -> Timestamp? {
        let epoch = sourceDateEpoch(at: node?.mark ?? Mark(line: 1, column: 1))
        guard let node else { return epoch ?? Timestamp(secondsSinceEpoch: 0) }
        guard let declared = checked(node, "\"created\"", label: "created", { text throws(SyntaxError) in try Timestamp(rfc3339: text) }) else { return nil }
        // SOURCE_DATE_EPOCH clamps: nothing in the image is newer than it.
        if let epoch, epoch < declared { return epoch }
        return declared
    }

    private mutating func sourceDateEpoch(at mark: Mark) -> Timestamp? {
        guard let text = loader.environment["SOURCE_DATE_EPOCH"], !text.isEmpty else { return nil }
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let seconds = Int64(text) else {
            diagnostics.error(mark, "SOURCE_DATE_EPOCH=\(quoted(text)) in the environment is not a whole number of seconds")
            return nil
        }
        // RFC 3339 (the image config's `created`) has four-digit years.
        guard seconds <= Timestamp.latest.secondsSinceEpoch else {
            diagnostics.error(mark, "SOURCE_DATE_EPOCH=\(quoted(text)) in the environment is after \(Timestamp.latest.rfc3339)")
            return nil
        }
        return Timestamp(secondsSinceEpoch: seconds)
    }

    // MARK: runtime config

    private mutating func runtimeConfig(_ fields: Fields) -> RuntimeConfig? {
        var config = RuntimeConfig()
        var ok = true
        func track<T>(_ value: T?) -> T? {
            if value == nil { ok = false }
            return value
        }
        for key in ["entrypoint", "cmd"] { if let node = fields.value(key) { locations.record(key, node, file: file) } }
        if let node = fields.value("entrypoint") { config.entrypoint = track(diagnostics.stringList(node, "\"entrypoint\" (exec form)", nonEmptyItems: false, execForm: true)) }
        if let node = fields.value("cmd") { config.cmd = track(diagnostics.stringList(node, "\"cmd\" (exec form)", nonEmptyItems: false, execForm: true)) }
        if let node = fields.value("env") {
            config.env = track(environment(node, "\"env\"", reserved: [])) ?? [:]
        }
        if let node = fields.value("workdir") {
            config.workdir = track(checked(node, "\"workdir\"", label: "workdir") { text throws(SyntaxError) in try ImagePath(validating: text).string })
        }
        if let node = fields.value("user") { config.user = track(diagnostics.nonEmptyString(node, "\"user\"")) }
        if let node = fields.value("expose") {
            if let list = track(diagnostics.stringList(node, "\"expose\"")) {
                var seen = Set<String>()
                for (index, text) in list.enumerated() {
                    let item = node.sequence?[index] ?? node
                    do {
                        let port = try RuntimeSyntax.port(text)
                        if !seen.insert(port).inserted { diagnostics.error(item.mark, "\"expose\" lists \(port) twice"); ok = false }
                        config.expose.append(port)
                    } catch {
                        diagnostics.error(item.mark, "\"expose\": \(error.message)")
                        ok = false
                    }
                }
            }
        }
        if let node = fields.value("volumes") {
            if let list = track(diagnostics.stringList(node, "\"volumes\"")) {
                var seen = Set<String>()
                for (index, text) in list.enumerated() {
                    let item = node.sequence?[index] ?? node
                    do {
                        let path = try ImagePath(validating: text).string
                        if !seen.insert(path).inserted { diagnostics.error(item.mark, "\"volumes\" lists \(path) twice"); ok = false }
                        config.volumes.append(path)
                    } catch {
                        diagnostics.error(item.mark, "\"volumes\": \(error.message)")
                        ok = false
                    }
                }
            }
        }
        if let node = fields.value("stop_signal") {
            config.stopSignal = track(checked(node, "\"stop_signal\"") { text throws(SyntaxError) in try RuntimeSyntax.signal(text); return text })
        }
        if let node = fields.value("labels") { config.labels = track(diagnostics.stringMap(node, "\"labels\"")) ?? [:] }
        return ok ? config : nil
    }

    /// An environment map: valid names, none of `reserved`.
    mutating func environment(_ node: Node, _ what: String, reserved: [String]) -> [String: String]? {
        guard var map = diagnostics.stringMap(node, what) else { return nil }
        for pair in node.mapping ?? [] {
            let name = pair.key.scalar?.text ?? ""
            do {
                try RuntimeSyntax.environmentName(name)
                if reserved.contains(name) {
                    diagnostics.error(pair.key.mark, "\(what): \(name) is set by kiln and cannot be overridden")
                    map[name] = nil
                }
            } catch {
                diagnostics.error(pair.key.mark, "\(what): \(error.message)")
                map[name] = nil
            }
        }
        return map
    }

    // MARK: helpers

    /// Reads a string and runs a validating transform on it, reporting
    /// the transform's ``SyntaxError`` at the node.
    /// - Parameters:
    ///   - what: names the value in a "must be a string" message.
    ///   - prefix: where we are (`layer "app": `), before the transform's message.
    ///   - label: a word put before a transform's message that does not
    ///     name the value itself (`workdir` + `"/app/" is not normalized`).
    mutating func checked<T>(_ node: Node, _ what: String, prefix: String = "", label: String? = nil,
                             _ transform: (String) throws(SyntaxError) -> T) -> T? {
        guard let text = diagnostics.string(node, what) else { return nil }
        do {
            return try transform(text)
        } catch {
            diagnostics.error(node.mark, prefix + (label.map { $0 + " " } ?? "") + error.message)
            return nil
        }
    }

    /// One keyword of a `String`-backed enum, with a hint when misspelled.
    mutating func keyword<K: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, _: K.Type) -> K? where K.RawValue == String {
        guard let text = diagnostics.string(node, what) else { return nil }
        if let value = K(rawValue: text) { return value }
        let names = K.allCases.map(\.rawValue)
        diagnostics.error(node.mark, "\(what) must be one of \(names.joined(separator: ", ")), not \(quoted(text))" + KeySuggestion.hint(for: text, in: names))
        return nil
    }
}
