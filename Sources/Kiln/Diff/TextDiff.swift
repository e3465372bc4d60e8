import Foundation
import KilnCore
import Plan

/// A small text that changed between two plans — a files entry's inline
/// `content`, a `source` file under ``maxBytes``, a build `command` — with
/// the unified diff of its lines, so a reviewer reads the change itself
/// rather than two digests.
public struct TextDiff: Hashable, Sendable, Encodable {
    /// Texts longer than this (in bytes, either side) are not diffed.
    public static let maxBytes = 64 * 1024
    /// Lines of context around each change, as `diff -u`.
    static let context = 3

    /// The layer the text belongs to.
    public var layer: String
    /// `files` (an entry's content or source file) or `command`.
    public var section: String
    /// The image path for `files`; the field name for a command.
    public var key: String
    /// The old text.
    public var old: String
    /// The new text.
    public var new: String
    /// The unified diff's hunks: `@@ -a,b +c,d @@` lines, then lines that
    /// start with ` `, `-` or `+`.
    public var hunks: [String]

    /// Lines compared pairwise at most, after the common head and tail are
    /// set aside (the table takes four bytes per pair).
    static let maxPairs = 4_000_000

    /// The diff of two texts, or nil when either is too large or not text.
    static func make(layer: String, section: String, key: String, old: String, new: String) -> TextDiff? {
        guard old != new, old.utf8.count <= maxBytes, new.utf8.count <= maxBytes, !old.contains("\0"), !new.contains("\0"),
              let hunks = unified(lines(old), lines(new)) else { return nil }
        return TextDiff(layer: layer, section: section, key: key, old: old, new: new, hunks: hunks)
    }

    /// A text's lines; a last line without a newline is marked as `diff`
    /// marks it.
    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() } else if !lines.isEmpty { lines[lines.count - 1] += "\n\\ No newline at end of file" }
        return lines
    }

    /// One step of an edit script: a line kept (` `), removed (`-`) or
    /// added (`+`), at its index in the old (`i`) and new (`j`) lines.
    private struct Step {
        var kind: Character
        var i: Int
        var j: Int
    }

    /// The edit script from a longest common subsequence of the lines
    /// between the common head and tail; nil when that middle is too large.
    private static func script(_ a: [String], _ b: [String]) -> [Step]? {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let n = a.count - head - tail, m = b.count - head - tail
        guard n * m <= maxPairs else { return nil }
        var lcs = [[Int32]](repeating: [Int32](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = a[head + i] == b[head + j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var steps = (0..<head).map { Step(kind: " ", i: $0, j: $0) }
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[head + i] == b[head + j] {
                steps.append(Step(kind: " ", i: head + i, j: head + j))
                i += 1
                j += 1
            } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
                // Removals before additions, as diff -u prints them.
                steps.append(Step(kind: "-", i: head + i, j: head + j))
                i += 1
            } else {
                steps.append(Step(kind: "+", i: head + i, j: head + j))
                j += 1
            }
        }
        steps += (0..<tail).map { Step(kind: " ", i: head + n + $0, j: head + m + $0) }
        return steps
    }

    /// The hunks of a unified diff; nil when the texts are too far apart
    /// to compare here.
    static func unified(_ a: [String], _ b: [String]) -> [String]? {
        guard let script = script(a, b) else { return nil }
        var hunks: [String] = []
        var index = 0
        while index < script.count {
            guard script[index].kind != " " else { index += 1; continue }
            let start = max(0, index - context)
            var end = index
            // Extend while the next change is within twice the context.
            while true {
                while end < script.count, script[end].kind != " " { end += 1 }
                var next = end
                while next < script.count, script[next].kind == " " { next += 1 }
                if next < script.count, next - end <= 2 * context { end = next } else { break }
            }
            let stop = min(script.count, end + context)
            let slice = script[start..<stop]
            let oldCount = slice.filter { $0.kind != "+" }.count, newCount = slice.filter { $0.kind != "-" }.count
            let oldStart = slice.first.map { $0.i } ?? 0, newStart = slice.first.map { $0.j } ?? 0
            hunks.append("@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@")
            for step in slice {
                let text = step.kind == "+" ? b[step.j] : a[step.i]
                for (number, part) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    hunks.append(number == 0 ? String(step.kind) + part : String(part))
                }
            }
            index = stop
        }
        return hunks
    }

    /// `start,count` as `diff -u` writes it (1-based; `start-1,0` when empty).
    private static func range(_ start: Int, _ count: Int) -> String {
        count == 0 ? "\(start),0" : count == 1 ? "\(start + 1)" : "\(start + 1),\(count)"
    }

    /// Every text that changed between the plans' layers: `content` and
    /// small `source` files of files entries on both sides, and `command`.
    static func compare(_ layers: [LayerChange], old: PlanSnapshot, new: PlanSnapshot) -> [TextDiff] {
        var result: [TextDiff] = []
        for layer in layers where layer.change == .changed {
            for field in layer.fields where field.field == "command" {
                if let (before, after) = commandTexts(field.old, field.new),
                   let diff = make(layer: layer.name, section: "command", key: "command", old: before, new: after) {
                    result.append(diff)
                }
            }
            for item in layer.items where item.section == "files" && item.change == .changed {
                guard let before = old.text(of: item.old), let after = new.text(of: item.new),
                      let diff = make(layer: layer.name, section: "files", key: item.key, old: before, new: after) else { continue }
                result.append(diff)
            }
        }
        return result
    }

    /// Two commands as texts: shell strings as they are, argv lists one
    /// argument per line; nil when one is a string and the other a list
    /// (the value change says all there is).
    private static func commandTexts(_ old: JSONValue?, _ new: JSONValue?) -> (String, String)? {
        if let before = TreeDiff.string(old), let after = TreeDiff.string(new) { return (before, after) }
        func argv(_ value: JSONValue?) -> String? {
            guard case .array(let items)? = value else { return nil }
            let words = items.compactMap(TreeDiff.string)
            return words.count == items.count ? words.map { $0 + "\n" }.joined() : nil
        }
        guard let before = argv(old), let after = argv(new) else { return nil }
        return (before, after)
    }

    private enum Keys: String, CodingKey { case layer, section, key, old, new, hunks }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(layer, forKey: .layer)
        try container.encode(section, forKey: .section)
        try container.encode(key, forKey: .key)
        try container.encode(old, forKey: .old)
        try container.encode(new, forKey: .new)
        try container.encode(hunks, forKey: .hunks)
    }
}

extension PlanSnapshot {
    /// The text of every `source` of a files entry that is a small regular
    /// file holding UTF-8, by absolute host path.
    static func sourceTexts(of plan: ImageBuildPlan) -> [String: String] {
        var texts: [String: String] = [:]
        for layer in plan.layers {
            guard case .files(let files) = layer.strategy else { continue }
            for entry in files.entries {
                guard case .source(let path) = entry.content,
                      let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                      attributes[.type] as? FileAttributeType == .typeRegular,
                      let size = attributes[.size] as? Int, size <= TextDiff.maxBytes,
                      let data = FileManager.default.contents(atPath: path),
                      let text = String(validating: data, as: UTF8.self) else { continue }
                texts[path] = text
            }
        }
        return texts
    }

    /// A files entry's text as a diff compares it: its inline `content`, or
    /// its `source` file's text (the entry's source is relative to the
    /// plan's directory here, as the diff compares entries).
    func text(of entry: JSONValue?) -> String? {
        let fields = TreeDiff.object(entry)
        if let content = TreeDiff.string(fields["content"]) { return content }
        guard let source = TreeDiff.string(fields["source"]) else { return nil }
        return sourceTexts[HostPaths.normalize(source.hasPrefix("/") ? source : plan.directory + "/" + source)]
    }
}
