import KilnCore

/// How a `base: oci:DIR[:REF]` (or `oci-archive:`) that names nothing is
/// reported: the path and the ref apart, never glued into one path.
enum BaseReferenceMessage {
    /// `base layout "../svc/out" does not exist (no /work/svc/out); the ref "0.1.0" names an image inside it`.
    /// - Parameters:
    ///   - text: what follows `oci:` or `oci-archive:`.
    ///   - what: `base layout` or `base archive`.
    ///   - absolute: the host path a plan path names.
    static func missing(_ text: String, what: String, absolute: (String) -> String) -> String {
        if let colon = text.lastIndex(of: ":") {
            let path = String(text[..<colon]), ref = String(text[text.index(after: colon)...])
            if !path.isEmpty, !ref.isEmpty {
                return "\(what) \(quoted(path)) does not exist (no \(absolute(path))); the ref \(quoted(ref)) names an image inside it"
            }
        }
        return "\(what) \(quoted(text)) does not exist (no \(absolute(text)))"
    }
}
