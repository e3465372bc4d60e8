import Foundation
import Archive
import Kiln
import KilnCore
import OCI
import Plan
import Strategies
import Testing
import TestSupport

/// `kiln diff OUT_A OUT_B` on built layouts: kiln's own (built in
/// process), a tar of one, umoci's, and hand-made broken ones.
@Suite(.requires(.tools("sha256sum", "python3", "tar")))
struct DiffLayoutTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    func path(_ relative: String) -> String { scratch.path + "/" + relative }

    static let oldPlan = """
        kiln: 1
        name: example.com/app
        layers:
          - name: base-files
            type: files
            files:
              - { path: /etc/motd, content: "hello\\n" }
              - { path: /etc/app.conf, content: "a=1\\n" }
          - name: tool
            type: files
            files:
              - { path: /usr/bin/tool, content: "#!/bin/sh\\n", mode: "0755" }

        """

    static let newPlan = """
        kiln: 1
        name: example.com/app
        layers:
          - name: base-files
            type: files
            files:
              - { path: /etc/motd, content: "hello, world\\n" }
              - { path: /etc/app.conf, content: "a=1\\n", mode: "0600" }
              - { path: /etc/new, symlink: motd }
          - name: tool
            type: files
            files:
              - { path: /usr/bin/tool, content: "#!/bin/sh\\n", mode: "0755" }
          - name: extra
            type: files
            files:
              - { path: /srv/data, directory: true, owner: "1000:1000" }
        env: { A: "1" }

        """

    /// Builds `text` as a plan with kiln's own builder into `output` (and a tar).
    func build(_ text: String, as name: String, tar: String? = nil) async throws -> String {
        let file = try scratch.write(name + ".yaml", text)
        let plan = try PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64")).load(file: file)
        let options = BuildOptions(output: path(name), tarOutput: tar.map(path), jobs: 2, useCache: false, cacheDirectory: path("cache"))
        _ = try await ImageBuilder(plan: plan, options: options, observer: SilentObserver()).build()
        return path(name)
    }

    /// What python's json module reads from a layout: the manifest's digest,
    /// the config's, and each layer's digest and size.
    struct Facts {
        var manifest: String
        var config: String
        var layers: [(digest: String, size: String)]
    }

    func facts(_ layout: String) throws -> Facts {
        let script = """
            import json, sys
            layout = sys.argv[1]
            entry = json.load(open(layout + "/index.json"))["manifests"][0]
            manifest = json.load(open(layout + "/blobs/sha256/" + entry["digest"][7:]))
            print(entry["digest"])
            print(manifest["config"]["digest"])
            for layer in manifest["layers"]:
                print(layer["digest"], layer["size"])
            """
        let lines = try Tools.run(["python3", "-c", script, layout]).split(separator: "\n").map(String.init)
        let layers = lines.dropFirst(2).map { line in
            let parts = line.split(separator: " ").map(String.init)
            return (parts[0], parts[1])
        }
        return Facts(manifest: lines[0], config: lines[1], layers: layers)
    }

    @Test func twoKilnBuildsFileByFileAsTextAndMarkdown() async throws {
        let old = try await build(Self.oldPlan, as: "old")
        let new = try await build(Self.newPlan, as: "new")
        let a = try facts(old), b = try facts(new)
        let short = DiffFixtures.short
        let motd = (short(try Tools.sha256(Array("hello\n".utf8))), short(try Tools.sha256(Array("hello, world\n".utf8))))
        // `tool` is declared alike in both, so it is the same blob; the
        // history gains the new layer's entry, whose `created` is the
        // config's and so not repeated.
        let size = { (text: String) in Int64(text)! }
        let sizes = (size(a.layers[0].size), size(b.layers[0].size))
        let grown = "\(sizes.0) bytes → \(sizes.1) bytes (+\(sizes.1 - sizes.0) bytes)"
        #expect(try DiffFixtures.differ.compare(old: old, new: new).render(.text) == """
            --- \(old)
            +++ \(new)
            summary
              ~ base-files (layer 1): \(grown); files: 1 added, 2 changed
                  /etc/: 1 added, 2 changed
              = tool (layer 2): \(b.layers[1].size) bytes; same
              + extra (layer 3): \(b.layers[2].size) bytes; files: 2 added
                  /srv/: 1 added
                  /srv/data/: 1 added
            manifest
              ~ manifest_digest: "\(short(a.manifest))" → "\(short(b.manifest))"
              ~ config_digest: "\(short(a.config))" → "\(short(b.config))"
            config
              + Env A: "1"
              + history 3: {"created_by":"kiln files extra"}
            layers
              ~ base-files (layer 1): \(short(a.layers[0].digest)) → \(short(b.layers[0].digest))
                  ~ blob_size: \(grown)
                  ~ /etc/app.conf
                      ~ mode: "0644" → "0600"
                  ~ /etc/motd
                      ~ size: 6 bytes → 13 bytes (+7 bytes)
                      ~ digest: "\(motd.0)" → "\(motd.1)"
                  + /etc/new: symlink 0777 0:0 → motd
              = tool (layer 2): \(short(b.layers[1].digest))
              + extra (layer 3): \(short(b.layers[2].digest)), 2 entries
                  + /srv: directory 0755 0:0
                  + /srv/data: directory 0755 1000:1000

            """)
        #expect(a.layers[1].digest == b.layers[1].digest)
        // GNU tar reads the new entries the same way.
        let listing = try Tools.run(["tar", "-tvzf", new + "/blobs/sha256/" + b.layers[0].digest.dropFirst(7)])
        #expect(listing.contains("lrwxrwxrwx 0/0") && listing.contains("etc/new -> motd"))
        #expect(listing.contains("-rw------- 0/0               4 1970-01-01 00:00 etc/app.conf"))

        // The summary leads; `blob_size` is the size column, never a path.
        #expect(try DiffFixtures.differ.compare(old: old, new: new).render(.markdown) == """
            ### kiln diff `\(old)` → `\(new)`

            | # | layer | size | packages | files |
            |---|---|---|---|---|
            | 1 | `base-files` | \(grown) |  | 1 added, 2 changed |
            | 2 | `tool` | \(b.layers[1].size) bytes |  | same |
            | 3 | `extra` | \(b.layers[2].size) bytes |  | 2 added |

            | manifest | old | new |
            |---|---|---|
            | `manifest_digest` | `"\(short(a.manifest))"` | `"\(short(b.manifest))"` |
            | `config_digest` | `"\(short(a.config))"` | `"\(short(b.config))"` |

            | config | old | new |
            |---|---|---|
            | `Env` `A` |  | `"1"` |
            | `history` `3` |  | `{"created_by":"kiln files extra"}` |

            <details open><summary><code>base-files</code>: files by directory</summary>

            | directory | files |
            |---|---|
            | `/etc/` | 1 added, 2 changed |

            </details>

            <details open><summary><code>extra</code>: files by directory</summary>

            | directory | files |
            |---|---|
            | `/srv/` | 1 added |
            | `/srv/data/` | 1 added |

            </details>

            <details><summary><code>base-files</code>: 3 files</summary>

            |  | path | old | new |
            |---|---|---|---|
            | ~ | `/etc/app.conf` | mode 0644 | mode 0600 |
            | ~ | `/etc/motd` | size 6 bytes, digest \(motd.0) | size 13 bytes, digest \(motd.1) |
            | + | `/etc/new` |  | symlink 0777 0:0 → motd |

            </details>

            <details><summary><code>extra</code>: 2 files</summary>

            |  | path | old | new |
            |---|---|---|---|
            | + | `/srv` |  | directory 0755 0:0 |
            | + | `/srv/data` |  | directory 0755 1000:1000 |

            </details>

            """)
    }

    @Test func whatThePlanDiffSaysIsKeptKeepsItsDigestOnceBuilt() async throws {
        let old = """
            kiln: 1
            name: app
            layers:
              - { name: same, type: files, files: [{ path: /etc/same, content: "1" }] }
              - { name: edited, type: files, files: [{ path: /etc/edited, content: "1" }] }
              - { name: made, type: build, command: "printf made > \\"$KILN_OUT/made\\"" }
              - { name: dropped, type: files, files: [{ path: /etc/dropped, content: "1" }] }

            """
        let new = old.replacingOccurrences(of: "/etc/edited, content: \"1\"", with: "/etc/edited, content: \"2\"")
            .replacingOccurrences(of: "  - { name: dropped, type: files, files: [{ path: /etc/dropped, content: \"1\" }] }\n", with: "")
        let oldLayout = try await build(old, as: "old"), newLayout = try await build(new, as: "new")
        guard case .plans(let plans) = try DiffFixtures.differ.compare(old: path("old.yaml"), new: path("new.yaml")),
              case .layouts(let layouts) = try DiffFixtures.differ.compare(old: oldLayout, new: newLayout) else {
            Issue.record("expected a plan and a layout diff"); return
        }
        #expect(plans.cache.map(\.outcome) == [.kept, .rebuilt, .kept, .removed])
        #expect(layouts.layers.map(\.status) == [.same, .changed, .same, .removed])
        #expect(layouts.layers.map(\.name) == plans.cache.map(\.name))
    }

    @Test func aLayoutAndItsArchiveAreEqual() async throws {
        let layout = try await build(Self.oldPlan, as: "old", tar: "old.tar")
        let result = try DiffFixtures.differ.compare(old: layout, new: path("old.tar"))
        #expect(result.isEqual)
        #expect(try result.render(.text) == "--- \(layout)\n+++ \(path("old.tar"))\nno differences\n")
        #expect(try result.render(.json) == """
            {"config":[],"equal":true,"kind":"layouts","layers":[\
            {"fields":[],"files":[],"name":"base-files","new_diff_id":"\(try diffID(layout, 0))","new_digest":"\(try facts(layout).layers[0].digest)",\
            "new_position":1,"new_size":\(try facts(layout).layers[0].size),"old_diff_id":"\(try diffID(layout, 0))","old_digest":"\(try facts(layout).layers[0].digest)",\
            "old_position":1,"old_size":\(try facts(layout).layers[0].size),"packages":[],"status":"same"},\
            {"fields":[],"files":[],"name":"tool","new_diff_id":"\(try diffID(layout, 1))","new_digest":"\(try facts(layout).layers[1].digest)",\
            "new_position":2,"new_size":\(try facts(layout).layers[1].size),"old_diff_id":"\(try diffID(layout, 1))","old_digest":"\(try facts(layout).layers[1].digest)",\
            "old_position":2,"old_size":\(try facts(layout).layers[1].size),"packages":[],"status":"same"}],\
            "manifest":[],"new":"\(path("old.tar"))","old":"\(layout)"}

            """)
    }

    /// A layer's diff_id, from `sha256sum` of the blob as `gzip -dc` expands it.
    func diffID(_ layout: String, _ index: Int) throws -> String {
        let blob = layout + "/blobs/sha256/" + (try facts(layout).layers[index].digest.dropFirst(7))
        return "sha256:" + (try Tools.run(["sh", "-c", "gzip -dc \"$1\" | sha256sum", "sh", blob])).prefix(64)
    }

    @Test func otherCompressionIsTheSameFilesRecompressed() async throws {
        let gzip = try await build(Self.oldPlan, as: "gzip")
        let zstd = try await build(Self.oldPlan + "compression: zstd\n", as: "zstd")
        let result = try DiffFixtures.differ.compare(old: gzip, new: zstd)
        guard case .layouts(let diff) = result else { Issue.record("expected a layout diff"); return }
        #expect(!result.isEqual)
        // The config holds diff_ids, not blob digests: it does not change.
        #expect(diff.manifest.map(\.field) == ["manifest_digest"])
        #expect(diff.config.isEmpty)
        #expect(diff.layers.map(\.status) == [.recompressed, .recompressed])
        #expect(diff.layers[0].fields.first == ValueChange(
            field: "media_type", old: .string("application/vnd.oci.image.layer.v1.tar+gzip"), new: .string("application/vnd.oci.image.layer.v1.tar+zstd")))
        #expect(try result.render(.text).contains("  ~ tool (layer 2): \(DiffFixtures.short(try facts(gzip).layers[1].digest)) → \(DiffFixtures.short(try facts(zstd).layers[1].digest)), same files (recompressed)\n"))
    }

    @Test(.requires(.tools("umoci")))
    func umociLayoutsMatchedByPosition() throws {
        try scratch.write("a.txt", "from umoci\n")
        try scratch.write("b.txt", "more\n")
        try Tools.run(["umoci", "init", "--layout", path("u1")])
        try Tools.run(["umoci", "new", "--image", path("u1") + ":v1"])
        try Tools.run(["umoci", "insert", "--image", path("u1") + ":v1", path("a.txt"), "/etc/motd"])
        try Tools.run(["cp", "-a", path("u1"), path("u2")])
        try Tools.run(["umoci", "insert", "--image", path("u2") + ":v1", path("b.txt"), "/opt/b"])
        let result = try DiffFixtures.differ.compare(old: path("u1"), new: path("u2"))
        guard case .layouts(let diff) = result else { Issue.record("expected a layout diff"); return }
        #expect(!result.isEqual)
        #expect(diff.layers.map(\.status) == [.same, .added])
        #expect(diff.layers.map(\.name) == [nil, nil])
        let added = try #require(diff.layers.last?.files.first { $0.key == "/opt/b" })
        #expect(added.change == .added)
        #expect(TreeDiffProbe.field(added.new, "type") == .string("file"))
        #expect(TreeDiffProbe.field(added.new, "digest") == .string(try Tools.sha256(Array("more\n".utf8))))
        #expect(TreeDiffProbe.field(added.new, "size") == .integer(5))
        // The same file inserted again, with another content, is a change.
        try Tools.run(["cp", "-a", path("u1"), path("u3")])
        try scratch.write("a.txt", "changed by umoci\n")
        try Tools.run(["umoci", "insert", "--image", path("u3") + ":v1", path("a.txt"), "/etc/motd"])
        guard case .layouts(let again) = try DiffFixtures.differ.compare(old: path("u2"), new: path("u3")) else { Issue.record("expected a layout diff"); return }
        #expect(again.layers.map(\.status) == [.same, .changed])
        // umoci's layers hold the inserted file alone, no parent directories
        // (as `tar -tvzf` lists them).
        #expect(again.layers[1].files.map(\.key) == ["/etc/motd", "/opt/b"])
        #expect(again.layers[1].files.map(\.change) == [.added, .removed])
    }

    @Test(.requires(.tools("umoci")))
    func aKilnLayoutThatUmociAddedALayerTo() async throws {
        let layout = try await build(Self.oldPlan, as: "kiln")
        try Tools.run(["cp", "-a", layout, path("changed")])
        try scratch.write("b.txt", "more\n")
        try Tools.run(["umoci", "insert", "--image", path("changed") + ":latest", path("b.txt"), "/opt/b"])
        guard case .layouts(let diff) = try DiffFixtures.differ.compare(old: layout, new: path("changed")) else { Issue.record("expected a layout diff"); return }
        // kiln's layers are found by name in umoci's history copy; umoci's
        // own layer has no kiln name.
        #expect(diff.layers.map(\.status) == [.same, .same, .added])
        #expect(diff.layers.map(\.name) == ["base-files", "tool", nil])
        #expect(diff.layers[2].files.contains { $0.key == "/opt/b" && $0.change == .added })
    }

    /// Writes a one-layer layout with python: the layer is `tar` gzipped
    /// (or, for `notGzip`, bytes that are not gzip), with the config naming
    /// `bogusDiffID`'s digest instead of the tar's when set, and the tar cut
    /// after `cut` bytes when that is not 0.
    func handMade(_ name: String, tarOf directory: String, bogusDiffID: Bool = false, notGzip: Bool = false, cut: Int = 0) throws -> (blob: String, diffID: String, actual: String) {
        try Tools.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", path(name + ".tar"), "-C", path(directory), "."])
        let script = """
            import gzip, hashlib, json, os, sys
            out, tar, bogus, not_gzip, cut = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1", int(sys.argv[5])
            raw = open(tar, "rb").read()
            raw = raw[:cut] if cut else raw
            layer = b"this is not gzip" if not_gzip else gzip.compress(raw, mtime=0)
            actual = "sha256:" + hashlib.sha256(layer if not_gzip else raw).hexdigest()
            diff_id = "sha256:" + hashlib.sha256(b"something else").hexdigest() if bogus else actual
            os.makedirs(out + "/blobs/sha256")
            def put(data):
                digest = hashlib.sha256(data).hexdigest()
                open(out + "/blobs/sha256/" + digest, "wb").write(data)
                return {"digest": "sha256:" + digest, "size": len(data)}
            config = put(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode())
            blob = put(layer)
            manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **config),
                "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **blob)]}).encode())
            json.dump({"schemaVersion": 2, "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json", **manifest)]}, open(out + "/index.json", "w"))
            json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
            print(blob["digest"], diff_id, actual)
            """
        let words = try Tools.run(["python3", "-c", script, path(name), path(name + ".tar"), bogusDiffID ? "1" : "0", notGzip ? "1" : "0", String(cut)])
            .split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return (words[0], words[1], words[2])
    }

    /// `good`, a layout of `tree-a`; `tree-b` beside it for broken ones.
    func writeGoodLayout() throws {
        try scratch.write("tree-a/file", "a\n")
        try scratch.write("tree-b/file", "b\n")
        _ = try handMade("good", tarOf: "tree-a")
    }

    /// The message of the error comparing `good` with the layout `name` gives.
    func failure(comparingWith name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String? {
        let error = #expect(throws: DiffError.self, sourceLocation: sourceLocation) {
            try DiffFixtures.differ.compare(old: path("good"), new: path(name))
        }
        return error.map { "\($0)" }
    }

    @Test func aLayerThatDoesNotMatchItsDiffIDIsAnError() throws {
        try writeGoodLayout()
        let bad = try handMade("bad", tarOf: "tree-b", bogusDiffID: true)
        #expect(failure(comparingWith: "bad") == "layer \(bad.blob) of \(path("bad")) does not match its diff_id: expected \(bad.diffID), found \(bad.actual)")
    }

    @Test func aLayerThatIsNotGzipIsAnError() throws {
        try writeGoodLayout()
        let bad = try handMade("bad", tarOf: "tree-a", notGzip: true)
        #expect(failure(comparingWith: "bad") == "cannot read layer \(bad.blob) of \(path("bad")): gzip data is corrupt at compressed byte 2: incorrect header check")
    }

    @Test func aTarCutAfterAWholeMemberIsReadButOneCutInsideAFileIsAnError() throws {
        try writeGoodLayout()
        // `./` at byte 0, `./file`'s header at 512, its 2 bytes at 1024:
        // cut after them, the padding and the end blocks are missing.
        _ = try handMade("whole", tarOf: "tree-b", cut: 1026)
        guard case .layouts(let diff) = try DiffFixtures.differ.compare(old: path("good"), new: path("whole")) else { Issue.record("expected a layout diff"); return }
        #expect(diff.layers.first?.files.map(\.key) == ["/file"])
        let cut = try handMade("cut", tarOf: "tree-b", cut: 1025)
        #expect(failure(comparingWith: "cut") == "cannot read layer \(cut.blob) of \(path("cut")): tar archive is truncated: it ends at byte 1025, inside the content of ./file (header at byte 512)")
    }

    @Test func aLayoutWithSeveralImagesIsRefused() async throws {
        let layout = try await build(Self.oldPlan, as: "one")
        try Tools.run(["python3", "-c", """
            import json, sys
            index = json.load(open(sys.argv[1]))
            second = dict(index["manifests"][0])
            second["annotations"] = {"org.opencontainers.image.ref.name": "other"}
            index["manifests"].append(second)
            json.dump(index, open(sys.argv[1], "w"))
            """, layout + "/index.json"])
        let other = try await build(Self.oldPlan, as: "two")
        let error = #expect(throws: DiffError.self) { try DiffFixtures.differ.compare(old: layout, new: other) }
        #expect(error.map { "\($0)" } == "\(layout) holds 2 images (refs: latest, other); kiln diff compares layouts that hold one image each")
    }
}

/// A build observer that says nothing.
struct SilentObserver: BuildObserver {
    func layerStarted(_ index: Int, layer: LayerSpec) {}
    func layerProgress(_ index: Int, bytes: Int64) {}
    func layerOutput(_ index: Int, layer: LayerSpec, line: String) {}
    func layerFinished(_ index: Int, report: LayerReport) {}
    func baseLayerReused(_ report: LayerReport) {}
}

/// Reads one field of a record the diff reports.
enum TreeDiffProbe {
    static func field(_ value: JSONValue?, _ key: String) -> JSONValue? {
        guard case .object(let fields) = value else { return nil }
        return fields[key]
    }
}
