/// The one JSON encoder kiln uses for every blob, `index.json`,
/// `manifest.json` and `kiln plan`: the same value always gives the same bytes.
///
/// Canonical form:
/// - object keys sorted by their UTF-8 bytes (which is Unicode scalar
///   order), each key once;
/// - no whitespace between tokens;
/// - strings as UTF-8, escaping only `"`, `\` and control characters below
///   U+0020 (`\b \t \n \f \r` short forms, others `\u00XX` with lowercase
///   hex); `/` and non-ASCII are never escaped;
/// - integers in plain decimal; a `Double` with an integral value below 2^53
///   in magnitude as an integer, any other finite `Double` in Swift's
///   shortest round-trip form; NaN and infinities are errors;
/// - optionals that are nil are left out (as synthesized `Codable` does).
///
/// Foundation's `JSONEncoder` is not used: its `.sortedKeys` order is
/// documented as "subject to change" and differs between platforms, and
/// its float output (`1e-07`) is its own.
///
/// The digest of a blob is taken of exactly the bytes this returns.
public struct CanonicalJSONEncoder: Sendable {
    /// Passed to the values' `encode(to:)` as `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// Creates an encoder. It keeps no state between calls, so one value can be
    /// shared by concurrent tasks.
    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.userInfo = userInfo
    }

    /// Encodes `value` canonically.
    /// - Throws: ``CanonicalJSONError`` for a NaN or infinite number, an
    ///   unsigned integer above `Int64.max`, or an error the value's own
    ///   `encode(to:)` throws.
    public func encode<Value: Encodable>(_ value: Value) throws(CanonicalJSONError) -> [UInt8] {
        try CanonicalJSONEncoder.serialize(CanonicalJSONEncoder.tree(of: value, userInfo: userInfo))
    }

    /// The value as a ``JSONValue`` tree, before serialization.
    public static func tree<Value: Encodable>(of value: Value, userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws(CanonicalJSONError) -> JSONValue {
        let root = EncodingNode(userInfo: userInfo)
        do {
            try value.encode(to: TreeEncoder(node: root, codingPath: []))
        } catch let error as CanonicalJSONError {
            throw error
        } catch {
            throw CanonicalJSONError(path: "", reason: "\(error)")
        }
        return root.json
    }

    /// Serializes a tree canonically.
    /// - Throws: ``CanonicalJSONError`` for a NaN or infinite `Double`.
    public static func serialize(_ value: JSONValue) throws(CanonicalJSONError) -> [UInt8] {
        var output: [UInt8] = []
        try write(value, into: &output, path: "")
        return output
    }


    private static func write(_ value: JSONValue, into output: inout [UInt8], path: String) throws(CanonicalJSONError) {
        switch value {
        case .null: output += "null".utf8
        case .bool(let flag): output += (flag ? "true" : "false").utf8
        case .integer(let number): output += String(number).utf8
        case .double(let number):
            guard number.isFinite else { throw CanonicalJSONError(path: path, reason: "\(number) is not a JSON number") }
            if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
                output += String(Int64(number)).utf8
            } else {
                output += String(describing: number).utf8
            }
        case .string(let text): writeString(text, into: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(item, into: &output, path: path + "[\(index)]")
            }
            output.append(UInt8(ascii: "]"))
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            let keys = fields.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                try write(fields[key]!, into: &output, path: path + "." + key)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: output += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0a: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0c: output += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0d: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0..<0x20:
                output += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                           Hex.digit(byte >> 4), Hex.digit(byte & 0x0f)]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// A value the canonical encoder cannot write.
public struct CanonicalJSONError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in the value, `.config.Env[2]` style; empty for the root.
    public var path: String
    /// What is wrong.
    public var reason: String

    /// Creates an error; `path` uses the `.config.Env[2]` form, empty for the root.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        "cannot encode canonical JSON" + (path.isEmpty ? "" : " at \(path)") + ": \(reason)"
    }
}
