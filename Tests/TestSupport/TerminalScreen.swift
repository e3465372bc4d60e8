public import Foundation

/// A program run on a terminal of a given size — a detached `tmux` session
/// on its own server socket — and what a person sees on that screen.
///
/// The tests of kiln's live lines read the screen as it is drawn (after
/// the escape sequences did their work), while a slow layer runs and after
/// it ends, at the widths people use (80 and 100 columns).
public final class TerminalScreen {
    /// What a screen test needs.
    public static let requirement = Requirement.tools("tmux")

    private let socket: String

    /// Starts `arguments` in `directory` on a `columns`×`rows` terminal,
    /// with `environment` added to the session's. When the program ends
    /// the screen stays, with a last line `[exit STATUS]`.
    public init(
        _ arguments: [String], in directory: String, columns: Int, rows: Int = 40, environment: [String: String] = [:]
    ) throws {
        socket = directory + "/.tmux-\(UInt32.random(in: 0...UInt32.max))"
        let assignments = environment.keys.sorted().map { "\($0)=\(TerminalScreen.quoted(environment[$0]!))" }
        let command = (["env"] + assignments + arguments.map(TerminalScreen.quoted)).joined(separator: " ")
        let script = "cd \(TerminalScreen.quoted(directory)) && \(command); echo \"[exit $?]\"; exec sleep 3600"
        let result = try Tools.execute([
            "tmux", "-S", socket, "-f", "/dev/null", "new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "sh", "-c", script,
        ])
        guard result.succeeded else { throw TestSupportError("tmux did not start: \(result.stderr)") }
    }

    deinit { stop() }

    /// The screen's rows as shown, trailing blanks removed, empty rows at
    /// the bottom dropped.
    public func rows() throws -> [String] {
        let result = try Tools.execute(["tmux", "-S", socket, "capture-pane", "-p"])
        guard result.succeeded else { throw TestSupportError("tmux capture-pane: \(result.stderr)") }
        var rows = lines(result.stdout).map { String($0.reversed().drop { $0 == " " }.reversed()) }
        while rows.last == "" { rows.removeLast() }
        return rows
    }

    /// Looks at the screen every 50 ms until `condition` holds of its rows,
    /// and returns them.
    /// - Throws: ``TestSupportError`` with the last screen after `seconds`.
    @discardableResult
    public func waitFor(_ what: String, seconds: Double = 60, _ condition: ([String]) -> Bool) throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String] = []
        while Date() < deadline {
            last = try rows()
            if condition(last) { return last }
            usleep(50_000)
        }
        throw TestSupportError("no \(what) on the screen after \(seconds) s; it shows:\n" + last.joined(separator: "\n"))
    }

    /// Waits for the program to end; returns its exit status and the screen.
    public func waitForExit(seconds: Double = 120) throws -> (status: Int32, rows: [String]) {
        let rows = try waitFor("exit", seconds: seconds) { $0.last?.hasPrefix("[exit ") == true }
        let status = Int32(rows.last!.dropFirst(6).dropLast()) ?? -1
        return (status, Array(rows.dropLast()))
    }

    /// Ends the session and its server.
    public func stop() {
        _ = try? Tools.execute(["tmux", "-S", socket, "kill-server"])
        try? FileManager.default.removeItem(atPath: socket)
    }

    /// `text` as one word for `sh`.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
