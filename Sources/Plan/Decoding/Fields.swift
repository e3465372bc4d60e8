import KilnCore
import YAML

/// The keys of one plan mapping, checked against the keys allowed there.
struct Fields {
    /// The mapping node itself (for "missing key" marks).
    let node: Node
    /// Message prefix naming where we are, e.g. `layer "app": `.
    let prefix: String
    private var pairs: [String: Pair] = [:]
    /// Allowed keys that an unknown key was reported as a misspelling of:
    /// their absence is not reported again as a missing key.
    private var suggested: Set<String> = []

    /// Reads `node` as a mapping whose keys must be among `allowed`.
    ///
    /// Unknown keys are reported with a "did you mean" hint; `elsewhere`
    /// maps keys that are valid in a sibling context to a sentence saying
    /// where they belong (e.g. `command` in a files layer).
    /// - Returns: nil (after reporting) when `node` is not a mapping.
    init?(_ node: Node, prefix: String, what: String, allowed: [String], elsewhere: [String: String] = [:], diagnostics: inout Diagnostics) {
        guard let mapping = node.mapping else {
            diagnostics.error(node.mark, "\(prefix)\(what) must be a mapping, not \(describe(node))")
            return nil
        }
        self.node = node
        self.prefix = prefix
        for pair in mapping {
            let key = pair.key.scalar?.text ?? ""
            if allowed.contains(key) {
                pairs[key] = pair
                continue
            }
            let suggestion = KeySuggestion.closest(to: key, in: allowed)
            if let suggestion { suggested.insert(suggestion) }
            if let place = elsewhere[key] {
                diagnostics.error(pair.key.mark, "\(prefix)key \(quoted(key)) \(place)" + KeySuggestion.hint(suggestion))
            } else {
                diagnostics.error(pair.key.mark, "\(prefix)unknown key \(quoted(key))" + KeySuggestion.hint(suggestion))
            }
        }
    }

    /// The pair for `key`, if present.
    subscript(key: String) -> Pair? { pairs[key] }

    /// The value for `key`, if present.
    func value(_ key: String) -> Node? { pairs[key]?.value }

    /// Whether `key` is present.
    func has(_ key: String) -> Bool { pairs[key] != nil }

    /// The value for a required `key`, reporting its absence (unless a
    /// misspelling of it was reported already).
    /// - Parameter hint: words after the message, e.g. ` (add "kiln: 1")`.
    func required(_ key: String, hint: String = "", diagnostics: inout Diagnostics) -> Node? {
        if let value = pairs[key]?.value { return value }
        if !suggested.contains(key) {
            diagnostics.error(node.mark, "\(prefix)missing required key \(quoted(key))\(hint)")
        }
        return nil
    }
}

/// Typed readings of scalar nodes, reporting what they expected.
extension Diagnostics {
    /// A string: any non-null scalar, whatever its style, text kept exactly.
    ///
    /// NUL is refused unless `allowNUL` (inline file `content` only): no
    /// path, process argument, environment entry or image config value can
    /// carry it — exec stops at it, so `"a\0b"` would silently become `a`.
    /// - Parameter plain: also refuse every other control character (C0 and
    ///   DEL), for values that name things: symlink targets, map keys.
    mutating func string(_ node: Node, _ what: String, allowNUL: Bool = false, plain: Bool = false) -> String? {
        guard let scalar = node.scalar, !node.isNull, node.tag == nil || node.tag == .str || node.tag == .int || node.tag == .float else {
            error(node.mark, "\(what) must be a string, not \(describe(node))")
            return nil
        }
        if let message = Self.controlCharacterProblem(scalar.text, allowNUL: allowNUL, plain: plain) {
            error(node.mark, "\(what) \(message)")
            return nil
        }
        return scalar.text
    }

    /// Why `text` cannot be used, or nil: a NUL (unless `allowNUL`), or with
    /// `plain` any control character.
    static func controlCharacterProblem(_ text: String, allowNUL: Bool = false, plain: Bool = false) -> String? {
        for scalar in text.unicodeScalars {
            if scalar == "\0" && !allowNUL {
                return "contains a NUL character (\\0), which no path, argument, environment variable or image config can carry"
            }
            if plain && (scalar.value < 0x20 || scalar.value == 0x7F) {
                return "contains the control character \(escapedControl(scalar)); names and paths must be printable"
            }
        }
        return nil
    }

    /// A non-empty string; `plain` as for ``string(_:_:allowNUL:plain:)``.
    mutating func nonEmptyString(_ node: Node, _ what: String, plain: Bool = false) -> String? {
        guard let text = string(node, what, plain: plain) else { return nil }
        guard !text.isEmpty else {
            error(node.mark, "\(what) must not be empty")
            return nil
        }
        return text
    }

    /// `true` or `false` (YAML 1.2: `yes`, `on` and friends are strings).
    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        if let scalar = node.scalar, scalar.style == .plain || node.tag == .bool {
            switch scalar.text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        if let scalar = node.scalar, scalar.style != .plain, ["true", "false"].contains(scalar.text.lowercased()) {
            error(node.mark, "\(what) must be true or false without quotes, not the quoted string \(quoted(scalar.text))")
            return nil
        }
        let found = node.scalar.map { quoted($0.text) } ?? describe(node)
        error(node.mark, "\(what) must be true or false, not \(found)")
        return nil
    }

    /// A decimal integer within `range`.
    mutating func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) -> Int? {
        if let scalar = node.scalar, scalar.style == .plain, !scalar.text.isEmpty,
           scalar.text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            if let value = Int(scalar.text), range.contains(value) { return value }
            error(node.mark, "\(what) must be between \(range.lowerBound) and \(range.upperBound), not \(scalar.text)")
            return nil
        }
        if let scalar = node.scalar, scalar.style != .plain, !scalar.text.isEmpty, scalar.text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            error(node.mark, "\(what) must be a whole number without quotes, not the quoted string \(quoted(scalar.text))")
            return nil
        }
        let found = node.scalar.map { quoted($0.text) } ?? describe(node)
        error(node.mark, "\(what) must be a whole number, not \(found)")
        return nil
    }

    /// A list of strings. A lone string is refused with a hint, since
    /// `entrypoint: /app` silently meaning `["/app"]` hides shell-form mistakes.
    /// - Parameter execForm: the list is an argv (`entrypoint`, `cmd`): the
    ///   hint splits a string into words, or wraps shell syntax in `sh -c`.
    mutating func stringList(_ node: Node, _ what: String, nonEmptyItems: Bool = true, execForm: Bool = false) -> [String]? {
        guard let items = node.sequence else {
            if let scalar = node.scalar, !node.isNull {
                let hint = execForm ? Self.execFormHint(scalar.text) : "write [\(quoted(scalar.text))]"
                error(node.mark, "\(what) must be a list of strings, not a string (\(hint))")
            } else {
                error(node.mark, "\(what) must be a list of strings, not \(describe(node))")
            }
            return nil
        }
        var result: [String] = []
        var ok = true
        for (index, item) in items.enumerated() {
            let itemWhat = "\(what)[\(index)]"
            if let text = nonEmptyItems ? nonEmptyString(item, itemWhat) : string(item, itemWhat) {
                result.append(text)
            } else {
                ok = false
            }
        }
        return ok ? result : nil
    }

    /// A mapping of string keys to string values.
    mutating func stringMap(_ node: Node, _ what: String) -> [String: String]? {
        guard let pairs = node.mapping else {
            error(node.mark, "\(what) must be a mapping of strings, not \(describe(node))")
            return nil
        }
        var result: [String: String] = [:]
        var ok = true
        for pair in pairs {
            let key = pair.key.scalar?.text ?? ""
            guard !key.isEmpty else {
                error(pair.key.mark, "\(what) has an empty key")
                ok = false
                continue
            }
            if let message = Self.controlCharacterProblem(key, plain: true) {
                error(pair.key.mark, "\(what) key \(quoted(key)) \(message)")
                ok = false
                continue
            }
            if let value = string(pair.value, "\(what) \(quoted(key))") {
                result[key] = value
            } else {
                ok = false
            }
        }
        return ok ? result : nil
    }
}

extension Diagnostics {
    /// How to write `text` in exec form: its words as a list, or, when it
    /// uses shell syntax, `["/bin/sh", "-c", text]`.
    static func execFormHint(_ text: String) -> String {
        let shellSyntax = text.contains { "$`'\"\\|&;<>(){}*?~#=\n".contains($0) }
        let words = shellSyntax ? ["/bin/sh", "-c", text] : text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        return "write [\(words.map { quoted($0) }.joined(separator: ", "))]; exec form runs no shell"
    }
}

/// A node as a message names what was found: `the string "x"`, `a list`,
/// `a mapping`, `null`, or `!!bool "true"` for an explicitly tagged scalar.
func describe(_ node: Node) -> String {
    guard let scalar = node.scalar else { return node.kindDescription }
    if node.isNull { return "null" }
    if let tag = node.tag, tag != .str { return "!!\(tag.rawValue) \(quoted(scalar.text))" }
    return "the string \(quoted(scalar.text))"
}
