/// A node of the tree an `Encodable` value is turned into. A reference type
/// because nested containers keep writing into it after they are handed out.
final class EncodingNode {
    var scalar: JSONValue?
    var fields: [String: EncodingNode]?
    var items: [EncodingNode]?
    /// The encoder's `userInfo`, shared by every node of one tree.
    let userInfo: [CodingUserInfoKey: any Sendable]

    init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.userInfo = userInfo
    }

    var json: JSONValue {
        if let fields { return .object(fields.mapValues(\.json)) }
        if let items { return .array(items.map(\.json)) }
        // A value that encoded nothing at all is an empty object, as with
        // Foundation's encoder.
        return scalar ?? .object([:])
    }

    func child(_ key: String) -> EncodingNode {
        if fields == nil { fields = [:] }
        let node = EncodingNode(userInfo: userInfo)
        fields![key] = node
        return node
    }

    func append() -> EncodingNode {
        if items == nil { items = [] }
        let node = EncodingNode(userInfo: userInfo)
        items!.append(node)
        return node
    }
}

/// Coding-path rendering for error messages: `.config.Env[2]`.
private func render(_ path: [any CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
}

/// A coding key for array positions and `super`.
private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// Primitive conversions shared by the three container kinds.
private enum Scalar {
    static func integer<Number: FixedWidthInteger>(_ value: Number, at path: [any CodingKey]) throws -> JSONValue {
        guard let exact = Int64(exactly: value) else {
            throw CanonicalJSONError(path: render(path), reason: "\(value) does not fit a signed 64-bit integer")
        }
        return .integer(exact)
    }

    /// Converts values the containers receive through their generic entry
    /// point; nil for values that encode themselves.
    static func value(_ value: some Encodable, at path: [any CodingKey]) throws -> JSONValue? {
        switch value {
        case let json as JSONValue: return json
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Double: return .double(number)
        case let number as Float: return .double(Double(number))
        case let number as Int: return .integer(Int64(number))
        case let number as Int64: return .integer(number)
        case let number as Int32: return .integer(Int64(number))
        case let number as Int16: return .integer(Int64(number))
        case let number as Int8: return .integer(Int64(number))
        case let number as UInt: return try integer(number, at: path)
        case let number as UInt64: return try integer(number, at: path)
        case let number as UInt32: return .integer(Int64(number))
        case let number as UInt16: return .integer(Int64(number))
        case let number as UInt8: return .integer(Int64(number))
        default: return nil
        }
    }

    static func encode(_ value: some Encodable, into node: EncodingNode, at path: [any CodingKey]) throws {
        if let scalar = try Scalar.value(value, at: path) {
            node.scalar = scalar
        } else {
            try value.encode(to: TreeEncoder(node: node, codingPath: path))
        }
    }
}

struct TreeEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { node.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.fields == nil { node.fields = [:] }
        return KeyedEncodingContainer(KeyedTreeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.items == nil { node.items = [] }
        return UnkeyedTreeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleTreeContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedTreeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func put(_ value: JSONValue, _ key: Key) { node.child(key.stringValue).scalar = value }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(.double(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(try Scalar.integer(value, at: codingPath + [key]), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(try Scalar.integer(value, at: codingPath + [key]), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try Scalar.encode(value, into: node.child(key.stringValue), at: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        TreeEncoder(node: node.child("super"), codingPath: codingPath + [IndexKey(stringValue: "super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedTreeContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.items?.count ?? 0 }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }
    private func put(_ value: JSONValue) { node.append().scalar = value }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(.double(value)) }
    mutating func encode(_ value: Float) throws { put(.double(Double(value))) }
    mutating func encode(_ value: Int) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { put(.integer(value)) }
    mutating func encode(_ value: UInt) throws { put(try Scalar.integer(value, at: nextPath)) }
    mutating func encode(_ value: UInt8) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: UInt16) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: UInt32) throws { put(.integer(Int64(value))) }
    mutating func encode(_ value: UInt64) throws { put(try Scalar.integer(value, at: nextPath)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try Scalar.encode(value, into: node.append(), at: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return TreeEncoder(node: node.append(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return TreeEncoder(node: node.append(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return TreeEncoder(node: node.append(), codingPath: path)
    }
}

private struct SingleTreeContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.scalar = .null }
    mutating func encode(_ value: Bool) throws { node.scalar = .bool(value) }
    mutating func encode(_ value: String) throws { node.scalar = .string(value) }
    mutating func encode(_ value: Double) throws { node.scalar = .double(value) }
    mutating func encode(_ value: Float) throws { node.scalar = .double(Double(value)) }
    mutating func encode(_ value: Int) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int8) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int16) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int32) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int64) throws { node.scalar = .integer(value) }
    mutating func encode(_ value: UInt) throws { node.scalar = try Scalar.integer(value, at: codingPath) }
    mutating func encode(_ value: UInt8) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: UInt16) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: UInt32) throws { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: UInt64) throws { node.scalar = try Scalar.integer(value, at: codingPath) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try Scalar.encode(value, into: node, at: codingPath)
    }
}
