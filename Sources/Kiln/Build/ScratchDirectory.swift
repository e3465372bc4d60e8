import Foundation
import Archive
import KilnCore
import Strategies
import Glibc

/// A private temporary directory for one build (mode 0700, from `mkdtemp`).
struct ScratchDirectory: Sendable {
    let path: String

    /// Creates `$TMPDIR/<prefix>-XXXXXX`.
    init(prefix: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/" + prefix + "-XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ImageBuildError.scratch(path: base, errno: errno)
        }
        path = String(cString: created)
    }

    func remove() {
        TreeRemoval.remove(path)
    }
}
