/// Any JSON value, for the parts of a document kiln carries without modeling
/// them (a base image's `Healthcheck`, `Shell`, `OnBuild`, …).
///
/// Numbers keep the distinction JSON writers make in practice: integers stay
/// exact 64-bit integers, anything else is a `Double`.
public enum JSONValue: Hashable, Sendable, Codable {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number that decodes exactly as an `Int64`; written back in plain decimal.
    case integer(Int64)
    /// Any other number (fraction, exponent, or beyond `Int64`); must be finite
    /// to be encoded.
    case double(Double)
    /// A string, unescaped.
    case string(String)
    /// An array, in document order.
    case array([JSONValue])
    /// An object; key order is not kept, the canonical encoder sorts keys when
    /// writing.
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
