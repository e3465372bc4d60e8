/// The small JSON writer the lock file and the inputs digest use: object
/// keys in byte order, no insignificant whitespace, `/` not escaped, as
/// SPEC §2 wants every JSON kiln writes.
enum CanonicalJSON {
    indirect enum Value {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case array([Value])
        case object([String: Value])
    }

    static func encode(_ value: Value) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    static func write(_ value: Value, to out: inout String) {
        switch value {
        case .string(let string): writeString(string, to: &out)
        case .integer(let number): out += String(number)
        case .bool(let flag): out += flag ? "true" : "false"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in sortedKeys(members).enumerated() {
                if index > 0 { out += "," }
                writeString(key, to: &out)
                out += ":"
                write(members[key]!, to: &out)
            }
            out += "}"
        }
    }

    static func sortedKeys(_ members: [String: Value]) -> [String] {
        members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func writeString(_ string: String, to out: inout String) {
        let hex = Array("0123456789abcdef")
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 0xf)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
