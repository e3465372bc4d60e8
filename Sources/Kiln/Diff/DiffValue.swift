import KilnCore
import OCI

/// How values appear in the text and markdown forms: canonical JSON, so a
/// string is quoted and a list is bracketed exactly as `kiln plan` prints
/// them, with digests cut to 12 hex digits and long strings cut short (the
/// JSON form keeps every value whole).
enum DiffValue {
    /// Strings longer than this many characters are cut in the human forms.
    static let longString = 80
    /// Characters kept of a string that is cut.
    static let keptPrefix = 60
    /// Hex digits kept of a `sha256:` digest.
    static let digestDigits = 12

    /// The canonical JSON text of `value`.
    static func json(_ value: JSONValue) -> String {
        // Values here come from plans and decoded documents, which hold no
        // NaN or infinity, the only things the encoder refuses.
        guard let bytes = try? CanonicalJSONEncoder.serialize(value) else { return "\(value)" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `value` shortened for people, as canonical JSON.
    static func display(_ value: JSONValue) -> String {
        json(shortened(value))
    }

    /// A byte count for people: `13 bytes` below 1 KiB, else `9.5 MiB`.
    static func size(_ bytes: Int64) -> String {
        bytes.magnitude < 1024 ? "\(bytes) byte" + (bytes == 1 ? "" : "s") : ByteCount.format(bytes)
    }

    /// A change in size for people: `+43 bytes`, `-1.5 KiB`, `±0 bytes`.
    static func delta(_ bytes: Int64) -> String {
        bytes == 0 ? "±0 bytes" : (bytes > 0 ? "+" : "-") + size(Int64(bytes.magnitude))
    }

    /// A digest shortened for people: `sha256:` and 12 hex digits, then `…`.
    static func digest(_ text: String) -> String {
        isDigest(text) ? String(text.prefix("sha256:".count + digestDigits)) + "…" : text
    }

    private static func shortened(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            if isDigest(text) { return .string(digest(text)) }
            if text.count > longString { return .string(String(text.prefix(keptPrefix)) + "…") }
            return value
        case .array(let items): return .array(items.map(shortened))
        case .object(let fields): return .object(fields.mapValues(shortened))
        default: return value
        }
    }

    private static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 71 && text.hasPrefix("sha256:")
            && text.utf8.dropFirst(7).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
