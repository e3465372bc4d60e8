import Foundation
import Archive
import KilnCore
import Strategies
import Glibc

/// A private temporary directory for one build (mode 0700, from `mkdtemp`).
struct ScratchDirectory: Sendable {
    let path: String
    /// The lock that marks it as in use (see ``WorkDirectoryClaim``).
    private let claim: WorkDirectoryClaim?

    /// Creates `$TMPDIR/<prefix>-<pid>-XXXXXX`, after removing the ones
    /// killed builds left there.
    init(prefix: String) throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        WorkDirectoryClaim.removeAbandoned(in: base, prefix: prefix + "-")
        var template = Array((base + "/" + WorkDirectoryClaim.namePrefix(prefix + "-") + "XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ImageBuildError.scratch(path: base, errno: errno)
        }
        path = String(cString: created)
        claim = WorkDirectoryClaim(path)
    }

    func remove() {
        TreeRemoval.remove(path)
    }
}
