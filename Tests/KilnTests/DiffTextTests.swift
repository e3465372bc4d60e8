import Foundation
import Kiln
import KilnCore
import Testing
import TestSupport

/// Small texts that change — inline `content`, a `source` file, a build
/// `command` — show a unified diff of their lines, in all three forms.
@Suite struct DiffTextTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    static func plan(motd: String, command: String) -> String {
        """
        kiln: 1
        name: example.com/app
        layers:
          - name: config
            type: files
            files:
              - { path: /etc/app.conf, source: app.conf }
              - { path: /etc/motd, content: \(motd) }
          - name: app
            type: build
            command: \(command)

        """
    }

    /// Finding: a changed config file showed only
    /// `source_digest: "sha256:ff93…" → "sha256:6ee5…"`.
    @Test func changedTextsShowTheirUnifiedDiff() throws {
        try scratch.write("old/app.conf", "# app\nport=80\nworkers=4\nlog=info\ncolor=no\nname=web\ntimeout=30\n")
        try scratch.write("new/app.conf", "# app\nport=8080\nworkers=4\nlog=info\ncolor=no\nname=web\ntimeout=60\n")
        try scratch.write("old/app.yaml", Self.plan(motd: "\"web 1.4\\n\"", command: "make install"))
        try scratch.write("new/app.yaml", Self.plan(motd: "\"web 1.5\\n\"", command: "\"make install\\nstrip app\""))
        let diff = try DiffFixtures.differ.compare(old: scratch.path("old/app.yaml"), new: scratch.path("new/app.yaml"))
        let old = DiffFixtures.short(try Tools.sha256(file: scratch.path("old/app.conf")))
        let new = DiffFixtures.short(try Tools.sha256(file: scratch.path("new/app.conf")))
        #expect(try diff.render(.text) == """
            --- \(scratch.path("old/app.yaml"))
            +++ \(scratch.path("new/app.yaml"))
            layers
              ~ config (files, layer 1)
                  ~ files /etc/app.conf
                      ~ source_digest: "\(old)" → "\(new)"
                      @@ -1,7 +1,7 @@
                       # app
                      -port=80
                      +port=8080
                       workers=4
                       log=info
                       color=no
                       name=web
                      -timeout=30
                      +timeout=60
                  ~ files /etc/motd
                      ~ content: "web 1.4\\n" → "web 1.5\\n"
                      @@ -1 +1 @@
                      -web 1.4
                      +web 1.5
              ~ app (build, layer 2)
                  ~ command: "make install" → "make install\\nstrip app"
                      @@ -1 +1,2 @@
                      -make install
                      \\ No newline at end of file
                      +make install
                      +strip app
                      \\ No newline at end of file
            cache
              rebuilt  config  (spec, inputs)
              rebuilt  app     (spec)
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
        let markdown = try diff.render(.markdown)
        #expect(markdown.contains("""
            <details open><summary><code>config</code> /etc/motd: text changed</summary>

            ```diff
            @@ -1 +1 @@
            -web 1.4
            +web 1.5
            ```

            </details>
            """), "\(markdown)")
        #expect(markdown.contains("<details open><summary><code>config</code> /etc/app.conf: text changed</summary>"))
        #expect(markdown.contains("<details open><summary><code>app</code> command: text changed</summary>"))

        let json = try #require(try JSONSerialization.jsonObject(with: Data(try diff.render(.json).utf8)) as? [String: Any])
        let texts = try #require(json["texts"] as? [[String: Any]])
        #expect(texts.map { "\($0["layer"]!) \($0["key"]!)" } == ["config /etc/app.conf", "config /etc/motd", "app command"])
        #expect(texts[1]["old"] as? String == "web 1.4\n")
        #expect(texts[1]["new"] as? String == "web 1.5\n")
        #expect(texts[1]["hunks"] as? [String] == ["@@ -1 +1 @@", "-web 1.4", "+web 1.5"])
    }

    /// Far-apart changes make separate hunks with three lines of context,
    /// as `diff -u` does; texts over the size limit are not diffed.
    @Test func hunksFollowDiffUAndLargeTextsAreLeftOut() throws {
        let lines = (1...20).map { "line \($0)" }
        var changed = lines
        changed[1] = "line two"
        changed[17] = "line eighteen"
        try scratch.write("a.txt", lines.joined(separator: "\n") + "\n")
        try scratch.write("b.txt", changed.joined(separator: "\n") + "\n")
        let expected = try Tools.execute(["diff", "-u", scratch.path("a.txt"), scratch.path("b.txt")]).stdout
            .split(separator: "\n").dropFirst(2).map(String.init)
        let plan = { (file: String) in "kiln: 1\nname: app\nlayers: [{ name: c, type: files, files: [{ path: /x, source: \(file) }] }]\n" }
        try scratch.write("a.yaml", plan("a.txt"))
        try scratch.write("b.yaml", plan("b.txt"))
        guard case .plans(let diff) = try DiffFixtures.differ.compare(old: scratch.path("a.yaml"), new: scratch.path("b.yaml")) else {
            Issue.record("expected a plan diff"); return
        }
        #expect(diff.texts.first?.hunks == expected)

        try scratch.write("big.txt", String(repeating: "x\n", count: TextDiff.maxBytes))
        try scratch.write("big.yaml", plan("big.txt"))
        guard case .plans(let big) = try DiffFixtures.differ.compare(old: scratch.path("a.yaml"), new: scratch.path("big.yaml")) else {
            Issue.record("expected a plan diff"); return
        }
        #expect(big.texts.isEmpty)
        #expect(!big.isEqual)

        // Small enough, but too far apart to compare line by line here.
        try scratch.write("many-a.txt", (1...3000).map { "a\($0)\n" }.joined())
        try scratch.write("many-b.txt", (1...3000).map { "b\($0)\n" }.joined())
        try scratch.write("many-a.yaml", plan("many-a.txt"))
        try scratch.write("many-b.yaml", plan("many-b.txt"))
        guard case .plans(let many) = try DiffFixtures.differ.compare(old: scratch.path("many-a.yaml"), new: scratch.path("many-b.yaml")) else {
            Issue.record("expected a plan diff"); return
        }
        #expect(many.texts.isEmpty)
    }

    /// An argv command diffs one argument per line.
    @Test func argvCommandsDiffByArgument() throws {
        let plan = { (argv: String) in "kiln: 1\nname: app\nlayers: [{ name: app, type: build, command: \(argv) }]\n" }
        try scratch.write("a.yaml", plan("[make, -j4, install]"))
        try scratch.write("b.yaml", plan("[make, -j8, install]"))
        guard case .plans(let diff) = try DiffFixtures.differ.compare(old: scratch.path("a.yaml"), new: scratch.path("b.yaml")) else {
            Issue.record("expected a plan diff"); return
        }
        #expect(diff.texts.map(\.hunks) == [["@@ -1,3 +1,3 @@", " make", "--j4", "+-j8", " install"]])
    }

    /// `--format markdown` fits a pull-request comment: at most 65,536
    /// characters, the summary whole, and a line saying what was left out.
    @Test func markdownFitsAPullRequestComment() throws {
        func plan(_ version: Int) -> String {
            var text = "kiln: 1\nname: app\nlayers:\n"
            for layer in 1...8 {
                text += "  - name: layer\(layer)\n    type: files\n    files:\n"
                for file in 1...400 {
                    text += "      - { path: /srv/data/a-rather-long-directory-name/file-\(file), content: \"version \(version) of file \(file) in layer \(layer)\" }\n"
                }
            }
            return text
        }
        try scratch.write("a.yaml", plan(1))
        try scratch.write("b.yaml", plan(2))
        let diff = try DiffFixtures.differ.compare(old: scratch.path("a.yaml"), new: scratch.path("b.yaml"))
        let markdown = try diff.render(.markdown)
        #expect(markdown.utf8.count <= 65_536)
        #expect(markdown.utf8.count > 60_000)
        // The summary table lists all eight layers.
        for layer in 1...8 { #expect(markdown.contains("| \(layer) | `layer\(layer)` | files | files: 400 changed | **rebuilt** (spec) |")) }
        #expect(markdown.contains("… and 200 more (see `kiln diff --format text`)"))
        #expect(markdown.contains("left out to fit GitHub's 65,536-character comment limit; see `kiln diff --format text`"))
        #expect(markdown.hasSuffix("keep theirs.\n"))
        // Every <details> that opens closes.
        #expect(markdown.components(separatedBy: "<details").count == markdown.components(separatedBy: "</details>").count)
    }
}
