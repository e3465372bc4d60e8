import Foundation
import KilnCore
import Testing
import TestSupport

/// `kiln sbom SRC` for layouts, archives and registry images, and `kiln
/// push` sending the SBOM with the image (SPEC §7): the referrers API where
/// the registry has it, else the `sha256-<hex>` referrers tag, checked
/// against Debian's docker-registry.
@Suite(.requires(.kilnBinary, SBOMFixture.validators, .tools("python3", "docker-registry"), .root))
struct SBOMCommandTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-sbom-command")
        try scratch.write("src/app.txt", "app\n")
    }

    static func plan(name: String, sbom: String?) -> String {
        """
        kiln: 1
        name: \(name)
        tag: "2.0"
        platform: linux/amd64
        created: "2024-01-01T00:00:00Z"
        \(sbom.map { "sbom: " + $0 } ?? "")
        layers:
          - name: files
            type: files
            files:
              - { path: /srv/app.txt, source: src/app.txt }
              - { path: /etc/motd, content: "hi\\n" }

        """
    }

    func kiln(_ arguments: [String]) throws -> ProcessResult {
        let result = try Tools.execute([KilnBinary.path] + arguments, in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        #expect(result.signal == nil)
        return result
    }

    /// Writes `output` to a file in the scratch directory and checks it
    /// with scripts/check-sbom against `rootfs`.
    func check(_ output: [UInt8], as name: String, rootfs: String?) throws -> [String: Any] {
        let path = scratch.path + "/" + name
        try Files.write(output, to: path)
        _ = try SBOMFixture.check(path, rootfs: rootfs)
        return try #require(try JSONSerialization.jsonObject(with: Data(output)) as? [String: Any])
    }

    @Test func printsTheAttachedDocumentOrComputesOneFromTheLayers() throws {
        try scratch.write("app.yaml", Self.plan(name: "example.com/cmd/app", sbom: "spdx"))
        let layout = try Build.layout(["app.yaml", "-o", "out", "--tar", "out.tar"], in: scratch.path)
        let artifact = try #require(layout.artifacts.first)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(Files.bytes(layout.blob(artifact.digest)))) as? [String: Any])
        let documentDigest = try #require(((manifest["layers"] as? [[String: Any]])?.first?["digest"]) as? String)
        let rootfs = try Peers.check(layout, name: "example.com/cmd/app", tag: "2.0", in: scratch.path)

        // The attached document, byte for byte, from the layout and from the archive.
        for source in ["out", "out.tar"] {
            let printed = try kiln(["sbom", source])
            #expect(printed.succeeded, "\(printed.stderr)")
            #expect(printed.output == (try Files.bytes(layout.blob(documentDigest))))
            #expect(printed.stderr.contains("the spdx SBOM attached to \(layout.index.manifests[0].digest)"), "\(printed.stderr)")
        }
        // Another format: the attached document converted, every origin kept, and valid.
        let converted = try kiln(["sbom", "out", "--format", "cyclonedx"])
        #expect(converted.succeeded, "\(converted.stderr)")
        #expect(converted.stderr.contains("the spdx SBOM attached to \(layout.index.manifests[0].digest), converted to cyclonedx: 2 files covered: 2 files entry"), "\(converted.stderr)")
        _ = try check(converted.output, as: "converted.cdx.json", rootfs: rootfs)

        // An image with no SBOM at all.
        try scratch.write("bare.yaml", Self.plan(name: "example.com/cmd/bare", sbom: nil))
        let bare = try Build.layout(["bare.yaml", "-o", "bare"], in: scratch.path)
        #expect(bare.artifacts.isEmpty)
        let computed = try kiln(["sbom", "bare"])
        #expect(computed.succeeded, "\(computed.stderr)")
        #expect(computed.stderr.contains("no SBOM attached"), "\(computed.stderr)")
        let document = try check(computed.output, as: "bare.spdx.json", rootfs: rootfs)
        #expect(document["name"] as? String == "example.com/cmd/bare:2.0")
        #expect(computed.stderr.contains("computed from its layers: 2 files covered: 2 image layer"), "\(computed.stderr)")

        let missing = try kiln(["sbom", "./missing-layout"])
        #expect(missing.status == 1)
        #expect(missing.stderrLines == ["kiln: error: ./missing-layout: no such layout directory or oci-archive, and not a registry reference"])
        let badFormat = try kiln(["sbom", "out", "--format", "spdy"])
        #expect(badFormat.status == 2)
        #expect(badFormat.stderrLines.first == "Error: The value 'spdy' is invalid for '--format <format>'. Please provide one of 'spdx' and 'cyclonedx'.")
        let badBuildFormat = try kiln(["build", "app.yaml", "--sbom", "spdy"])
        #expect(badBuildFormat.status == 2)
        #expect(badBuildFormat.stderrLines.first == "Error: The value 'spdy' is invalid for '--sbom <format>'. Please provide one of 'spdx' and 'cyclonedx'.")
    }

    /// kiln's own readers take the image by its tag and skip the SBOM
    /// artifact: inspect, export, diff, an `oci:` base, and the archive form.
    @Test func kilnsReadersSeeOnlyTheImage() throws {
        try scratch.write("app.yaml", Self.plan(name: "example.com/cmd/app", sbom: "spdx"))
        let layout = try Build.layout(["app.yaml", "-o", "out", "--tar", "out.tar"], in: scratch.path)
        #expect(layout.artifacts.count == 1)
        for source in ["out", "out.tar"] {
            let inspected = try kiln(["inspect", source, "--json"])
            #expect(inspected.succeeded, "\(inspected.stderr)")
            // One image, which names its SBOM.
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(inspected.output)) as? [String: Any])
            let images = try #require(summary["images"] as? [[String: Any]])
            #expect(images.count == 1)
            #expect(images.first?["manifest_digest"] as? String == layout.index.manifests[0].digest)
            #expect((images.first?["artifacts"] as? [[String: String]]) == [["artifact_type": "application/spdx+json", "digest": layout.artifacts[0].digest]])
        }
        #expect(try kiln(["inspect", "out"]).stdoutLines.contains("  sbom        application/spdx+json \(layout.artifacts[0].digest)"))
        let exported = try kiln(["export", "out", "--rootfs", "rootfs"])
        #expect(exported.succeeded, "\(exported.stderr)")
        #expect(try Files.text(scratch.path + "/rootfs/srv/app.txt") == "app\n")
        let diffed = try kiln(["diff", "out", "out.tar"])
        #expect(diffed.status == 0, "\(diffed.stderr)\(diffed.stdout)")
        // A layout with an SBOM as the base of another plan, itself with one.
        try scratch.write("on-base.yaml", """
            kiln: 1
            name: example.com/cmd/on-base
            platform: linux/amd64
            base: oci:out:2.0
            sbom: spdx
            layers:
              - { name: top, type: files, files: [{ path: /top, content: "top\\n" }] }

            """)
        let derived = try Build.run(["on-base.yaml", "-o", "derived"], in: scratch.path)
        #expect(derived.succeeded, "\(derived.stderr)")
        #expect(derived.stderrLines.contains { $0.hasSuffix(": 3 files covered: 1 files entry, 2 base image") }, "\(derived.stderr)")
    }

    /// A plan that starts asking for an SBOM changes the image (it gets
    /// an artifact) but no layer: `kiln diff` says so.
    @Test func planDiffShowsTheSBOMAndKeepsEveryLayer() throws {
        try scratch.write("old.yaml", Self.plan(name: "example.com/cmd/app", sbom: nil))
        try scratch.write("new.yaml", Self.plan(name: "example.com/cmd/app", sbom: "cyclonedx"))
        let diffed = try kiln(["diff", "old.yaml", "new.yaml"])
        #expect(diffed.status == 1)
        #expect(diffed.stdoutLines.contains("  + sbom: \"cyclonedx\""), "\(diffed.stdout)")
        #expect(diffed.stdoutLines.contains("  kept     files"), "\(diffed.stdout)")
    }

    @Test(.requires(SBOMFixture.tools))
    func aComputedSBOMListsTheDpkgPackagesOfEveryLayer() throws {
        let fixture = try SBOMFixture()
        try Files.write(try Files.text(fixture.app + "/plan.yaml").replacingOccurrences(of: "sbom: spdx\n", with: ""), to: fixture.app + "/plan.yaml")
        let layout = try Build.layout(["plan.yaml", "-o", "out"], in: fixture.app)
        let rootfs = try Peers.check(layout, name: "example.com/sbom/app", tag: "1.0", in: fixture.scratch.path)
        let computed = try Tools.execute([KilnBinary.path, "sbom", "out"], in: fixture.app)
        #expect(computed.succeeded, "\(computed.stderr)")
        try Files.write(computed.output, to: fixture.scratch.path + "/computed.json")
        _ = try SBOMFixture.check(fixture.scratch.path + "/computed.json", rootfs: rootfs)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(computed.output)) as? [String: Any])
        let names = Set(((document["packages"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["hello", "libgreet", "plain", "base-files", "base-lib"]), "\(names)")
        #expect(computed.stderr.contains("debian package"), "\(computed.stderr)")
    }

    @Test func pushSendsTheSBOMAsAReferrerAndSBOMReadsItBack() throws {
        let registry = try RegistryServer(mode: .plain)
        defer { registry.stop() }
        let insecure = ["--insecure-registry", registry.host]
        let image = registry.host + "/team/app"
        try scratch.write("app.yaml", Self.plan(name: image, sbom: "spdx"))
        let layout = try Build.layout(["app.yaml", "-o", "out"], in: scratch.path)
        let subject = layout.index.manifests[0].digest
        let artifact = try #require(layout.artifacts.first)

        let pushed = try kiln(["push", "out", "--json"] + insecure)
        #expect(pushed.succeeded, "\(pushed.stderr)")
        // docker-registry 2.8 has no referrers API: the tag fallback.
        #expect(pushed.stderr.contains("pushed application/spdx+json \(artifact.digest) referring to \(subject), listed by the referrers tag sha256-\(subject.dropFirst(7))"), "\(pushed.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(pushed.output)) as? [String: Any])
        #expect((report["referrers"] as? [[String: Any]])?.first?["via"] as? String == "referrers-tag")
        #expect(report["digest"] as? String == subject)

        // The tag holds an index listing the artifact, as oras and cosign read it.
        let tagged = try Tools.run(["skopeo", "--insecure-policy", "inspect", "--raw", "--tls-verify=false", "docker://\(image):sha256-\(subject.dropFirst(7))"])
        let index = try #require(try JSONSerialization.jsonObject(with: Data(tagged.utf8)) as? [String: Any])
        #expect(index["mediaType"] as? String == "application/vnd.oci.image.index.v1+json")
        let listed = try #require(index["manifests"] as? [[String: Any]])
        #expect(listed.count == 1)
        #expect(listed.first?["digest"] as? String == artifact.digest)
        #expect(listed.first?["artifactType"] as? String == "application/spdx+json")
        // The image itself is unchanged under its tag.
        let inspected = try Tools.run(["skopeo", "--insecure-policy", "inspect", "--tls-verify=false", "docker://\(image):2.0"])
        #expect(inspected.contains(subject))

        // Twice: the tag's index is merged, not duplicated.
        let again = try kiln(["push", "out"] + insecure)
        #expect(again.succeeded, "\(again.stderr)")
        let retagged = try Tools.run(["skopeo", "--insecure-policy", "inspect", "--raw", "--tls-verify=false", "docker://\(image):sha256-\(subject.dropFirst(7))"])
        #expect((try JSONSerialization.jsonObject(with: Data(retagged.utf8)) as? [String: Any]).flatMap { ($0["manifests"] as? [Any])?.count } == 1)

        // kiln sbom finds it among the referrers.
        let read = try kiln(["sbom", image + ":2.0", "--platform", "linux/amd64"] + insecure)
        #expect(read.succeeded, "\(read.stderr)")
        #expect(read.stderr.contains("the spdx SBOM attached to \(subject)"), "\(read.stderr)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(Files.bytes(layout.blob(artifact.digest)))) as? [String: Any])
        let documentDigest = try #require(((manifest["layers"] as? [[String: Any]])?.first?["digest"]) as? String)
        #expect(read.output == (try Files.bytes(layout.blob(documentDigest))))
    }
}
