public import KilnCore

/// Where every path of a prepared layer came from: a `files` entry, a
/// Debian package, a store path, a build command, or kiln itself.
///
/// Origins are kept once each (one per files entry, package, store path or
/// build) and paths refer to them by index, so a layer of 100,000 files
/// costs one dictionary slot per path that needs its own record, not one
/// origin value. Two kinds of record:
/// - ``paths``: an exact path (a packages layer records each path it
///   unpacks, since packages interleave in one tree);
/// - ``trees``: a path and everything below it that has no closer record
///   (a files entry copying a directory, a store path, a build's whole
///   output at `""`), so a copied tree costs one record whatever its size.
///
/// ``origin(of:)`` answers for any path the layer holds; a parent
/// directory the tree synthesized (`etc` for a lone `/etc/motd`) has none.
/// Provenance is a function of the layer's cache key (no plan line numbers,
/// no absolute host paths, no download URLs), so a cached layer's is the
/// one a fresh build would record.
public struct Provenance: Codable, Hashable, Sendable {
    /// An index into ``origins``.
    public typealias OriginID = Int32

    /// Every origin recorded, in the order the strategy met them.
    public private(set) var origins: [Origin] = []
    /// Exact layer paths (relative, as in ``LayerTree``) → origin.
    public private(set) var paths: [String: OriginID] = [:]
    /// Layer paths whose whole subtree comes from one origin → origin.
    public private(set) var trees: [String: OriginID] = [:]

    /// An empty provenance (a base layer, or a strategy that records none).
    public init() {}

    /// Adds an origin; paths are then assigned to the returned index.
    public mutating func add(_ origin: Origin) -> OriginID {
        origins.append(origin)
        return OriginID(origins.count - 1)
    }

    /// Records that `path` (exactly) came from `origin`; a later call for
    /// the same path replaces the earlier one, as a later tar member does.
    public mutating func assign(_ path: String, to origin: OriginID) {
        paths[path] = origin
    }

    /// Records that `path` and everything below it came from `origin`,
    /// unless a closer record says otherwise. `""` is the layer's root.
    public mutating func assignTree(_ path: String, to origin: OriginID) {
        trees[path] = origin
    }

    /// The origin of `path` (`etc/motd` or `/etc/motd`): its exact record,
    /// else the closest tree record at or above it; nil for a path no
    /// strategy put there.
    public func origin(of path: String) -> Origin? {
        resolve(path).map { origins[Int($0.origin)] }
    }

    /// For a path copied from a `files` entry's host source, that host path
    /// relative to the plan's context (the source itself, or the same path
    /// below a source directory); nil otherwise.
    public func sourcePath(of path: String) -> String? {
        guard let found = resolve(path), case .filesEntry(let entry) = origins[Int(found.origin)],
              let source = entry.source else { return nil }
        guard !found.below.isEmpty else { return source }
        return source == "." ? found.below : source + "/" + found.below
    }

    /// The record for `path` and the part of `path` below a tree record.
    private func resolve(_ path: String) -> (origin: OriginID, below: String)? {
        let path = String(path.drop { $0 == "/" })
        if let exact = paths[path] { return (exact, "") }
        var candidate = Substring(path)
        while true {
            if let tree = trees[String(candidate)] {
                let below = path.dropFirst(candidate.count)
                return (tree, String(below.drop { $0 == "/" }))
            }
            guard !candidate.isEmpty else { return nil }
            candidate = candidate[..<(candidate.lastIndex(of: "/") ?? candidate.startIndex)]
        }
    }

    /// `path` relative to `base` (both absolute): what a provenance records
    /// for a host path, so that none outside the context is ever absolute.
    /// `.` for `base` itself; `..` components for a path outside it (which a
    /// valid plan never has).
    public static func hostPath(_ path: String, relativeTo base: String) -> String {
        let target = path.split(separator: "/")
        let from = base.split(separator: "/")
        let common = zip(target, from).prefix { $0 == $1 }.count
        let parts = Array(repeating: "..", count: from.count - common) + target.dropFirst(common).map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}

extension Provenance {
    /// What put a path into a layer.
    public enum Origin: Codable, Hashable, Sendable {
        /// A `files` entry of the plan.
        case filesEntry(FilesEntry)
        /// A Debian package's data archive.
        case package(Package)
        /// A derivation's store path (the layer's own or one of its closure).
        case storePath(StorePath)
        /// A build layer's command output.
        case build(Build)
        /// Something kiln wrote itself: dpkg status files, the usr-merge
        /// links, what a skipped maintainer script would have made.
        case generated(Generated)

        // One key naming the case, holding that case's fields:
        // {"package": {"name": …}}, readable without Swift's `_0` keys.
        enum CodingKeys: String, CodingKey {
            case filesEntry = "files_entry"
            case package, storePath = "store_path", build, generated
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard container.allKeys.count == 1, let key = container.allKeys.first else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an origin has exactly one kind"))
            }
            switch key {
            case .filesEntry: self = .filesEntry(try container.decode(FilesEntry.self, forKey: key))
            case .package: self = .package(try container.decode(Package.self, forKey: key))
            case .storePath: self = .storePath(try container.decode(StorePath.self, forKey: key))
            case .build: self = .build(try container.decode(Build.self, forKey: key))
            case .generated: self = .generated(try container.decode(Generated.self, forKey: key))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .filesEntry(let value): try container.encode(value, forKey: .filesEntry)
            case .package(let value): try container.encode(value, forKey: .package)
            case .storePath(let value): try container.encode(value, forKey: .storePath)
            case .build(let value): try container.encode(value, forKey: .build)
            case .generated(let value): try container.encode(value, forKey: .generated)
            }
        }
    }

    /// One `files` entry: its image path and, for a `source`, the host path.
    public struct FilesEntry: Codable, Hashable, Sendable {
        /// What the entry declares.
        public enum Kind: String, Codable, Hashable, Sendable {
            case source, content, symlink, directory
            /// `remove: true`: the layer holds the path's whiteout.
            case remove
        }

        /// The entry's absolute image path as the plan declares it (`/etc/app`).
        public var path: String
        /// What the entry declares.
        public var kind: Kind
        /// For a `source` entry, the host path relative to the plan's
        /// context (the plan's directory unless `--context` widens it): the
        /// base the cache key uses too, so a cached layer's provenance is
        /// the same as a fresh one's. nil for other kinds.
        public var source: String?

        /// Memberwise.
        public init(path: String, kind: Kind, source: String? = nil) {
            self.path = path
            self.kind = kind
            self.source = source
        }
    }

    /// A Debian package, as the layer's (locked) resolution pinned it.
    public struct Package: Codable, Hashable, Sendable {
        /// The binary package name.
        public var name: String
        /// The full Debian version (`1:2.36-9`).
        public var version: String
        /// The `.deb`'s architecture (`amd64`, `all`).
        public var architecture: String
        /// Lowercase hex SHA-256 of the `.deb`, verified when it was fetched.
        public var sha256: String

        /// Memberwise.
        public init(name: String, version: String, architecture: String, sha256: String) {
            self.name = name
            self.version = version
            self.architecture = architecture
            self.sha256 = sha256
        }
    }

    /// A store path of a derivation layer.
    public struct StorePath: Codable, Hashable, Sendable {
        /// The absolute store path (`/nix/store/<hash>-<name>`).
        public var path: String

        /// Memberwise.
        public init(path: String) {
            self.path = path
        }
    }

    /// A build layer's command and the inputs it saw.
    public struct Build: Codable, Hashable, Sendable {
        /// One host input of the command.
        public struct Input: Codable, Hashable, Sendable {
            /// Relative to the plan's context (`.` for the context itself).
            public var path: String
            /// Its content digest (see `docs/cache.md`); nil only when the
            /// caller could not digest it.
            public var digest: ContentDigest?

            /// Memberwise.
            public init(path: String, digest: ContentDigest?) {
                self.path = path
                self.digest = digest
            }
        }

        /// The argv run: `["/bin/sh", "-c", script]` for a string command.
        public var command: [String]
        /// The inputs copied into the command's scratch, in plan order.
        public var inputs: [Input]

        /// Memberwise.
        public init(command: [String], inputs: [Input]) {
            self.command = command
            self.inputs = inputs
        }
    }

    /// A path kiln wrote itself.
    public struct Generated: Codable, Hashable, Sendable {
        /// What wrote it: `dpkg status`, `usr-merge`, `update-ca-certificates`.
        public var reason: String
        /// The package it was written for, if any.
        public var package: String?

        /// Memberwise.
        public init(reason: String, package: String? = nil) {
            self.reason = reason
            self.package = package
        }
    }
}
