/// One challenge of a `WWW-Authenticate` header: `Bearer realm="…",
/// service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge: Hashable, Sendable {
    /// The scheme in lower case: `bearer`, `basic`.
    var scheme: String
    /// The parameters, names in lower case, values unquoted.
    var parameters: [String: String]

    /// The `realm` parameter (for Bearer, the token server's URL).
    var realm: String? { parameters["realm"] }

    /// Every challenge in the header values, in order (RFC 9110 §11.6.1:
    /// several challenges per value, comma separated; parameters as tokens
    /// or quoted strings with `\` escapes). What cannot be read is skipped.
    static func parse(_ values: [String]) -> [AuthChallenge] {
        values.flatMap { parse(Array($0.utf8)) }
    }

    private static func parse(_ bytes: [UInt8]) -> [AuthChallenge] {
        var scanner = Scanner(bytes: bytes)
        var challenges: [AuthChallenge] = []
        while true {
            scanner.skip { $0 == UInt8(ascii: ",") || isSpace($0) }
            guard !scanner.atEnd else { break }
            let scheme = scanner.token()
            guard !scheme.isEmpty else {
                // A stray `=`, or a quoted string where a scheme belongs.
                if scanner.peek == UInt8(ascii: "\"") { _ = scanner.quotedString() } else { scanner.index += 1 }
                continue
            }
            var challenge = AuthChallenge(scheme: scheme.lowercased(), parameters: [:])
            var afterComma = false
            while true {
                scanner.skip(isSpace)
                let start = scanner.index
                let name = scanner.token()
                scanner.skip(isSpace)
                guard !name.isEmpty, scanner.peek == UInt8(ascii: "=") else {
                    // Not `name=`: after a comma, the next challenge's
                    // scheme; else a token68 (or junk), skipped to the comma.
                    scanner.index = start
                    if !afterComma { scanner.skip { $0 != UInt8(ascii: ",") } }
                    break
                }
                scanner.index += 1
                scanner.skip(isSpace)
                let value = scanner.peek == UInt8(ascii: "\"") ? scanner.quotedString() : scanner.token()
                challenge.parameters[name.lowercased()] = value
                scanner.skip(isSpace)
                guard scanner.peek == UInt8(ascii: ",") else {
                    scanner.skip { $0 != UInt8(ascii: ",") }  // junk after a value
                    break
                }
                scanner.index += 1
                afterComma = true
            }
            challenges.append(challenge)
        }
        return challenges
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func skip(_ predicate: (UInt8) -> Bool) {
            while let byte = peek, predicate(byte) { index += 1 }
        }

        /// A token: up to a space, `,`, `=` or `"`.
        mutating func token() -> String {
            let start = index
            skip { !isSpace($0) && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "\"") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A quoted string from its opening quote, unescaped; an
        /// unterminated one runs to the end.
        mutating func quotedString() -> String {
            index += 1
            var value: [UInt8] = []
            while let byte = peek {
                index += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\"), let next = peek {
                    value.append(next)
                    index += 1
                } else {
                    value.append(byte)
                }
            }
            return String(decoding: value, as: UTF8.self)
        }
    }
}
