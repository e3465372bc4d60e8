import KilnCore
import OCI
public import Plan

extension ImageBuildPlan {
    /// The plan as `kiln plan` prints it: canonical JSON (sorted keys, no
    /// insignificant whitespace) with defaults filled, host paths resolved
    /// and the content digest of every host input, then a newline.
    /// - Throws: ``InputDigestError`` when an input cannot be read.
    public func normalizedJSON(digester: InputDigester = InputDigester()) throws -> [UInt8] {
        let digests = try digester.digests(of: hostInputs)
        return try CanonicalJSONEncoder(userInfo: [ImageBuildPlan.inputDigestsKey: digests]).encode(self) + [0x0A]
    }
}
