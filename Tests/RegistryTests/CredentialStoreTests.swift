import Foundation
import KilnCore
import Testing
import TestSupport
@testable import Registry

@Suite struct CredentialStoreTests {
    static let repository = Repository(registry: "127.0.0.1:5000", path: "team/app")

    static func auth(_ user: String, _ password: String) -> String {
        Data("\(user):\(password)".utf8).base64EncodedString()
    }

    func store(_ environment: [String: String], authFile: String? = nil) -> CredentialStore {
        var options = RegistryOptions(environment: environment)
        options.authFile = authFile
        return CredentialStore(options: options)
    }

    @Test func searchOrderFollowsPodman() throws {
        let environment = ["XDG_RUNTIME_DIR": "/run/user/7", "HOME": "/home/u"]
        #expect(store(environment).files == [
            "/run/user/7/containers/auth.json", "/home/u/.config/containers/auth.json", "/home/u/.docker/config.json",
        ])
        #expect(store(environment.merging(["DOCKER_CONFIG": "/etc/dc"]) { $1 }).files.last == "/etc/dc/config.json")
        #expect(store(environment.merging(["REGISTRY_AUTH_FILE": "/a.json"]) { $1 }).files == ["/a.json"])
        #expect(store(environment.merging(["REGISTRY_AUTH_FILE": "/a.json"]) { $1 }, authFile: "/b.json").files == ["/b.json"])
    }

    @Test func firstFileWithAnEntryWins() async throws {
        let home = try TemporaryDirectory(prefix: "kiln-auth")
        defer { home.remove() }
        try home.write(".config/containers/auth.json", #"{"auths":{"other.example":{"auth":"\#(Self.auth("o", "p"))"}}}"#)
        try home.write(".docker/config.json", #"{"auths":{"127.0.0.1:5000":{"auth":"\#(Self.auth("user", "pa:ss"))"}}}"#)
        let credential = try await store(["HOME": home.path]).credential(for: Self.repository)
        #expect(credential?.secret == .password(username: "user", password: "pa:ss"))
        #expect(credential?.source == home.path(".docker/config.json"))
        #expect(credential?.basicAuthorization == "Basic " + Self.auth("user", "pa:ss"))
        try home.write(".config/containers/auth.json", #"{"auths":{"127.0.0.1:5000":{"identitytoken":"refresh-me"}}}"#)
        #expect(try await store(["HOME": home.path]).credential(for: Self.repository)?.secret == .identityToken("refresh-me"))
        #expect(try await store(["HOME": home.path]).credential(for: Repository(registry: "none.example", path: "x")) == nil)
    }

    @Test(arguments: [
        ("https://127.0.0.1:5000", "whole"),
        ("http://127.0.0.1:5000/v1/", "whole"),
        ("127.0.0.1:5000/team", "prefix"),
        ("127.0.0.1:5000/team/app", "exact"),
    ])
    func keyForms(key: String, user: String) async throws {
        let directory = try TemporaryDirectory(prefix: "kiln-auth")
        defer { directory.remove() }
        let file = try directory.write("auth.json", #"""
            {"auths":{"\#(key)":{"auth":"\#(Self.auth(user, "pw"))"},"127.0.0.1:5000/team/other":{"auth":"\#(Self.auth("wrong", "pw"))"}}}
            """#)
        let credential = try await store([:], authFile: file).credential(for: Self.repository)
        #expect(credential?.secret == .password(username: user, password: "pw"))
    }

    @Test func dockerHubCredentialsUnderTheLegacyIndexKeyAreFound() async throws {
        let directory = try TemporaryDirectory(prefix: "kiln-auth")
        defer { directory.remove() }
        let file = try directory.write("config.json", #"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(Self.auth("hub", "pw"))"}}}"#)
        let hub = Repository(try RegistryReference(parsing: "alpine"))
        #expect(try await store([:], authFile: file).credential(for: hub)?.secret == .password(username: "hub", password: "pw"))
        // Only for docker.io: another registry does not get Hub's credential.
        #expect(try await store([:], authFile: file).credential(for: Self.repository) == nil)
        #expect(CredentialStore.helperServer(for: "docker.io") == "https://index.docker.io/v1/")
        #expect(CredentialStore.helperServer(for: "127.0.0.1:5000") == "127.0.0.1:5000")
    }

    @Test func mostSpecificKeyWins() async throws {
        let directory = try TemporaryDirectory(prefix: "kiln-auth")
        defer { directory.remove() }
        let file = try directory.write("auth.json", #"""
            {"auths":{"127.0.0.1:5000":{"auth":"\#(Self.auth("host", "pw"))"},"127.0.0.1:5000/team":{"auth":"\#(Self.auth("team", "pw"))"}}}
            """#)
        let credential = try await store([:], authFile: file).credential(for: Self.repository)
        #expect(credential?.secret == .password(username: "team", password: "pw"))
    }

    @Test func brokenFilesAreErrorsThatShowNoSecret() async throws {
        let directory = try TemporaryDirectory(prefix: "kiln-auth")
        defer { directory.remove() }
        let missing = directory.path("absent.json")
        let notJSON = try directory.write("bad.json", "{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"c2VjcmV0\"")
        let notBase64 = try directory.write("b64.json", #"{"auths":{"127.0.0.1:5000":{"auth":"s3cr3t-not-base64!"}}}"#)
        let noColon = try directory.write("colon.json", #"{"auths":{"127.0.0.1:5000":{"auth":"\#(Data("s3cr3t".utf8).base64EncodedString())"}}}"#)
        for (file, message) in [
            (missing, "\(missing): the auth file does not exist"),
            (notJSON, "\(notJSON): the auth file is not a JSON object"),
            (notBase64, "\(notBase64): auths.\"127.0.0.1:5000\".auth is not base64 of user:password"),
            (noColon, "\(noColon): auths.\"127.0.0.1:5000\".auth is not base64 of user:password"),
        ] {
            let error = await #expect(throws: RegistryError.self) {
                try await store([:], authFile: file).credential(for: Self.repository)
            }
            #expect(error?.kind == .credentials)
            #expect(error?.message == message)
            #expect(error?.description.contains("s3cr3t") == false)
            #expect(error?.description.contains("c2VjcmV0") == false)
        }
    }

    /// A helper script on the options' PATH: credHelpers for the host, then
    /// credsStore for the rest; `<token>` means an identity token; a
    /// helper that has nothing says so and exits 1.
    @Test func credentialHelpers() async throws {
        let directory = try TemporaryDirectory(prefix: "kiln-auth")
        defer { directory.remove() }
        try directory.write("bin/docker-credential-test", """
            #!/bin/sh
            [ "$1" = get ] || exit 3
            read server
            case "$server" in
              127.0.0.1:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}\\n' "$server" ;;
              token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"identity"}\\n' "$server" ;;
              broken.example) echo "keychain locked" >&2; exit 2 ;;
              leaky.example) printf '{"Username":"u","Secret":"half-printed-secret"}'; exit 3 ;;
              *) echo "credentials not found in native keychain"; exit 1 ;;
            esac
            """, mode: 0o755)
        let file = try directory.write("config.json", #"{"credHelpers":{"127.0.0.1:5000":"test"},"credsStore":"test","auths":{"127.0.0.1:5000":{"auth":"\#(Self.auth("file", "pw"))"}}}"#)
        let environment = ["PATH": directory.path("bin") + ":/usr/bin:/bin"]
        let store = store(environment, authFile: file)
        let helped = try await store.credential(for: Self.repository)
        #expect(helped?.secret == .password(username: "helper-user", password: "helper-secret"))
        #expect(helped?.source == "docker-credential-test")
        #expect(try await store.credential(for: Repository(registry: "token.example", path: "a"))?.secret == .identityToken("identity"))
        #expect(try await store.credential(for: Repository(registry: "none.example", path: "a")) == nil)
        let error = await #expect(throws: RegistryError.self) {
            try await store.credential(for: Repository(registry: "broken.example", path: "a"))
        }
        #expect(error?.message == "the credential helper docker-credential-test exited with status 2: keychain locked")
        let leaky = await #expect(throws: RegistryError.self) {
            try await store.credential(for: Repository(registry: "leaky.example", path: "a"))
        }
        #expect(leaky?.message == "the credential helper docker-credential-test exited with status 3")
        let missing = await #expect(throws: RegistryError.self) {
            try await self.store(["PATH": "/nonexistent"], authFile: file).credential(for: Self.repository)
        }
        #expect(missing?.message == "the credential helper docker-credential-test (credHelpers in \(file)) is not on PATH")
    }

    @Test func aCredentialNeverShowsItsSecret() {
        let secrets = ["hunter2", "refresh-secret", Data("alice:hunter2".utf8).base64EncodedString()]
        for credential in [
            Credential(secret: .password(username: "alice", password: "hunter2"), source: "/auth.json"),
            Credential(secret: .identityToken("refresh-secret"), source: "docker-credential-x"),
        ] {
            var dumped = ""
            dump(credential, to: &dumped)
            for text in [credential.description, String(reflecting: credential), "\(credential)", dumped] {
                #expect(!secrets.contains { text.contains($0) }, "\(text)")
            }
        }
    }
}
