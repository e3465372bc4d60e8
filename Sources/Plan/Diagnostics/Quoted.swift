import KilnCore

/// `text` in double quotes, ready for a one-line message: quotes,
/// backslashes and control characters escaped, and anything past 100
/// characters cut, so a huge or multi-line value from a plan never floods
/// the terminal or breaks the `file:line:column: error: …` line format.
func quoted(_ text: some StringProtocol) -> String {
    let limit = 100
    var out = "\""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            return out + "…\" (\(text.unicodeScalars.count) characters)"
        }
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default: out += escapedControl(scalar)
        }
        count += 1
    }
    return out + "\""
}

/// Control characters (and the Unicode line separators) as visible escapes:
/// `\n`, `\t`, `\r`, `\u{1B}`; any other scalar unchanged.
func escapedControl(_ scalar: Unicode.Scalar) -> String {
    switch scalar {
    case "\n": return "\\n"
    case "\t": return "\\t"
    case "\r": return "\\r"
    case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029:
        return "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
    default:
        return String(scalar)
    }
}

extension String {
    /// The text with control characters escaped (see ``escapedControl(_:)``),
    /// so it prints as exactly one line.
    var singleLine: String {
        guard unicodeScalars.contains(where: { escapedControl($0).unicodeScalars.count > 1 }) else { return self }
        return unicodeScalars.map(escapedControl).joined()
    }
}
