import Foundation
import Archive
import KilnCore
public import Plan

/// The `derivation` strategy: a store path, and by default every store path
/// it references transitively, copied in at the same absolute paths.
///
/// References are found as Nix finds them: `<store_dir>/<hash>-` in file
/// contents and symlink targets, where `<hash>` is the hash part of a path
/// that exists in the store directory. The closure is a set, so its content
/// never depends on scan or directory order.
///
/// Modes are kept as the store has them (`& 0o7777`: store objects are
/// 0444/0555); owners become 0:0; the store directory's own ancestors
/// (`nix`, `nix/store`) are 0755 directories like every synthesized parent.
/// Hardlinks between store files are not kept: they are what
/// `nix-store --optimise` leaves, not part of a store path's content (its
/// NAR has none), so the layer is the same whether or not the store was
/// optimised.
///
/// Each store path of the closure is one origin of the provenance, for
/// everything below it.
public struct DerivationStrategy: LayerPreparing {
    /// The plan's layer.
    public var derivation: DerivationLayer

    /// The strategy for one derivation layer.
    public init(_ derivation: DerivationLayer) {
        self.derivation = derivation
    }

    /// Builds the tree of a derivation layer.
    /// - Throws: ``DerivationError`` for a store path that is outside the
    ///   store, badly named or missing, for special files, and for files
    ///   that cannot be read.
    public func prepare(_ context: StrategyContext) async throws(DerivationError) -> PreparedLayer {
        try Self.prepare(derivation, context: context)
    }

    private static func prepare(_ layer: DerivationLayer, context: StrategyContext) throws(DerivationError) -> PreparedLayer {
        let name = context.layer.name
        let root = try validate(layer, layer: name)
        let scanner = StoreReferenceScanner(storeDir: root.directory)
        let store = layer.closure ? try NixStore(directory: root.directory, layer: name) : nil
        var contents: [String: [LayerEntry]] = [:]
        var pending = [root.name]
        while let next = pending.popLast() {
            let host = root.directory + "/" + next
            let entries = try entries(of: host, layer: name)
            contents[next] = entries
            guard let store else { continue }
            for hash in try references(in: entries, scanner: scanner, layer: name) {
                for referenced in store.names(withHash: hash) where contents[referenced] == nil && !pending.contains(referenced) {
                    pending.append(referenced)
                }
            }
        }
        var tree = LayerTree()
        var provenance = Provenance()
        for storeName in contents.keys.sorted() {
            // The same path the entries were walked at (see the loop above).
            let storePath = root.directory + "/" + storeName
            provenance.assignTree(String(storePath.dropFirst()), to: provenance.add(.storePath(Provenance.StorePath(path: storePath))))
            for entry in contents[storeName]! {
                // Store paths are distinct directories of one store: their
                // entries never collide.
                do { try tree.insert(entry) } catch { preconditionFailure("\(error)") }
            }
        }
        let note = contents.count == 1 ? "1 store path" : "\(contents.count) store paths"
        return PreparedLayer(tree: tree, notes: [note], provenance: provenance)
    }

    /// The entries of one store path at its own absolute path, modes kept,
    /// owners 0:0, hardlinks turned into files of their own.
    static func entries(of host: String, layer: String) throws(DerivationError) -> [LayerEntry] {
        var entries: [LayerEntry] = []
        var regularFiles: [String: LayerEntry.Kind] = [:]
        do {
            try HostTree.walk(host, at: String(host.dropFirst()), options: HostTreeOptions(modes: .preserved)) { entry in
                var entry = entry
                switch entry.kind {
                case .regular:
                    regularFiles[entry.path] = entry.kind
                case .hardlink(let target):
                    // The walk met the target first, in this same store path.
                    entry.kind = regularFiles[target] ?? entry.kind
                default:
                    break
                }
                entries.append(entry)
            }
        } catch let error as HostTreeError {
            if case .unsupportedFileType(let path, let kind) = error {
                throw DerivationError(layer: layer, reason: .unsupportedFile(path: path, kind: kind))
            }
            throw DerivationError(layer: layer, reason: .unreadable(error))
        } catch {
            preconditionFailure("the entry collector throws nothing: \(error)")
        }
        return entries
    }

    /// Hash parts named by the entries' file contents and symlink targets
    /// (a hardlinked file's content is scanned under each of its names; it
    /// yields the same hashes).
    static func references(in entries: [LayerEntry], scanner: StoreReferenceScanner, layer: String) throws(DerivationError) -> Set<String> {
        var found = Set<String>()
        for entry in entries {
            switch entry.kind {
            case .regular(.file(let path, _, _)):
                do {
                    found.formUnion(try scanner.hashes(inFileAt: path))
                } catch {
                    throw DerivationError(layer: layer, reason: .fileSystem(
                        operation: error.operation, path: path, message: String(cString: strerror(error.errno))))
                }
            case .regular(.bytes(let bytes)):
                found.formUnion(scanner.hashes(in: bytes))
            case .symlink(let target):
                found.formUnion(scanner.hashes(in: target.utf8))
            case .directory, .hardlink:
                break
            }
        }
        return found
    }

    /// A checked `store_path`: its store directory and its name there.
    struct StorePath: Hashable {
        var directory: String
        var name: String
    }

    /// Checks that `store_path` lies directly in `store_dir`, is named
    /// `<hash>-<name>` and exists.
    static func validate(_ layer: DerivationLayer, layer name: String) throws(DerivationError) -> StorePath {
        guard layer.storeDir.hasPrefix("/") else {
            throw DerivationError(layer: name, reason: .storeDirectoryNotAbsolute(layer.storeDir))
        }
        let directory = trimmingTrailingSlashes(layer.storeDir)
        let path = trimmingTrailingSlashes(layer.storePath)
        let prefix = directory == "/" ? "/" : directory + "/"
        guard path.hasPrefix(prefix), path.count > prefix.count, !path.dropFirst(prefix.count).contains("/") else {
            throw DerivationError(layer: name, reason: .outsideStore(path: layer.storePath, storeDirectory: layer.storeDir))
        }
        let storeName = String(path.dropFirst(prefix.count))
        guard NixStore.isStorePathName(storeName) else {
            throw DerivationError(layer: name, reason: .invalidName(layer.storePath))
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw DerivationError(layer: name, reason: .missing(path))
        }
        return StorePath(directory: directory, name: storeName)
    }

    private static func trimmingTrailingSlashes(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }
}
