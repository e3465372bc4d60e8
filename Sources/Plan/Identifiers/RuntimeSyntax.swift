import KilnCore

/// Syntax of runtime-config values.
public enum RuntimeSyntax {
    /// Normalizes an `expose` entry: `8080` → `8080/tcp`; protocols tcp, udp, sctp.
    public static func port(_ text: String) throws(SyntaxError) -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let proto = parts.count == 2 ? String(parts[1]) : "tcp"
        guard (1...2).contains(parts.count), let port = Int(parts[0]), parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              (1...65535).contains(port), ["tcp", "udp", "sctp"].contains(proto)
        else {
            throw SyntaxError("port \(quoted(text)) must be PORT or PORT/PROTOCOL with PORT 1-65535 and PROTOCOL tcp, udp or sctp")
        }
        return "\(port)/\(proto)"
    }

    /// Known signal names (as `kill -l` prints them, with SIG).
    static let signals = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
                          "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
                          "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
                          "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"]

    /// Checks a `stop_signal`: a name like `SIGTERM`, `SIGRTMIN+3`, or a number 1-64.
    public static func signal(_ text: String) throws(SyntaxError) {
        if signals.contains(text) { return }
        // Digits only: Int() alone would also take "+5" and "SIGRTMAX--0".
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return Int(s)
        }
        if let n = number(Substring(text)), (1...64).contains(n) { return }
        for base in ["SIGRTMIN+", "SIGRTMAX-"] where text.hasPrefix(base) {
            if let n = number(text.dropFirst(base.count)), (0...30).contains(n) { return }
        }
        let hint = signals.contains("SIG" + text.uppercased()) ? " (did you mean \"SIG\(text.uppercased())\"?)" : KeySuggestion.hint(for: text, in: signals)
        throw SyntaxError("stop_signal \(quoted(text)) is not a signal name like \"SIGTERM\" or a number\(hint)")
    }

    /// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func environmentName(_ name: String) throws(SyntaxError) {
        let bytes = Array(name.utf8)
        func word(_ b: UInt8) -> Bool { (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) || b == UInt8(ascii: "_") }
        guard let first = bytes.first, word(first), bytes.allSatisfy({ word($0) || (0x30...0x39).contains($0) }) else {
            throw SyntaxError("environment variable name \(quoted(name)) must match [A-Za-z_][A-Za-z0-9_]*")
        }
    }
}
