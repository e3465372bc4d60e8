import Crypto
import Foundation
import KilnCore
import KilnHTTP
import OCI
import Registry
import Synchronization
import Testing
import TestSupport

/// An artifact (an SBOM) pushed as a referrer of an image: through the
/// referrers tag schema against docker-registry 2.8, which has no referrers
/// API, and through the API against a transport that gives the real
/// registry what distribution-spec 1.1 adds (a case the installed peer
/// cannot produce): `OCI-Subject` on the manifest PUT and
/// `GET /v2/<name>/referrers/<digest>`.
@Suite(.registryPeers) struct ReferrersTests {
    /// docker-registry, made to answer as a 1.1 registry does.
    final class ReferrersAPITransport: HTTPTransport {
        let inner: AsyncHTTPClientTransport
        /// Subject digest → referrer descriptors, as the registry would keep them.
        let referrers = Mutex<[String: [Descriptor]]>([:])
        let sent = Mutex<[String]>([])

        init() throws {
            inner = try AsyncHTTPClientTransport(configuration: .init())
        }

        func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
            sent.withLock { $0.append(request.method + " " + request.url.path) }
            let path = request.url.path
            if request.method == "GET", let range = path.range(of: "/referrers/") {
                let subject = String(path[range.upperBound...])
                let index = ImageIndex(manifests: referrers.withLock { $0[subject] ?? [] })
                let bytes = (try? CanonicalJSONEncoder().encode(index)) ?? []
                return HTTPResponse(status: 200, headers: ["Content-Type": MediaType.imageIndex], body: HTTPBody(chunks: [bytes]))
            }
            var response = try await inner.send(request)
            if request.method == "PUT", path.contains("/manifests/"), case .bytes(let bytes)? = request.body,
               let manifest = try? JSONDecoder().decode(ImageManifest.self, from: Data(bytes)), let subject = manifest.subject,
               (200...299).contains(response.status) {
                let entry = Descriptor(
                    mediaType: MediaType.imageManifest, digest: ContentDigest(sha256Bytes: SHA256.hash(data: bytes)), size: Int64(bytes.count),
                    annotations: manifest.annotations, artifactType: manifest.artifactType)
                referrers.withLock { $0[subject.digest.description, default: []].append(entry) }
                response.headers["OCI-Subject"] = subject.digest.description
            }
            return response
        }
    }

    /// A layout holding `image`'s manifest and an SBOM artifact about it.
    static func layout(for image: TestImage, document: String, in directory: String) throws -> (LayoutReader, Descriptor) {
        let staging = try LayoutStaging(output: directory)
        let subject = try staging.writeBlob(image.manifest, mediaType: MediaType.imageManifest)
        try staging.writeIndex([subject])
        let artifact = try staging.attachArtifact(Array(document.utf8), artifactType: "application/spdx+json", subject: subject)
        try staging.publish()
        return (try LayoutReader(directory: directory), artifact)
    }

    @Test func withoutTheAPIAReferrersTagListsThemMergedAcrossPushes() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("tagged", layerSizes: [10], seed: 61)
        let repository = Repository(registry: harness.registry.host, path: "team/app")
        let client = try RegistryClient(options: harness.options())
        let pusher = ImagePusher(client: client, jobs: 2)
        let (first, firstArtifact) = try Self.layout(for: image, document: #"{"n":1}"#, in: harness.work.path("one"))
        let pushed = try await pusher.pushReferrer(firstArtifact, from: first, to: repository)
        #expect(pushed.via == "referrers-tag" && pushed.uploaded == 2 && pushed.subject == image.manifestDigest)
        let (second, secondArtifact) = try Self.layout(for: image, document: #"{"n":2}"#, in: harness.work.path("two"))
        _ = try await pusher.pushReferrer(secondArtifact, from: second, to: repository)
        // Once more: nothing doubles.
        let again = try await pusher.pushReferrer(secondArtifact, from: second, to: repository)
        #expect(again.uploaded == 0)

        let listed = try await client.referrers(repository, of: image.manifestDigest)
        #expect(listed.map(\.digest) == [firstArtifact.digest, secondArtifact.digest])
        #expect(listed.allSatisfy { $0.artifactType == "application/spdx+json" && $0.mediaType == MediaType.imageManifest })
        // skopeo reads the tag as an OCI index.
        let raw = try harness.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(harness.registry.host)/team/app:sha256-\(image.manifestDigest.hex)"])
        #expect(raw.stdout.contains(secondArtifact.digest.description))
        await client.shutdown()
    }

    @Test func withTheAPINoTagIsWritten() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("api", layerSizes: [10], seed: 62)
        let repository = Repository(registry: harness.registry.host, path: "team/app")
        let transport = try ReferrersAPITransport()
        let client = try RegistryClient(options: harness.options(), transport: transport)
        let (layout, artifact) = try Self.layout(for: image, document: #"{"api":true}"#, in: harness.work.path("api"))
        let pushed = try await ImagePusher(client: client, jobs: 2).pushReferrer(artifact, from: layout, to: repository)
        #expect(pushed.via == "referrers-api" && pushed.digest == artifact.digest)
        #expect(!transport.sent.withLock { $0 }.contains { $0.contains("sha256-") })
        let listed = try await client.referrers(repository, of: image.manifestDigest)
        #expect(listed.map(\.digest) == [artifact.digest])
        await client.shutdown()
        try await transport.inner.shutdown()
    }
}
