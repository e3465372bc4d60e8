import Testing
import KilnCore

@Suite struct RegistryReferenceTests {
    static let hex = String(repeating: "ab", count: 32)

    /// Docker's normalization table: text → (registry, repository, tag, digest hex).
    @Test(arguments: [
        ("alpine", "docker.io", "library/alpine", nil, nil),
        ("alpine:3.20", "docker.io", "library/alpine", "3.20", nil),
        ("foo/bar", "docker.io", "foo/bar", nil, nil),
        ("foo/bar/baz:v_1", "docker.io", "foo/bar/baz", "v_1", nil),
        ("docker.io/alpine", "docker.io", "library/alpine", nil, nil),
        ("docker.io/team/app", "docker.io", "team/app", nil, nil),
        ("localhost/x", "localhost", "x", nil, nil),
        ("localhost:5000/x:1", "localhost:5000", "x", "1", nil),
        ("127.0.0.1:5000/team/app:v1@sha256:\(hex)", "127.0.0.1:5000", "team/app", "v1", hex),
        ("registry.example/a.b_c__d--e/f@sha256:\(hex)", "registry.example", "a.b_c__d--e/f", nil, hex),
        ("Example.com/app", "Example.com", "app", nil, nil),
        ("localhost", "docker.io", "library/localhost", nil, nil),
    ] as [(String, String, String, String?, String?)])
    func parsesAsDockerDoes(text: String, registry: String, repository: String, tag: String?, digestHex: String?) throws {
        let reference = try RegistryReference(parsing: text)
        #expect(reference.registry == registry)
        #expect(reference.repository == repository)
        #expect(reference.tag == tag)
        #expect(reference.digest?.hex == digestHex)
    }

    @Test func describesItselfNormalized() throws {
        let alpine = try RegistryReference(parsing: "alpine")
        #expect(alpine.description == "docker.io/library/alpine")
        #expect(alpine.name == "docker.io/library/alpine")
        #expect(alpine.referenceInRepository == "latest")
        #expect(alpine.apiHost == RegistryReference.dockerHubAPIHost)

        let pinned = try RegistryReference(parsing: "127.0.0.1:5000/team/app:v1@sha256:\(Self.hex)")
        #expect(pinned.description == "127.0.0.1:5000/team/app:v1@sha256:\(Self.hex)")
        #expect(pinned.name == "127.0.0.1:5000/team/app")
        #expect(pinned.referenceInRepository == "sha256:\(Self.hex)")
        #expect(pinned.apiHost == "127.0.0.1:5000")
        #expect(try RegistryReference(parsing: pinned.description) == pinned)
    }

    @Test func withReplacesTagOrDigest() throws {
        let reference = try RegistryReference(parsing: "localhost:5000/app:old")
        let digest = try ContentDigest(parsing: "sha256:\(Self.hex)")
        #expect(reference.with(tag: "new").description == "localhost:5000/app:new")
        #expect(reference.with(tag: "new").referenceInRepository == "new")
        #expect(reference.with(digest: digest).description == "localhost:5000/app:old@sha256:\(Self.hex)")
        #expect(reference.with(digest: digest).referenceInRepository == digest.description)
        #expect(reference.with(tag: nil).referenceInRepository == "latest")
    }

    @Test(arguments: [
        ("Foo", #"invalid image reference "Foo": repository must be lowercase"#),
        ("team/App:v1", #"invalid image reference "team/App:v1": repository must be lowercase"#),
        ("", #"invalid image reference "": it is empty"#),
        ("a\nb", #"invalid image reference "a\nb": it contains a control character"#),
        ("a//b", #"invalid image reference "a//b": the repository has an empty component"#),
        ("localhost:5000/", #"invalid image reference "localhost:5000/": the repository has an empty component"#),
        (":v1", #"invalid image reference ":v1": the repository is empty"#),
        ("app:", #"invalid image reference "app:": the tag after : is empty"#),
        ("app@", #"invalid image reference "app@": the digest after @ is empty"#),
        ("app:-x", #"invalid image reference "app:-x": tag "-x" is invalid (1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)"#),
        ("app@sha256:abc", #"invalid image reference "app@sha256:abc": digest "sha256:abc" is invalid (expected sha256: and 64 lowercase hex digits)"#),
        ("bad_host.example:80a/app", #"invalid image reference "bad_host.example:80a/app": registry host "bad_host.example:80a" is invalid (expected host[:port])"#),
        ("team/-app", #"invalid image reference "team/-app": repository component "-app" is invalid (allowed: lowercase letters, digits, and . _ __ - between them)"#),
        ("a___b", #"invalid image reference "a___b": repository component "a___b" is invalid (allowed: lowercase letters, digits, and . _ __ - between them)"#),
    ])
    func rejectsWithAMessage(text: String, message: String) {
        let error = #expect(throws: RegistryReferenceError.self) { try RegistryReference(parsing: text) }
        #expect(error?.description == message)
    }

    @Test func limitsTheNameTo255Bytes() throws {
        let path = "x/" + String(repeating: "a", count: 255 - "docker.io/x/".count)
        #expect(try RegistryReference(parsing: path).name.utf8.count == 255)
        let long = path + "a"
        let error = #expect(throws: RegistryReferenceError.self) { try RegistryReference(parsing: long) }
        #expect(error?.reason == "the name is longer than 255 characters")
        #expect(error?.description.hasPrefix(#"invalid image reference "x/aaaa"#) == true)
        #expect(error?.description.hasSuffix("…\" (\(long.count) characters): the name is longer than 255 characters") == true)
    }

    @Test func tagIsAtMost128Characters() throws {
        #expect(try RegistryReference(parsing: "app:" + String(repeating: "t", count: 128)).tag?.count == 128)
        #expect(throws: RegistryReferenceError.self) {
            try RegistryReference(parsing: "app:" + String(repeating: "t", count: 129))
        }
    }
}
