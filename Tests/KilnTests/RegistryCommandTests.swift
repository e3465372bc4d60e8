import Glibc
import KilnCore
import Foundation
import Testing
import TestSupport

/// `kiln push`, `kiln pull`, `build --push` and registry bases (SPEC §1.3,
/// §4, §6) through the real binary against Debian's `docker-registry` on
/// loopback; what kiln pushes is read back with skopeo, what it pulls is
/// checked with oci-image-tool and umoci, and the registry's access log
/// says what was sent.
@Suite(.requires(.tools("docker-registry", "skopeo", "umoci", "oci-image-tool", "python3")))
struct RegistryCommandTests {
    let scratch: TemporaryDirectory
    let registry: RegistryServer

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-registry")
        registry = try RegistryServer(mode: .plain)
    }

    /// A plan with one files layer.
    static func plan(name: String, tag: String, base: String? = nil, platform: String? = nil, file: String = "/etc/motd", content: String = "hello") -> String {
        """
        kiln: 1
        name: \(name)
        tag: "\(tag)"
        created: "2024-01-01T00:00:00Z"
        \(base.map { "base: \"\($0)\"" } ?? "")
        \(platform.map { "platform: \($0)" } ?? "")
        layers:
          - name: files
            type: files
            files:
              - { path: \(file), content: "\(content)\\n" }

        """
    }

    /// Runs `kiln ARGS` in the scratch directory with a private cache.
    func kiln(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let result = try Tools.execute(
            [KilnBinary.path] + arguments, in: scratch.path,
            environment: Build.environment(cache: scratch.path + "/.cache", setting: environment))
        #expect(result.signal == nil)
        return result
    }

    /// `kiln ARGS`, which must succeed.
    @discardableResult
    func kilnOK(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let result = try kiln(arguments, environment: environment)
        guard result.succeeded else { throw TestSupportError("kiln \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)") }
        return result
    }

    var insecure: [String] { ["--insecure-registry", registry.host] }

    struct Pushed: Decodable, Equatable {
        var reference: String
        var digest: String
        var uploaded: Int
        var mounted: Int
        var existing: Int
    }

    struct Inspected: Decodable {
        var Digest: String
        var Layers: [String]
        var Architecture: String
    }

    func skopeoInspect(_ reference: String) throws -> Inspected {
        try JSONDecoder().decode(Inspected.self, from: Data(
            try Tools.run(["skopeo", "--insecure-policy", "inspect", "--tls-verify=false", "docker://" + reference]).utf8))
    }

    /// Builds `plan` (written to `name.yaml`) into `name/`.
    func build(_ name: String, _ plan: String, extra: [String] = []) throws -> BuiltLayout {
        try scratch.write(name + ".yaml", plan)
        return try Build.layout([name + ".yaml", "-o", name] + extra, in: scratch.path,
                                environment: Build.environment(cache: scratch.path + "/.cache"))
    }

    @Test func pushTwiceUploadsNothingTheSecondTime() throws {
        let image = registry.host + "/team/app"
        let layout = try build("app", Self.plan(name: image, tag: "v1"))
        let first = try JSONDecoder().decode(Pushed.self, from: Data(try kilnOK(["push", "app", "--json"] + insecure).output))
        #expect(first.uploaded == 2 && first.existing == 0 && first.mounted == 0)
        #expect(first.digest == layout.index.manifests[0].digest)
        #expect(first.reference == "\(image):v1@\(first.digest)")
        let inspected = try skopeoInspect(image + ":v1")
        #expect(inspected.Digest == first.digest)
        #expect(inspected.Layers == layout.manifest.layers.map(\.digest))

        let uploadsBefore = registry.requests(method: "PUT", pathContains: "/blobs/uploads/")
        let second = try kilnOK(["push", "app", "--json"] + insecure)
        let again = try JSONDecoder().decode(Pushed.self, from: Data(second.output))
        #expect(again == Pushed(reference: first.reference, digest: first.digest, uploaded: 0, mounted: 0, existing: 2))
        #expect(registry.requests(method: "PUT", pathContains: "/blobs/uploads/") == uploadsBefore)
        #expect(registry.requests(method: "POST", pathContains: "/blobs/uploads/") == 2)
        #expect(second.stderr.contains("pushed \(first.reference)"))

        // Another reference, from the archive form, with the image's tag.
        try Build.layout(["app.yaml", "-o", "app2", "--tar", "app.tar"], in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        let copied = try JSONDecoder().decode(Pushed.self, from: Data(try kilnOK(["push", "app.tar", registry.host + "/other/copy", "--json"] + insecure).output))
        #expect(copied.reference == "\(registry.host)/other/copy:v1@\(first.digest)")
    }

    @Test func aRegistryBaseIsPinnedMountedOnPushAndBuiltOfflineWhenLocked() throws {
        let base = registry.host + "/team/base"
        _ = try build("base", Self.plan(name: base, tag: "1", file: "/etc/base", content: "base"))
        try kilnOK(["push", "base"] + insecure)

        let app = registry.host + "/team/app"
        try scratch.write("app.yaml", Self.plan(name: app, tag: "v2", base: base + ":1", file: "/etc/app", content: "app"))
        let built = try kilnOK(["build", "app.yaml", "-o", "app", "--push", "--json", "--progress", "plain"] + insecure)
        struct Report: Decodable { var manifest_digest: String; var push: Pushed? }
        let report = try JSONDecoder().decode(Report.self, from: Data(built.output))
        // The base's one layer comes from team/base on the same registry.
        #expect(report.push?.mounted == 1)
        #expect(report.push?.uploaded == 2)
        #expect(report.push?.digest == report.manifest_digest)
        #expect(built.stderr.contains("note: base \(base):1 resolved to sha256:"))
        #expect(registry.requests(method: "POST", pathContains: "mount=") == 1)

        // What the registry serves unpacks to the base's file and the plan's.
        try Tools.run(["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", "docker://\(app):v2", "oci:\(scratch.path)/copied:v2"])
        try Tools.run(["umoci", "unpack", "--rootless", "--image", "\(scratch.path)/copied:v2", scratch.path + "/bundle"])
        #expect(try Files.text(scratch.path + "/bundle/rootfs/etc/base") == "base\n")
        #expect(try Files.text(scratch.path + "/bundle/rootfs/etc/app") == "app\n")

        // kiln lock pins the tag; a locked build then needs no registry.
        try kilnOK(["lock", "app.yaml"] + insecure)
        let lock = try Files.text(scratch.path + "/app.lock.json")
        let baseDigest = try skopeoInspect(base + ":1").Digest
        #expect(lock.contains(#""base": {"digest":"\#(baseDigest)","manifest":"\#(baseDigest)","reference":"\#(base):1"}"#))
        registry.stop()
        let offline = try kilnOK(["build", "app.yaml", "-o", "app-offline", "--locked", "--json"])
        #expect(try JSONDecoder().decode(Report.self, from: Data(offline.output)).manifest_digest == report.manifest_digest)
        #expect(!offline.stderr.contains("not pinned"))

        // The plan names another tag: --locked refuses, naming both.
        try scratch.write("app.yaml", Self.plan(name: app, tag: "v2", base: base + ":2", file: "/etc/app", content: "app"))
        let stale = try kiln(["build", "app.yaml", "-o", "app-offline", "--locked"])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("--locked: \(scratch.path)/app.lock.json pins the base \(base):1, but the plan says \(base):2; run `kiln lock`"))
    }

    @Test func aDamagedCachedBaseBlobIsFetchedAgain() throws {
        let base = registry.host + "/team/base"
        let pushed = try build("base", Self.plan(name: base, tag: "1", file: "/etc/base", content: "base"))
        try kilnOK(["push", "base"] + insecure)
        try scratch.write("app.yaml", Self.plan(name: registry.host + "/team/app", tag: "1", base: base + ":1"))
        let first = try Build.layout(["app.yaml", "-o", "one"] + insecure, in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        let layer = pushed.manifest.layers[0].digest
        let cached = scratch.path + "/.cache/kiln/registry/blobs/sha256/" + layer.dropFirst("sha256:".count)
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: cached))
        let result = try kilnOK(["build", "app.yaml", "-o", "two"] + insecure)
        #expect(result.stderr.contains("cached base blob \(layer) does not match its digest; fetching it again"))
        #expect(try BuiltLayout(scratch.path + "/two").index.manifests == first.index.manifests)
        #expect(try Files.bytes(cached) == Files.bytes(pushed.blob(layer)))

        // The cache counts the base's blobs (manifest, config, layer), and
        // a full prune removes them with the rest.
        let cache = scratch.path + "/.cache/kiln"
        #expect(try kilnOK(["cache", "info", "--cache-dir", cache]).stdout.contains("registry 3 blobs of registry bases"))
        try kilnOK(["cache", "prune", "--cache-dir", cache])
        #expect(!FileManager.default.fileExists(atPath: cache + "/registry"))
    }

    @Test func pullWritesTheBlobsAsServedAndPicksThePlatformFromAnIndex() throws {
        // A two-platform index pushed with skopeo: kiln builds each image,
        // Python writes the index around them.
        let amd = try build("amd", Self.plan(name: "x/amd", tag: "1", content: "amd64"))
        let arm = try build("arm", Self.plan(name: "x/arm", tag: "1", platform: "linux/arm64", content: "arm64"))
        let multi = try scratch.directory("multi/blobs/sha256")
        for layout in [amd, arm] {
            for name in try layout.blobNames() {
                try? FileManager.default.copyItem(atPath: layout.path + "/blobs/sha256/" + name, toPath: multi + "/" + name)
            }
        }
        try Tools.python("""
            import hashlib, json, sys
            root, amd, arm = sys.argv[1:4]
            def entry(layout, arch):
                d = json.load(open(layout + "/index.json"))["manifests"][0]
                return {"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"], "platform": {"os": "linux", "architecture": arch}}
            index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                "manifests": [entry(amd, "amd64"), entry(arm, "arm64")]}).encode()
            digest = hashlib.sha256(index).hexdigest()
            open(root + "/blobs/sha256/" + digest, "wb").write(index)
            open(root + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
            json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
                       "size": len(index), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}, open(root + "/index.json", "w"))
            """, [scratch.path + "/multi", amd.path, arm.path])
        let image = registry.host + "/team/multi"
        try Tools.run(["skopeo", "--insecure-policy", "copy", "--all", "--dest-tls-verify=false", "oci:\(scratch.path)/multi:1", "docker://\(image):1"])

        // --platform picks the arm64 manifest, kept as served.
        try kilnOK(["pull", image + ":1", "-o", "pulled-arm", "--platform", "linux/arm64"] + insecure)
        let pulledArm = try BuiltLayout(scratch.path + "/pulled-arm")
        #expect(pulledArm.index.manifests[0].digest == arm.index.manifests[0].digest)
        #expect(try Tools.run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=1", scratch.path + "/pulled-arm"]).contains("Validation succeeded"))
        try Tools.run(["umoci", "unpack", "--rootless", "--image", scratch.path + "/pulled-arm:1", scratch.path + "/arm-bundle"])
        #expect(try Files.text(scratch.path + "/arm-bundle/rootfs/etc/motd") == "arm64\n")

        // all keeps the index; the layout then holds both images.
        let all = try kilnOK(["pull", image + ":1", "-o", "pulled-all", "--platform", "all", "--json"] + insecure)
        struct Pulled: Decodable { var digest: String; var image: String; var downloaded: Int }
        let report = try JSONDecoder().decode(Pulled.self, from: Data(all.output))
        #expect(report.digest == report.image)
        #expect(report.downloaded == 4)
        #expect(try Tools.run(["skopeo", "--insecure-policy", "inspect", "--raw", "oci:\(scratch.path)/pulled-all:1"]).contains("arm64"))

        // A base on the index gets the plan's platform.
        try scratch.write("on-arm.yaml", Self.plan(name: "x/on-arm", tag: "1", base: image + ":1", platform: "linux/arm64", file: "/etc/app", content: "app"))
        let onArm = try Build.layout(["on-arm.yaml", "-o", "on-arm"] + insecure, in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        #expect(onArm.manifest.layers.first == arm.manifest.layers.first)
        let unavailable = try kiln(["build", "on-arm.yaml", "-o", "on-s390x", "--platform", "linux/s390x"] + insecure)
        #expect(unavailable.status != 0)
    }

    @Test(.requires(.root)) func dockerSchema2ImagesAreReadAndKeptAsServed() throws {
        let source = try build("src", Self.plan(name: "x/src", tag: "1", content: "docker"))
        let image = registry.host + "/team/docker"
        try Tools.run(["skopeo", "--insecure-policy", "copy", "--format", "v2s2", "--dest-tls-verify=false", "oci:\(source.path):1", "docker://\(image):1"])
        let served = try skopeoInspect(image + ":1").Digest
        try kilnOK(["pull", image + ":1", "-o", "pulled"] + insecure)
        let index = try Files.text(scratch.path + "/pulled/index.json")
        #expect(index.contains("application/vnd.docker.distribution.manifest.v2+json"))
        #expect(index.contains(served))
        try scratch.write("on-docker.yaml", Self.plan(name: "example.com/x/app", tag: "1", base: image + ":1", file: "/etc/app", content: "app"))
        let built = try Build.layout(["on-docker.yaml", "-o", "on-docker"] + insecure, in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        #expect(built.manifest.layers.count == 2)
        let rootfs = try Peers.check(built, name: "example.com/x/app", tag: "1", in: scratch.path)
        #expect(try Files.text(rootfs + "/etc/motd") == "docker\n")
    }

    @Test func failuresNameTheRegistryAndLeaveTheOutputAlone() throws {
        _ = try build("app", Self.plan(name: registry.host + "/team/app", tag: "v1"))
        // Nothing there: 404 naming what was asked.
        try scratch.write("keep/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
        try scratch.write("keep/index.json", "{\"schemaVersion\":2,\"manifests\":[]}")
        let missing = try kiln(["pull", registry.host + "/team/none:1", "-o", "keep"] + insecure)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("404"))
        #expect(missing.stderr.contains("pulling \(registry.host)/team/none:1"))
        #expect(try Files.text(scratch.path + "/keep/index.json") == "{\"schemaVersion\":2,\"manifests\":[]}")

        // Plain HTTP only when asked: without --insecure-registry kiln
        // speaks TLS, which a plain registry does not.
        let plain = try kiln(["push", "app"])
        #expect(plain.status == 1)
        #expect(plain.stderr.contains(registry.host))
        // …and KILN_INSECURE_REGISTRIES says it too.
        try kilnOK(["push", "app"], environment: ["KILN_INSECURE_REGISTRIES": "example.invalid," + registry.host])

        // A usage error is exit 2.
        let bad = try kiln(["pull", "Team/App", "-o", "x"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("repository must be lowercase"))
        let badPush = try kiln(["push", "app", registry.host + "/Team/App"])
        #expect(badPush.status == 2)
        #expect(badPush.stderr.contains("invalid image reference \"\(registry.host)/Team/App\": repository must be lowercase"))
        let nothing = try kiln(["push", "nothing-here"])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("nothing-here: no such layout directory or oci-archive"))
    }

    /// SPEC §1.5 with §6: a `platforms:` image pushes as an index (every
    /// manifest, then the index), `--platform` pushes one image, and a plan
    /// on that index as its base pins each platform's manifest.
    @Test func multiPlatformImagesPushAsAnIndexAndServeAsBases() throws {
        let base = registry.host + "/team/multi"
        try scratch.write("multi.yaml", """
            kiln: 1
            name: \(base)
            tag: "1"
            created: "2024-01-01T00:00:00Z"
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: motd
                type: files
                files:
                  - { path: /etc/motd, content: "shared\\n" }
              - name: arch
                type: build
                command: 'echo "$TARGETARCH" > "$KILN_OUT/arch.txt"'

            """)
        let built = try JSONSerialization.jsonObject(with: Data(try kilnOK(["build", "multi.yaml", "-o", "multi", "--push", "--json"] + insecure).stdout.utf8)) as? [String: Any]
        let indexDigest = try #require(built?["manifest_digest"] as? String)
        let raw = try Tools.run(["skopeo", "--insecure-policy", "inspect", "--raw", "--tls-verify=false", "docker://\(base):1"])
        let index = try JSONDecoder().decode(IndexJSON.self, from: Data(raw.utf8))
        #expect(try Tools.sha256(Array(raw.utf8)) == indexDigest)
        #expect(index.manifests.map { $0.platform?.architecture } == ["amd64", "arm64"])
        let arm = try JSONDecoder().decode(Inspected.self, from: Data(try Tools.run([
            "skopeo", "--insecure-policy", "inspect", "--override-arch", "arm64", "--tls-verify=false", "docker://\(base):1",
        ]).utf8))
        #expect(arm.Architecture == "arm64")

        // --platform pushes the arm64 manifest alone.
        let one = try JSONDecoder().decode(Pushed.self, from: Data(try kilnOK(["push", "multi", base + ":arm64", "--platform", "linux/arm64", "--json"] + insecure).stdout.utf8))
        #expect(one.digest == index.manifests[1].digest)
        let refused = try kiln(["push", "multi", base + ":s390x", "--platform", "linux/s390x"] + insecure)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("holds no image for linux/s390x (platforms: linux/amd64, linux/arm64)"), "\(refused.stderr)")

        // A plan on the index pins the tag once and each platform's manifest.
        try scratch.write("app.yaml", """
            kiln: 1
            name: \(registry.host)/team/app
            base: "\(base):1"
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: app
                type: files
                files:
                  - { path: /app.txt, content: "app\\n" }

            """)
        try kilnOK(["lock", "app.yaml"] + insecure)
        let lock = try #require(try JSONSerialization.jsonObject(with: Data(try Files.bytes(scratch.path("app.lock.json")))) as? [String: Any])
        let pinned = try #require(lock["base"] as? [String: Any])
        #expect(pinned["digest"] as? String == indexDigest)
        #expect(pinned["manifests"] as? [String: String] == ["linux/amd64": index.manifests[0].digest, "linux/arm64": index.manifests[1].digest])
        let app = try kilnOK(["build", "app.yaml", "-o", "app-multi", "--locked", "--json"] + insecure)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(app.stdout.utf8)) as? [String: Any])
        let layers = try #require(report["layers"] as? [[String: Any]])
        // Each platform's base layers (motd shared, arch per platform), then the shared app layer.
        #expect(layers.map { $0["name"] as? String } == ["base", "base", "base", "base", "app"])
        #expect(layers.map { $0["platform"] as? String } == ["linux/amd64", "linux/amd64", "linux/arm64", "linux/arm64", nil])
    }
}

/// Push and pull with credentials and TLS: Basic auth from an auth file,
/// the registry's CA from --cert-dir; the password never shows.
@Suite(.requires(.tools("docker-registry", "skopeo", "openssl", "python3")))
struct RegistryAuthCommandTests {
    @Test func basicAuthOverTLSFromAnAuthFile() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-e2e-registry-auth")
        let password = "s3cret-\(UUID().uuidString.prefix(8))"
        let registry = try RegistryServer(mode: .basicTLS(user: "kiln", password: password))
        try scratch.write("app.yaml", RegistryCommandTests.plan(name: registry.host + "/team/app", tag: "v1"))
        try Build.layout(["app.yaml", "-o", "app"], in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        let environment = Build.environment(cache: scratch.path + "/.cache", setting: ["HOME": scratch.path, "XDG_RUNTIME_DIR": scratch.path + "/run"])
        let certDir = registry.certDirectory ?? ""

        let anonymous = try Tools.execute([KilnBinary.path, "push", "app", "--cert-dir", certDir], in: scratch.path, environment: environment)
        #expect(anonymous.status == 1)
        #expect(anonymous.stderr.contains("401"))
        #expect(anonymous.stderr.contains("\(registry.host)/team/app"))

        let untrusted = try Tools.execute([KilnBinary.path, "push", "app"], in: scratch.path, environment: environment)
        #expect(untrusted.status == 1)

        let auth = Data("kiln:\(password)".utf8).base64EncodedString()
        try scratch.write("auth.json", #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#)
        let pushed = try Tools.execute([KilnBinary.path, "push", "app", "--cert-dir", certDir, "--authfile", "auth.json", "--json", "--progress", "plain"],
                                       in: scratch.path, environment: environment)
        #expect(pushed.succeeded, "\(pushed.stderr)")
        let pulled = try Tools.execute([KilnBinary.path, "pull", registry.host + "/team/app:v1", "-o", "pulled", "--cert-dir", certDir],
                                       in: scratch.path, environment: environment.merging(["REGISTRY_AUTH_FILE": scratch.path + "/auth.json"]) { $1 })
        #expect(pulled.succeeded, "\(pulled.stderr)")
        for output in [anonymous, untrusted, pushed, pulled] {
            #expect(!output.stdout.contains(password) && !output.stderr.contains(password) && !output.stderr.contains(auth))
        }
        let verified = try Tools.run(["skopeo", "--insecure-policy", "inspect", "--cert-dir", certDir, "--creds", "kiln:\(password)", "docker://\(registry.host)/team/app:v1"])
        let digest = try JSONDecoder().decode(RegistryCommandTests.Pushed.self, from: Data(pushed.output)).digest
        #expect(verified.contains(digest))
    }
}

/// `kiln pull` stopped by SIGINT mid-download: the staged layout is removed,
/// the previous output stays, and kiln exits 130.
@Suite(.requires(.tools("docker-registry", "python3")))
struct RegistryInterruptTests {
    @Test func anInterruptedPullLeavesThePreviousOutput() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-e2e-registry-interrupt")
        let registry = try RegistryServer(mode: .plain)
        let proxy = try FaultProxy(in: registry)
        try scratch.write("app.yaml", RegistryCommandTests.plan(name: registry.host + "/team/app", tag: "v1"))
        let environment = Build.environment(cache: scratch.path + "/.cache")
        try Build.layout(["app.yaml", "-o", "out"], in: scratch.path, environment: environment)
        let pushed = try Tools.execute([KilnBinary.path, "push", "out", "--insecure-registry", registry.host], in: scratch.path, environment: environment)
        #expect(pushed.succeeded, "\(pushed.stderr)")
        let before = try Build.files(scratch.path("out"))

        try proxy.inject([FaultProxy.Rule("GET", "/blobs/sha256:", .delay(seconds: 30), count: 10)])
        let kiln = Process()
        kiln.executableURL = URL(fileURLWithPath: KilnBinary.path)
        kiln.arguments = ["pull", proxy.host + "/team/app:v1", "-o", "out", "--insecure-registry", proxy.host]
        kiln.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        kiln.environment = environment
        let errors = Pipe()
        kiln.standardError = errors
        kiln.standardOutput = FileHandle.nullDevice
        try kiln.run()
        for _ in 0..<400 where proxy.hits(method: "GET", pathContains: "/blobs/sha256:", fault: "delay") == 0 { usleep(50_000) }
        #expect(proxy.hits(method: "GET", pathContains: "/blobs/sha256:", fault: "delay") > 0)
        kill(kiln.processIdentifier, SIGINT)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        kiln.waitUntilExit()
        #expect(kiln.terminationStatus == 130, "\(stderr)")
        #expect(stderr.hasSuffix("kiln: interrupted by SIGINT; the previous output is as it was\n"), "\(stderr)")
        #expect(try Build.files(scratch.path("out")) == before)
        #expect(try Build.leftovers(in: scratch.path) == [])
    }

    /// ^C while `build --push` pushes stops the push too, and says the
    /// image was written but not pushed.
    @Test func anInterruptedBuildPushStopsThePush() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-e2e-registry-interrupt")
        let registry = try RegistryServer(mode: .plain)
        let proxy = try FaultProxy(in: registry)
        try scratch.write("app.yaml", RegistryCommandTests.plan(name: proxy.host + "/team/app", tag: "v1"))
        try proxy.inject([FaultProxy.Rule(nil, "/blobs/", .delay(seconds: 30), count: 10)])
        let kiln = Process()
        kiln.executableURL = URL(fileURLWithPath: KilnBinary.path)
        kiln.arguments = ["build", "app.yaml", "-o", "out", "--push", "--insecure-registry", proxy.host]
        kiln.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        kiln.environment = Build.environment(cache: scratch.path + "/.cache")
        let errors = Pipe()
        kiln.standardError = errors
        kiln.standardOutput = FileHandle.nullDevice
        try kiln.run()
        for _ in 0..<400 where proxy.hits(pathContains: "/blobs/", fault: "delay") == 0 { usleep(50_000) }
        #expect(proxy.hits(pathContains: "/blobs/", fault: "delay") > 0)
        kill(kiln.processIdentifier, SIGINT)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        kiln.waitUntilExit()
        #expect(kiln.terminationStatus == 130, "\(stderr)")
        #expect(stderr.hasSuffix("kiln: interrupted by SIGINT; the image is written, its push is not complete\n"), "\(stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("out/index.json")))
        #expect(registry.requests(method: "PUT", pathContains: "/manifests/") == 0)
    }
}
