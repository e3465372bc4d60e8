import Foundation
import Archive
import Kiln
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport

/// `kiln diff OLD NEW` on plans: a diff of meaning, not of text, with the
/// exact text, markdown and JSON a reviewer sees.
@Suite struct DiffPlanTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    func diff(_ old: String, _ new: String) throws -> ImageDiff {
        try DiffFixtures.differ.compare(old: scratch.path + "/" + old, new: scratch.path + "/" + new)
    }

    func path(_ relative: String) -> String { scratch.path + "/" + relative }

    @Test func plansWrittenDifferentlyButMeaningTheSameAreEqual() throws {
        try scratch.write("app.conf", "port=80\n")
        try scratch.write("a.yaml", """
            kiln: 1
            name: example.com/app
            tag: "1.0"
            layers:
              - name: config
                type: files
                files:
                  - { path: /etc/app.conf, source: app.conf }
                  - { path: /etc/motd, content: "hello\\n", mode: "0644" }
                  - path: /usr/bin/app
                    symlink: /opt/app
            env: { A: "1", B: "2" }
            labels: { x: y }
            annotations: { note: y }
            entrypoint: ["/usr/bin/app"]
            expose: ["8080/tcp", "9090/tcp"]

            """)
        try scratch.write("b.yaml", """
            # The same image: keys in another order, block and flow styles
            # swapped, an anchor, a relative path spelled otherwise, the mode
            # without its leading zero, and members of a set reordered.
            entrypoint:
              - /usr/bin/app
            labels:
              x: &value y
            annotations:
              note: *value
            expose: [9090/tcp, "8080"]
            env:
              B: "2"   # comments change nothing
              A: "1"
            layers:
              - type: files
                name: config
                files:
                  - source: ./app.conf
                    path: /etc/app.conf
                  - content: "hello\\n"
                    path: /etc/motd
                    mode: 644
                  - { symlink: /opt/app, path: /usr/bin/app }
            tag: '1.0'
            name: example.com/app
            kiln: 1

            """)
        let result = try diff("a.yaml", "b.yaml")
        #expect(result.isEqual)
        #expect(try result.render(.text) == "--- \(path("a.yaml"))\n+++ \(path("b.yaml"))\nno differences\n")
        #expect(try result.render(.markdown) == "### kiln diff `\(path("a.yaml"))` → `\(path("b.yaml"))`\n\nNo differences: both plans describe the same image.\n")
        guard case .plans(let plans) = result else { Issue.record("expected a plan diff"); return }
        #expect(plans.cache.map(\.outcome) == [.kept])
    }

    @Test func theSamePlanInTwoDirectoriesIsEqualAndKeepsItsCache() throws {
        let plan = "kiln: 1\nname: app\nlayers:\n  - { name: cfg, type: files, files: [{ path: /etc/a, source: a.txt }] }\n  - { name: app, type: build, command: make, inputs: [src] }\n"
        for side in ["one", "two"] {
            try scratch.write(side + "/app.yaml", plan)
            try scratch.write(side + "/a.txt", "A\n")
            try scratch.write(side + "/src/main.c", "int main(void) { return 0; }\n")
        }
        let result = try diff("one/app.yaml", "two/app.yaml")
        #expect(result.isEqual)
        guard case .plans(let plans) = result else { Issue.record("expected a plan diff"); return }
        #expect(plans.cache.map(\.outcome) == [.kept, .kept])
        #expect(plans.cache.allSatisfy { $0.oldKey == $0.newKey })
    }

    /// Two directories holding an old and a new version of one image, with
    /// a change of every common kind.
    func writeReleases() throws {
        try scratch.write("old/app.conf", "port=80\n")
        try scratch.write("new/app.conf", "port=8080\n")
        for side in ["old", "new"] { try scratch.write(side + "/main.c", "int main(void) { return 0; }\n") }
        try scratch.write("old/app.yaml", """
            kiln: 1
            name: example.com/app
            tag: "1.0"
            layers:
              - name: runtime
                type: packages
                names: [ca-certificates, curl=7.88.1-10]
              - name: legacy
                type: files
                files:
                  - { path: /opt/legacy, content: "old\\n" }
              - name: config
                type: files
                files:
                  - { path: /etc/app.conf, source: app.conf }
                  - { path: /etc/motd, content: "hello\\n" }
                  - { path: /etc/old, content: "bye\\n" }
              - name: app
                type: build
                command: make install
                inputs: [main.c]
                env: { CC: gcc }
              - name: docs
                type: files
                files:
                  - { path: /usr/share/doc/app/README, content: "read me\\n" }
            entrypoint: ["/usr/bin/app"]
            env: { RUST_LOG: info, OLD: "1" }
            labels: { team: core }
            expose: ["8080/tcp"]

            """)
        try scratch.write("new/app.yaml", """
            kiln: 1
            name: example.com/app
            tag: "1.1"
            layers:
              - name: runtime
                type: packages
                names: [ca-certificates, curl=7.88.1-10+deb12u5, tzdata]
              - name: config
                type: files
                files:
                  - { path: /etc/app.conf, source: app.conf }
                  - { path: /etc/motd, content: "hello\\n", mode: "0600" }
                  - { path: /etc/new, content: "hi\\n" }
              - name: app
                type: build
                command: make install
                inputs: [main.c]
                env: { CC: clang }
              - name: manual
                type: files
                files:
                  - { path: /usr/share/doc/app/README, content: "read me\\n" }
            entrypoint: ["/usr/bin/app", "--serve"]
            env: { RUST_LOG: debug, NEW: "1" }
            labels: { team: core }
            expose: ["8080/tcp", "9090/tcp"]
            annotations: { org.opencontainers.image.version: "1.1" }

            """)
    }

    @Test func everyKindOfChangeAsText() throws {
        try writeReleases()
        let result = try diff("old/app.yaml", "new/app.yaml")
        #expect(!result.isEqual)
        let before = DiffFixtures.short(try Tools.sha256(Array("port=80\n".utf8)))
        let after = DiffFixtures.short(try Tools.sha256(Array("port=8080\n".utf8)))
        // `docs` became `manual` with the same content: its cache key (which
        // leaves the name out) is the same, so the cached layer is reused.
        // `config` and `app` moved down one place when `legacy` went.
        #expect(try result.render(.text) == """
            --- \(path("old/app.yaml"))
            +++ \(path("new/app.yaml"))
            image
              ~ tag: "1.0" → "1.1"
            config
              ~ entrypoint: ["/usr/bin/app"] → ["/usr/bin/app","--serve"]
              + env NEW: "1"
              - env OLD: "1"
              ~ env RUST_LOG: "info" → "debug"
              + expose: "9090/tcp"
              + annotations org.opencontainers.image.version: "1.1"
            layers
              ~ runtime (packages, layer 1)
                  ~ names curl: "curl=7.88.1-10" → "curl=7.88.1-10+deb12u5"
                  + names tzdata: "tzdata"
              ~ config (files, layer 3 → 2)
                  ~ files /etc/app.conf
                      ~ source_digest: "\(before)" → "\(after)"
                      @@ -1 +1 @@
                      -port=80
                      +port=8080
                  ~ files /etc/motd
                      ~ mode: "0644" → "0600"
                  + files /etc/new: {"content":"hi\\n","mode":"0644","owner":"0:0"}
                  - files /etc/old: {"content":"bye\\n","mode":"0644","owner":"0:0"}
              ~ app (build, layer 4 → 3)
                  ~ env CC: "gcc" → "clang"
              + manual (files, layer 4)
                  + files /usr/share/doc/app/README: {"content":"read me\\n","mode":"0644","owner":"0:0"}
              - legacy (files, was layer 2)
                  - files /opt/legacy: {"content":"old\\n","mode":"0644","owner":"0:0"}
              - docs (files, was layer 5)
                  - files /usr/share/doc/app/README: {"content":"read me\\n","mode":"0644","owner":"0:0"}
            packages
              ? runtime: resolution unknown: neither plan has a lock file; run `kiln diff --resolve` to resolve both sides from their sources, or `kiln lock`
            cache
              rebuilt  runtime  (spec)
              rebuilt  config   (spec, inputs)
              rebuilt  app      (spec)
              reused   manual   (cached as old layer "docs")
              removed  legacy
              removed  docs
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
    }

    @Test func everyKindOfChangeAsMarkdown() throws {
        try writeReleases()
        let result = try diff("old/app.yaml", "new/app.yaml")
        let before = DiffFixtures.short(try Tools.sha256(Array("port=80\n".utf8)))
        let after = DiffFixtures.short(try Tools.sha256(Array("port=8080\n".utf8)))
        #expect(try result.render(.markdown) == """
            ### kiln diff `\(path("old/app.yaml"))` → `\(path("new/app.yaml"))`

            | image | old | new |
            |---|---|---|
            | `tag` | `"1.0"` | `"1.1"` |

            | config | old | new |
            |---|---|---|
            | `entrypoint` | `["/usr/bin/app"]` | `["/usr/bin/app","--serve"]` |
            | `env` `NEW` |  | `"1"` |
            | `env` `OLD` | `"1"` |  |
            | `env` `RUST_LOG` | `"info"` | `"debug"` |
            | `expose` |  | `"9090/tcp"` |
            | `annotations` `org.opencontainers.image.version` |  | `"1.1"` |

            | # | layer | type | change | cache |
            |---|---|---|---|---|
            | 1 | `runtime` | packages | names: 1 added, 1 changed; packages: resolution unknown | **rebuilt** (spec) |
            | 2 | `config` | files | files: 1 added, 1 removed, 2 changed; moved from 3 | **rebuilt** (spec, inputs) |
            | 3 | `app` | build | env; moved from 4 | **rebuilt** (spec) |
            | 4 | `manual` | files | added | reused (cached as old layer "docs") |
            |  | `legacy` | files | removed (was 2) | removed |
            |  | `docs` | files | removed (was 5) | removed |

            **runtime**: resolution unknown: neither plan has a lock file; run `kiln diff --resolve` to resolve both sides from their sources, or `kiln lock`

            <details><summary><code>runtime</code>: 2 changes</summary>

            |  | what | old | new |
            |---|---|---|---|
            | ~ | `names` `curl` | `"curl=7.88.1-10"` | `"curl=7.88.1-10+deb12u5"` |
            | + | `names` `tzdata` |  | `"tzdata"` |

            </details>

            <details><summary><code>config</code>: 4 changes</summary>

            |  | what | old | new |
            |---|---|---|---|
            | ~ | `files` `/etc/app.conf` `source_digest` | `"\(before)"` | `"\(after)"` |
            | ~ | `files` `/etc/motd` `mode` | `"0644"` | `"0600"` |
            | + | `files` `/etc/new` |  | `{"content":"hi\\n","mode":"0644","owner":"0:0"}` |
            | - | `files` `/etc/old` | `{"content":"bye\\n","mode":"0644","owner":"0:0"}` |  |

            </details>

            <details open><summary><code>config</code> /etc/app.conf: text changed</summary>

            ```diff
            @@ -1 +1 @@
            -port=80
            +port=8080
            ```

            </details>

            <details><summary><code>app</code>: 1 change</summary>

            |  | what | old | new |
            |---|---|---|---|
            | ~ | `env` `CC` | `"gcc"` | `"clang"` |

            </details>

            <details><summary><code>manual</code> (added): 1 change</summary>

            |  | what | old | new |
            |---|---|---|---|
            | + | `files` `/usr/share/doc/app/README` |  | `{"content":"read me\\n","mode":"0644","owner":"0:0"}` |

            </details>

            <details><summary><code>legacy</code> (removed): 1 change</summary>

            |  | what | old | new |
            |---|---|---|---|
            | - | `files` `/opt/legacy` | `{"content":"old\\n","mode":"0644","owner":"0:0"}` |  |

            </details>

            <details><summary><code>docs</code> (removed): 1 change</summary>

            |  | what | old | new |
            |---|---|---|---|
            | - | `files` `/usr/share/doc/app/README` | `{"content":"read me\\n","mode":"0644","owner":"0:0"}` |  |

            </details>

            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
    }

    @Test func jsonIsCanonicalWithWholeValuesAndTheCacheKeys() throws {
        try scratch.write("a.txt", "A\n")
        try scratch.write("b.txt", "B\n")
        let layer = "layers:\n  - { name: cfg, type: files, files: [{ path: /etc/a, source: %@ }] }\n"
        try scratch.write("old.yaml", "kiln: 1\nname: app\ntag: \"1\"\n" + layer.replacingOccurrences(of: "%@", with: "a.txt") + "env: { X: \"1\" }\n")
        try scratch.write("new.yaml", "kiln: 1\nname: app\ntag: \"2\"\n" + layer.replacingOccurrences(of: "%@", with: "b.txt"))
        let result = try diff("old.yaml", "new.yaml")
        let a = try Tools.sha256(Array("A\n".utf8)), b = try Tools.sha256(Array("B\n".utf8))
        // The keys are the ones the layer cache files the layer under.
        let loader = PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64"))
        let oldPlan = try loader.load(file: path("old.yaml")), newPlan = try loader.load(file: path("new.yaml"))
        let oldKey = try LayerCacheKey(layer: oldPlan.layers[0], plan: oldPlan, inputDigests: [path("a.txt"): a])
        let newKey = try LayerCacheKey(layer: newPlan.layers[0], plan: newPlan, inputDigests: [path("b.txt"): b])
        let expected = """
            {"cache":[{"name":"cfg","new_key":"\(newKey)","old_key":"\(oldKey)","outcome":"rebuilt","reasons":["spec","inputs"],"type":"files"}],\
            "config":[{"change":"removed","field":"env","key":"X","old":"1"}],"equal":false,\
            "image":[{"change":"changed","field":"tag","new":"2","old":"1"}],"kind":"plans",\
            "layers":[{"change":"changed","fields":[],"items":[{"change":"changed","fields":[\
            {"change":"changed","field":"source","new":"b.txt","old":"a.txt"},\
            {"change":"changed","field":"source_digest","new":"\(b)","old":"\(a)"}],\
            "key":"/etc/a","new":{"owner":"0:0","source":"b.txt","source_digest":"\(b)"},\
            "old":{"owner":"0:0","source":"a.txt","source_digest":"\(a)"},"section":"files"}],\
            "moved":false,"name":"cfg","new_position":1,"old_position":1,"type":"files"}],\
            "new":"\(path("new.yaml"))","old":"\(path("old.yaml"))","packages":[],\
            "texts":[{"hunks":["@@ -1 +1 @@","-A","+B"],"key":"/etc/a","layer":"cfg","new":"B\\n","old":"A\\n","section":"files"}]}

            """
        #expect(try result.render(.json) == expected)
    }

    @Test func imageFieldsAndWhatEveryKeyCovers() throws {
        try scratch.directory("base")
        try scratch.write("old.yaml", """
            kiln: 1
            name: app
            layers:
              - { name: files, type: files, files: [{ path: /etc/a, content: "a" }] }
              - { name: pkgs, type: packages, names: [curl] }

            """)
        try scratch.write("new.yaml", """
            kiln: 1
            name: example.com/app
            tag: "2"
            base: oci:base
            platform: linux/arm64
            created: "2024-05-01T00:00:00Z"
            compression: zstd
            layers:
              - { name: files, type: files, files: [{ path: /etc/a, content: "a" }] }
              - { name: pkgs, type: packages, names: [curl] }

            """)
        // The layers are declared alike, yet every key covers the platform,
        // the timestamp and the compressor, and a packages layer's whether
        // the base provides the root.
        #expect(try diff("old.yaml", "new.yaml").render(.text) == """
            --- \(path("old.yaml"))
            +++ \(path("new.yaml"))
            image
              ~ name: "app" → "example.com/app"
              ~ tag: "latest" → "2"
              ~ base: "scratch" → "oci:base"
              ~ platform: "linux/amd64" → "linux/arm64"
              ~ created: "1970-01-01T00:00:00Z" → "2024-05-01T00:00:00Z"
              ~ compression: "gzip" → "zstd"
            cache
              rebuilt  files  (platform, created, compression)
              rebuilt  pkgs   (platform, created, compression, base)
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
    }

    @Test func buildPackagesAndDerivationFields() throws {
        try scratch.write("old/Makefile", "all:\n")
        try scratch.write("new/Makefile", "all:\n\ttrue\n")
        for side in ["old", "new"] {
            try scratch.write(side + "/src/main.c", "int main(void) { return 0; }\n")
            try scratch.write(side + "/extra.txt", "extra\n")
            try scratch.directory(side + "/debs")
        }
        try scratch.write("old/app.yaml", """
            kiln: 1
            name: app
            layers:
              - name: app
                type: build
                command: make
                inputs: [src, Makefile]
              - name: pkgs
                type: packages
                names: [curl]
              - name: hello
                type: derivation
                store_path: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12

            """)
        try scratch.write("new/app.yaml", """
            kiln: 1
            name: app
            layers:
              - name: app
                type: build
                command: [make, install]
                inputs: [Makefile, src, extra.txt]
                env: { V: "1" }
                sandbox: isolated
                timeout: 600
              - name: pkgs
                type: packages
                names: [curl]
                resolve: none
                exclude: [libc6]
                sources: [system, { dir: debs }]
              - name: hello
                type: derivation
                store_path: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.13
                closure: false

            """)
        let makefile = (DiffFixtures.short(try Tools.sha256(Array("all:\n".utf8))), DiffFixtures.short(try Tools.sha256(Array("all:\n\ttrue\n".utf8))))
        let extra = DiffFixtures.short(try Tools.sha256(Array("extra\n".utf8)))
        // An empty directory's digest is that of no records at all.
        let debs = DiffFixtures.short(try Tools.sha256(Array("".utf8)))
        #expect(try diff("old/app.yaml", "new/app.yaml").render(.text) == """
            --- \(path("old/app.yaml"))
            +++ \(path("new/app.yaml"))
            layers
              ~ app (build, layer 1)
                  ~ command: "make" → ["make","install"]
                  + env V: "1"
                  ~ sandbox: "none" → "isolated"
                  + timeout: 600
                  ~ inputs_order: ["src","Makefile"] → ["Makefile","src"]
                  ~ inputs Makefile
                      ~ digest: "\(makefile.0)" → "\(makefile.1)"
                  + inputs extra.txt: {"digest":"\(extra)"}
              ~ pkgs (packages, layer 2)
                  ~ resolve: "transitive" → "none"
                  + exclude: "libc6"
                  + sources debs: {"dir":"debs","dir_digest":"\(debs)"}
              ~ hello (derivation, layer 3)
                  ~ store_path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12" → "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.13"
                  ~ closure: true → false
            packages
              ? pkgs: resolution unknown: neither plan has a lock file; run `kiln diff --resolve` to resolve both sides from their sources, or `kiln lock`
            cache
              rebuilt  app    (spec, inputs)
              rebuilt  pkgs   (spec)
              rebuilt  hello  (spec)
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
    }

    @Test func movedRenamedAndReorderedLayers() throws {
        try scratch.write("old.yaml", """
            kiln: 1
            name: app
            layers:
              - { name: a, type: files, files: [{ path: /x, content: "1" }, { path: /y, content: "2" }] }
              - { name: b, type: files, files: [{ path: /z, content: "3" }] }
              - { name: c, type: files, files: [{ path: /w, content: "4" }] }

            """)
        try scratch.write("new.yaml", """
            kiln: 1
            name: app
            layers:
              - { name: b, type: files, files: [{ path: /z, content: "3" }] }
              - { name: a, type: files, files: [{ path: /y, content: "2" }, { path: /x, content: "1" }] }
              - { name: d, type: files, files: [{ path: /w, content: "4" }] }

            """)
        // Moving `b` changes the image but not the layer: kept. Reordering
        // `a`'s entries leaves its tar alone (entries are sorted) but not its
        // declaration, which the cache key covers.
        let result = try diff("old.yaml", "new.yaml")
        #expect(try result.render(.text) == """
            --- \(path("old.yaml"))
            +++ \(path("new.yaml"))
            layers
              ~ b (files, layer 2 → 1)
              ~ a (files, layer 1 → 2)
                  ~ files_order: ["/x","/y"] → ["/y","/x"]
              + d (files, layer 3)
                  + files /w: {"content":"4","mode":"0644","owner":"0:0"}
              - c (files, was layer 3)
                  - files /w: {"content":"4","mode":"0644","owner":"0:0"}
            cache
              kept     b
              rebuilt  a  (spec)
              reused   d  (cached as old layer "c")
              removed  c
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
        guard case .plans(let plans) = result else { Issue.record("expected a plan diff"); return }
        #expect(plans.layers.map(\.change) == [.moved, .changed, .added, .removed])
    }

    @Test func colorsOnlyWhenAsked() throws {
        try scratch.write("old.yaml", "kiln: 1\nname: app\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.write("new.yaml", "kiln: 1\nname: app\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }, { path: /y, content: \"2\" }] }]\n")
        let result = try diff("old.yaml", "new.yaml")
        let escape = "\u{1B}["
        #expect(try result.render(.text, color: true) == """
            \(escape)31m--- \(path("old.yaml"))\(escape)0m
            \(escape)32m+++ \(path("new.yaml"))\(escape)0m
            \(escape)1mlayers\(escape)0m
            \(escape)33m  ~ a (files, layer 1)\(escape)0m
            \(escape)32m      + files /y: {"content":"2","mode":"0644","owner":"0:0"}\(escape)0m
            \(escape)1mcache\(escape)0m
              \(escape)33mrebuilt \(escape)0m a  (spec)
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
        #expect(try !result.render(.text).contains(escape))
    }

    @Test func longValuesAreCutInTextButWholeInJSON() throws {
        let long = String(repeating: "0123456789", count: 10)
        try scratch.write("old.yaml", "kiln: 1\nname: app\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.write("new.yaml", "kiln: 1\nname: app\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"\(long)\" }] }]\n")
        let result = try diff("old.yaml", "new.yaml")
        let text = try result.render(.text)
        #expect(text.contains("          ~ content: \"1\" → \"\(long.prefix(60))…\"\n"))
        #expect(try result.render(.json).contains("\"new\":\"\(long)\""))
    }

    /// `layout`, a directory that passes for a layout, and `empty`, one that does not.
    func writeLayoutAndEmptyDirectory() throws {
        try scratch.directory("layout")
        try scratch.write("layout/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
        try scratch.directory("empty")
    }

    @Test func plansAndLayoutsAreToldApart() throws {
        try scratch.write("plan.yml", "")
        try scratch.write("plan.kiln", "kiln: 1\n")
        try writeLayoutAndEmptyDirectory()
        try Tools.run(["tar", "-cf", path("layout.tar"), "-C", path("layout"), "."])
        try Tools.run(["gzip", "-k", path("layout.tar")])
        #expect(try DiffSubject.of(path("plan.yml")) == .plan)
        #expect(try DiffSubject.of(path("plan.kiln")) == .plan)
        #expect(try DiffSubject.of(path("layout")) == .layout)
        #expect(try DiffSubject.of(path("layout.tar")) == .layout)
        #expect(try DiffSubject.of(path("layout.tar.gz")) == .layout)
        #expect(throws: DiffError.missing(path: path("nothing.yaml"))) { try DiffSubject.of(path("nothing.yaml")) }
        #expect(throws: DiffError.directoryNotLayout(path: path("empty"))) { try DiffSubject.of(path("empty")) }
    }

    @Test func errorsSayWhatIsWrong() throws {
        try scratch.write("good.yaml", "kiln: 1\nname: app\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.write("bad.yaml", "kiln: 1\nname: App\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try writeLayoutAndEmptyDirectory()
        let cases: [(String, String, String)] = [
            ("good.yaml", "layout", "cannot compare \(path("good.yaml")) (a plan) with \(path("layout")) (an image layout): give two plans or two image layouts"),
            ("good.yaml", "missing.yaml", "\(path("missing.yaml")) does not exist"),
            ("empty", "good.yaml", "\(path("empty")) is a directory without an oci-layout file: give a plan file or an OCI image layout"),
        ]
        for (old, new, message) in cases {
            let error = #expect(throws: DiffError.self) { try diff(old, new) }
            #expect(error.map { "\($0)" } == message)
        }
        let error = #expect(throws: PlanErrors.self) { try diff("good.yaml", "bad.yaml") }
        #expect(error?.description == "\(path("bad.yaml")):2:7: error: image name \"App\" must be lowercase (did you mean \"app\"?)")
    }

    @Test func markdownEscapesCellsAndFoldsLongLists() throws {
        let entries = (1...202).map { "{ path: /f/\($0), content: \"x\" }" }.joined(separator: ", ")
        try scratch.write("old.yaml", "kiln: 1\nname: app\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.write("new.yaml", "kiln: 1\nname: app\nlabels: { note: \"a|b`c\" }\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }, \(entries)] }]\n")
        let markdown = try diff("old.yaml", "new.yaml").render(.markdown)
        // A pipe is escaped even inside code; a backtick needs a longer fence.
        #expect(markdown.contains("| `labels` `note` |  | `` \"a\\|b`c\" `` |\n"))
        #expect(markdown.contains("| 1 | `a` | files | files: 202 added | **rebuilt** (spec) |\n"))
        // Sorted by path bytes (/f/1, /f/10, /f/100 …), the first 200 rows
        // are shown and the last two counted.
        let paths = (1...202).map { "/f/\($0)" }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let row = { (path: String) in "| + | `files` `\(path)` |  | `{\"content\":\"x\",\"mode\":\"0644\",\"owner\":\"0:0\"}` |\n" }
        #expect(markdown.contains(row(paths[197]) + row(paths[198]) + row(paths[199]) + "|  | … and 2 more (see `kiln diff --format text`) |  |  |\n"))
        #expect(!markdown.contains("`\(paths[200])`"))
        #expect(markdown.utf8.count <= 65_536)
        #expect(try diff("old.yaml", "new.yaml").render(.text).contains("      + files \(paths[201]): "))
    }
}
