import KilnCore
import OCI

/// Pieces of GitHub-flavored markdown for the pull-request form.
enum Markdown {
    /// Rows shown per `<details>` table before "… and N more".
    static let rowLimit = 200
    /// Rows of a table shown unfolded (`<details open>`) at most.
    static let openLimit = 20
    /// GitHub's limit on a pull-request comment, in characters; counted
    /// here in UTF-8 bytes, which is never fewer.
    static let commentLimit = 65_536

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

    /// Lines in a fenced code block whose fence is longer than any run of
    /// backticks in them.
    static func fenced(_ lines: [String], language: String) -> [String] {
        var longest = 0
        for line in lines {
            var run = 0
            for character in line { run = character == "`" ? run + 1 : 0; longest = max(longest, run) }
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return [fence + language] + lines + [fence]
    }

    /// A collapsed section (open when asked).
    static func details(_ summary: String, _ body: [String], open: Bool = false) -> [String] {
        ["<details" + (open ? " open" : "") + "><summary>" + summary + "</summary>", ""] + body + ["", "</details>", ""]
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

/// A markdown comment that fits ``Markdown/commentLimit``: a summary that
/// is never cut, then folded sections (tables) that are cut — whole rows,
/// then whole sections — where the limit is reached, each cut said by a
/// "… N more" line.
struct MarkdownDocument {
    /// One folded table.
    struct Section {
        var summary: String
        var header: [String]
        var rows: [[String]]
        var open = false
        /// A fenced block (a unified diff) instead of a table.
        var block: [String]? = nil
    }

    /// What is kept whole: headings, the summary tables.
    var summary: [String] = []
    /// The folded details, in order.
    var sections: [Section] = []
    /// Closing lines (kept whole too).
    var footer: [String] = []
    /// The limit to fit (tests lower it).
    var limit = Markdown.commentLimit

    /// A comment headed by which two things are compared.
    init(old: String, new: String) {
        summary = Markdown.heading(old: old, new: new)
    }

    /// The comment with one more summary line (the whole of an equal diff).
    func saying(_ line: String) -> MarkdownDocument {
        var document = self
        document.summary.append(line)
        return document
    }

    /// Room kept for the line that says what was left out.
    private static let reserve = 400

    func render() -> String {
        func text(_ lines: [String]) -> String {
            var lines = lines
            while lines.last == "" { lines.removeLast() }
            return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        }
        var head = summary
        var budget = limit - Self.reserve - text(footer).utf8.count - 1
        if text(head).utf8.count > budget {
            // Only a plan with thousands of layers gets here: cut the summary
            // by lines rather than break the limit.
            var kept: [String] = []
            var used = 0
            for line in head {
                guard used + line.utf8.count + 1 <= budget else { break }
                kept.append(line)
                used += line.utf8.count + 1
            }
            head = kept + ["", "… \(head.count - kept.count) more summary lines (see `kiln diff --format text`)", ""]
        }
        budget -= text(head).utf8.count + 1
        var body: [String] = []
        var stopped = false, leftSections = 0, leftRows = 0
        for section in sections {
            if stopped {
                leftSections += 1
                leftRows += section.rows.count
                continue
            }
            if let block = section.block {
                // A block is shown whole or left out with what follows.
                let whole = Markdown.details(section.summary, Markdown.fenced(block, language: "diff"), open: section.open)
                let size = whole.reduce(0) { $0 + $1.utf8.count + 1 }
                if size <= budget {
                    body += whole
                    budget -= size
                } else {
                    stopped = true
                    leftSections = 1
                    leftRows = block.count
                }
                continue
            }
            let rows = Markdown.capped(section.rows, columns: section.header.count)
            let whole = Markdown.details(section.summary, Markdown.table(section.header, rows), open: section.open)
            let size = whole.reduce(0) { $0 + $1.utf8.count + 1 }
            if size <= budget {
                body += whole
                budget -= size
                continue
            }
            // Whole rows while they fit, then one row that says how many not.
            let shell = Markdown.details(section.summary, Markdown.table(section.header, []), open: section.open)
            var room = budget - shell.reduce(0) { $0 + $1.utf8.count + 1 } - 200
            var kept: [[String]] = []
            for row in section.rows {
                let length = ("| " + row.joined(separator: " | ") + " |").utf8.count + 1
                guard length <= room else { break }
                kept.append(row)
                room -= length
            }
            stopped = true
            if kept.isEmpty {
                leftSections = 1
                leftRows = section.rows.count
                continue
            }
            let more = ["", "… and \(section.rows.count - kept.count) more (cut to fit a pull-request comment; see `kiln diff --format text`)"]
                + Array(repeating: "", count: max(0, section.header.count - 2))
            let cut = Markdown.details(section.summary, Markdown.table(section.header, kept + [more]), open: section.open)
            body += cut
            budget -= cut.reduce(0) { $0 + $1.utf8.count + 1 }
        }
        var tail = footer
        if stopped {
            let note = leftSections == 0 ? "… the rest" : "… \(leftSections) more section" + (leftSections == 1 ? "" : "s") + " (\(leftRows) rows or lines)"
            tail = ["", note + " left out to fit GitHub's 65,536-character comment limit; see `kiln diff --format text`", ""] + tail
        }
        if head.last != "" { head.append("") }
        return text(head + body + tail)
    }
}
