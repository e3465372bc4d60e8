import KilnCore

/// Syntax of image names and tags in a plan, with the plan's messages; the
/// grammar itself is KilnCore's ``ReferenceGrammar``, shared with
/// ``RegistryReference``.
public enum ImageReference {
    /// Checks a repository name: `[host[:port]/]component(/component)*`,
    /// components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, at most 255 bytes.
    public static func validateName(_ name: String) throws(SyntaxError) {
        switch ReferenceGrammar.problem(inName: name) {
        case nil:
            return
        case .empty:
            throw SyntaxError("image name must not be empty")
        case .tooLong:
            throw SyntaxError("image name \(quoted(name)) is longer than \(ReferenceGrammar.maxNameLength) characters")
        case .invalidHost(let domain):
            throw SyntaxError("image name \(quoted(name)) has an invalid registry host \(quoted(domain))")
        case .uppercase:
            throw SyntaxError("image name \(quoted(name)) must be lowercase (did you mean \(quoted(name.lowercased()))?)")
        case .invalidComponent(let component):
            throw SyntaxError("image name \(quoted(name)) has an invalid component \(quoted(component)) (allowed: lowercase letters, digits, and . _ __ - between them)")
        }
    }

    /// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func validateTag(_ tag: String) throws(SyntaxError) {
        guard ReferenceGrammar.isTag(tag) else {
            throw SyntaxError("tag \(quoted(tag)) is invalid (1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)")
        }
    }
}
