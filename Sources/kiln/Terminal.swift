import KilnCore
import Glibc

/// Where human output goes: stderr, always; stdout is kept for `--json`
/// and for commands whose product is text (`kiln plan`, `kiln schema`).
enum Terminal {
    /// Whether stderr is a terminal (progress lines and color only then).
    static let isInteractive = isatty(2) == 1

    /// The width of the terminal on stderr (`TIOCGWINSZ`), else `COLUMNS`,
    /// else 100; asked at each redraw, so a resized window is followed.
    static var columns: Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let value = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), value > 0 { return value }
        return 100
    }

    /// `text` cut to fit `width` columns, ending in `…` when cut. (Live
    /// lines must not wrap: redrawing moves the cursor up by lines.)
    static func fit(_ text: String, width: Int) -> String {
        guard text.count > width, width > 1 else { return text }
        return String(text.prefix(width - 1)) + "…"
    }

    /// The first line of `text` with control characters as spaces and
    /// outer blanks trimmed: what a live line may quote of a command or
    /// its output without breaking the screen.
    static func printable(firstLine text: String) -> String {
        let first = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) } ?? ""
        let cleaned = first.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) }
        return String(cleaned).trimmingCharacters(in: .whitespaces)
    }

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
