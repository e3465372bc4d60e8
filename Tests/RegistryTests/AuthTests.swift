import Foundation
import KilnCore
import OCI
import Registry
import Testing
import TestSupport

/// Basic authentication against htpasswd, bearer tokens from a token
/// issuer (reused until they expire), identity tokens, credential helpers,
/// and the promise that no credential is ever shown.
@Suite(.registryPeers) struct AuthTests {
    static let user = RegistryHarness.user
    static let password = RegistryHarness.password

    @Test func basicAuthenticationIsSentUpFrontOnceItWorked() async throws {
        let harness = try RegistryHarness(.basic(user: Self.user, password: Self.password))
        defer { harness.stop() }
        let client = try RegistryClient(options: try harness.authenticatedOptions())
        let repository = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("basic", layerSizes: [1000], seed: 30)
        try await harness.push(image, to: repository, tag: "v1", with: client)
        #expect(try await client.fetchManifest(repository, reference: "v1").digest == image.manifestDigest)
        #expect(harness.registry.accessLog().filter { $0.status == 401 && $0.path != "/v2/" }.count == 1)
        #expect(try harness.skopeoDigest("team/app:v1", credentials: true) == image.manifestDigest.description)

        var wrong = harness.options()
        wrong.authFile = try harness.authFile(password: "not-the-password")
        let refused = try RegistryClient(options: wrong)
        let error = await RegistryHarness.error { _ = try await refused.fetchManifest(repository, reference: "v1") }
        #expect(error?.kind == .unauthorized)
        #expect(error?.description == "401 unauthorized: pulling \(harness.registry.host)/team/app:v1: authentication required (the registry refused the credential from \(wrong.authFile!))")
        await client.shutdown()
        await refused.shutdown()
    }

    @Test func bearerTokensAreFetchedPerScopeAndReused() async throws {
        let harness = try RegistryHarness(.token(user: Self.user, password: Self.password))
        defer { harness.stop() }
        let client = try RegistryClient(options: try harness.authenticatedOptions())
        let host = harness.registry.host
        let app = Repository(registry: host, path: "team/app")
        let image = try harness.image("token", layerSizes: [1000, 2000], seed: 31)
        try await harness.push(image, to: app, tag: "v1", with: client)
        #expect(harness.registry.tokenRequests() == 1)
        #expect(harness.registry.tokenIssuer?.requests().first?.scopes == ["repository:team/app:pull,push"])

        // Pulling wants a pull-only token: one more, then reused.
        #expect(try await client.fetchManifest(app, reference: "v1").digest == image.manifestDigest)
        try await client.fetchBlob(app, descriptor: image.layers[0].descriptor, to: harness.work.path("l0"), progress: nil)
        #expect(try await client.blobExists(app, digest: image.layers[1].digest))
        #expect(harness.registry.tokenRequests() == 2)
        #expect(harness.registry.accessLog().filter { $0.status == 401 && $0.path != "/v2/" }.count == 1)

        // A mount asks for the source's pull scope too.
        let other = Repository(registry: host, path: "team/other")
        #expect(try await client.mountBlob(other, digest: image.layers[0].digest, from: "team/app"))
        let scopes = harness.registry.tokenIssuer?.requests().last?.scopes ?? []
        #expect(Set(scopes) == ["repository:team/other:pull,push", "repository:team/app:pull"])
        #expect(try harness.skopeoDigest("team/app:v1", credentials: true) == image.manifestDigest.description)
        await client.shutdown()
    }

    /// Uploads started together meet the challenge together, and share
    /// one token request.
    @Test func parallelCallsShareOneTokenRequest() async throws {
        let harness = try RegistryHarness(.token(user: Self.user, password: Self.password))
        defer { harness.stop() }
        let client = try RegistryClient(options: try harness.authenticatedOptions())
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("parallel", layerSizes: [1000, 2000, 3000, 4000], seed: 37)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for blob in image.blobs {
                group.addTask { try await client.uploadBlob(app, descriptor: blob.descriptor, from: blob.path, progress: nil) }
            }
            try await group.waitForAll()
        }
        #expect(harness.registry.tokenRequests() == 1)
        for blob in image.blobs {
            #expect(try await client.blobExists(app, digest: blob.digest))
        }
        await client.shutdown()
    }

    /// The issuer's tokens last 5 s (the client uses one for 4 s): after
    /// that the client asks for a new one itself, before the registry
    /// would refuse the old one.
    @Test func anExpiredTokenIsReplaced() async throws {
        let harness = try RegistryHarness(.token(user: Self.user, password: Self.password, expiresIn: 5))
        defer { harness.stop() }
        let client = try RegistryClient(options: try harness.authenticatedOptions())
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("expiry", layerSizes: [10], seed: 32)
        try await harness.push(image, to: app, tag: "v1", with: client)
        let tokens = harness.registry.tokenRequests()
        let refusals = harness.registry.accessLog().filter { $0.status == 401 }.count
        try await Task.sleep(for: .milliseconds(5200))
        _ = try await client.putManifest(app, reference: "v2", bytes: image.manifest, mediaType: MediaType.imageManifest)
        #expect(harness.registry.tokenRequests() == tokens + 1)
        #expect(harness.registry.accessLog().filter { $0.status == 401 }.count == refusals)
        await client.shutdown()
    }

    @Test func anonymousPullButNoAnonymousPush() async throws {
        let harness = try RegistryHarness(.token(user: Self.user, password: Self.password, anonymousPull: true))
        defer { harness.stop() }
        let image = try harness.image("anon", layerSizes: [10], seed: 33)
        try harness.seed(image, as: "team/app:v1", credentials: true)
        let client = try RegistryClient(options: harness.options())
        let app = Repository(registry: harness.registry.host, path: "team/app")
        #expect(try await client.fetchManifest(app, reference: "v1").digest == image.manifestDigest)
        #expect(harness.registry.tokenIssuer?.requests().last?.user == nil)
        let error = await RegistryHarness.error {
            _ = try await client.putManifest(app, reference: "v2", bytes: image.manifest, mediaType: MediaType.imageManifest)
        }
        #expect(error?.kind == .unauthorized)
        #expect(error?.description.hasPrefix("401 unauthorized: pushing \(harness.registry.host)/team/app:v2: authentication required (no credentials for \(harness.registry.host)") == true)
        await client.shutdown()
    }

    /// An `identitytoken` is exchanged with `grant_type=refresh_token`.
    @Test func identityTokens() async throws {
        let harness = try RegistryHarness(.token(user: Self.user, password: Self.password))
        defer { harness.stop() }
        let issuer = try #require(harness.registry.tokenIssuer)
        let grant = try Tools.run(["curl", "-sf", "-u", "\(Self.user):\(Self.password)",
                                   "\(issuer.realm)?service=\(issuer.service)&scope=repository:team/app:pull&offline_token=true"])
        let refresh = try #require((try JSONSerialization.jsonObject(with: Data(grant.utf8)) as? [String: Any])?["refresh_token"] as? String)
        var options = harness.options()
        options.authFile = try harness.work.write("auth-identity.json", #"{"auths":{"\#(harness.registry.host)":{"auth":"PHRva2VuPjo=","identitytoken":"\#(refresh)"}}}"#)
        let client = try RegistryClient(options: options)
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("identity", layerSizes: [10], seed: 34)
        try await harness.push(image, to: app, tag: "v1", with: client)
        let requests = issuer.requests()
        #expect(requests.last?.method == "POST")
        #expect(requests.last?.grantType == "refresh_token")
        #expect(requests.last?.user == Self.user)
        #expect(try harness.skopeoDigest("team/app:v1", credentials: true) == image.manifestDigest.description)
        await client.shutdown()
    }

    @Test func credentialHelperOnPath() async throws {
        let harness = try RegistryHarness(.token(user: Self.user, password: Self.password))
        defer { harness.stop() }
        try harness.work.write("bin/docker-credential-kilntest", """
            #!/bin/sh
            read server
            [ "$server" = "\(harness.registry.host)" ] || { echo "credentials not found in native keychain"; exit 1; }
            printf '{"ServerURL":"%s","Username":"\(Self.user)","Secret":"\(Self.password)"}' "$server"
            """, mode: 0o755)
        var options = harness.options()
        options.environment["PATH"] = harness.work.path("bin") + ":/usr/bin:/bin"
        options.environment["DOCKER_CONFIG"] = harness.work.path("docker")
        try harness.work.write("docker/config.json", #"{"credHelpers":{"\#(harness.registry.host)":"kilntest"}}"#)
        let client = try RegistryClient(options: options)
        let image = try harness.image("helper", layerSizes: [10], seed: 35)
        try await harness.push(image, to: Repository(registry: harness.registry.host, path: "team/app"), tag: "v1", with: client)
        #expect(harness.registry.tokenIssuer?.requests().last?.user == Self.user)
        await client.shutdown()
    }

    /// Errors after credentials were sent, right or wrong, and the files a
    /// pull writes: no password, `user:password`, its base64, token or
    /// `Authorization` value anywhere.
    @Test func noCredentialIsEverShown() async throws {
        let secret = "s3cret-never-shown"
        let harness = try RegistryHarness(.token(user: Self.user, password: secret))
        defer { harness.stop() }
        let basic = try RegistryHarness(.basic(user: Self.user, password: secret))
        defer { basic.stop() }
        var descriptions: [String] = []
        func record(_ error: RegistryError?) {
            guard let error else { return }
            var dumped = ""
            dump(error, to: &dumped)
            descriptions += [error.description, String(reflecting: error), dumped, error.localizedDescription]
        }

        let good = try RegistryClient(options: { () throws -> RegistryOptions in
            var options = harness.options()
            options.authFile = try harness.authFile(password: secret)
            return options
        }())
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("secret", layerSizes: [5000], seed: 36)
        try await harness.push(image, to: app, tag: "v1", with: good)
        try await good.fetchBlob(app, descriptor: image.layers[0].descriptor, to: harness.work.path("pulled"), progress: nil)
        record(await RegistryHarness.error { _ = try await good.fetchManifest(app, reference: "missing") })
        record(await RegistryHarness.error {
            _ = try await good.fetchManifest(Repository(registry: harness.registry.host, path: "elsewhere/x"), reference: "v1")
        })

        for registry in [harness, basic] {
            var options = registry.options()
            options.authFile = try registry.authFile(password: secret + "-wrong")
            let wrong = try RegistryClient(options: options)
            record(await RegistryHarness.error { _ = try await wrong.fetchManifest(Repository(registry: registry.registry.host, path: "team/app"), reference: "v1") })
            record(await RegistryHarness.error { _ = try await wrong.blobExists(Repository(registry: registry.registry.host, path: "team/app"), digest: image.config.digest) })
            await wrong.shutdown()
        }
        #expect(descriptions.count == 6 * 4)
        let secrets = RegistryHarness.spellings(of: secret) + RegistryHarness.spellings(of: secret + "-wrong") + ["eyJ"]
        for text in descriptions {
            RegistryHarness.expectNoSecret(in: text, secrets)
        }
        try harness.expectNoSecretInFiles(secrets)
        await good.shutdown()
    }
}
