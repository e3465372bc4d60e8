import Foundation
import OCI
#if canImport(Glibc)
import Glibc
#endif

/// Why `kiln build` failed, naming the layer or step.
public enum ImageBuildError: Error, CustomStringConvertible {
    /// A layer failed; `error` says how.
    case layer(name: String, any Error)
    /// The base image could not be read or reused.
    case base(any Error)
    /// The output layout or archive could not be written.
    case output(any Error)
    /// Packages lock file problems (`--locked`, unreadable lock).
    case lock(String)
    /// The build's scratch directory could not be created.
    case scratch(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .layer(let name, let error):
            // Strategy errors usually name their layer already.
            "\(error)".hasPrefix("layer \"\(name)\"") ? "\(error)" : "layer \"\(name)\": \(error)"
        case .base(let error): "base image: \(error)"
        case .output(let error): "output: \(error)"
        case .lock(let message): message
        case .scratch(let path, let code): "cannot create a scratch directory in \(path): \(String(cString: strerror(code)))"
        }
    }
}
