import Foundation
import KilnCore
import OCI
import Testing
@testable import Registry

/// How a fetched manifest's bytes and headers are read, where the real
/// registry cannot be made to answer so (it refuses schema 1 pushes).
@Suite struct ManifestParsingTests {
    static let call = Call.reading(.pulling, Repository(registry: "127.0.0.1:5000", path: "team/old"), subject: ":v1")

    static func mediaType(_ json: String, _ contentType: String?) throws(RegistryError) -> String {
        try RegistryClient.manifestMediaType(Array(json.utf8), contentType: contentType, call)
    }

    @Test func schema1IsRefusedByName() {
        let message = "pulling 127.0.0.1:5000/team/old:v1: the manifest uses Docker schema 1 (%@), which kiln does not read; "
            + "copy the image again with a current docker, podman or skopeo to store it as schema 2 or OCI"
        for (json, contentType, named) in [
            (#"{"schemaVersion":1,"name":"team/old","fsLayers":[]}"#, "application/vnd.docker.distribution.manifest.v1+prettyjws",
             "application/vnd.docker.distribution.manifest.v1+prettyjws"),
            (#"{"schemaVersion":1,"name":"team/old"}"#, "application/json", "application/json"),
            (#"{"schemaVersion":1}"#, nil, "schemaVersion 1"),
            (#"{"mediaType":"application/vnd.docker.distribution.manifest.v1+json"}"#, "text/plain",
             "application/vnd.docker.distribution.manifest.v1+json"),
        ] as [(String, String?, String)] {
            let error = #expect(throws: RegistryError.self) { try Self.mediaType(json, contentType) }
            #expect(error?.kind == .unsupported)
            #expect(error?.description == message.replacingOccurrences(of: "%@", with: named))
        }
    }

    @Test func theMediaTypeComesFromTheHeaderThenTheDocument() throws {
        #expect(try Self.mediaType(#"{"schemaVersion":2}"#, "application/vnd.oci.image.index.v1+json; charset=utf-8") == MediaType.imageIndex)
        #expect(try Self.mediaType(#"{"schemaVersion":2,"mediaType":"\#(MediaType.dockerManifestList)"}"#, "application/json") == MediaType.dockerManifestList)
        #expect(try Self.mediaType(#" {"schemaVersion":2,"manifests":[]}"#, nil) == MediaType.imageIndex)
        #expect(try Self.mediaType(#"{"schemaVersion":2,"layers":[]}"#, "text/plain") == MediaType.imageManifest)
    }

    @Test func notJSONIsRefused() {
        for (body, contentType, summary) in [
            ("<html><title>Sign in</title></html>", "text/html", #" (Content-Type text/html): the server answered with an HTML page ("Sign in")"#),
            ("[1,2]", "application/json", " (Content-Type application/json): [1,2]"),
            ("{broken", nil, " (Content-Type none): {broken"),
        ] as [(String, String?, String)] {
            let error = #expect(throws: RegistryError.self) { try Self.mediaType(body, contentType) }
            #expect(error?.kind == .invalidResponse)
            #expect(error?.description == "pulling 127.0.0.1:5000/team/old:v1: the registry's answer is not a JSON manifest" + summary)
        }
    }

    @Test func rangesAndScopes() {
        #expect(RegistryClient.rangeEnd("0-1023") == 1023)
        #expect(RegistryClient.rangeEnd("bytes=0-99") == 99)
        #expect(RegistryClient.rangeEnd("0--1") == -1)
        #expect(RegistryClient.rangeEnd(nil) == nil)
        #expect(RegistryClient.rangeStart("bytes 100-199/200") == 100)
        #expect(RegistryClient.rangeStart("100-199/200") == nil)
        #expect(RegistryClient.scope("repository:team/app:pull,push", covers: "repository:team/app:push,pull"))
        #expect(RegistryClient.scope("repository:team/app:pull,push", covers: "repository:team/app:pull"))
        #expect(!RegistryClient.scope("repository:team/app:pull", covers: "repository:team/app:pull,push"))
        #expect(!RegistryClient.scope("repository:team/app:pull,push", covers: "repository:team/other:pull"))
        #expect(!RegistryClient.scope("repository:team/app:pull", covers: "registry:catalog:*"))
    }

    @Test func uploadLocationsRelativeOrAbsolute() throws {
        var options = RegistryOptions(environment: [:])
        options.insecureRegistries = ["127.0.0.1:5000"]
        let client = try RegistryClient(options: options)
        let uploads = try #require(URL(string: "http://127.0.0.1:5000/v2/team/old/blobs/uploads/"))
        let digest = [URLQueryItem(name: "digest", value: "sha256:ab")]
        #expect(try client.resolve(location: "/v2/team/old/blobs/uploads/u1?_state=x%3D", against: uploads, adding: digest, call: Self.call).absoluteString
            == "http://127.0.0.1:5000/v2/team/old/blobs/uploads/u1?_state=x%3D&digest=sha256:ab")
        #expect(try client.resolve(location: "https://storage.example/up/u2", against: uploads, call: Self.call).absoluteString
            == "https://storage.example/up/u2")
        #expect(try client.resolve(location: "u3", against: uploads, call: Self.call).absoluteString
            == "http://127.0.0.1:5000/v2/team/old/blobs/uploads/u3")
        let missing = #expect(throws: RegistryError.self) { try client.resolve(location: nil, against: uploads, call: Self.call) }
        #expect(missing?.description == "pulling 127.0.0.1:5000/team/old:v1: the registry's upload Location is missing")
        #expect(client.isRegistryHost(uploads, "127.0.0.1:5000"))
        #expect(!client.isRegistryHost(try #require(URL(string: "https://storage.example/up/u2")), "127.0.0.1:5000"))
        #expect(client.baseURL("docker.io") == "https://" + RegistryReference.dockerHubAPIHost + "/v2/")
    }
}
