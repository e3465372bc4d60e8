import KilnCore
import OCI

/// How `kiln diff` prints its result.
public enum DiffFormat: String, Hashable, Sendable, CaseIterable {
    /// Lines for a terminal, colored when asked to.
    case text
    /// A compact summary for a pull-request comment, with tables.
    case markdown
    /// One canonical JSON document (documented in `docs/diff.md`).
    case json
}

extension ImageDiff {
    /// The diff in `format`, ending with a newline.
    /// - Parameter color: ANSI colors in the text form (for a terminal).
    public func render(_ format: DiffFormat, color: Bool = false) throws -> String {
        switch (self, format) {
        case (.plans(let diff), .text): diff.text(style: TextStyle(color: color))
        case (.plans(let diff), .markdown): diff.markdown
        case (.plans(let diff), .json): String(decoding: try CanonicalJSONEncoder().encode(diff), as: UTF8.self) + "\n"
        case (.layouts(let diff), .text): diff.text(style: TextStyle(color: color))
        case (.layouts(let diff), .markdown): diff.markdown
        case (.layouts(let diff), .json): String(decoding: try CanonicalJSONEncoder().encode(diff), as: UTF8.self) + "\n"
        }
    }
}

/// ANSI styling for the text form; plain when `color` is off.
struct TextStyle {
    var color: Bool

    func paint(_ text: String, _ sgr: String) -> String {
        color ? "\u{1B}[" + sgr + "m" + text + "\u{1B}[0m" : text
    }

    func heading(_ text: String) -> String { paint(text, "1") }

    /// A line whose color follows the change: green added, red removed,
    /// yellow changed.
    func line(_ kind: ChangeKind?, _ text: String) -> String {
        switch kind {
        case .added: paint(text, "32")
        case .removed: paint(text, "31")
        case .changed: paint(text, "33")
        case nil: text
        }
    }

    /// `--- old` and `+++ new`, as `diff -u` starts.
    func header(old: String, new: String) -> [String] {
        [line(.removed, "--- " + old), line(.added, "+++ " + new)]
    }

    /// A heading and one line per change, or nothing without changes.
    func section(_ title: String, _ changes: [ValueChange]) -> [String] {
        changes.isEmpty ? [] : [heading(title)] + changes.map { change($0, indent: "  ") }
    }

    /// `sign field key: value`, or `old → new` for a change.
    func change(_ change: ValueChange, indent: String) -> String {
        let label = change.field + (change.key.map { " " + $0 } ?? "")
        return line(change.change, indent + change.change.sign + " " + label + ": " + Self.values(change.old, change.new))
    }

    /// One value, or `old → new` for a change.
    static func values(_ old: JSONValue?, _ new: JSONValue?, render: (JSONValue) -> String = DiffValue.display) -> String {
        switch (old, new) {
        case let (old?, new?): render(old) + " → " + render(new)
        case let (old?, nil): render(old)
        case let (nil, new?): render(new)
        case (nil, nil): ""
        }
    }
}
