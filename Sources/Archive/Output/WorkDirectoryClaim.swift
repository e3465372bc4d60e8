import Foundation
import Glibc

/// A work directory's mark of life: kiln names the directories it works in
/// beside an output or in `$TMPDIR` (a layout's staging, a build's scratch)
/// `<prefix><pid>-<random>` and holds an exclusive `flock` on each for as
/// long as it uses it. The kernel drops the lock however the process ends,
/// `kill -9` included, so a later run can tell such a directory left by a
/// dead run (its pid gone and nobody holding its lock) from one another run
/// is working in, and remove it.
///
/// Both tests must pass before anything is removed: a pid may be reused
/// (then the directory stays, the safe side), and another pid namespace
/// sharing the directory sees different pids (its lock still protects it).
public final class WorkDirectoryClaim: Sendable {
    private let descriptor: Int32

    /// Locks `path`; nil when it cannot be opened or is locked already.
    public init?(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// `<prefix><pid>-`: the start of this process's work directory names.
    public static func namePrefix(_ prefix: String) -> String {
        prefix + "\(getpid())-"
    }

    /// Removes the directories in `parent` named `<prefix><pid>-…` whose
    /// process is gone and whose lock nobody holds, and returns their
    /// paths. Names of other forms (e.g. `<prefix>old-…`, which may hold
    /// the only copy of a previous layout) are never touched.
    @discardableResult
    public static func removeAbandoned(in parent: String, prefix: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else { continue }
            // Alive, or not ours to judge (EPERM: another user's process).
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = parent + "/" + name
            guard let claim = WorkDirectoryClaim(path) else { continue }
            TreeRemoval.remove(path)
            _ = claim
            removed.append(path)
        }
        return removed
    }
}
