import KilnCore

/// "Did you mean …?" for a misspelled key or keyword.
public enum KeySuggestion {
    /// The closest of `candidates` to `word`, if it is close enough that a
    /// person probably meant it: the same letters apart from case, `_` and
    /// `-`, or an edit distance (transpositions count once) of at most 1
    /// for short words and 2 for words of five letters or more, or a word
    /// other tools use for the same thing (`permissions` for `mode`).
    public static func closest(to word: String, in candidates: [String]) -> String? {
        // No key is this long; measuring distances to it would only cost
        // memory (the table is word × candidate).
        guard word.utf8.count <= 64 else { return nil }
        let folded = fold(word)
        if let same = candidates.first(where: { fold($0) == folded }) { return same }
        if let meant = synonyms[folded], candidates.contains(meant) { return meant }
        let limit = word.count >= 5 ? 2 : (word.count >= 3 ? 1 : 0)
        var best: (String, Int)?
        for candidate in candidates where abs(candidate.utf8.count - word.utf8.count) <= limit {
            let d = distance(Array(word.lowercased().utf8), Array(candidate.utf8))
            if d <= limit, d < (best?.1 ?? .max) { best = (candidate, d) }
        }
        return best?.0
    }

    /// ` (did you mean "x"?)`, or empty.
    static func hint(for word: String, in candidates: [String]) -> String {
        hint(closest(to: word, in: candidates))
    }

    /// ` (did you mean "x"?)` for a suggestion, or empty for none.
    static func hint(_ suggestion: String?) -> String {
        suggestion.map { " (did you mean \(quoted($0))?)" } ?? ""
    }

    /// Words other tools use for a key kiln spells differently (folded:
    /// lowercase, no `_` or `-`). Suggested only where the key they map to
    /// is valid.
    private static let synonyms: [String: String] = [
        "permissions": "mode", "perms": "mode", "perm": "mode", "chmod": "mode", "filemode": "mode",
        "chown": "owner", "uid": "owner", "group": "owner",
        "src": "source", "from": "source", "file": "source",
        "dest": "path", "destination": "path", "to": "path",
        "link": "symlink", "linkto": "symlink",
        "text": "content", "data": "content", "contents": "content",
        "dir": "directory", "mkdir": "directory",
        "packages": "names", "pkgs": "names", "install": "names",
        "run": "command", "script": "command", "cmd": "command", "commands": "command",
        "environment": "env", "vars": "env",
        "ports": "expose", "exposedports": "expose", "volume": "volumes",
        "workingdir": "workdir", "cwd": "workdir",
        "stopsignal": "stop_signal", "signal": "stop_signal",
        "arch": "platform", "architecture": "platform",
        "image": "name", "repository": "name", "repo": "name",
        "version": "tag", "date": "created", "timestamp": "created", "compress": "compression",
        "url": "uri", "uris": "uri", "keyring": "signed_by", "key": "signed_by", "signedby": "signed_by",
        "storepath": "store_path", "storedir": "store_dir",
        "kind": "type", "strategy": "type",
    ]

    private static func fold(_ s: String) -> String {
        String(s.lowercased().filter { $0 != "_" && $0 != "-" })
    }

    /// Optimal string alignment distance.
    private static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
