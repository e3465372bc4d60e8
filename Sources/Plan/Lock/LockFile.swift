internal import Crypto
internal import Foundation
public import KilnCore

/// What a plan's moving parts resolved to, written beside the plan
/// (`app.yaml` → `app.lock.json`) so builds use exactly these: the registry
/// base's digest (§1.3) and each packages layer's `.deb` files.
///
/// Written as canonical JSON (keys in byte order, `/` not escaped) laid out
/// for review: one key per line down to each layer, then one package per
/// line in install order, so a version bump is a one-line diff:
///
/// ```json
/// {
///   "base": {"digest":"sha256:…","manifest":"sha256:…","reference":"registry.example/team/base:1"},
///   "kiln_lock": 1,
///   "layers": {
///     "runtime": {
///       "inputs": "sha256:…",
///       "packages": [
///         {"architecture":"all","name":"ca-certificates","sha256":"…","size":158128,"url":"…","version":"20230311"}
///       ]
///     }
///   }
/// }
/// ```
public struct LockFile: Hashable, Sendable {
    /// The `kiln_lock` value this kiln writes and reads.
    public static let formatVersion = 1

    /// The registry base the plan's tag resolved to, if the plan has one.
    public var base: LockedBase?
    /// Packages layers by layer name.
    public var layers: [String: LockedLayer]

    /// Creates a lock holding `layers`, keyed by layer name (none by
    /// default), and `base`.
    public init(base: LockedBase? = nil, layers: [String: LockedLayer] = [:]) {
        self.base = base
        self.layers = layers
    }

    /// The key of a packages layer's entry in `layers`: its name, or for
    /// a `platforms:` plan (SPEC §1.5), which resolves every packages layer
    /// once per platform, `name@os/arch[/variant]` (`runtime@linux/arm64`),
    /// so a reviewer sees each architecture's versions on their own lines.
    public static func key(layer: String, plan: ImageBuildPlan) -> String {
        plan.isMultiPlatform ? layer + "@" + plan.platform.description : layer
    }

    /// The lock file path for a plan file: the extension (`.yaml`, `.yml`)
    /// replaced by `.lock.json`.
    public static func path(forPlan planFile: String) -> String {
        let url = URL(fileURLWithPath: planFile)
        let base = url.pathExtension.isEmpty ? url : url.deletingPathExtension()
        let name = base.lastPathComponent + ".lock.json"
        let directory = (planFile as NSString).deletingLastPathComponent
        return directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
    }

    /// Canonical JSON bytes of a value holding no floating-point numbers
    /// (the only values the canonical encoder refuses).
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        do {
            return try CanonicalJSONEncoder.serialize(value)
        } catch {
            preconditionFailure("lock file values hold no floating-point numbers: \(error)")
        }
    }

    static func json(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// The file's bytes (UTF-8, ending in a newline).
    public func encoded() -> [UInt8] {
        // Keys in byte order: "base" < "kiln_lock" < "layers".
        var out = "{\n"
        if let base { out += "  \"base\": " + LockFile.json(base.json) + ",\n" }
        out += "  \"kiln_lock\": \(LockFile.formatVersion),\n  \"layers\": {"
        let names = layers.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for (index, name) in names.enumerated() {
            let layer = layers[name]!
            out += index == 0 ? "\n    " : ",\n    "
            out += LockFile.json(.string(name))
            out += ": {\n      \"inputs\": "
            out += LockFile.json(.string(layer.inputs.description))
            out += ",\n      \"packages\": ["
            for (position, package) in layer.packages.enumerated() {
                out += position == 0 ? "\n        " : ",\n        "
                out += LockFile.json(package.json)
            }
            out += layer.packages.isEmpty ? "]\n    }" : "\n      ]\n    }"
        }
        out += names.isEmpty ? "}\n}\n" : "\n  }\n}\n"
        return Array(out.utf8)
    }

    /// Writes the file atomically (a temporary file renamed over it).
    /// - Throws: ``LockFileError/io(path:message:)``.
    public func write(to path: String) throws(LockFileError) {
        do {
            try Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io(path: path, message: error.localizedDescription)
        }
    }

    /// Reads a lock file.
    /// - Throws: ``LockFileError/missing(path:)`` when there is no file,
    ///   ``LockFileError/malformed(path:message:)`` when it is not a lock
    ///   file this kiln reads.
    public static func read(from path: String) throws(LockFileError) -> LockFile {
        guard FileManager.default.fileExists(atPath: path) else { throw .missing(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .malformed(path: path, message: "cannot read the file (a directory, or no permission?)")
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses lock file bytes; `path` is for messages.
    public static func decode(_ bytes: [UInt8], path: String) throws(LockFileError) -> LockFile {
        let document: LockDocument
        do {
            document = try JSONDecoder().decode(LockDocument.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .malformed(path: path, message: LockFile.explain(error))
        } catch {
            throw .malformed(path: path, message: "\(error)")
        }
        guard document.kiln_lock == formatVersion else {
            throw .malformed(path: path, message: "format version \(document.kiln_lock); this kiln reads version \(formatVersion)")
        }
        var base: LockedBase?
        if let entry = document.base {
            do {
                var platforms: [String: ContentDigest] = [:]
                for (platform, manifest) in entry.manifests ?? [:] { platforms[platform] = try ContentDigest(parsing: manifest) }
                base = LockedBase(
                    reference: entry.reference, digest: try ContentDigest(parsing: entry.digest), manifest: try ContentDigest(parsing: entry.manifest),
                    platforms: platforms)
            } catch {
                throw .malformed(path: path, message: "base: \(error)")
            }
        }
        var layers: [String: LockedLayer] = [:]
        for (name, layer) in document.layers {
            let inputs: ContentDigest
            do {
                inputs = try ContentDigest(parsing: layer.inputs)
            } catch {
                throw .malformed(path: path, message: "layer \"\(name)\": inputs: \(error)")
            }
            var packages: [LockedPackage] = []
            for package in layer.packages {
                guard package.sha256.utf8.count == 64, package.sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                    throw .malformed(path: path, message: "layer \"\(name)\": package \(package.name): sha256 is not 64 lowercase hex digits")
                }
                guard package.size >= 0 else {
                    throw .malformed(path: path, message: "layer \"\(name)\": package \(package.name): negative size")
                }
                packages.append(LockedPackage(
                    name: package.name, version: package.version, architecture: package.architecture,
                    url: package.url, size: package.size, sha256: package.sha256
                ))
            }
            layers[name] = LockedLayer(inputs: inputs, packages: packages)
        }
        return LockFile(base: base, layers: layers)
    }

    private static func explain(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \"\(key.stringValue)\"" + at(context.codingPath)
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type" + at(context.codingPath)
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "invalid value" + at(context.codingPath)
        @unknown default:
            return "\(error)"
        }
    }

    private static func at(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "" : " at " + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private struct LockDocument: Decodable {
        var kiln_lock: Int
        var base: Base?
        var layers: [String: Layer]

        struct Base: Decodable {
            var reference: String
            var digest: String
            var manifest: String
            var manifests: [String: String]?
        }

        struct Layer: Decodable {
            var inputs: String
            var packages: [Package]
        }

        struct Package: Decodable {
            var name: String
            var version: String
            var architecture: String
            var url: String
            var size: Int64
            var sha256: String
        }
    }
}

/// A registry base pinned: the reference as the plan writes it, the digest
/// its tag resolved to (an index's or a manifest's), and the manifest chosen
/// for the plan's platform (the same digest when the reference names a
/// manifest, not an index). A `platforms:` plan pins one manifest per
/// platform (`manifests`, keyed `linux/arm64`); `manifest` is then the
/// first platform's.
public struct LockedBase: Hashable, Sendable {
    /// The plan's `base:` text, e.g. `127.0.0.1:5000/team/base:1`.
    public var reference: String
    /// What the reference resolved to when it was locked.
    public var digest: ContentDigest
    /// The platform's image manifest.
    public var manifest: ContentDigest
    /// For a `platforms:` plan, each platform's manifest by `os/arch[/variant]`;
    /// empty otherwise.
    public var platforms: [String: ContentDigest]

    /// Memberwise.
    public init(reference: String, digest: ContentDigest, manifest: ContentDigest, platforms: [String: ContentDigest] = [:]) {
        self.reference = reference
        self.digest = digest
        self.manifest = manifest
        self.platforms = platforms
    }

    /// The pin as the build of `plan`'s platform uses it (`manifest` that
    /// platform's), or nil when a `platforms:` lock has none for it.
    public func pin(for plan: ImageBuildPlan) -> LockedBase? {
        guard plan.isMultiPlatform else { return self }
        return platforms[plan.platform.description].map { LockedBase(reference: reference, digest: digest, manifest: $0) }
    }

    var json: JSONValue {
        var members: [String: JSONValue] = [
            "reference": .string(reference), "digest": .string(digest.description), "manifest": .string(manifest.description),
        ]
        if !platforms.isEmpty { members["manifests"] = .object(platforms.mapValues { .string($0.description) }) }
        return .object(members)
    }
}

/// One packages layer's resolution.
public struct LockedLayer: Hashable, Sendable {
    /// Digest of the layer's package inputs (see ``PackagesStrategy/inputsDigest(of:plan:)``);
    /// a different digest means the lock is stale for the layer.
    public var inputs: ContentDigest
    /// The packages in install order.
    public var packages: [LockedPackage]

    /// Memberwise; `packages` must be in install order, since ``packagesDigest``
    /// depends on it.
    public init(inputs: ContentDigest, packages: [LockedPackage]) {
        self.inputs = inputs
        self.packages = packages
    }

    /// What the layer's bytes depend on from the resolution, for its cache
    /// key: SHA-256 of the canonical JSON list of the packages' name,
    /// version, architecture, size and SHA-256 in install order (URLs left
    /// out: the same file from another mirror makes the same layer).
    public var packagesDigest: ContentDigest {
        let list = JSONValue.array(packages.map { package in
            .object([
                "name": .string(package.name), "version": .string(package.version),
                "architecture": .string(package.architecture), "size": .integer(package.size),
                "sha256": .string(package.sha256),
            ])
        })
        return ContentDigest(sha256Bytes: SHA256.hash(data: LockFile.bytes(list)))
    }
}

/// One pinned `.deb`.
public struct LockedPackage: Hashable, Sendable {
    /// The binary package name (`Package:`).
    public var name: String
    /// The full Debian version, epoch and revision included (`1:2.36-9`).
    public var version: String
    /// The `.deb`'s own architecture: the build's (`amd64`) or `all`.
    public var architecture: String
    /// Absolute `http(s)://` or `file://` URL, or a path relative to the
    /// plan's directory for a `.deb` inside it (a `dir:` source), so the
    /// lock file does not depend on where the checkout lives.
    public var url: String
    /// Bytes in the `.deb`, checked along with `sha256` after every fetch.
    public var size: Int64
    /// Lowercase hex SHA-256 of the `.deb`.
    public var sha256: String

    /// Memberwise; `sha256` must be 64 lowercase hex digits and `size` not
    /// negative, as ``LockFile/decode(_:path:)`` checks when reading.
    public init(name: String, version: String, architecture: String, url: String, size: Int64, sha256: String) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.url = url
        self.size = size
        self.sha256 = sha256
    }

    var json: JSONValue {
        .object([
            "name": .string(name), "version": .string(version), "architecture": .string(architecture),
            "url": .string(url), "size": .integer(size), "sha256": .string(sha256),
        ])
    }
}

/// Why a lock file cannot be used.
public enum LockFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// There is no lock file (`--locked` needs one).
    case missing(path: String)
    /// The file is not a lock file this kiln reads.
    case malformed(path: String, message: String)
    /// The lock does not match the plan's packages layers.
    case stale(path: String, layers: [String])
    /// The file cannot be written.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .missing(let path):
            "\(path): no lock file; run `kiln lock` to resolve the packages and write it"
        case .malformed(let path, let message):
            "\(path): \(message)"
        case .stale(let path, let layers):
            "\(path): the lock file is stale for layer\(layers.count == 1 ? "" : "s") \(layers.map { "\"\($0)\"" }.joined(separator: ", ")) (the plan's packages inputs changed); run `kiln lock`"
        case .io(let path, let message):
            "\(path): \(message)"
        }
    }
}
