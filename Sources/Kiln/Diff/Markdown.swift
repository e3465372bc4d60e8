import KilnCore
import OCI

/// Pieces of GitHub-flavored markdown for the pull-request form.
enum Markdown {
    /// Rows shown per layer in a `<details>` table before "… and N more".
    static let rowLimit = 50

    /// The comment's heading: which two things are compared.
    static func heading(old: String, new: String) -> [String] {
        ["### kiln diff " + code(old) + " → " + code(new), ""]
    }

    /// Inline code that survives any text: a longer fence around backticks,
    /// and `|` escaped, which GitHub requires even inside code in a table.
    static func code(_ text: String) -> String {
        let escaped = text.replacingAll("|", with: "\\|")
        return text.contains("`") ? "`` " + escaped + " ``" : "`" + escaped + "`"
    }

    /// A value as inline code (shortened as in the text form), or nothing.
    static func value(_ value: JSONValue?) -> String {
        value.map { code(DiffValue.display($0)) } ?? ""
    }

    /// Plain text for a table cell.
    static func cell(_ text: String) -> String {
        text.replacingAll("|", with: "\\|")
    }

    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count)]
            + rows.map { "| " + $0.joined(separator: " | ") + " |" }
    }

    /// A table of value changes: `field key`, old, new.
    static func changes(_ title: String, _ changes: [ValueChange]) -> [String] {
        guard !changes.isEmpty else { return [] }
        let rows = changes.map { [label($0), value($0.old), value($0.new)] }
        return table([title, "old", "new"], rows) + [""]
    }

    static func label(_ change: ValueChange) -> String {
        code(change.field) + (change.key.map { " " + code($0) } ?? "")
    }

    /// A collapsed section.
    static func details(_ summary: String, _ body: [String]) -> [String] {
        ["<details><summary>" + summary + "</summary>", ""] + body + ["", "</details>", ""]
    }

    /// Rows up to the limit, then one that says how many were left out.
    static func capped(_ rows: [[String]], columns: Int) -> [[String]] {
        guard rows.count > rowLimit else { return rows }
        let more = ["", "… and \(rows.count - rowLimit) more (see `kiln diff --format text`)"] + Array(repeating: "", count: max(0, columns - 2))
        return Array(rows.prefix(rowLimit)) + [more]
    }

    /// HTML-escaped text for a `<summary>`.
    static func html(_ text: String) -> String {
        text.replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;").replacingAll(">", with: "&gt;")
    }
}

extension String {
    /// Every occurrence of `target` replaced, without Foundation.
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
