import KilnCore
import Glibc

/// Where human output goes: stderr, always; stdout is kept for `--json`
/// and for commands whose product is text (`kiln plan`, `kiln schema`).
enum Terminal {
    /// Whether stderr is a terminal (progress lines and color only then).
    static let isInteractive = isatty(2) == 1

    static func line(_ text: String) {
        FileHandleWriter.stderr.write(text + "\n")
    }

    static func error(_ text: String) {
        line(text.hasPrefix("kiln:") || text.contains(": error: ") || text.hasPrefix("Error:") ? text : "kiln: error: " + text)
    }
}

/// Unbuffered writes to a file descriptor.
struct FileHandleWriter {
    let fd: Int32
    static let stdout = FileHandleWriter(fd: 1)
    static let stderr = FileHandleWriter(fd: 2)

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
        bytes.removeAll()
    }
}
