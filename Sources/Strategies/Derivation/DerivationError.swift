import Archive
import KilnCore

/// Why a `derivation` layer could not be produced. Every message starts with
/// the layer's name.
public struct DerivationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The layer being built.
    public var layer: String
    /// What went wrong.
    public var reason: Reason

    /// An error of the layer named `layer`.
    public init(layer: String, reason: Reason) {
        self.layer = layer
        self.reason = reason
    }

    /// The failures a derivation layer reports.
    public enum Reason: Hashable, Sendable {
        /// `store_dir` is not an absolute path.
        case storeDirectoryNotAbsolute(String)
        /// `store_path` is not directly inside `store_dir`.
        case outsideStore(path: String, storeDirectory: String)
        /// `store_path`'s last component is not `<hash>-<name>`.
        case invalidName(String)
        /// `store_path` does not exist.
        case missing(String)
        /// A store path holds a device, socket or fifo; `kind` says which ("a FIFO").
        case unsupportedFile(path: String, kind: String)
        /// A store path could not be read into the layer.
        case unreadable(HostTreeError)
        /// A file system operation on a store path failed.
        case fileSystem(operation: String, path: String, message: String)
    }

    /// `layer "NAME": ` and what went wrong.
    public var description: String { "layer \"\(layer)\": " + message }

    /// What went wrong, without the layer's name.
    public var message: String {
        switch reason {
        case .storeDirectoryNotAbsolute(let directory):
            return "store_dir \"\(directory)\" must be an absolute path"
        case .outsideStore(let path, let storeDirectory):
            return "store_path \(path) is not directly inside the store directory \(storeDirectory)"
        case .invalidName(let path):
            return "store_path \(path) is not named <hash>-<name> "
                + "(32 characters of 0123456789abcdfghijklmnpqrsvwxyz, a dash, then a name)"
        case .missing(let path):
            return "store path \(path) does not exist"
        case .unsupportedFile(let path, let kind):
            return "\(path) is \(kind); a layer may hold only files, directories, symlinks and hardlinks"
        case .unreadable(let error):
            return "\(error)"
        case .fileSystem(let operation, let path, let message):
            return "cannot \(operation) \(path): \(message)"
        }
    }
}
