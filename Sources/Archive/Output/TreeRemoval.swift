import KilnCore
import Foundation
import Glibc

/// Removing temporary trees kiln made (build scratch, unpacked packages,
/// staging layouts), even where a command left read-only directories.
public enum TreeRemoval {
    /// Deletes `path` and everything below it. Read-only directories are
    /// made writable first when a plain removal fails. Failures are
    /// ignored: this runs on the way out of an error or after use.
    public static func remove(_ path: String) {
        let files = FileManager.default
        if (try? files.removeItem(atPath: path)) != nil { return }
        guard files.fileExists(atPath: path) else { return }
        chmod(path, 0o700)
        if let walker = files.enumerator(atPath: path) {
            while let relative = walker.nextObject() as? String {
                var info = stat()
                let full = path + "/" + relative
                if lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { chmod(full, 0o700) }
            }
        }
        try? files.removeItem(atPath: path)
    }
}
