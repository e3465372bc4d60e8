import KilnCore
import Foundation
import Testing
import TestSupport

/// `base: oci:DIR[:REF]` and `base: oci-archive:FILE[:REF]` through the real
/// binary: the base's layers are reused as they are, its config inherited
/// and overridden, its history kept; a base that cannot be used is an error
/// that leaves the output alone.
@Suite(.requires(.tools("python3", "sha256sum")))
struct BuildBaseImageTests {
    let scratch: TemporaryDirectory
    let base: BuiltLayout

    static let basePlan = """
        kiln: 1
        name: example.com/e2e/base
        tag: "a1"
        created: "2024-01-01T00:00:00Z"
        layers:
          - name: os
            type: files
            files:
              - { path: /etc/os-release, content: "ID=kiln\\n" }
              - { path: /usr/bin/tool, content: "#!/bin/sh\\n", mode: "0755" }
          - name: conf
            type: files
            files:
              - { path: /etc/app.conf, content: "port=80\\n" }
        entrypoint: ["/usr/bin/tool"]
        cmd: ["--serve"]
        env: { PATH: /usr/bin, SHARED: from-base, ONLY_BASE: "1" }
        user: "1000:1000"
        workdir: /srv
        expose: ["80/tcp"]
        labels: { org.example.layer: base, org.example.kept: "yes" }

        """

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-base")
        try scratch.write("a/plan.yaml", Self.basePlan)
        base = try Build.layout(["a/plan.yaml", "-o", "a/layout", "--tar", "a/layout.tar"], in: scratch.path)
    }

    /// A plan on `reference` that adds one layer and overrides the config.
    func derivedPlan(base reference: String) -> String {
        """
        kiln: 1
        name: example.com/e2e/derived
        tag: "b1"
        created: "2024-02-01T00:00:00Z"
        base: \(reference)
        layers:
          - name: app
            type: files
            files:
              - { path: /etc/app.conf, content: "port=8080\\n" }
              - { path: /opt/app, content: "app\\n", mode: "0755" }
        entrypoint: ["/opt/app"]
        env: { SHARED: from-plan, NEW: "2" }
        expose: ["8080/tcp"]
        labels: { org.example.layer: derived }

        """
    }

    func buildDerived(_ reference: String, output: String) throws -> BuiltLayout {
        try scratch.write("b/\(output).yaml", derivedPlan(base: reference))
        return try Build.layout(["b/\(output).yaml", "-o", "b/" + output], in: scratch.path)
    }

    @Test func baseLayersAreReusedAndTheConfigInheritedAndOverridden() throws {
        let derived = try buildDerived("oci:../a/layout:a1", output: "from-layout")
        // The base's layers come first, as they were: same descriptors, same
        // diff_ids, the same bytes.
        #expect(derived.manifest.layers.count == 3)
        #expect(Array(derived.manifest.layers.prefix(2)) == base.manifest.layers)
        #expect(Array(derived.config.rootfs.diff_ids.prefix(2)) == base.config.rootfs.diff_ids)
        for layer in base.manifest.layers {
            #expect(try Files.bytes(derived.blob(layer.digest)) == (try Files.bytes(base.blob(layer.digest))))
        }
        let added = try LayerProbe(blob: derived.blob(derived.manifest.layers[2].digest))
        #expect(derived.config.rootfs.diff_ids[2] == added.diffID)

        // entrypoint without cmd clears the base's cmd; env merges by key
        // (the base's order, then new keys); labels merge; expose adds; what
        // the plan leaves unset is inherited.
        #expect(derived.config.config == ConfigJSON.Runtime(
            User: "1000:1000", ExposedPorts: ["80/tcp": [:], "8080/tcp": [:]],
            Env: ["ONLY_BASE=1", "PATH=/usr/bin", "SHARED=from-plan", "NEW=2"],
            Entrypoint: ["/opt/app"], Cmd: nil, Volumes: nil, WorkingDir: "/srv",
            Labels: ["org.example.layer": "derived", "org.example.kept": "yes"], StopSignal: nil))
        #expect(derived.config.created == "2024-02-01T00:00:00Z")
        #expect(derived.config.history == [
            ConfigJSON.History(created: "2024-01-01T00:00:00Z", created_by: "kiln files os"),
            ConfigJSON.History(created: "2024-01-01T00:00:00Z", created_by: "kiln files conf"),
            ConfigJSON.History(created: "2024-02-01T00:00:00Z", created_by: "kiln files app"),
        ])
        #expect(try Files.text(derived.path + "/manifest.json").contains(#""RepoTags":["example.com/e2e/derived:b1"]"#))
    }

    @Test func everyFormOfTheBaseReferenceGivesTheSameImage() throws {
        let reference = try Build.files(try buildDerived("oci:../a/layout:a1", output: "layout-ref").path)
        for (form, output) in [("oci:../a/layout", "layout-only"), ("oci-archive:../a/layout.tar:a1", "archive-ref"),
                               ("oci-archive:../a/layout.tar", "archive-only")] {
            #expect(try Build.files(try buildDerived(form, output: output).path) == reference, "base: \(form)")
        }
    }

    @Test(.requires(Peers.tools, .root))
    func theDerivedImageUnpacksToTheUnionOfBothTrees() throws {
        let derived = try buildDerived("oci-archive:../a/layout.tar:a1", output: "unpacked")
        let rootfs = try Peers.check(derived, name: "example.com/e2e/derived", tag: "b1", in: scratch.path)
        #expect(try Tree.listing(rootfs) == [
            Tree.directory("etc"),
            try Tree.file("etc/app.conf", "port=8080\n"),
            try Tree.file("etc/os-release", "ID=kiln\n"),
            Tree.directory("opt"),
            try Tree.file("opt/app", "app\n", mode: "755"),
            Tree.directory("usr"),
            Tree.directory("usr/bin"),
            try Tree.file("usr/bin/tool", "#!/bin/sh\n", mode: "755"),
        ])
    }

    // MARK: Bases that cannot be used

    /// Builds `reference` into an existing output that must stay as it was.
    /// `message` may hold `PLAN`, the plan's file as kiln names it.
    func expectRefused(_ reference: String, message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let name = "refused-" + UUID().uuidString.prefix(8)
        let message = message.replacingOccurrences(of: "PLAN", with: "b/\(name).yaml")
        let before = try Build.files(try buildDerived("oci:../a/layout:a1", output: name).path)
        try scratch.write("b/\(name).yaml", derivedPlan(base: reference))
        let result = try Build.run(["b/\(name).yaml", "-o", "b/" + name], in: scratch.path)
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.stderrLines.last == message, sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(try Build.files(scratch.path("b/" + name)) == before, sourceLocation: sourceLocation)
        #expect(try Build.leftovers(in: scratch.path("b")) == [], sourceLocation: sourceLocation)
    }

    /// What the plan's `base:` names and the layout lacks is reported at it.
    @Test func aMissingRefIsAnError() throws {
        try expectRefused("oci:../a/layout:nope",
                          message: "PLAN:5:7: error: base image: \(scratch.path("a/layout")) has no image named \"nope\" (refs: a1)")
        try expectRefused("oci-archive:../a/layout.tar:nope",
                          message: "PLAN:5:7: error: base image: \(scratch.path("a/layout.tar")) has no image named \"nope\" (refs: a1)")
    }

    @Test func aCorruptBaseBlobIsAnError() throws {
        // A copy of the base with one byte of its first layer flipped, as a
        // directory and as an archive.
        try Tools.run(["cp", "-a", scratch.path("a/layout"), scratch.path("a/corrupt")])
        let layer = base.manifest.layers[0].digest
        let blob = BuiltLayout.blob(layer, in: scratch.path("a/corrupt"))
        try Tools.python("""
            import sys
            data = bytearray(open(sys.argv[1], "rb").read())
            data[len(data) // 2] ^= 0x01
            open(sys.argv[1], "wb").write(data)
            """, [blob])
        let found = try Tools.sha256(file: blob)
        try Tools.run(["tar", "-C", scratch.path("a/corrupt"), "-cf", scratch.path("a/corrupt.tar"), "."])
        let hex = layer.dropFirst("sha256:".count)
        try expectRefused("oci:../a/corrupt:a1", message:
            "kiln: error: base image: blob \(scratch.path("a/corrupt"))/blobs/sha256/\(hex) does not match its digest: expected \(layer), found \(found)")
        try expectRefused("oci-archive:../a/corrupt.tar", message:
            "kiln: error: base image: blob \(scratch.path("a/corrupt.tar"))/blobs/sha256/\(hex) does not match its digest: expected \(layer), found \(found)")
    }
}
