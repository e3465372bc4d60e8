import KilnCore
import YAML

/// Converts a YAML node tree to JSON text the way an editor's YAML
/// language server sees the document: scalars typed by the YAML 1.2 core
/// schema (`1.10` is the number 1.1, `0755` the integer 755, `0o755` the
/// integer 493, `true` a boolean, `~` null), explicit standard tags
/// honored. kiln itself keeps scalars as text; the JSON Schema must accept
/// both readings, which is what this conversion lets the tests check.
enum CoreSchemaJSON {
    static func json(_ node: Node) -> String {
        var out = ""
        write(node, to: &out)
        return out
    }

    private static func write(_ node: Node, to out: inout String) {
        switch node.value {
        case .scalar(let scalar):
            out += scalarJSON(scalar, tag: node.tag)
        case .sequence(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .mapping(let pairs):
            out += "{"
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out += "," }
                // JSON keys are strings; a language server uses the key's text.
                out += string(pair.key.scalar?.text ?? "")
                out += ":"
                write(pair.value, to: &out)
            }
            out += "}"
        }
    }

    /// One scalar's JSON value under the core schema.
    static func scalarJSON(_ scalar: Scalar, tag: StandardTag?) -> String {
        let text = scalar.text
        switch tag {
        case .str, .seq, .map: return string(text)
        case .null: return "null"
        case .bool: return boolean(text) ?? string(text)
        case .int: return integer(text) ?? string(text)
        case .float: return integer(text) ?? float(text) ?? string(text)
        case nil: break
        }
        guard scalar.style == .plain else { return string(text) }
        if ["", "~", "null", "Null", "NULL"].contains(text) { return "null" }
        return boolean(text) ?? integer(text) ?? float(text) ?? string(text)
    }

    private static func boolean(_ text: String) -> String? {
        switch text {
        case "true", "True", "TRUE": "true"
        case "false", "False", "FALSE": "false"
        default: nil
        }
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+` as a JSON integer.
    private static func integer(_ text: String) -> String? {
        var body = Substring(text)
        var negative = false
        if body.hasPrefix("0o") || body.hasPrefix("0x") {
            let radix = body.hasPrefix("0o") ? 8 : 16
            let digits = body.dropFirst(2)
            guard !digits.isEmpty, let value = UInt64(digits, radix: radix) else {
                // Valid digits but too large for 64 bits: Python reads big integers fine,
                // yet this test has no need for them.
                return nil
            }
            return String(value)
        }
        if let sign = body.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        guard !body.isEmpty, body.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let trimmed = body.drop { $0 == "0" }
        return (negative ? "-" : "") + (trimmed.isEmpty ? "0" : String(trimmed))
    }

    /// The core schema's floats, as JSON numbers (Python's json module also
    /// reads `Infinity` and `NaN`, which JSON itself lacks).
    private static func float(_ text: String) -> String? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return "Infinity"
        case "-.inf", "-.Inf", "-.INF": return "-Infinity"
        case ".nan", ".NaN", ".NAN": return "NaN"
        default: break
        }
        // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        let bytes = Array(text.utf8)
        var i = 0
        func digits() -> Int {
            let start = i
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
            return i - start
        }
        var mantissa = ""
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            if bytes[i] == UInt8(ascii: "-") { mantissa += "-" }
            i += 1
        }
        let intStart = i
        let intDigits = digits()
        var intPart = String(decoding: bytes[intStart..<i], as: UTF8.self)
        var fraction = ""
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            let count = digits()
            fraction = String(decoding: bytes[start..<i], as: UTF8.self)
            if intDigits == 0, count == 0 { return nil }
        } else if intDigits == 0 {
            return nil
        }
        var exponent = ""
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var sign = ""
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                sign = bytes[i] == UInt8(ascii: "-") ? "-" : ""
                i += 1
            }
            let start = i
            guard digits() > 0 else { return nil }
            exponent = "e" + sign + String(decoding: bytes[start..<i], as: UTF8.self)
        }
        guard i == bytes.count else { return nil }
        // JSON wants no leading zeros, a digit before and after the point.
        intPart = String(intPart.drop { $0 == "0" })
        if intPart.isEmpty { intPart = "0" }
        mantissa += intPart
        if !fraction.isEmpty { mantissa += "." + fraction }
        return mantissa + exponent
    }

    /// A JSON string literal.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
