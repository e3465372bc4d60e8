import KilnCore

/// One layer of a plan: a name and the strategy that builds it.
///
/// Equality and hashing ignore `location`: where the plan says something
/// is not what it means, so reformatting a plan keeps it equal.
public struct LayerSpec: Hashable, Sendable {
    /// Unique within the plan, `[a-z0-9][a-z0-9._-]*`.
    public var name: String
    /// How the layer's tree is produced.
    public var strategy: LayerStrategy
    /// Where the layer's mapping starts in the plan file.
    public var location: SourceLocation
    /// `check_arch:` (default true): whether the layer's ELF executables and
    /// shared objects must match the image's architecture (SPEC §1.5).
    public var checkArch: Bool
    /// Where the plan wrote the layer's values that errors after parsing
    /// point at: `names[i]` (packages), `store_path` (derivation).
    public var valueLocations = ValueLocations()

    /// Memberwise; `name` must already satisfy ``LayerName/validate(_:)``.
    public init(name: String, strategy: LayerStrategy, location: SourceLocation, checkArch: Bool = true) {
        self.name = name
        self.strategy = strategy
        self.location = location
        self.checkArch = checkArch
    }

    /// Same name, strategy and check, wherever the plan wrote them.
    public static func == (lhs: LayerSpec, rhs: LayerSpec) -> Bool {
        lhs.name == rhs.name && lhs.strategy == rhs.strategy && lhs.checkArch == rhs.checkArch
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(strategy)
        hasher.combine(checkArch)
    }
}

/// The ways a layer is produced: four tar strategies, and a WebAssembly
/// module stored as it is.
public enum LayerStrategy: Hashable, Sendable {
    /// Declared content, no execution.
    case files(FilesLayer)
    /// Debian packages, resolved and unpacked without running anything.
    case packages(PackagesLayer)
    /// A command whose `$KILN_OUT` tree becomes the layer.
    case build(BuildLayer)
    /// A content-addressed store path (and its closure) copied in as is.
    case derivation(DerivationLayer)
    /// A WebAssembly module whose bytes are the blob (not a tar).
    case wasm(WasmLayer)

    /// The `type:` keyword that selects this strategy.
    public var typeName: String {
        switch self {
        case .files: "files"
        case .packages: "packages"
        case .build: "build"
        case .derivation: "derivation"
        case .wasm: "wasm"
        }
    }

    /// Whether the layer is a tar stream (every strategy but `wasm`).
    public var isTar: Bool {
        if case .wasm = self { false } else { true }
    }
}

// MARK: files

/// A `files` layer: every entry the plan declares, `root` + `paths` expanded.
public struct FilesLayer: Hashable, Sendable {
    /// Entries in plan order; no two produce the same image path.
    public var entries: [FileEntry]

    /// Memberwise; the decoder has already rejected duplicate image paths.
    public init(entries: [FileEntry]) {
        self.entries = entries
    }
}

/// One declared path in a `files` layer.
///
/// Equality and hashing ignore `location`, as for ``LayerSpec``.
public struct FileEntry: Hashable, Sendable {
    /// Absolute, normalized image path, never `/`.
    public var path: String
    /// What the path holds.
    public var content: Content
    /// Permission bits (may include setuid/setgid/sticky), or nil for the
    /// strategy's default (0644 for inline content; host-derived for sources).
    public var mode: UInt32?
    /// Owner, or nil for 0:0. For a `source` directory, applies to every
    /// entry copied from it.
    public var owner: Owner?
    /// `replace: true` on a directory: nothing of the lower layers' tree
    /// at `path` shows through (the layer holds the opaque marker
    /// `.wh..wh..opq` inside it, SPEC §1.4). Only with ``Content/directory``.
    public var replace: Bool
    /// Where the entry is declared.
    public var location: SourceLocation

    /// Memberwise; `path` must already be a valid ``ImagePath`` string, and
    /// `replace` only set on a directory.
    public init(path: String, content: Content, mode: UInt32? = nil, owner: Owner? = nil, replace: Bool = false, location: SourceLocation) {
        self.path = path
        self.content = content
        self.mode = mode
        self.owner = owner
        self.replace = replace
        self.location = location
    }

    /// Same path, content, mode, owner and replace, wherever the plan wrote them.
    public static func == (lhs: FileEntry, rhs: FileEntry) -> Bool {
        lhs.path == rhs.path && lhs.content == rhs.content && lhs.mode == rhs.mode && lhs.owner == rhs.owner && lhs.replace == rhs.replace
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(path)
        hasher.combine(content)
        hasher.combine(mode)
        hasher.combine(owner)
        hasher.combine(replace)
    }

    /// Exactly one kind of content per entry.
    public enum Content: Hashable, Sendable {
        /// A host file or directory (absolute, inside the context), copied
        /// recursively. A top-level symlink is followed; symlinks below are kept.
        case source(String)
        /// Inline text.
        case content(String)
        /// A symlink whose target is stored verbatim.
        case symlink(String)
        /// An empty directory.
        case directory
        /// `remove: true`: the path, which a lower layer has, is removed
        /// (the layer holds its whiteout `.wh.NAME`, SPEC §1.4).
        case remove
    }
}

/// A numeric `uid:gid` pair.
public struct Owner: Hashable, Sendable, CustomStringConvertible {
    /// Numeric user ID, as `owner: "uid:gid"` requires; names are never looked up.
    public var uid: UInt32
    /// Numeric group ID; names are never looked up.
    public var gid: UInt32

    /// Creates an owner from numeric IDs.
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// `uid:gid`.
    public var description: String { "\(uid):\(gid)" }
}

// MARK: packages

/// A `packages` layer: Debian packages resolved from repositories.
public struct PackagesLayer: Hashable, Sendable {
    /// Package atoms as written: `name`, `name=version`, `name (>= version)`.
    public var names: [String]
    /// Where packages come from.
    public var sources: [PackageSource]
    /// Whether dependencies are followed.
    public var resolve: Resolution
    /// Package names that count as satisfied and are never installed.
    public var exclude: [String]

    /// Memberwise; `names` must already satisfy ``PackageAtom/validate(_:)``.
    public init(names: [String], sources: [PackageSource], resolve: Resolution, exclude: [String]) {
        self.names = names
        self.sources = sources
        self.resolve = resolve
        self.exclude = exclude
    }

    /// `resolve:` — `transitive` (default) or `none`.
    public enum Resolution: String, Hashable, Sendable, CaseIterable {
        /// Follow Depends and Pre-Depends (with alternatives, versions and Provides)
        /// until every dependency not in `exclude` is satisfied.
        case transitive
        /// Install exactly the named packages, without their dependencies.
        case none
    }
}

/// One place packages come from.
public enum PackageSource: Hashable, Sendable {
    /// The build host's apt sources (`/etc/apt/sources.list` and `sources.list.d`).
    case system
    /// An apt repository.
    case repository(AptRepository)
    /// A local directory of `.deb` files (absolute, inside the context).
    case directory(String)
}

/// An apt repository named in the plan.
public struct AptRepository: Hashable, Sendable {
    /// `http://`, `https://` or `file://` base URI.
    public var uri: String
    /// Suite (`bookworm`) or a flat path ending in `/`.
    public var suite: String
    /// Components (`main`, …); empty for a flat repository.
    public var components: [String]
    /// Keyring file (absolute path) that must have signed `InRelease`, or nil.
    public var signedBy: String?
    /// Accept a repository without a verified signature.
    public var allowUnsigned: Bool

    /// Memberwise; the decoder has already checked the URI scheme and resolved
    /// `signedBy` to the keyring's real path.
    public init(uri: String, suite: String, components: [String], signedBy: String?, allowUnsigned: Bool) {
        self.uri = uri
        self.suite = suite
        self.components = components
        self.signedBy = signedBy
        self.allowUnsigned = allowUnsigned
    }
}

// MARK: build

/// A `build` layer: a command whose output tree becomes the layer.
public struct BuildLayer: Hashable, Sendable {
    /// Variables a layer's `env:` cannot set: kiln sets them (the scratch,
    /// the plan's time, and the platform the command builds for, SPEC §1.5).
    public static let reservedEnvironment = [
        "HOME", "TMPDIR", "KILN_OUT", "SOURCE_DATE_EPOCH",
        "KILN_PLATFORM", "KILN_OS", "KILN_ARCH", "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    ]

    /// What runs.
    public var command: Command
    /// Host paths copied into the scratch directory, in plan order.
    public var inputs: [BuildInput]
    /// A relative directory inside the scratch directory to run in, or nil.
    public var workdir: String?
    /// Extra environment for the command.
    public var env: [String: String]
    /// How the command is confined.
    public var sandbox: Sandbox
    /// Seconds before the command's process group is killed, or nil.
    public var timeout: Int?

    /// Memberwise; `inputs` are already resolved inside the context and do not
    /// overlap.
    public init(command: Command, inputs: [BuildInput], workdir: String?, env: [String: String], sandbox: Sandbox, timeout: Int?) {
        self.command = command
        self.inputs = inputs
        self.workdir = workdir
        self.env = env
        self.sandbox = sandbox
        self.timeout = timeout
    }

    /// A string for `/bin/sh -c`, or an argv list.
    public enum Command: Hashable, Sendable {
        /// Run with `/bin/sh -c`; the text is passed as one argument.
        case shell(String)
        /// Run directly, `argv[0]` being the program; never empty.
        case argv([String])
    }

    /// `sandbox:` — `none` (default) or `isolated` (bubblewrap).
    public enum Sandbox: String, Hashable, Sendable, CaseIterable {
        /// Run directly on the host, with only the scrubbed environment (the
        /// default).
        case none
        /// Run under bubblewrap: no network, read-only host, writable scratch and
        /// output; the build fails if `bwrap` is missing.
        case isolated
    }
}

/// One `inputs` path of a build layer.
///
/// The scratch directory mirrors the context: an input lands at its path
/// relative to the context, and the command runs in the plan directory's
/// place inside the scratch (then `workdir`). With the default context (the
/// plan directory) that is simply the scratch root.
public struct BuildInput: Hashable, Sendable {
    /// Path relative to the context, normalized, without `..`; empty when
    /// the input is the context itself (`inputs: [.]`).
    public var relativePath: String
    /// Absolute host path.
    public var hostPath: String

    /// Memberwise; `relativePath` is lexical (as the plan wrote it), while
    /// `hostPath` is its real path, so an input that is a symlink lands under
    /// its own name but with its target's content.
    public init(relativePath: String, hostPath: String) {
        self.relativePath = relativePath
        self.hostPath = hostPath
    }
}

// MARK: derivation

/// A `derivation` layer: a store path, and by default its closure.
public struct DerivationLayer: Hashable, Sendable {
    /// Absolute path directly under `storeDir`, `<hash>-<name>`.
    public var storePath: String
    /// The store directory (default `/nix/store`), absolute.
    public var storeDir: String
    /// Include every store path referenced, transitively.
    public var closure: Bool

    /// Memberwise; `storePath` must lie directly under `storeDir`.
    public init(storePath: String, storeDir: String, closure: Bool) {
        self.storePath = storePath
        self.storeDir = storeDir
        self.closure = closure
    }
}

// MARK: wasm

/// A `wasm` layer: one WebAssembly module, its bytes the layer blob
/// (media type `application/vnd.bytecodealliance.wasm.component.layer.v0+wasm`).
public struct WasmLayer: Hashable, Sendable {
    /// The module file: absolute host path inside the context.
    public var module: String

    /// Memberwise; `module` is already resolved inside the context.
    public init(module: String) {
        self.module = module
    }

    /// The module's file name (`app.wasm`), which the default entrypoint
    /// names.
    public var fileName: String {
        module.split(separator: "/").last.map(String.init) ?? module
    }
}
